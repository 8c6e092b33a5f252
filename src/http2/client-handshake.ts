// The client side of the RFC 8441 handshake, as pure functions: the extended CONNECT's header
// block, and the check of the server's answer (`:status 200`, then the same subprotocol and
// extension rules as over HTTP/1.1). No Sec-WebSocket-Key: §5 replaces it with :protocol.

import { checkNegotiation, requestHeaders, type RequestHeaderOptions, type ServerHandshake } from '../protocol/client-handshake.js';
import { ConnectError } from '../protocol/errors.js';
import type { DeflateOptions } from '../protocol/extensions.js';
import type { HandshakeResponse } from '../protocol/client-handshake.js';

/** Fields RFC 9113 §8.2.2 forbids in HTTP/2, which the HTTP/1.1 handshake uses. */
const HTTP1_ONLY = new Set(['upgrade', 'connection', 'sec-websocket-key']);

/** The header block of an extended CONNECT to `url` (RFC 8441 §4), names in lowercase. */
export function connectHeaders(url: URL, protocols: readonly string[], options: RequestHeaderOptions = {}): Record<string, string> {
  const headers: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': url.protocol === 'wss:' ? 'https' : 'http',
    ':path': url.pathname + url.search,
    ':authority': url.host,
  };
  // The key given here is dropped: only the HTTP/1.1 handshake uses one.
  for (const [name, value] of Object.entries(requestHeaders('', protocols, options))) {
    const lower = name.toLowerCase();
    if (!HTTP1_ONLY.has(lower) && lower !== 'host') headers[lower] = value;
  }
  return headers;
}

/** Checks the server's answer to an extended CONNECT; throws a ConnectError saying what is wrong. */
export function checkConnectResponse(
  response: HandshakeResponse,
  protocols: readonly string[],
  deflate: DeflateOptions | null = null,
): ServerHandshake {
  const status = response.statusCode ?? 0;
  // §5: a 2xx accepts; anything else is a refusal, as a non-101 is over HTTP/1.1.
  if (status < 200 || status > 299) {
    const message = `server answered ${status} instead of 200 to the extended connect`;
    throw new ConnectError('ERR_WS_UNEXPECTED_STATUS', message, { status, headers: response.headers });
  }
  return checkNegotiation(response, protocols, deflate);
}
