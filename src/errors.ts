// Errors prise raises. Each says who is at fault and carries what the protocol needs to answer:
// an HTTP response for a refused handshake, a close code for a broken frame. `code` is stable.

import type { Response } from './response.js';

/** Why an opening handshake was refused. */
export type HandshakeErrorKind = 'invalid-request' | 'unsupported-version' | 'wrong-subprotocol';

/**
 * A refused opening handshake (the client's fault, or a subprotocol the client did not offer).
 * `response` is the ready-made 400 or 426 answer: return it from the handler as it is.
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
  | 'ERR_WS_ABORTED';

/**
 * A client's opening handshake failed: the server answered something other than a valid 101
 * (its fault, or a redirect we were told not to follow), the connection failed, or we gave up.
 * `status` is the HTTP status the server answered with, when it answered.
 */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly code: ConnectErrorCode;
  readonly status: number | undefined;
  constructor(code: ConnectErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.status = options.status;
  }
}
