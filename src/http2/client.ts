// connect() over HTTP/2 (RFC 8441): an extended CONNECT on a stream of an HTTP/2 session, and a
// client-role Websocket on that stream. The session is the caller's (`session`, several
// WebSockets share it) or one opened for this WebSocket alone and closed after it. The server
// must advertise SETTINGS_ENABLE_CONNECT_PROTOCOL; when it does not (or does not speak h2 at
// all), connect() falls back to HTTP/1.1 unless told `http2: 'require'`.
//
//   const session = await openSession('wss://example.com');
//   const a = await connect('wss://example.com/chat', { session });
//   const b = await connect('wss://example.com/feed', { session }); // same TCP connection

import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { checkProtocols, parseUrl } from '../protocol/client-handshake.js';
import { ConnectError } from '../protocol/errors.js';
import { checkLimits, type DeflateSettings } from '../start.js';
import { Websocket } from '../websocket.js';
import type { ConnectOptions } from '../client.js';
import { checkConnectResponse, connectHeaders } from './client-handshake.js';
import { CLIENT_SETTINGS, widenWindow } from './settings.js';
import { websocketStream } from './stream.js';

/** Sessions whose first SETTINGS frame we have seen (node cannot tell otherwise). */
const settled = new WeakSet<ClientHttp2Session>();

const DEFAULT_TIMEOUT = 10_000;

/**
 * Opens an HTTP/2 session to the origin of a ws:/wss: URL (h2c prior knowledge for ws:) and
 * resolves once the server's SETTINGS have arrived, for `connect(url, { session })`. Rejects
 * with ERR_WS_NO_HTTP2 when the server does not speak HTTP/2.
 */
export async function openSession(
  url: string | URL,
  options: { tls?: TlsConnectionOptions; timeout?: number; signal?: AbortSignal } = {},
): Promise<ClientHttp2Session> {
  const target = parseUrl(url);
  const origin = `${target.protocol === 'wss:' ? 'https' : 'http'}://${target.host}`;
  const session = http2Connect(origin, { ...(target.protocol === 'wss:' ? options.tls : {}), settings: CLIENT_SETTINGS });
  session.on('error', ignore);
  session.once('connect', widenWindow);
  try {
    await settings(session, options.timeout ?? DEFAULT_TIMEOUT, options.signal);
  } catch (error) {
    session.destroy();
    throw error;
  }
  return session;
}

/** Resolves once `session` has the server's SETTINGS; rejects if it fails first. */
function settings(session: ClientHttp2Session, timeout: number, signal: AbortSignal | undefined): Promise<void> {
  if (settled.has(session) || session.remoteSettings.enableConnectProtocol === true) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (error?: ConnectError): void => {
      clearTimeout(timer);
      session.off('remoteSettings', onSettings);
      session.off('error', onError);
      session.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onSettings = (): void => {
      settled.add(session);
      done();
    };
    const onError = (error: Error): void =>
      done(new ConnectError('ERR_WS_NO_HTTP2', `no http/2 session: ${error.message}`, { cause: error }));
    const onClose = (): void => done(new ConnectError('ERR_WS_NO_HTTP2', 'the http/2 session closed before its settings'));
    const onAbort = (): void => done(new ConnectError('ERR_WS_ABORTED', 'connect aborted', { cause: signal!.reason }));
    const timer = setTimeout(() => done(new ConnectError('ERR_WS_HANDSHAKE_TIMEOUT', `no http/2 settings within ${timeout} ms`)), timeout);
    session.once('remoteSettings', onSettings);
    session.on('error', onError);
    session.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * connect() with `http2` or `session`. `viaHttp1` runs the HTTP/1.1 handshake for a fallback.
 */
export async function connectHttp2(
  url: string | URL,
  options: ConnectOptions,
  viaHttp1: (options: ConnectOptions) => Promise<Websocket>,
): Promise<Websocket> {
  const { http2 = true, session: given, protocols: offered, headers, origin, signal, handshakeTimeout, tls, followRedirects, deflate, ...limits } = options;
  const target = parseUrl(url);
  const protocols = [...(offered ?? [])];
  checkProtocols(protocols);
  checkLimits(limits);
  const timeout = handshakeTimeout ?? DEFAULT_TIMEOUT;
  if (!(timeout > 0)) throw new RangeError(`handshakeTimeout must be a positive number of ms, got ${timeout}`);
  if (signal?.aborted) throw new ConnectError('ERR_WS_ABORTED', 'connect aborted', { cause: signal.reason });
  const compression: DeflateSettings | null = deflate === undefined || deflate === false ? null : deflate === true ? {} : deflate;
  const fallback = (error: ConnectError): Promise<Websocket> => {
    if (http2 === 'require' || given !== undefined) throw error;
    const { http2: _h, session: _s, ...rest } = options;
    return viaHttp1(rest);
  };
  const started = Date.now();
  let session: ClientHttp2Session;
  try {
    session = given ?? (await openSession(target, { ...(tls === undefined ? {} : { tls }), timeout, ...(signal ? { signal } : {}) }));
    if (given !== undefined) await settings(given, timeout, signal);
  } catch (error) {
    if (error instanceof ConnectError && error.code === 'ERR_WS_NO_HTTP2') return fallback(error);
    throw error;
  }
  const owned = given === undefined;
  // RFC 8441 §3: without SETTINGS_ENABLE_CONNECT_PROTOCOL a client MUST NOT send :protocol.
  if (session.remoteSettings.enableConnectProtocol !== true) {
    if (owned) session.close();
    return fallback(new ConnectError('ERR_WS_NO_EXTENDED_CONNECT', 'the http/2 server does not offer websockets (rfc 8441)'));
  }
  const requestOptions = {
    headers: { ...headers },
    ...(origin === undefined ? {} : { origin }),
    ...(compression === null ? {} : { deflate: compression }),
  };
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(connectHeaders(target, protocols, requestOptions), { endStream: false });
  } catch (error) {
    if (owned) session.close();
    throw error instanceof ConnectError ? error : new ConnectError('ERR_WS_CONNECTION_FAILED', `cannot open a stream: ${(error as Error).message}`, { cause: error });
  }
  stream.on('error', ignore);
  const remaining = Math.max(1, timeout - (Date.now() - started));
  return new Promise<Websocket>((resolve, reject) => {
    const fail = (error: ConnectError): void => {
      cleanup();
      if (!stream.destroyed) stream.close(0x8); // CANCEL
      if (owned) session.close();
      reject(error);
    };
    const onResponse = (response: IncomingHttpHeaders): void => {
      cleanup();
      const status = Number(response[':status']);
      try {
        const { protocol, deflate: params } = checkConnectResponse({ statusCode: status, headers: response }, protocols, compression);
        const negotiated = params === null ? {} : { deflate: { params, options: compression! } };
        const ws = new Websocket(websocketStream(stream), { ...limits, ...negotiated, role: 'client', protocol });
        if (owned) void ws.closeInfo.then(() => session.close());
        resolve(ws);
      } catch (error) {
        fail(error as ConnectError);
      }
    };
    const onClose = (): void =>
      fail(new ConnectError('ERR_WS_STREAM_RESET', `the server reset the stream (http/2 error ${stream.rstCode}) before answering`));
    const onAbort = (): void => fail(new ConnectError('ERR_WS_ABORTED', 'connect aborted', { cause: signal!.reason }));
    const timer = setTimeout(() => fail(new ConnectError('ERR_WS_HANDSHAKE_TIMEOUT', `no websocket handshake within ${timeout} ms`)), remaining);
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('response', onResponse);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    stream.once('response', onResponse);
    stream.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}
