// Running a request -> response handler on node:http / node:https, from start to stop. serve()
// creates and starts a server; attach() links a handler to the 'upgrade' requests of a server the
// application already has; shutdown() stops either kind gracefully. Plain responses are written
// as HTTP; a 101 from start() completes the WebSocket upgrade.

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable, pipeline } from 'node:stream';
import { WebsocketError } from './errors.js';
import type { Response } from './response.js';
import { abandonHandovers } from './start.js';
import { answerUpgrade } from './upgrade.js';
import type { CloseInfo, Websocket } from './websocket.js';

type ErrorListener = (error: unknown, request: IncomingMessage) => void;

/** A request handler: a plain request in, a plain response (or a 101 from start()) out. */
export type Handler = (request: IncomingMessage) => Response | Promise<Response>;

export interface ServeOptions {
  /** Default 8080; 0 picks a free port (read it from `server.address()`). */
  port?: number;
  /** Default '127.0.0.1': listen on other interfaces only when asked to. */
  host?: string;
  /** Serve HTTPS and wss:// with these node:https options (at least `key` and `cert`). */
  tls?: TlsOptions;
  /** Told about errors thrown by the handler (which answer 500). Default: console.error. */
  onError?: ErrorListener;
  /**
   * ms a client gets to send its whole request head (default 10,000); a slower one (slowloris)
   * gets a 408 and is disconnected. Checked every half second at most.
   */
  handshakeTimeout?: number;
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export interface AttachOptions {
  /** As for serve(). */
  onError?: ErrorListener;
}

/** Starts an HTTP (or HTTPS) server running `handler`; resolves once it is listening. */
export async function serve(handler: Handler, options: ServeOptions = {}): Promise<Server> {
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
  const onError = options.onError ?? reportError;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void answerRequest(handler, request, response, onError);
  });
  attach(server, handler, { onError });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Runs `handler` for the upgrade requests of an existing http(s) server; its plain requests stay
 * the application's. Returns a function that detaches the handler again.
 */
export function attach(server: Server, handler: Handler, options: AttachOptions = {}): () => void {
  const onError = options.onError ?? reportError;
  const tracker = trackerOf(server);
  const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void answerUpgradeRequest(handler, request, socket, head, onError, tracker);
  };
  server.on('upgrade', listener);
  return () => server.off('upgrade', listener);
}

async function answerUpgradeRequest(
  handler: Handler,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  onError: ErrorListener,
  tracker: Tracker,
): Promise<void> {
  // The client may reset the connection while the handler runs; that is no reason to crash.
  socket.on('error', ignore);
  if (tracker.shuttingDown) return void answerUpgrade(request, socket, head, SHUTTING_DOWN);
  tracker.answering.add(socket);
  const response = await respond(handler, request, onError).finally(() => tracker.answering.delete(socket));
  let websocket: Websocket | null;
  try {
    // A handler still running when shutdown began answers into a closing server.
    websocket = answerUpgrade(request, socket, head, tracker.shuttingDown ? SHUTTING_DOWN : response);
  } catch (error) {
    // Headers the socket could not carry: nothing was written yet.
    websocket = answerUpgrade(request, socket, head, failure(error, request, onError));
  }
  if (websocket !== null) {
    tracker.websockets.add(websocket);
    void websocket.closeInfo.then(() => tracker.websockets.delete(websocket));
  }
}

async function answerRequest(
  handler: Handler,
  request: IncomingMessage,
  response: ServerResponse,
  onError: ErrorListener,
): Promise<void> {
  let answer = await respond(handler, request, onError);
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
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) response.end(body);
  else pipeline(Readable.from(body), response, ignore);
}

/** The handler's response; a refused handshake it let through answers with the refusal, and anything else it throws with a 500. */
async function respond(handler: Handler, request: IncomingMessage, onError: ErrorListener): Promise<Response> {
  try {
    return await handler(request);
  } catch (error) {
    if (error instanceof WebsocketError && error.kind !== 'not-upgraded') return error.response;
    return failure(error, request, onError);
  }
}

/** The Websockets a server's serve()/attach() opened, for shutdown(). */
interface Tracker {
  readonly websockets: Set<Websocket>;
  /** Sockets of upgrade requests whose handler is still running. */
  readonly answering: Set<Duplex>;
  shuttingDown: boolean;
}

const trackers = new WeakMap<Server, Tracker>();

function trackerOf(server: Server): Tracker {
  let tracker = trackers.get(server);
  if (tracker === undefined) trackers.set(server, (tracker = { websockets: new Set(), answering: new Set(), shuttingDown: false }));
  return tracker;
}

const SHUTTING_DOWN: Response = {
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
export async function shutdown(server: Server, options: ShutdownOptions = {}): Promise<CloseInfo[]> {
  const tracker = trackerOf(server);
  tracker.shuttingDown = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const websockets = [...tracker.websockets];
  for (const ws of websockets) ws.close(options.code ?? 1001, options.reason ?? 'server shutting down');
  const infos = Promise.all(websockets.map((ws) => ws.closeInfo));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeout ?? 5000)));
  await Promise.race([Promise.all([infos, closed]), expired]);
  clearTimeout(timer);
  for (const ws of tracker.websockets) ws.destroy();
  for (const socket of tracker.answering) socket.destroy();
  server.closeAllConnections();
  await closed;
  return infos;
}

/** Reports a handler's failure and answers its request with a 500. */
function failure(error: unknown, request: IncomingMessage, onError: ErrorListener): Response {
  onError(error, request);
  abandonHandovers(request, 500);
  return { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'internal server error\n' };
}

function reportError(error: unknown, request: IncomingMessage): void {
  console.error(`prise: handler failed for ${request.method} ${request.url}:`, error);
}

function ignore(): void {}
