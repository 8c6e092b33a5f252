// The protocol state of one WebSocket connection, without I/O, in both directions.
// Receiving: push() the bytes that arrive, then pull events with next() until it returns null.
// Sending: encode() frames a message, or answers null once no data may be sent (RFC 6455
// §5.5.1); compresses() says which messages go through permessage-deflate. Closing: close()
// sends our close frame, or the echo of the peer's; tcpMayClose says when the shell may end TCP,
// and closeInfo() what to report. Replies the protocol requires (a pong, the close that fails a
// broken connection) are queued as output for the shell to write; the connection never calls
// user code, so nothing can re-enter a parse in progress.
//
//   conn.push(chunk);
//   for (let ev = conn.next(); ev !== null; ev = conn.next()) handle(ev);
//   for (const bytes of conn.takeOutput()) socket.write(bytes);

import { CloseCode, Opcode, isValidCloseCode } from './constants.js';
import { FrameDecoder, type Frame, type Role } from './decoder.js';
import { closePayload, encodeControl, encodeFrame, encodeMessage } from './encoder.js';
import { ProtocolError } from './errors.js';
import { checkUtf8Prefix, isUtf8 } from './utf8.js';

export type { Role };

export interface ConnectionOptions {
  role: Role;
  /** Largest message accepted, after reassembly; a longer one fails with 1009. */
  maxPayload: number;
  /** Most frames one message may arrive in; more fail with 1008. Costs no memory either way. */
  maxFragments?: number;
  /** permessage-deflate was negotiated: RSV1 marks compressed messages (RFC 7692 §6). */
  compression?: boolean;
  /** With compression: messages shorter than this many bytes go uncompressed (default 1024). */
  compressionThreshold?: number;
}

/**
 * A connection's life (RFC 6455 §7): data flows both ways while Open; LocalClosing after our
 * close frame, RemoteClosing after the peer's (we may still send until we answer it); Closed
 * once both crossed or the connection failed.
 */
export const State = {
  Open: 'open',
  LocalClosing: 'local-closing',
  RemoteClosing: 'remote-closing',
  Closed: 'closed',
} as const;
export type State = (typeof State)[keyof typeof State];

/** How a connection ended. */
export interface CloseInfo {
  /** The code of the close frame received (1005 if it had none), the one we failed it with, or 1006. */
  readonly code: number;
  readonly reason: string;
  /** True when both close frames crossed before the TCP connection closed. */
  readonly wasClean: boolean;
  /** What went wrong, for an unclean close: the peer's protocol error, a socket error or a timeout. */
  readonly error?: Error;
}

/** 2^17: enough for the 65,536-fragment messages real clients send, yet a bound all the same. */
export const DEFAULT_MAX_FRAGMENTS = 131_072;

export type ConnectionEvent =
  /** A whole message: text as a string, binary as a Buffer. */
  | { readonly type: 'message'; readonly data: string | Buffer }
  /**
   * A piece of a compressed message's payload (RFC 7692). The shell inflates it, hands the
   * output to inflated(), and after the piece with `end` calls inflatedEnd() before next().
   */
  | { readonly type: 'compressed'; readonly data: Buffer; readonly end: boolean }
  /** A ping from the peer; its pong is already queued. */
  | { readonly type: 'ping'; readonly data: Buffer }
  | { readonly type: 'pong'; readonly data: Buffer }
  /** The peer's close frame; the echo is queued unless we had sent a close first. */
  | { readonly type: 'close'; readonly code: number; readonly reason: string }
  /** The peer broke the protocol; a close frame with `error.closeCode` is queued. */
  | { readonly type: 'error'; readonly error: ProtocolError };

/** The close frame a side sent or received. */
export interface CloseFrame {
  readonly code: number;
  readonly reason: string;
}

const EMPTY: Buffer = Buffer.alloc(0);

export class Connection {
  readonly role: Role;
  #state: State = State.Open;
  readonly #masked: boolean;
  readonly #maxPayload: number;
  readonly #decoder: FrameDecoder;
  #output: Buffer[] = [];

  /** The fragmented message being reassembled: its opcode, or 0 when none is in progress. */
  #messageOpcode = 0;
  /** Reassembly buffer (grown by doubling, up to maxPayload) and how much of it is filled. */
  #message: Buffer = EMPTY;
  #messageLength = 0;
  /** Text only: bytes of #message already known to be valid UTF-8, up to a character boundary. */
  #checkedLength = 0;

  /** Frames the message in progress has arrived in so far. */
  #fragments = 0;
  readonly #compression: boolean;
  readonly #compressionThreshold: number;
  /** The message in progress is compressed; its wire bytes so far; its last piece is out. */
  #compressed = false;
  #compressedLength = 0;
  #awaitingInflate = false;
  readonly #maxFragments: number;
  /** The pong for the latest ping, until the shell has room to write it (see takePong). */
  #pong: Buffer | null = null;

  #sentClose: CloseFrame | null = null;
  #receivedClose: CloseFrame | null = null;
  #error: ProtocolError | null = null;
  /** Application code failed (a listener threw, zlib failed on our data): closed with 1011. */
  #internalError: Error | null = null;

  constructor(options: ConnectionOptions) {
    this.role = options.role;
    this.#masked = options.role === 'client';
    this.#maxPayload = options.maxPayload;
    this.#maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.#compression = options.compression ?? false;
    this.#compressionThreshold = options.compressionThreshold ?? 1024;
    this.#decoder = new FrameDecoder({
      role: options.role,
      maxPayload: this.#compression ? compressedLimit(options.maxPayload) : options.maxPayload,
      allowRsv1: this.#compression,
    });
  }

  get state(): State {
    return this.#state;
  }
  /** Data may still be sent: our close frame has not gone out (RFC 6455 §5.5.1). */
  get canSend(): boolean {
    return this.#state === State.Open || this.#state === State.RemoteClosing;
  }
  /**
   * The shell may end TCP now. RFC 6455 §7.1.1: the server closes TCP first once both close
   * frames crossed; a client waits for it, unless the connection failed.
   */
  get tcpMayClose(): boolean {
    return this.#state === State.Closed && (this.role === 'server' || this.#error !== null);
  }
  get sentClose(): CloseFrame | null {
    return this.#sentClose;
  }
  get receivedClose(): CloseFrame | null {
    return this.#receivedClose;
  }
  /** The protocol error that failed the connection, if the peer broke the rules. */
  get error(): ProtocolError | null {
    return this.#error;
  }
  /** True once no more frames will be read: the peer closed or broke the protocol. */
  get readDone(): boolean {
    return this.#receivedClose !== null || this.#error !== null;
  }
  /** Bytes received but not yet turned into events (the shell stops reading past a limit). */
  get bufferedInput(): number {
    return this.#decoder.buffered;
  }

  push(chunk: Buffer): void {
    if (!this.readDone) this.#decoder.push(chunk);
  }

  /** Bytes the shell must write, in order; empties the queue. */
  takeOutput(): Buffer[] {
    const output = this.#output;
    if (output.length !== 0) this.#output = [];
    return output;
  }

  get hasOutput(): boolean {
    return this.#output.length !== 0;
  }

  /**
   * The pong owed for the latest ping, if any. RFC 6455 §5.5.3 lets us answer only the most
   * recent of several pings, so a peer that floods pings and never reads gets one pending pong,
   * not a growing queue: the shell takes it only when the socket has room.
   */
  takePong(): Buffer | null {
    const pong = this.#pong;
    this.#pong = null;
    return pong;
  }

  /** The next event, or null until more bytes are pushed. */
  next(): ConnectionEvent | null {
    if (this.readDone || this.#awaitingInflate) return null;
    try {
      for (let frame = this.#decoder.next(); frame !== null; frame = this.#decoder.next()) {
        let event: ConnectionEvent | null;
        if (frame.opcode >= Opcode.Close) {
          // RFC 7692 §6.1: only the first frame of a data message may carry RSV1.
          if (frame.rsv1) throw new ProtocolError('ERR_WS_RESERVED_BITS', 'rsv1 set on a control frame', CloseCode.ProtocolError);
          event = this.#control(frame.opcode, frame.payload);
        } else {
          event = this.#data(frame);
        }
        if (event !== null) return event;
      }
      return null;
    } catch (error) {
      return this.#failWith(error);
    }
  }

  /** Output of inflating the compressed message in progress; an event only if it broke a limit. */
  inflated(chunk: Buffer): ConnectionEvent | null {
    if (this.readDone) return null;
    try {
      // RFC 7692 leaves the limit to us: maxPayload counts inflated bytes, checked as they come.
      if (this.#messageLength + chunk.length > this.#maxPayload) throw tooBig(this.#maxPayload, 'once inflated');
      this.#reserve(this.#messageLength + chunk.length);
      this.#append(chunk);
      return null;
    } catch (error) {
      return this.#failWith(error);
    }
  }

  /** The compressed message in progress is fully inflated: its message (or the error it causes). */
  inflatedEnd(): ConnectionEvent | null {
    this.#awaitingInflate = false;
    if (this.readDone) return null;
    try {
      return this.#finishMessage();
    } catch (error) {
      return this.#failWith(error);
    }
  }

  /** The compressed data would not inflate. */
  inflateFailed(reason: string): ConnectionEvent | null {
    this.#awaitingInflate = false;
    if (this.readDone) return null;
    return this.#fail(new ProtocolError('ERR_WS_BAD_COMPRESSED_DATA', reason, CloseCode.InvalidPayload));
  }

  /**
   * Queues our close frame (the caller validated code and reason); no-op once one was sent.
   * After the peer's close this is the answer, and it echoes the peer's code and reason
   * (RFC 6455 §5.5.1), whatever was asked: the shell sends it once the application has read
   * the messages that came before the peer's close and its writes meanwhile have gone out.
   */
  close(code: number, reason: string): void {
    if (this.#sentClose !== null) return;
    const received = this.#receivedClose;
    const frame = received ?? { code, reason };
    this.#sentClose = frame;
    this.#state = received === null && this.#error === null ? State.LocalClosing : State.Closed;
    this.#pong = null; // nothing may follow a close frame
    this.#output.push(encodeControl(Opcode.Close, closePayload(frame.code, frame.reason), this.#masked));
  }

  /**
   * Closes with 1011 because application code failed: a listener threw, or zlib failed on
   * data we were sending. The first failure is the one closeInfo() reports.
   */
  failInternal(error: Error): void {
    this.#internalError ??= error;
    this.close(CloseCode.InternalError, 'internal error');
  }

  /** The application failure that closed the connection with 1011, if any. */
  get internalError(): Error | null {
    return this.#internalError;
  }

  /** Queues a ping, unless the closing handshake has started. */
  ping(payload: Uint8Array): void {
    if (this.#sentClose === null) this.#output.push(encodeControl(Opcode.Ping, payload, this.#masked));
  }

  /** True when a message of `size` bytes goes through permessage-deflate. */
  compresses(size: number): boolean {
    return this.#compression && size >= this.#compressionThreshold;
  }

  /** The frames of one message, or null: no data may follow our close frame (RFC 6455 §5.5.1). */
  encode(data: string | Uint8Array): Buffer[] | null {
    return this.canSend ? encodeMessage(data, this.#masked) : null;
  }

  /** The frame of a message deflate compressed (RFC 7692 §6: RSV1 on its first frame), or null. */
  encodeCompressed(opcode: number, payload: Buffer): Buffer[] | null {
    return this.canSend ? encodeFrame(opcode, payload, { masked: this.#masked, rsv1: true }) : null;
  }

  /**
   * How the connection ended, once TCP is gone: the peer's close if both frames crossed, our
   * failure code otherwise, 1006 when TCP went without a close frame (`transportError` says
   * why, if known: a socket error, a timeout, a limit).
   */
  closeInfo(transportError: Error | null): CloseInfo {
    const received = this.#receivedClose;
    const error = this.#error;
    const internal = this.#internalError;
    if (received !== null) {
      // Clean only if our answer went out too; a peer that never read it timed out.
      const wasClean = this.#sentClose !== null;
      const cause = internal ?? (wasClean ? null : transportError);
      const info = { code: received.code, reason: received.reason, wasClean };
      return cause === null ? info : { ...info, error: cause };
    }
    if (error !== null) return { code: error.closeCode, reason: error.message, wasClean: false, error };
    if (internal !== null) return { code: CloseCode.InternalError, reason: 'internal error', wasClean: false, error: internal };
    return transportError === null
      ? { code: CloseCode.Abnormal, reason: '', wasClean: false }
      : { code: CloseCode.Abnormal, reason: '', wasClean: false, error: transportError };
  }

  #data(frame: Frame): ConnectionEvent | null {
    if (frame.first) {
      const continuation = frame.opcode === Opcode.Continuation;
      if (continuation && this.#messageOpcode === 0) {
        throw new ProtocolError('ERR_WS_UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue', CloseCode.ProtocolError);
      }
      if (!continuation && this.#messageOpcode !== 0) {
        throw new ProtocolError('ERR_WS_EXPECTED_CONTINUATION', 'new message before the last one finished', CloseCode.ProtocolError);
      }
      if (frame.rsv1 && continuation) {
        throw new ProtocolError('ERR_WS_RESERVED_BITS', 'rsv1 set on a continuation frame', CloseCode.ProtocolError);
      }
      if (!continuation) this.#compressed = frame.rsv1;
      // Refuse before reading the payload, so an oversized message is never buffered.
      if (this.#compressed) {
        if (this.#compressedLength + frame.length > compressedLimit(this.#maxPayload)) throw tooBig(this.#maxPayload, 'compressed');
      } else if (this.#messageLength + frame.length > this.#maxPayload) {
        throw tooBig(this.#maxPayload, '');
      }
      // Fast path: a whole unfragmented message in one piece is handed out as a view.
      if (!this.#compressed && !continuation && frame.fin && frame.last) return message(frame.opcode, frame.payload);
      if (!continuation) this.#messageOpcode = frame.opcode;
      if (++this.#fragments > this.#maxFragments) {
        throw new ProtocolError('ERR_WS_TOO_MANY_FRAGMENTS', `message in more than ${this.#maxFragments} fragments`, CloseCode.PolicyViolation);
      }
      if (!this.#compressed) {
        this.#reserve(frame.fin && !continuation ? frame.length : this.#messageLength + frame.length);
        // The payload is still to come: unmasked by the decoder straight into the message.
        if (!frame.last) this.#decoder.payloadInto(this.#message, this.#messageLength + frame.payload.length);
      }
    }
    const end = frame.fin && frame.last;
    if (this.#compressed) {
      if (frame.payload.length === 0 && !end) return null;
      this.#compressedLength += frame.payload.length;
      this.#awaitingInflate = end;
      return { type: 'compressed', data: frame.payload, end };
    }
    this.#append(frame.payload);
    return end ? this.#finishMessage() : null;
  }

  /** The message in progress is whole: hand it out and get ready for the next. */
  #finishMessage(): ConnectionEvent {
    const opcode = this.#messageOpcode;
    const bytes = this.#message.subarray(0, this.#messageLength);
    // Text was checked piece by piece; all that is left is a character cut off at the end.
    const complete = opcode === Opcode.Binary || this.#checkedLength === this.#messageLength;
    this.#messageOpcode = 0;
    this.#message = EMPTY;
    this.#messageLength = 0;
    this.#checkedLength = 0;
    this.#fragments = 0;
    this.#compressed = false;
    this.#compressedLength = 0;
    if (!complete) throw invalidUtf8('invalid utf-8 in text message');
    return { type: 'message', data: opcode === Opcode.Binary ? bytes : bytes.toString('utf8') };
  }

  /** Makes room for at least `size` bytes; grows by doubling so many fragments copy little. */
  #reserve(size: number): void {
    if (size <= this.#message.length) return;
    const capacity = Math.min(Math.max(size, this.#message.length * 2, 1024), this.#maxPayload);
    const grown = Buffer.allocUnsafe(Math.max(capacity, size));
    this.#message.copy(grown, 0, 0, this.#messageLength);
    this.#message = grown;
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    // A piece from payloadInto() already lies where it belongs.
    const inPlace = piece.buffer === this.#message.buffer && piece.byteOffset === this.#message.byteOffset + this.#messageLength;
    if (!inPlace) piece.copy(this.#message, this.#messageLength);
    this.#messageLength += piece.length;
    if (this.#messageOpcode === Opcode.Text) {
      // Fail fast: check the new bytes now rather than when the message completes.
      const checked = checkUtf8Prefix(this.#message.subarray(0, this.#messageLength), this.#checkedLength);
      if (checked === -1) throw invalidUtf8('invalid utf-8 in text message');
      this.#checkedLength = checked;
    }
  }

  #control(opcode: number, payload: Buffer): ConnectionEvent | null {
    if (opcode === Opcode.Ping) {
      // The pong copies the payload, which is a view into a socket chunk.
      if (this.#sentClose === null) this.#pong = encodeControl(Opcode.Pong, payload, this.#masked);
      return { type: 'ping', data: payload };
    }
    if (opcode === Opcode.Pong) return { type: 'pong', data: payload };
    const received = parseClose(payload);
    this.#receivedClose = received;
    this.#pong = null; // a close answers everything
    // RFC 6455 §5.5.1: the peer's close is answered with a close, but the answer may wait until
    // we have finished what we were sending (see close()).
    this.#state = this.#sentClose === null ? State.RemoteClosing : State.Closed;
    return { type: 'close', code: received.code, reason: received.reason };
  }

  #failWith(error: unknown): ConnectionEvent {
    if (!(error instanceof ProtocolError)) throw error;
    return this.#fail(error);
  }

  #fail(error: ProtocolError): ConnectionEvent {
    this.#error = error;
    this.#message = EMPTY;
    // RFC 6455 §7.1.7: send a close frame with the reason, then drop the connection.
    this.close(error.closeCode, truncateReason(error.message));
    this.#state = State.Closed;
    return { type: 'error', error };
  }
}

function message(opcode: number, bytes: Buffer): ConnectionEvent {
  if (opcode === Opcode.Binary) return { type: 'message', data: bytes };
  if (!isUtf8(bytes)) throw invalidUtf8('invalid utf-8 in text message');
  return { type: 'message', data: bytes.toString('utf8') };
}

/** Reads a close frame's code and reason (RFC 6455 §5.5.1, §7.4). */
function parseClose(payload: Buffer): CloseFrame {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) {
    throw new ProtocolError('ERR_WS_BAD_CLOSE_FRAME', 'close frame with a 1-byte payload', CloseCode.ProtocolError);
  }
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) {
    throw new ProtocolError('ERR_WS_BAD_CLOSE_CODE', `invalid close code ${code}`, CloseCode.ProtocolError);
  }
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) throw invalidUtf8('invalid utf-8 in close reason');
  return { code, reason: reason.toString('utf8') };
}

function tooBig(maxPayload: number, how: string): ProtocolError {
  const message = `message longer than ${maxPayload} bytes${how === '' ? '' : ' ' + how}`;
  return new ProtocolError('ERR_WS_MESSAGE_TOO_BIG', message, CloseCode.MessageTooBig);
}

/**
 * Largest compressed payload accepted for a message of at most maxPayload bytes: zlib's own
 * worst case for any window and memLevel (deflateBound's: with a small window, incompressible
 * bytes can go out in fixed-Huffman blocks at 9 bits each, about 13% more), and a few sync
 * flushes besides. Compressed bytes are inflated as they arrive, never buffered, so the margin
 * costs no memory; maxPayload still bounds what they inflate to.
 */
function compressedLimit(maxPayload: number): number {
  return maxPayload + Math.ceil(maxPayload / 8) + Math.ceil(maxPayload / 256) + Math.ceil(maxPayload / 512) + 64;
}

function invalidUtf8(message: string): ProtocolError {
  return new ProtocolError('ERR_WS_INVALID_UTF8', message, CloseCode.InvalidPayload);
}

/** Error messages are short ASCII, but cut them to fit a close frame all the same. */
function truncateReason(reason: string): string {
  return reason.length <= 123 ? reason : reason.slice(0, 123);
}
