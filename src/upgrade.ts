// Answering an HTTP upgrade request on its raw socket, as Node's 'upgrade' event hands it over:
// a 101 from start() becomes a Websocket; any other response is written as HTTP and the socket
// closed. `upgrade()` does the whole job in one call for a bare `server.on('upgrade')` listener.

import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { runSession } from './accept.js';
import { WebsocketError } from './protocol/errors.js';
import { listHas } from './protocol/http-syntax.js';
import { logError, type ErrorListener } from './report.js';
import type { Request, Response, ResponseHeaders } from './protocol/response.js';
import { abandonHandovers, begin, handoverOf, type Session, type StartOptions } from './start.js';
import type { Websocket } from './websocket.js';

/**
 * Writes `response` to the socket of an upgrade request. A 101 from start() or accept() for
 * this request hands the socket over and returns the Websocket (running accept()'s session,
 * whose failures go to `onError`); anything else is sent as a plain HTTP response, the socket
 * is closed, pending start() promises for the request reject, and null is returned. Throws
 * (writing nothing) if the response's headers are invalid.
 */
export function answerUpgrade<R extends Request>(
  request: R,
  socket: Duplex,
  head: Buffer,
  response: Response,
  onError: ErrorListener<R> = logError,
): Websocket | null {
  const handover = handoverOf(response);
  if (handover !== null && handover.request === request && response.status === 101) {
    abandonHandovers(request, 101, handover);
    socket.write(serializeHead(101, response.headers ?? {}, {}));
    const ws = handover.complete(socket, head);
    if (handover.session !== null) runSession(ws, handover.session, request, onError);
    return ws;
  }
  if (response.status === 101) {
    throw new Error('a 101 response must come from start() for this request');
  }
  const httpHead = serializeHead(response.status, response.headers ?? {}, { Connection: 'close' }, response.body);
  abandonHandovers(request, response.status);
  writeBodyAndClose(socket, httpHead, response.body);
  return null;
}

export interface UpgradeOptions extends StartOptions {
  /** accept()'s session: run on the Websocket; a throw or rejection closes it with 1011. */
  session?: Session;
  /** Told about what `session` throws. Default: console.error. */
  onError?: ErrorListener;
}

/**
 * Completes (or refuses) a WebSocket upgrade from a bare `server.on('upgrade')` listener:
 * resolves to the Websocket, or to null when the handshake was refused, in which case the
 * 400/403/426 has been sent and the socket closed. Never rejects for a client's bad request.
 */
export async function upgrade(
  request: Request,
  socket: Duplex,
  head: Buffer,
  subprotocol: string | null = null,
  options: UpgradeOptions = {},
): Promise<Websocket | null> {
  socket.on('error', ignore);
  const { session, onError = logError, ...startOptions } = options;
  if (session !== undefined && typeof session !== 'function') {
    throw new TypeError(`upgrade()'s session must be a function, got ${String(session)}`);
  }
  let response: Response;
  try {
    response = begin(request, subprotocol, startOptions, session ?? null).response;
  } catch (error) {
    if (!(error instanceof WebsocketError)) throw error;
    response = error.response;
  }
  return answerUpgrade(request, socket, head, response, onError);
}

function serializeHead(status: number, headers: ResponseHeaders, extra: ResponseHeaders, body?: Response['body']): string {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  const seen = new Set<string>();
  const add = (name: string, value: ResponseHeaders[string]): void => {
    validateHeaderName(name);
    seen.add(name.toLowerCase());
    for (const item of Array.isArray(value) ? value : [value]) {
      validateHeaderValue(name, item);
      text += `${name}: ${item}\r\n`;
    }
  };
  for (const [name, value] of Object.entries(headers)) {
    // The socket is closed after this answer: a Connection header of the response (a 426's
    // "Connection: Upgrade") gets the close option added rather than dropped.
    const closing = extra['Connection'] === 'close' && name.toLowerCase() === 'connection';
    add(name, closing && typeof value === 'string' && !listHas(value, 'close') ? `${value}, close` : value);
  }
  for (const [name, value] of Object.entries(extra)) if (!seen.has(name.toLowerCase())) add(name, value);
  if (status !== 101 && !seen.has('content-length') && (typeof body === 'string' || body instanceof Uint8Array)) {
    add('Content-Length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  }
  return text + '\r\n';
}

function writeBodyAndClose(socket: Duplex, head: string, body: Response['body']): void {
  socket.on('error', ignore);
  // Upgrade sockets allow half-open connections: once our answer is out, close for good rather
  // than wait for a client that may never end its side.
  socket.once('finish', () => socket.destroy());
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) {
    socket.end(body == null ? head : Buffer.concat([Buffer.from(head), Buffer.from(body)]));
    return;
  }
  socket.write(head);
  // The body's end delimits the response (Connection: close); pipeline ends the socket after it.
  pipeline(Readable.from(body), socket, ignore);
}

function ignore(): void {}
