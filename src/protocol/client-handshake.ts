// The client side of the opening handshake (RFC 6455 §4.1), as pure functions: check the URL and
// options, build the request headers, judge the server's response, and decide where a redirect
// may lead. client.ts does the I/O; everything here is tested without sockets.
//
//   const key = handshakeKey();
//   const headers = requestHeaders(key, protocols, options);
//   ... send the request, read the response ...
//   const { protocol } = checkServerHandshake(response, key, protocols);

import { randomBytes } from 'node:crypto';
import { ConnectError, type ConnectErrorCode } from './errors.js';
import { acceptDeflateAnswer, deflateOffer, type DeflateOptions, type DeflateParams } from './extensions.js';
import { acceptKey } from './handshake.js';
import { isToken, listHas, trimOws } from './http-syntax.js';

/** What checkServerHandshake() reads of a response. Node's `http.IncomingMessage` fits. */
export interface HandshakeResponse {
  readonly statusCode?: number | undefined;
  readonly statusMessage?: string | undefined;
  /** Header names in lowercase, as Node gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** The outcome of a valid 101: the subprotocol the server chose, or null, and deflate's terms. */
export interface ServerHandshake {
  readonly protocol: string | null;
  /** permessage-deflate as the server agreed to it; null when not offered or declined. */
  readonly deflate: DeflateParams | null;
}

/**
 * Headers connect() writes itself; a caller's `headers` may not set them, since a wrong value
 * would break the handshake in ways that are hard to see (extensions come from `deflate`).
 */
const RESERVED_HEADERS = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-accept',
]);

/** HTTP statuses that redirect to the Location header (RFC 9110 §15.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The URL to connect to: ws: or wss:, without a fragment (RFC 6455 §3: fragments MUST NOT be
 * used). http: and https: are read as ws: and wss:, as WHATWG WebSocket and `ws` do.
 */
export function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectError('ERR_WS_INVALID_URL', `invalid url ${JSON.stringify(String(url))}`);
  }
  // All four are "special" schemes, so URL lets one become another; an explicit port stays.
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new ConnectError('ERR_WS_INVALID_URL', `url scheme must be ws:, wss:, http: or https:, got ${parsed.protocol}`);
  }
  if (parsed.hash !== '' || parsed.href.endsWith('#')) {
    throw new ConnectError('ERR_WS_INVALID_URL', 'websocket url must not have a fragment');
  }
  return parsed;
}

/** A fresh Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1, item 7). */
export function handshakeKey(): string {
  return randomBytes(16).toString('base64');
}

/** Throws a TypeError unless `protocols` are distinct RFC 7230 tokens (RFC 6455 §4.1, item 10). */
export function checkProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of protocols) {
    if (typeof name !== 'string' || !isToken(name)) {
      throw new TypeError(`subprotocol must be an RFC 7230 token, got ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new TypeError(`subprotocol "${name}" offered twice`);
    seen.add(name);
  }
}

export interface RequestHeaderOptions {
  /** Extra headers; names may not be ones the handshake sets itself. */
  headers?: Readonly<Record<string, string>>;
  /** Sent as the Origin header (RFC 6455 §4.1, item 8), overriding one in `headers`. */
  origin?: string;
  /** Offer permessage-deflate with these preferences. */
  deflate?: DeflateOptions;
}

/** The request headers of an opening handshake, the caller's first. Host is left to node:http. */
export function requestHeaders(
  key: string,
  protocols: readonly string[],
  options: RequestHeaderOptions = {},
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw new TypeError(`header "${name}" is set by connect() itself`);
    if (options.origin !== undefined && lower === 'origin') continue;
    headers[name] = value;
  }
  if (options.origin !== undefined) headers['Origin'] = options.origin;
  headers['Upgrade'] = 'websocket';
  headers['Connection'] = 'Upgrade';
  headers['Sec-WebSocket-Key'] = key;
  headers['Sec-WebSocket-Version'] = '13';
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
  if (options.deflate !== undefined) headers['Sec-WebSocket-Extensions'] = deflateOffer(options.deflate);
  return headers;
}

/**
 * Checks the server's answer to an opening handshake sent with `key`, offering `protocols`
 * (RFC 6455 §4.1, "the client MUST validate the server's response"), and returns the chosen
 * subprotocol. Throws a ConnectError saying what is wrong otherwise. A redirect is just an
 * unexpected status here: see redirectTarget().
 */
export function checkServerHandshake(
  response: HandshakeResponse,
  key: string,
  protocols: readonly string[],
  deflate: DeflateOptions | null = null,
): ServerHandshake {
  const status = response.statusCode ?? 0;
  if (status !== 101) throw unexpectedStatus(response);
  const upgrade = header(response, 'upgrade');
  // §4.1 item 2: exactly "websocket", in any case.
  if (upgrade === undefined || trimOws(upgrade).toLowerCase() !== 'websocket') {
    const got = upgrade === undefined ? 'no upgrade header' : `upgrade: ${upgrade}`;
    throw answerRefused('ERR_WS_MISSING_HEADER', response, `101 response without "upgrade: websocket" (${got})`);
  }
  const connection = header(response, 'connection');
  // §4.1 item 3: a list containing the token "upgrade".
  if (connection === undefined || !listHas(connection, 'upgrade')) {
    const got = connection === undefined ? 'no connection header' : `connection: ${connection}`;
    throw answerRefused('ERR_WS_MISSING_HEADER', response, `101 response without "connection: upgrade" (${got})`);
  }
  const accept = header(response, 'sec-websocket-accept');
  if (accept === undefined) {
    throw answerRefused('ERR_WS_MISSING_HEADER', response, '101 response without sec-websocket-accept');
  }
  // §4.1 item 4: the accept must be the hash of the key we sent, so a server (or a cache) that
  // does not speak WebSocket cannot be mistaken for one.
  if (trimOws(accept) !== acceptKey(key)) {
    const message = `sec-websocket-accept ${JSON.stringify(accept)} does not match the key sent`;
    throw answerRefused('ERR_WS_BAD_ACCEPT', response, message);
  }
  return checkNegotiation(response, protocols, deflate);
}

/**
 * The part of the server's answer both HTTP versions share (RFC 6455 §4.1 items 5 and 6):
 * extensions we offered, on terms we accept, and a subprotocol we offered (or none).
 */
export function checkNegotiation(
  response: HandshakeResponse,
  protocols: readonly string[],
  deflate: DeflateOptions | null,
): ServerHandshake {
  // §4.1 item 5: the server may only use an extension we offered, on terms we can accept.
  const extensions = header(response, 'sec-websocket-extensions');
  let agreed: DeflateParams | null = null;
  if (extensions !== undefined && trimOws(extensions) !== '') {
    if (deflate === null) {
      throw answerRefused('ERR_WS_BAD_EXTENSION', response, `server uses extensions that were not offered: ${extensions}`);
    }
    try {
      agreed = acceptDeflateAnswer(extensions, deflate);
    } catch (error) {
      throw answerRefused('ERR_WS_BAD_EXTENSION', response, `bad sec-websocket-extensions answer: ${(error as Error).message}`);
    }
  }
  // §4.1 item 6: the subprotocol, if any, must be one we offered. None at all is allowed.
  const chosen = header(response, 'sec-websocket-protocol');
  if (chosen === undefined) return { protocol: null, deflate: agreed };
  const protocol = trimOws(chosen);
  if (!protocols.includes(protocol)) {
    const offered = protocols.length === 0 ? 'none was offered' : `offered ${protocols.join(', ')}`;
    throw answerRefused('ERR_WS_BAD_PROTOCOL', response, `server chose subprotocol ${JSON.stringify(chosen)} but ${offered}`);
  }
  return { protocol, deflate: agreed };
}

/**
 * The error for an answer other than 101 (RFC 6455 §4.1: "the client MUST... fail the WebSocket
 * connection"), with the server's status, headers and `body` (at most MAX_REFUSAL_BODY of it, as
 * read by the caller). The message quotes the body's start, so a log line says why.
 */
export function unexpectedStatus(response: HandshakeResponse, body?: string): ConnectError {
  const status = response.statusCode ?? 0;
  const text = response.statusMessage ? `${status} ${response.statusMessage}` : String(status);
  const excerpt = body === undefined ? '' : body.trim().slice(0, MESSAGE_EXCERPT);
  // JSON quoting keeps the server's newlines and control characters out of the log line.
  const said = excerpt === '' ? '' : `: ${JSON.stringify(excerpt)}`;
  const message = `server answered ${text} instead of 101 switching protocols${said}`;
  return new ConnectError('ERR_WS_UNEXPECTED_STATUS', message, {
    status,
    headers: response.headers,
    ...(body === undefined ? {} : { body }),
  });
}

/** How much of a refusal's body its error message quotes, in UTF-16 units. */
const MESSAGE_EXCERPT = 200;

/** True for a status that names its target in Location (301, 302, 303, 307, 308). */
export function isRedirect(status: number | undefined): boolean {
  return status !== undefined && REDIRECT_STATUSES.has(status);
}

/**
 * Where a redirect leads: `location` resolved against `from`, with http(s) read as ws(s). Throws
 * ERR_WS_REDIRECT when `followed` redirects already reach `limit` (0: redirects are not followed),
 * or when the target changes scheme other than ws: to wss: (never downgrade to plain text).
 */
export function redirectTarget(from: URL, status: number, location: string, followed: number, limit: number): URL {
  if (limit === 0) {
    throw refusal('ERR_WS_REDIRECT', status, `server redirected (${status}) to ${location}; followRedirects is off`);
  }
  if (followed >= limit) {
    throw refusal('ERR_WS_REDIRECT', status, `too many redirects (more than ${limit}), the last to ${location}`);
  }
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    const message = `server redirected (${status}) to an invalid location ${JSON.stringify(location)}`;
    throw refusal('ERR_WS_REDIRECT', status, message);
  }
  // Servers that think in HTTP redirect to http(s) URLs; they mean ws(s) at that address.
  const scheme = target.protocol === 'http:' ? 'ws:' : target.protocol === 'https:' ? 'wss:' : target.protocol;
  if (scheme !== from.protocol && !(from.protocol === 'ws:' && scheme === 'wss:')) {
    const message = `refusing redirect (${status}) from ${from.protocol} to ${target.protocol} ${location}`;
    throw refusal('ERR_WS_REDIRECT', status, message);
  }
  target.protocol = scheme;
  target.hash = '';
  return target;
}

function refusal(code: ConnectErrorCode, status: number, message: string): ConnectError {
  return new ConnectError(code, message, { status });
}

/** A 101 we must refuse: the error carries its status and headers. */
function answerRefused(code: ConnectErrorCode, response: HandshakeResponse, message: string): ConnectError {
  return new ConnectError(code, message, { status: response.statusCode ?? 0, headers: response.headers });
}

/** A header's value; repeats (which Node joins or gives as an array) come out comma-joined. */
function header(response: HandshakeResponse, name: string): string | undefined {
  const value = response.headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}
