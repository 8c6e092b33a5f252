// Errors prise raises. Each says who is at fault and carries what the protocol needs to answer:
// an HTTP response for a refused handshake, a close code for a broken frame. `code` is stable.

import type { Response } from './response.js';

/** Why an opening handshake was refused. */
export type HandshakeErrorKind = 'invalid-request' | 'unsupported-version' | 'wrong-subprotocol' | 'forbidden-origin';

/**
 * A refused opening handshake (the client's fault, a subprotocol the client did not offer, or
 * an Origin the server does not allow). `response` is the ready-made 400, 403 or 426 answer:
 * return it from the handler as it is.
 */
export class WebsocketError extends Error {
  override readonly name: string = 'WebsocketError';
  readonly kind: HandshakeErrorKind | 'not-upgraded';
  readonly code: string;
  readonly response: Response;
  constructor(kind: WebsocketError['kind'], message: string, response: Response) {
    super(message);
    this.kind = kind;
    this.code = 'ERR_WS_' + kind.toUpperCase().replaceAll('-', '_');
    this.response = response;
  }
}

/** Stable codes of the protocol errors a peer can cause. */
export type ProtocolErrorCode =
  | 'ERR_WS_RESERVED_BITS'
  | 'ERR_WS_RESERVED_OPCODE'
  | 'ERR_WS_BAD_CONTROL_FRAME'
  | 'ERR_WS_MASK_EXPECTED'
  | 'ERR_WS_MASK_UNEXPECTED'
  | 'ERR_WS_BAD_LENGTH'
  | 'ERR_WS_UNEXPECTED_CONTINUATION'
  | 'ERR_WS_EXPECTED_CONTINUATION'
  | 'ERR_WS_MESSAGE_TOO_BIG'
  | 'ERR_WS_TOO_MANY_FRAGMENTS'
  | 'ERR_WS_INVALID_UTF8'
  | 'ERR_WS_BAD_COMPRESSED_DATA'
  | 'ERR_WS_BAD_CLOSE_FRAME'
  | 'ERR_WS_BAD_CLOSE_CODE';

/** The peer broke RFC 6455; `closeCode` is what the connection was closed with. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly closeCode: number;
  constructor(code: ProtocolErrorCode, message: string, closeCode: number) {
    super(message);
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** Stable codes of the ways connect() can fail. */
export type ConnectErrorCode =
  | 'ERR_WS_INVALID_URL'
  | 'ERR_WS_CONNECTION_FAILED'
  | 'ERR_WS_UNEXPECTED_STATUS'
  | 'ERR_WS_REDIRECT'
  | 'ERR_WS_MISSING_HEADER'
  | 'ERR_WS_BAD_ACCEPT'
  | 'ERR_WS_BAD_PROTOCOL'
  | 'ERR_WS_BAD_EXTENSION'
  | 'ERR_WS_HANDSHAKE_TIMEOUT'
  | 'ERR_WS_ABORTED'
  // HTTP/2 (connect() with http2): the server does not speak h2, or not RFC 8441; the stream was reset.
  | 'ERR_WS_NO_HTTP2'
  | 'ERR_WS_NO_EXTENDED_CONNECT'
  | 'ERR_WS_STREAM_RESET';

/** Header names in lowercase, as node:http gives them; repeated ones as an array. */
export type ConnectErrorHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What a ConnectError knows beyond its code and message. */
export interface ConnectErrorDetails {
  status?: number;
  headers?: ConnectErrorHeaders;
  body?: string;
  cause?: unknown;
}

/**
 * A client's opening handshake failed: the server answered something other than a valid 101
 * (its fault, or a redirect we were told not to follow), the connection failed, or we gave up.
 * `status` and `headers` are the server's answer, when it answered; `body` is the start of the
 * body of a refusal (a status other than 101), so a 400 comes with the server's explanation.
 */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly code: ConnectErrorCode;
  readonly status: number | undefined;
  readonly headers: ConnectErrorHeaders | undefined;
  /**
   * The first 64 KiB (MAX_REFUSAL_BODY) of a refusal's body, decoded as UTF-8 ('' for an empty
   * body); undefined unless the server answered with a status other than 101.
   */
  readonly body: string | undefined;
  constructor(code: ConnectErrorCode, message: string, details: ConnectErrorDetails = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.status = details.status;
    this.headers = details.headers;
    this.body = details.body;
  }
}

/** How much of a refusal's body a ConnectError keeps (64 KiB); the rest is not read. */
export const MAX_REFUSAL_BODY = 64 * 1024;
