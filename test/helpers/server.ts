// Servers for socket tests, always on 127.0.0.1 port 0. A TestServer can be closed for sure:
// close() destroys the connections still open (keep-alive sockets, upgraded WebSockets, clients
// a failed test left behind) so that server.close() can finish instead of waiting for them.
//
//   await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async (server) => {
//     const client = await RawClient.open(server.port);
//     ...
//   });

import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  WebsocketError,
  requestedProtocols,
  serve,
  start,
  type Handler,
  type ServeOptions,
  type StartOptions,
  type Websocket,
} from 'prise-ws';
import { withTimeout } from './deadline.js';

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** Destroys every connection still open, then closes the server. */
  close(): Promise<void>;
}

/** serve(handler) on an ephemeral port of 127.0.0.1. */
export async function startServer(
  handler: Handler,
  options: Omit<ServeOptions, 'port' | 'host'> = {},
): Promise<TestServer> {
  return track(await serve(handler, { ...options, port: 0, host: '127.0.0.1' }));
}

/** Starts an http.Server the test built itself on an ephemeral port of 127.0.0.1. */
export async function listen(server: Server): Promise<TestServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return track(server);
}

/** Wraps a listening server; connections are tracked from now on, so call it before any arrive. */
export function track(server: Server): TestServer {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await withTimeout(closed, 2000, 'server.close()');
    },
  };
}

/** Runs `body` against a server with a deadline, and closes the server whatever happens. */
export async function withServer<S extends TestServer>(
  server: S | Promise<S>,
  body: (server: S) => Promise<void>,
  ms = 5000,
): Promise<void> {
  const started = await server;
  try {
    await withTimeout(body(started), ms);
  } finally {
    await started.close();
  }
}

/** A Websocket the server accepted, with the request it came from. */
export interface Accepted {
  readonly ws: Websocket;
  readonly request: IncomingMessage;
}

export interface WebsocketServerOptions {
  /** Largest message accepted (start()'s maxPayload); the default is start()'s. */
  maxPayload?: number;
  /** start()'s deflate option; off by default. */
  deflate?: StartOptions['deflate'];
  /** Picks the subprotocol from the client's offer; default none. */
  choose?: (offered: string[]) => string | null;
  /** Any other start() options (limits, timeouts). */
  start?: StartOptions;
  /** Called with each Websocket as soon as it exists (to pipe it, to listen for events...). */
  onAccept?: (ws: Websocket, request: IncomingMessage) => void;
}

export interface WebsocketServer extends TestServer {
  /** The next Websocket the server accepted, in the order they were accepted. */
  accepted(): Promise<Accepted>;
}

/**
 * A server that accepts every valid WebSocket handshake (any path) and answers the others with
 * the 400 or 426 from start(). Plain HTTP requests get a 404.
 */
export async function startWebsocketServer(options: WebsocketServerOptions = {}): Promise<WebsocketServer> {
  const queue = new AsyncQueue<Accepted>();
  const startOptions = {
    ...options.start,
    ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
    ...(options.deflate === undefined ? {} : { deflate: options.deflate }),
  };
  const server = await startServer((request) => {
    if (request.headers.upgrade === undefined) return { status: 404, body: 'not found\n' };
    try {
      const protocol = options.choose?.(requestedProtocols(request)) ?? null;
      const { response, websocket } = start(request, protocol, startOptions);
      void websocket.then((ws) => {
        options.onAccept?.(ws, request);
        queue.push({ ws, request });
      });
      return response;
    } catch (error) {
      if (error instanceof WebsocketError) return error.response;
      throw error;
    }
  });
  return { ...server, accepted: () => queue.shift() };
}

/** Values in arrival order, each handed to one shift(), whether it came before or after. */
export class AsyncQueue<T> {
  readonly #values: T[] = [];
  readonly #waiting: Array<(value: T) => void> = [];

  push(value: T): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) this.#values.push(value);
    else waiter(value);
  }

  shift(): Promise<T> {
    if (this.#values.length > 0) return Promise.resolve(this.#values.shift()!);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}
