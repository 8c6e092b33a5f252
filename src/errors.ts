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
  | 'ERR_WS_INVALID_UTF8'
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
