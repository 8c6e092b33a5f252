// Running a request -> response handler on node:http / node:https. serve() creates and starts a
// server; attach() links a handler to the 'upgrade' requests of a server the application already
// has. Plain responses are written as HTTP; a 101 from start() completes the WebSocket upgrade.

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable, pipeline } from 'node:stream';
import { WebsocketError } from './errors.js';
import type { Response } from './response.js';
import { abandonHandovers } from './start.js';
import { answerUpgrade } from './upgrade.js';

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
}

export interface AttachOptions {
  /** As for serve(). */
  onError?: ErrorListener;
}

/** Starts an HTTP (or HTTPS) server running `handler`; resolves once it is listening. */
export async function serve(handler: Handler, options: ServeOptions = {}): Promise<Server> {
  const server: Server = options.tls === undefined ? createHttpServer() : createHttpsServer(options.tls);
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
  const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void answerUpgradeRequest(handler, request, socket, head, onError);
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
): Promise<void> {
  // The client may reset the connection while the handler runs; that is no reason to crash.
  socket.on('error', ignore);
  const response = await respond(handler, request, onError);
  try {
    answerUpgrade(request, socket, head, response);
  } catch (error) {
    // Headers the socket could not carry: nothing was written yet.
    answerUpgrade(request, socket, head, failure(error, request, onError));
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
