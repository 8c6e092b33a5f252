// Running a request -> response handler on node:http / node:https, from start to stop. serve()
// creates and starts a server; attach() links a handler to the 'upgrade' requests of a server the
// application already has; shutdown() stops either kind gracefully. Plain responses are written
// as HTTP; a 101 from start() completes the WebSocket upgrade.

import type { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2SecureServer, Http2Server, Http2ServerRequest } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as TlsOptions } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { Readable, pipeline } from 'node:stream';
import { WebsocketError } from './protocol/errors.js';
import { logError, report, type ErrorListener as AnyErrorListener } from './report.js';
import { checkResponse, type Response } from './protocol/response.js';
import { abandonHandovers } from './start.js';
import { answerUpgrade } from './upgrade.js';
import { watched } from './watch-handler.js';
import type { CloseInfo, Websocket } from './websocket.js';
import { attachHttp2, isHttp2Server, serveHttp2, shutdownHttp2 } from './http2/server.js';

export type ErrorListener = AnyErrorListener<IncomingMessage>;

/** A request handler: a plain request in, a plain response (or a 101 from start()/accept()) out. */
export type Handler = (request: IncomingMessage) => Response | Promise<Response>;
/** A handler for a server that also speaks HTTP/2: its requests may be Http2ServerRequests. */
export type Http2Handler = (request: IncomingMessage | Http2ServerRequest) => Response | Promise<Response>;

export interface ServeOptions {
  /** Default 8080; 0 picks a free port (read it from the server's `port`). */
  port?: number;
  /** Default '127.0.0.1': listen on other interfaces only when asked to. */
  host?: string;
  /** Serve HTTPS and wss:// with these node:https options (at least `key` and `cert`). */
  tls?: TlsOptions;
  /**
   * Told about errors thrown by the handler (which answer 500) and by accept() sessions (which
   * close with 1011). Default: console.error. A hook that throws is logged, never fatal.
   */
  onError?: ErrorListener;
  /**
   * ms a client gets to send its whole request head (default 10,000); a slower one (slowloris)
   * gets a 408 and is disconnected. Checked every half second at most.
   */
  handshakeTimeout?: number;
}

export interface Http2ServeOptions extends ServeOptions {
  /**
   * Serve HTTP/2: with `tls`, one port speaking h2 and http/1.1 (ALPN); without, cleartext
   * HTTP/2 only (h2c, prior knowledge). WebSockets come over both (RFC 8441 and RFC 6455).
   */
  http2: true;
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export interface AttachOptions {
  /** As for serve(). */
  onError?: ErrorListener;
  /**
   * Which upgrade requests are prise's (default: all of them). The others are left untouched
   * for the server's other 'upgrade' listeners (a `ws` noServer endpoint, Socket.IO, Vite); when
   * there are none, prise answers them with a 404 rather than let the client hang.
   */
  filter?: (request: IncomingMessage) => boolean;
  /**
   * ms a handler that called start() may take to return its response (default 10,000; serve()
   * passes its own handshakeTimeout). A handler that awaits its websocket promise never would:
   * it is logged, naming the mistake, and the client gets a 500 instead of a hang.
   */
  handshakeTimeout?: number;
}

/**
 * A server attach() takes: node:http's and node:https's, and so Express 5's `app.listen()`,
 * Fastify 5's `fastify.server` and the `ServerType` of `@hono/node-server`'s `serve()`. HTTP/2
 * servers emit 'upgrade' only for HTTP/1.1 clients (`allowHTTP1`).
 */
export type AttachableServer = Server | HttpsServer | Http2Server | Http2SecureServer;

/** The server serve() started, with where it listens. */
export interface ListeningServer extends Server {
  /** The port it listens on (the one picked, for `port: 0`). */
  readonly port: number;
  /**
   * Its address as an http: or https: URL with a trailing slash, e.g. 'http://127.0.0.1:8080/'
   * (an unspecified host, 0.0.0.0 or ::, reads as loopback). connect() takes it as it is.
   */
  readonly url: string;
}

/** The server serve({ http2: true }) started, with where it listens. */
export type ListeningHttp2Server = (Http2SecureServer | Http2Server) & Pick<ListeningServer, 'port' | 'url'>;

/** Starts an HTTP (or HTTPS) server running `handler`; resolves once it is listening. */
export async function serve(handler: Http2Handler, options: Http2ServeOptions): Promise<ListeningHttp2Server>;
export async function serve(handler: Handler, options?: ServeOptions): Promise<ListeningServer>;
export async function serve(handler: Handler, options: ServeOptions = {}): Promise<ListeningServer | ListeningHttp2Server> {
  if ((options as Partial<Http2ServeOptions>).http2 === true) return serveHttp2(handler as Http2Handler, options);
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  // Node's own header timer covers both a client that trickles its request and one that sends
  // nothing at all; it is checked every connectionsCheckingInterval.
  const timeouts = {
    headersTimeout: handshakeTimeout,
    requestTimeout: Math.max(handshakeTimeout, 300_000),
    connectionsCheckingInterval: Math.min(500, handshakeTimeout),
  };
  const server: Server =
    options.tls === undefined ? createHttpServer(timeouts) : createHttpsServer({ ...timeouts, ...options.tls });
  const onError = options.onError ?? logError;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void answerRequest(handler, request, response, onError);
  });
  attach(server, handler, { onError, handshakeTimeout });
  await listen(server, options);
  return withAddress(server, options.tls === undefined ? 'http:' : 'https:');
}

/** Listens on options.port (default 8080) and options.host (default 127.0.0.1). */
export function listen(server: NetServer, options: ServeOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function withAddress<S extends NetServer>(server: S, scheme: 'http:' | 'https:'): S & Pick<ListeningServer, 'port' | 'url'> {
  const { address, family, port } = server.address() as AddressInfo;
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  const url = `${scheme}//${family === 'IPv6' || host.includes(':') ? `[${host}]` : host}:${port}/`;
  return Object.defineProperties(server, {
    port: { value: port, enumerable: true },
    url: { value: url, enumerable: true },
  }) as S & Pick<ListeningServer, 'port' | 'url'>;
}

/**
 * Runs `handler` for the upgrade requests of an existing http(s) server (those `filter` lets
 * through, when there is one); its plain requests stay the application's. Returns a function that
 * detaches the handler again.
 */
export function attach(server: Server | HttpsServer, handler: Handler, options?: AttachOptions): () => void;
export function attach(server: Http2Server | Http2SecureServer, handler: Http2Handler, options?: AttachOptions): () => void;
export function attach(server: AttachableServer, handler: Handler, options?: AttachOptions): () => void;
export function attach(server: AttachableServer, handler: Handler, options: AttachOptions = {}): () => void {
  const onError = options.onError ?? logError;
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (!(typeof handshakeTimeout === 'number' && handshakeTimeout > 0)) {
    throw new RangeError(`handshakeTimeout must be a positive number of ms, got ${String(handshakeTimeout)}`);
  }
  const filter = options.filter;
  if (filter !== undefined && typeof filter !== 'function') {
    throw new TypeError(`attach(): filter must be a function, got ${typeof filter}`);
  }
  const emitter: EventEmitter = server;
  const tracker = trackerOf(server);
  const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (filter !== undefined && !claims(filter, request, onError)) return unclaimed(emitter, listener, request, socket, head);
    claimed.add(request);
    void answerUpgradeRequest(handler, request, socket, head, onError, tracker, handshakeTimeout);
  };
  ownListeners.add(listener);
  emitter.on('upgrade', listener);
  // HTTP/2: extended CONNECTs (RFC 8441) as well.
  const detachHttp2 = isHttp2Server(server)
    ? attachHttp2(server, handler as Http2Handler, onError, tracker, filter, handshakeTimeout)
    : null;
  return () => {
    emitter.off('upgrade', listener);
    detachHttp2?.();
  };
}

/** attach()'s 'upgrade' listeners, told apart from other libraries'. */
const ownListeners = new WeakSet<object>();
/** Upgrade requests one of attach()'s listeners took. */
const claimed = new WeakSet<IncomingMessage>();

/** Whether `filter` takes the request; one that throws is reported and takes nothing. */
export function claims(filter: (request: IncomingMessage) => boolean, request: IncomingMessage, onError: ErrorListener): boolean {
  try {
    return filter(request) === true;
  } catch (error) {
    report(onError, error, request);
    return false;
  }
}

export const NOT_FOUND: Response = {
  status: 404,
  headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  body: 'no websocket endpoint here\n',
};

/**
 * A request this listener's filter refused. Another library's listener may want it: leave it
 * alone. If every 'upgrade' listener is one of ours, the last one answers 404 unless another
 * took it (listeners run in order, synchronously), since nobody else ever would.
 */
function unclaimed(emitter: EventEmitter, listener: object, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  const listeners = emitter.listeners('upgrade');
  if (listeners.some((other) => !ownListeners.has(other))) return;
  if (listeners[listeners.length - 1] !== listener || claimed.has(request)) return;
  socket.on('error', ignore);
  answerUpgrade(request, socket, head, NOT_FOUND);
}

async function answerUpgradeRequest(
  handler: Handler,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onError: ErrorListener,
  tracker: Tracker,
  handshakeTimeout: number,
): Promise<void> {
  // The client may reset the connection while the handler runs; that is no reason to crash.
  socket.on('error', ignore);
  if (tracker.shuttingDown) return void answerUpgrade(request, socket, head, SHUTTING_DOWN);
  tracker.answering.add(socket);
  const response = await respond(handler, request, onError, handshakeTimeout).finally(() =>
    tracker.answering.delete(socket),
  );
  let websocket: Websocket | null;
  try {
    // A handler still running when shutdown began answers into a closing server.
    websocket = answerUpgrade(request, socket, head, tracker.shuttingDown ? SHUTTING_DOWN : response, onError);
  } catch (error) {
    // Headers the socket could not carry: nothing was written yet.
    websocket = answerUpgrade(request, socket, head, failure(error, request, onError), onError);
  }
  if (websocket !== null) {
    tracker.websockets.add(websocket);
    void websocket.closeInfo.then(() => tracker.websockets.delete(websocket));
  }
}

export async function answerRequest(
  handler: Handler,
  request: IncomingMessage,
  response: ServerResponse,
  onError: ErrorListener,
): Promise<void> {
  let answer = await respond(handler, request, onError, null);
  try {
    // A plain request cannot be upgraded (Node sends upgrade requests to 'upgrade').
    if (answer.status === 101) throw new Error('cannot upgrade a plain http request');
    abandonHandovers(request, answer.status);
    response.writeHead(answer.status, answer.headers as Record<string, string | number | string[]> | undefined);
  } catch (error) {
    answer = failure(error, request, onError);
    response.writeHead(answer.status, answer.headers as Record<string, string>);
  }
  const body = answer.body;
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) {
    response.end(body ?? undefined);
  } else pipeline(Readable.from(body), response, ignore);
}

/**
 * The handler's response; a refused handshake it let through answers with the refusal, and
 * anything else it throws, or returns that is not a response, with a 500. With a
 * `handshakeTimeout` (upgrade requests), a handler that called start() and has not returned
 * that long after gets a 500 too: it is waiting for its websocket, which needs its response.
 */
export async function respond(
  handler: Handler,
  request: IncomingMessage,
  onError: ErrorListener,
  handshakeTimeout: number | null,
): Promise<Response> {
  try {
    const result = handler(request);
    return checkResponse(await (handshakeTimeout === null ? result : watched(result, request, handshakeTimeout)));
  } catch (error) {
    if (error instanceof WebsocketError && error.kind !== 'not-upgraded') return error.response;
    return failure(error, request, onError);
  }
}

/** The Websockets a server's serve()/attach() opened, for shutdown(). */
export interface Tracker {
  readonly websockets: Set<Websocket>;
  /** Sockets of upgrade requests whose handler is still running. */
  readonly answering: Set<Duplex>;
  shuttingDown: boolean;
}

const trackers = new WeakMap<object, Tracker>();

function trackerOf(server: object): Tracker {
  let tracker = trackers.get(server);
  if (tracker === undefined) trackers.set(server, (tracker = { websockets: new Set(), answering: new Set(), shuttingDown: false }));
  return tracker;
}

export const SHUTTING_DOWN: Response = {
  status: 503,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' },
  body: 'server shutting down\n',
};

export interface ShutdownOptions {
  /** Close code sent to every open Websocket (default 1001, Going Away). */
  code?: number;
  /** Close reason sent with it (default 'server shutting down'). */
  reason?: string;
  /** ms to wait for closing handshakes, pending writes and requests in flight (default 5000). */
  timeout?: number;
}

/**
 * Stops a server that serve() made or attach() was used on: stops listening, answers new
 * upgrade requests with 503, closes every open Websocket with 1001 after its pending writes,
 * and waits (at most `timeout`) for their closing handshakes and for requests in flight; then
 * drops whatever is left and resolves with how each Websocket ended.
 */
export async function shutdown(server: Server | Http2SecureServer | Http2Server, options: ShutdownOptions = {}): Promise<CloseInfo[]> {
  const tracker = trackerOf(server);
  if (isHttp2Server(server)) return shutdownHttp2(server, tracker, options);
  tracker.shuttingDown = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const websockets = [...tracker.websockets];
  for (const ws of websockets) ws.close(options.code ?? 1001, options.reason ?? 'server shutting down');
  const infos = Promise.all(websockets.map((ws) => ws.closeInfo));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeout ?? 5000)));
  await Promise.race([Promise.all([infos, closed]), expired]);
  clearTimeout(timer);
  for (const ws of tracker.websockets) ws.terminate('server shut down before the closing handshake finished');
  for (const socket of tracker.answering) socket.destroy();
  server.closeAllConnections();
  // server.close() also waits for sockets node:http no longer tracks (upgraded or CONNECT by
  // other code): not ours to close, and no reason to outlive the timeout. It finishes on its own.
  await Promise.race([closed, new Promise((resolve) => setImmediate(resolve))]);
  return infos;
}

/** Reports a handler's failure and answers its request with a 500. */
export function failure(error: unknown, request: IncomingMessage, onError: ErrorListener): Response {
  report(onError, error, request);
  abandonHandovers(request, 500);
  return { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'internal server error\n' };
}

function ignore(): void {}
