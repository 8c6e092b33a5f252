// The HTTP/2 server layer: serve({ http2: true }), attach() on an http2 server, and shutdown()
// for both. An extended CONNECT (RFC 8441) is answered on its stream: a 200 from start() hands
// the stream to a Websocket (see stream.ts), any other response is sent and the stream closed.
// Plain requests go to the handler as on HTTP/1.1; with TLS the same port also speaks
// HTTP/1.1 (ALPN h2 and http/1.1), WebSocket upgrades included.
//
// Node quirk (nodejs/node#36977): once a server has a compat 'request' listener, node:http2
// answers every CONNECT with 405 unless a 'connect' listener takes it. We listen for 'connect'
// (compat servers) and for 'stream' (servers without compat), so both kinds reach the handler.

import {
  createSecureServer,
  createServer,
  Http2ServerRequest,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, Readable, type Duplex } from 'node:stream';
import { WebsocketError } from '../protocol/errors.js';
import { isHttp2Request } from './handshake.js';
import { http2Headers } from './headers.js';
import { SERVER_SETTINGS, widenWindow } from './settings.js';
import { websocketStream } from './stream.js';
import type { Response } from '../protocol/response.js';
import {
  answerRequest,
  attach,
  claims,
  DEFAULT_HANDSHAKE_TIMEOUT,
  failure,
  listen,
  NOT_FOUND,
  respond,
  SHUTTING_DOWN,
  withAddress,
  type ErrorListener,
  type Http2Handler,
  type ListeningHttp2Server,
  type ServeOptions,
  type ShutdownOptions,
  type Tracker,
} from '../server.js';
import { runSession } from '../accept.js';
import { logError } from '../report.js';
import { abandonHandovers, handoverOf } from '../start.js';
import type { CloseInfo, Websocket } from '../websocket.js';

type AnyHttp2Server = Http2SecureServer | Http2Server;

const EMPTY = Buffer.alloc(0);

/** node:http2 exports no server classes to test with instanceof: look along the prototype chain. */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  for (let proto = Object.getPrototypeOf(server); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name === 'Http2SecureServer' || name === 'Http2Server') return true;
  }
  return false;
}

/** serve() with `http2: true`: TLS gives h2 + http/1.1 on one port, no TLS gives h2c. */
export async function serveHttp2(handler: Http2Handler, options: ServeOptions): Promise<ListeningHttp2Server> {
  const server: AnyHttp2Server =
    options.tls === undefined
      ? createServer({ settings: SERVER_SETTINGS })
      : // ALPN offers h2 and, with allowHTTP1, http/1.1: a client asking for h2 alone gets it.
        createSecureServer({ ...(options.tls as object), allowHTTP1: true, settings: SERVER_SETTINGS });
  server.on('session', widenWindow);
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  server.on('session', (session: Http2Session) => dropIfSilent(session, handshakeTimeout));
  const onError = options.onError ?? logError;
  // Plain requests of both versions; the compat response has the writeHead()/end() used there.
  server.on('request', (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => {
    void answerRequest(handler as (r: IncomingMessage) => Response, request as IncomingMessage, response as ServerResponse, onError);
  });
  attach(server, handler, { onError, handshakeTimeout });
  await listen(server, options);
  return withAddress(server, options.tls === undefined ? 'http:' : 'https:');
}

/**
 * A session that opens no stream within `ms` is dropped, as an HTTP/1.1 client that sends no
 * request head is (node:http2 has no header timeout of its own).
 */
function dropIfSilent(session: Http2Session, ms: number): void {
  const timer = setTimeout(() => session.destroy(), ms);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  session.once('stream', clear);
  session.once('close', clear);
}

/** What shutdown() must end on an http2 server: its sessions and (HTTP/1.1) sockets. */
interface Connections {
  readonly sessions: Set<Http2Session>;
  readonly sockets: Set<Socket>;
}
const connectionsByServer = new WeakMap<AnyHttp2Server, Connections>();

function connectionsOf(server: AnyHttp2Server): Connections {
  let connections = connectionsByServer.get(server);
  if (connections !== undefined) return connections;
  const tracked: Connections = { sessions: new Set(), sockets: new Set() };
  connectionsByServer.set(server, tracked);
  server.on('session', (session: Http2Session) => {
    tracked.sessions.add(session);
    session.once('close', () => tracked.sessions.delete(session));
  });
  server.on(isSecure(server) ? 'secureConnection' : 'connection', (socket: Socket) => {
    tracked.sockets.add(socket);
    socket.once('close', () => tracked.sockets.delete(socket));
  });
  return tracked;
}

function isSecure(server: AnyHttp2Server): boolean {
  return 'setSecureContext' in server; // tls.Server's
}

/**
 * attach() on an http2 server, for extended CONNECTs (compat 'connect' or bare 'stream'; the
 * HTTP/1.1 upgrades of an allowHTTP1 server are attach()'s own 'upgrade' listener). The app's server must have been made with
 * `settings: { enableConnectProtocol: true }` (checked here: we cannot change it afterwards).
 */
export function attachHttp2(
  server: AnyHttp2Server,
  handler: Http2Handler,
  onError: ErrorListener,
  tracker: Tracker,
  filter: ((request: IncomingMessage) => boolean) | undefined,
  handshakeTimeout: number,
): () => void {
  connectionsOf(server);
  const refused = (request: Http2ServerRequest): boolean =>
    filter !== undefined && !claims(filter, request as unknown as IncomingMessage, onError);
  const onConnect = (request: IncomingMessage | Http2ServerRequest, second: unknown): void => {
    // An HTTP/1.1 CONNECT (allowHTTP1) arrives here as (request, socket, head): not ours.
    if (!isHttp2Request(request)) {
      if (server.listenerCount('connect') === 1) (second as Duplex).destroy();
      return;
    }
    const h2request = request as Http2ServerRequest;
    // A CONNECT the filter leaves to the app: nobody else listens here, so answer it (404).
    if (refused(h2request)) {
      if (server.listenerCount('connect') === 1) answerStream(h2request, h2request.stream, NOT_FOUND, onError);
      return;
    }
    void answerConnect(handler, h2request, onError, tracker, handshakeTimeout);
  };
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    // With a compat 'request' listener, node emits 'connect' for this stream: answered there.
    if (server.listenerCount('request') > 0 || headers[':method'] !== 'CONNECT' || headers[':protocol'] === undefined) return;
    const request = new Http2ServerRequest(stream, headers, {}, rawHeaders);
    if (refused(request)) return; // the app's own 'stream' listener answers it
    void answerConnect(handler, request, onError, tracker, handshakeTimeout);
  };
  server.on('connect', onConnect);
  server.on('stream', onStream);
  return () => {
    server.off('connect', onConnect);
    server.off('stream', onStream);
  };
}

async function answerConnect(
  handler: Http2Handler,
  request: Http2ServerRequest,
  onError: ErrorListener,
  tracker: Tracker,
  handshakeTimeout: number,
): Promise<void> {
  const stream = request.stream;
  // The client may reset the stream while the handler runs; that is no reason to crash.
  stream.on('error', ignore);
  const message = request as unknown as IncomingMessage; // what the shared helpers read of it
  if (tracker.shuttingDown) return void answerStream(request, stream, SHUTTING_DOWN, onError);
  tracker.answering.add(stream);
  const response = await respond(handler as (r: IncomingMessage) => Response, message, onError, handshakeTimeout).finally(() =>
    tracker.answering.delete(stream),
  );
  let websocket: Websocket | null;
  try {
    websocket = answerStream(request, stream, tracker.shuttingDown ? SHUTTING_DOWN : response, onError);
  } catch (error) {
    websocket = answerStream(request, stream, failure(error, message, onError), onError);
  }
  if (websocket !== null) {
    tracker.websockets.add(websocket);
    void websocket.closeInfo.then(() => tracker.websockets.delete(websocket));
  }
}

/**
 * Writes `response` on the stream of an extended CONNECT: a 200 from start() for this request
 * hands the stream to a Websocket (running accept()'s session); anything else is sent as it is and the stream closed.
 * Throws (sending nothing) for headers HTTP/2 cannot carry.
 */
export function answerStream(
  request: Http2ServerRequest,
  stream: ServerHttp2Stream,
  response: Response,
  onError: ErrorListener,
): Websocket | null {
  const handover = handoverOf(response);
  if (handover !== null && handover.request === request && response.status === 200) {
    const headers = http2Headers(200, response.headers);
    if (stream.destroyed) {
      handover.abandon(new WebsocketError('not-upgraded', 'the client reset the stream before the answer', { status: 200 }));
      return null;
    }
    abandonHandovers(request, 200, handover);
    stream.respond(headers);
    const ws = handover.complete(websocketStream(stream), EMPTY);
    if (handover.session !== null) runSession(ws, handover.session, request as unknown as IncomingMessage, onError);
    return ws;
  }
  if (response.status === 101) throw new Error('a 101 response cannot answer an http/2 request');
  const headers = http2Headers(response.status, response.headers, response.body);
  abandonHandovers(request, response.status);
  if (stream.destroyed) return null;
  stream.respond(headers);
  // The client may keep its side of a CONNECT open: once our answer is out, the stream is done.
  stream.once('finish', () => stream.close());
  const body = response.body;
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array) stream.end(body ?? undefined);
  else pipeline(Readable.from(body), stream, ignore);
  return null;
}

/**
 * shutdown() of an http2 server: stops listening, 503 to new WebSockets, 1001 to each open one,
 * then GOAWAY on every session (open streams finish on their own); after `timeout`, whatever is
 * left is destroyed.
 */
export async function shutdownHttp2(server: AnyHttp2Server, tracker: Tracker, options: ShutdownOptions): Promise<CloseInfo[]> {
  tracker.shuttingDown = true;
  const connections = connectionsOf(server);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const websockets = [...tracker.websockets];
  for (const ws of websockets) ws.close(options.code ?? 1001, options.reason ?? 'server shutting down');
  const infos = Promise.all(websockets.map((ws) => ws.closeInfo));
  // The close frames are queued first; GOAWAY then refuses new streams on every session.
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (const session of connections.sessions) if (!session.closed) session.close();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeout ?? 5000)));
  await Promise.race([Promise.all([infos, closed]), expired]);
  clearTimeout(timer);
  for (const ws of tracker.websockets) ws.terminate('server shut down before the closing handshake finished');
  for (const stream of tracker.answering) stream.destroy();
  for (const session of connections.sessions) session.destroy();
  for (const socket of connections.sockets) socket.destroy();
  await closed;
  return infos;
}

function ignore(): void {}
