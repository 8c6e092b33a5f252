// connect(): the client side. It sends the opening handshake with node:http (or node:https for
// wss:), checks the server's 101 with client-handshake.ts, and hands the upgraded socket, with
// any bytes that came along with the 101, to a client-role Websocket.
//
//   const ws = await connect('ws://127.0.0.1:8080/', { protocols: ['chat.v2'] });
//   ws.write('hello');
//   for await (const message of ws) console.log(message);

import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import {
  checkProtocols,
  checkServerHandshake,
  handshakeKey,
  isRedirect,
  parseUrl,
  redirectTarget,
  requestHeaders,
  unexpectedStatus,
  type ServerHandshake,
} from './protocol/client-handshake.js';
import { ConnectError, MAX_REFUSAL_BODY } from './protocol/errors.js';
import type { ClientHttp2Session } from 'node:http2';
import { connectHttp2 } from './http2/client.js';
import { checkDeflateSettings, checkLimits, type DeflateSettings } from './start.js';
import { Websocket, type WebsocketLimits } from './websocket.js';

/** The handshake's options, and the Websocket's limits (maxPayload, closeTimeout...) passed on. */
export interface ConnectOptions extends WebsocketLimits {
  /** Subprotocols to offer, best first. The server may pick one of them, or none. */
  protocols?: readonly string[];
  /** Extra request headers (not the ones the handshake sets itself). */
  headers?: Readonly<Record<string, string>>;
  /** The Origin header, as a browser would send it. */
  origin?: string;
  /** Aborts a pending connect (the socket is destroyed); no effect once connected. */
  signal?: AbortSignal;
  /** Ms the whole opening handshake may take, redirects included (default 10 000). */
  handshakeTimeout?: number;
  /** node:tls options for wss: (`ca` for a self-signed server, a client `cert`...). */
  tls?: TlsConnectionOptions;
  /**
   * Redirects (301, 302, 303, 307, 308) are refused by default. `true` follows up to 5, a number
   * up to that many; only to the same scheme, or from ws: to wss:.
   */
  followRedirects?: boolean | number;
  /** Offer permessage-deflate (default false); the server decides whether and on what terms. */
  deflate?: boolean | DeflateSettings;
  /**
   * Open the WebSocket over HTTP/2 (RFC 8441): `true` falls back to HTTP/1.1 when the server
   * does not offer it, `'require'` fails with ERR_WS_NO_HTTP2 / ERR_WS_NO_EXTENDED_CONNECT.
   */
  http2?: boolean | 'require';
  /** An HTTP/2 session to the URL's origin to open the WebSocket on (see openSession()); implies http2, no fallback. */
  session?: ClientHttp2Session;
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
export const DEFAULT_MAX_REDIRECTS = 5;
/** setTimeout() fires at once beyond this; longer timeouts mean "no timeout". */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Opens a WebSocket to a ws: or wss: URL (RFC 6455 §4.1; http: and https: mean the same).
 * Resolves once the server's 101 has been checked; rejects with a ConnectError (see its `code`;
 * a refusal carries the server's status, headers and body) when the handshake fails, with a
 * TypeError or RangeError for invalid options.
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<Websocket> {
  if (options.session !== undefined || (options.http2 !== undefined && options.http2 !== false)) {
    return connectHttp2(url, options, (rest) => connect(url, rest));
  }
  const { http2: _http2, ...http1 } = options;
  options = http1;
  // The handshake's options; the rest are the Websocket's limits, passed on as they are.
  const { protocols: offered, headers, origin, signal, handshakeTimeout, tls, followRedirects, deflate, ...limits } = options;
  const first = parseUrl(url);
  const protocols = [...(offered ?? [])];
  checkProtocols(protocols);
  checkLimits(limits);
  const compression: DeflateSettings | null = checkDeflateSettings(deflate);
  const timeout = handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new RangeError(`handshakeTimeout must be a positive number of ms, got ${timeout}`);
  }
  const limit = redirectLimit(followRedirects);
  if (signal?.aborted) throw aborted(signal);

  return new Promise<Websocket>((resolve, reject) => {
    let current: ClientRequest | null = null;
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    /** Ends the reading of a refusal's body with what has come so far. */
    let cutShort: (() => void) | null = null;

    const cleanup = (): void => {
      settled = true;
      if (timer !== null) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      cleanup();
      current?.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(aborted(signal!));

    const attempt = (target: URL, followed: number, extra: Record<string, string>): void => {
      const key = handshakeKey();
      let req: ClientRequest;
      try {
        const headerOptions = {
          headers: extra,
          ...(origin === undefined ? {} : { origin }),
          ...(compression === null ? {} : { deflate: compression }),
        };
        req = send(target, requestHeaders(key, protocols, headerOptions), tls);
      } catch (error) {
        return fail(error); // a header value node:http refuses
      }
      current = req;
      req.on('upgrade', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (settled || req !== current) return void socket.destroy();
        let agreed: ServerHandshake;
        try {
          agreed = checkServerHandshake(response, key, protocols, compression);
        } catch (error) {
          socket.destroy();
          return fail(error);
        }
        cleanup();
        const { protocol, deflate: params } = agreed;
        const negotiated = params === null ? {} : { deflate: { params, options: compression! } };
        resolve(new Websocket(socket, { ...limits, ...negotiated, role: 'client', protocol, head }));
      });
      req.on('response', (response: IncomingMessage) => {
        if (settled || req !== current) return;
        const status = response.statusCode;
        const location = response.headers.location;
        if (isRedirect(status) && location !== undefined) {
          req.destroy(); // the body is of no use: this connection ends here either way
          try {
            const next = redirectTarget(target, status!, location, followed, limit);
            attempt(next, followed + 1, next.host === target.host ? extra : forAnotherHost(extra));
          } catch (error) {
            fail(error);
          }
          return;
        }
        if (status === 101) {
          req.destroy();
          try {
            checkServerHandshake(response, key, protocols); // throws: a 101 without the upgrade's headers
            throw new ConnectError('ERR_WS_UNEXPECTED_STATUS', 'server answered 101 without upgrading', { status });
          } catch (error) {
            return fail(error);
          }
        }
        // A refusal: its body says why. Read the start of it, then hang up (the timer still runs).
        cutShort = readBody(response, (body) => {
          cutShort = null;
          req.destroy();
          fail(unexpectedStatus(response, body));
        });
      });
      req.on('error', (error: Error) => {
        if (req !== current) return;
        const message = `cannot connect to ${target.href}: ${error.message}`;
        fail(new ConnectError('ERR_WS_CONNECTION_FAILED', message, { cause: error }));
      });
      req.end();
    };

    if (timeout <= MAX_TIMER) {
      timer = setTimeout(() => {
        // A refusal whose body is still trickling in: the status is the answer, with the body so far.
        if (cutShort !== null) return cutShort();
        fail(new ConnectError('ERR_WS_HANDSHAKE_TIMEOUT', `no websocket handshake within ${timeout} ms`));
      }, timeout);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt(first, 0, { ...headers });
  });
}

/**
 * Reads at most MAX_REFUSAL_BODY bytes of `response`'s body as UTF-8 and calls `done` once, at
 * its end, at the limit, or when the returned function is called (with what came so far).
 */
function readBody(response: IncomingMessage, done: (body: string) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let body = '';
  let size = 0;
  let finished = false;
  const finish = (complete: boolean): void => {
    if (finished) return;
    finished = true;
    response.off('data', onData);
    // A cut body may end inside a character: only a complete one gets the decoder's last bytes.
    if (complete) body += decoder.end();
    done(body);
  };
  const onData = (chunk: Buffer): void => {
    const room = MAX_REFUSAL_BODY - size;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    size += part.length;
    body += decoder.write(part);
    if (size >= MAX_REFUSAL_BODY) finish(false);
  };
  response.on('data', onData);
  response.once('end', () => finish(true));
  response.once('close', () => finish(false)); // the server hung up in the middle
  response.on('error', () => {});
  return () => finish(false);
}

/** Sends the handshake request; `tls` applies to wss: only. */
function send(target: URL, headers: Record<string, string>, tls: TlsConnectionOptions | undefined): ClientRequest {
  const secure = target.protocol === 'wss:';
  const request = secure ? httpsRequest : httpRequest;
  return request({
    ...(secure ? tls : undefined),
    // URL keeps the brackets of an IPv6 literal; node:http wants the bare address.
    hostname: target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname,
    port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
    path: target.pathname + target.search,
    method: 'GET',
    headers,
    // A socket of its own: an upgraded connection never goes back to a pool.
    agent: false,
    ...(target.username !== '' || target.password !== ''
      ? { auth: `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` }
      : {}),
  });
}

function redirectLimit(follow: boolean | number | undefined): number {
  if (follow === undefined || follow === false) return 0;
  if (follow === true) return DEFAULT_MAX_REDIRECTS;
  if (!(Number.isSafeInteger(follow) && follow >= 0)) {
    throw new RangeError(`followRedirects must be a boolean or a non-negative integer, got ${follow}`);
  }
  return follow;
}

/** A redirect to another host takes neither the caller's credentials nor its Host along. */
function forAnotherHost(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'authorization' && lower !== 'cookie' && lower !== 'host') kept[name] = value;
  }
  return kept;
}

function aborted(signal: AbortSignal): ConnectError {
  return new ConnectError('ERR_WS_ABORTED', 'connect aborted', { cause: signal.reason });
}

