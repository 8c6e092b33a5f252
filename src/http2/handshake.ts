// The server side of the RFC 8441 handshake (WebSockets over HTTP/2), as pure functions. Over
// HTTP/2 a WebSocket opens with an extended CONNECT (`:method CONNECT`, `:protocol websocket`,
// RFC 8441 §4) on a stream of its own, and a `:status 200` accepts it (§5). start() calls these
// for a request whose httpVersion is 2.x; subprotocols and permessage-deflate are negotiated
// exactly as over HTTP/1.1.

import { acceptKey, checkSubprotocol, checkVersion, headerValues, refusal } from '../protocol/handshake.js';
import { isToken, trimOws } from '../protocol/http-syntax.js';
import type { Request, Response } from '../protocol/response.js';

/** The result of a valid extended CONNECT: what the 200 needs. */
export interface AcceptedConnect {
  /** Sec-WebSocket-Accept for a client that sent a key anyway (undici does), else null. */
  readonly accept: string | null;
  readonly protocol: string | null;
}

/** True for a request that came over HTTP/2 (Node's httpVersion '2.0'), whatever its method. */
export function isHttp2Request(request: Request): boolean {
  return request.httpVersion !== undefined && request.httpVersion.startsWith('2');
}

/**
 * Checks an RFC 8441 extended CONNECT and the subprotocol the server chose. Throws a
 * WebsocketError carrying the 400 or 426 answer otherwise, mirroring the HTTP/1.1 refusals.
 */
export function checkExtendedConnect(request: Request, subprotocol: string | null | undefined): AcceptedConnect {
  // undefined is null, as for checkHandshake().
  subprotocol ??= null;
  if (subprotocol !== null && (typeof subprotocol !== 'string' || !isToken(subprotocol))) {
    throw new TypeError(`subprotocol must be an RFC 7230 token, got ${JSON.stringify(subprotocol)}`);
  }
  const method = request.method ?? pseudo(request, ':method');
  // RFC 8441 §4: the :protocol pseudo-header is what makes a CONNECT a WebSocket request.
  if (method !== 'CONNECT' || pseudo(request, ':protocol') === undefined) {
    throw refusal('invalid-request', 400, 'expected an extended connect with :protocol websocket (rfc 8441)');
  }
  if (pseudo(request, ':protocol')!.toLowerCase() !== 'websocket') {
    throw refusal('invalid-request', 400, `unsupported :protocol ${JSON.stringify(pseudo(request, ':protocol'))}`);
  }
  // §4: "the :scheme and :path pseudo-header fields MUST be included", and :authority (§5).
  for (const name of [':scheme', ':path', ':authority']) {
    const value = pseudo(request, name);
    if (value === undefined || value === '') throw refusal('invalid-request', 400, `missing ${name} pseudo-header`);
  }
  // §5: the key and accept exchange is superseded by :protocol. A client that sends a key
  // anyway gets its accept back, which is harmless; a request carrying an accept is confused.
  if (headerValues(request, 'sec-websocket-accept').length > 0) {
    throw refusal('invalid-request', 400, 'a request must not carry sec-websocket-accept');
  }
  const keys = headerValues(request, 'sec-websocket-key');
  if (keys.length > 1) throw refusal('invalid-request', 400, 'more than one sec-websocket-key header');
  checkVersion(request);
  checkSubprotocol(request, subprotocol);
  return { accept: keys.length === 1 ? acceptKey(trimOws(keys[0]!)) : null, protocol: subprotocol };
}

/** The `:status 200` that accepts an extended CONNECT (RFC 8441 §5). */
export function connectAccepted(handshake: AcceptedConnect): Response {
  const headers: Record<string, string> = {};
  if (handshake.accept !== null) headers['sec-websocket-accept'] = handshake.accept;
  if (handshake.protocol !== null) headers['sec-websocket-protocol'] = handshake.protocol;
  return { status: 200, headers };
}

function pseudo(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return value === undefined ? undefined : typeof value === 'string' ? value : value[0];
}
