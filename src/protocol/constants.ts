// Numbers fixed by RFC 6455, and prise's defaults for everything a peer controls.

/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing it into Sec-WebSocket-Accept. */
export const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.2 frame opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §7.4.1 status codes (and 1012–1014 from the IANA registry). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Never sent: stands for "the close frame carried no code". */
  NoStatus: 1005,
  /** Never sent: stands for "the connection dropped without a close frame". */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Largest message (text or binary, after reassembly) a Websocket accepts unless told otherwise. */
export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

/** RFC 6455 §5.5: control frames carry at most 125 bytes; a close reason leaves 2 for the code. */
export const MAX_CONTROL_PAYLOAD = 125;
export const MAX_CLOSE_REASON = 123;

/** True for the codes a close frame may carry on the wire (RFC 6455 §7.4). */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true; // registered (3xxx) and private (4xxx) codes
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}
