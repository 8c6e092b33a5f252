// The frame encoder (RFC 6455 §5.2). Small frames come out as one buffer; large unmasked payloads
// as a header plus the caller's bytes, uncopied, for the shell to write together under cork().
// Masked frames (client role) are always copied, so the caller's bytes are never changed.

import { CloseCode, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, Opcode, isValidCloseCode } from './constants.js';
import { mask, maskingKey } from './mask.js';

/**
 * Binary payloads up to this size are copied behind their header into one buffer; larger ones
 * go uncopied as a second buffer of the same writev. Measured with `npm run bench`: at 1 KiB
 * the copy cost more than the extra iovec (+11% messages/s with 512 over 16 KiB).
 */
export const MERGE_LIMIT = 512;
/** Text is encoded anyway, so it goes straight behind its header up to this size. */
export const TEXT_MERGE_LIMIT = 16 * 1024;

export interface FrameOptions {
  fin?: boolean;
  rsv1?: boolean;
  /** Mask with a fresh random key, as a client must (RFC 6455 §5.3). */
  masked: boolean;
}

function headerLength(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a frame header into `target` at 0 and returns the masking key's offset (or -1). */
function writeHeader(target: Buffer, opcode: number, length: number, options: FrameOptions): number {
  target[0] = (options.fin === false ? 0 : 0x80) | (options.rsv1 === true ? 0x40 : 0) | opcode;
  const maskBit = options.masked ? 0x80 : 0;
  let offset: number;
  if (length < 126) {
    target[1] = maskBit | length;
    offset = 2;
  } else if (length < 0x10000) {
    target[1] = maskBit | 126;
    target.writeUInt16BE(length, 2);
    offset = 4;
  } else {
    target[1] = maskBit | 127;
    target.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    target.writeUInt32BE(length >>> 0, 6);
    offset = 10;
  }
  if (!options.masked) return -1;
  maskingKey().copy(target, offset);
  return offset;
}

/** Encodes one frame carrying `payload`. Returns one buffer, or header and payload for large ones. */
export function encodeFrame(opcode: number, payload: Uint8Array, options: FrameOptions): Buffer[] {
  const length = payload.length;
  const head = headerLength(length, options.masked);
  if (!options.masked && length > MERGE_LIMIT) {
    const header = Buffer.allocUnsafe(head);
    writeHeader(header, opcode, length, options);
    return [header, toBuffer(payload)];
  }
  const frame = Buffer.allocUnsafe(head + length);
  const keyOffset = writeHeader(frame, opcode, length, options);
  frame.set(payload, head);
  if (keyOffset !== -1) mask(frame.subarray(head), frame, 0, keyOffset);
  return [frame];
}

/** Encodes a whole message: a string as one text frame, bytes as one binary frame. */
export function encodeMessage(data: string | Uint8Array, masked: boolean): Buffer[] {
  if (typeof data !== 'string') return encodeFrame(Opcode.Binary, data, { masked });
  const length = Buffer.byteLength(data);
  if (!masked && length > TEXT_MERGE_LIMIT) return encodeFrame(Opcode.Text, Buffer.from(data), { masked });
  // Write the text straight behind its header: one allocation, no intermediate buffer.
  const head = headerLength(length, masked);
  const frame = Buffer.allocUnsafe(head + length);
  const keyOffset = writeHeader(frame, Opcode.Text, length, { masked });
  frame.write(data, head);
  if (keyOffset !== -1) mask(frame.subarray(head), frame, 0, keyOffset);
  return [frame];
}

/**
 * One unmasked frame in one buffer, for a message sent to many server-side Websockets
 * (Websocket.broadcast, topics): servers never mask (RFC 6455 §5.1), so the bytes can be shared.
 */
export function encodeShared(data: string | Uint8Array): Buffer {
  const frames = encodeMessage(data, false);
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
}

/** Encodes a ping or pong; the caller has checked the payload is at most 125 bytes. */
export function encodeControl(opcode: number, payload: Uint8Array, masked: boolean): Buffer {
  return encodeFrame(opcode, payload, { masked })[0]!;
}

/** The payload of a close frame: the code, then the reason as UTF-8; empty for NoStatus. */
export function closePayload(code: number, reason: string): Buffer {
  if (code === CloseCode.NoStatus) return Buffer.alloc(0);
  const payload = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

export function encodeClose(code: number, reason: string, masked: boolean): Buffer {
  return encodeControl(Opcode.Close, closePayload(code, reason), masked);
}

/**
 * Throws if `code` and `reason` can't go in a close frame an application sends: codes 1005,
 * 1006 and 1015 are never sent (RFC 6455 §7.4.1), and the reason must fit in 123 bytes.
 */
export function checkCloseArguments(code: number, reason: string): void {
  if (!isValidCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
  if (Buffer.byteLength(reason) > MAX_CLOSE_REASON) {
    throw new RangeError(`close reason longer than ${MAX_CLOSE_REASON} bytes`);
  }
}

/** Throws if a ping or pong payload is longer than a control frame allows. */
export function checkControlPayload(payload: Uint8Array): void {
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new RangeError(`control frame payload longer than ${MAX_CONTROL_PAYLOAD} bytes`);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
