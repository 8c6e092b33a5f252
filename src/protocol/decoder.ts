// The frame decoder (RFC 6455 §5.2): fed socket chunks with push(), asked for frames with next().
// "Need more bytes" is a null, not an error. Data-frame payloads are handed out as they arrive, in
// pieces, so a large frame is never buffered here. A data frame whose payload lies whole in one
// chunk comes as one piece, a view into it (unmasked in place). Any other comes first as its
// header alone (an empty first piece); the caller may then give a target with payloadInto(),
// and the frame's bytes are unmasked straight into it as they arrive (one pass over them, no
// copy after); without a target, pieces are views into the chunks. Control frames come out
// whole (at most 125 bytes, copied only when split).
// A frame the RFC forbids throws a ProtocolError; after that the decoder must not be used.

import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode } from './constants.js';
import { ProtocolError } from './errors.js';
import { mask, maskInto } from './mask.js';

export type Role = 'server' | 'client';

export interface DecoderOptions {
  /** A server expects masked frames, a client unmasked ones (RFC 6455 §5.1). */
  role: Role;
  /** Largest frame payload accepted, in bytes; a longer one fails before its payload is read. */
  maxPayload: number;
  /** Allow RSV1, which permessage-deflate uses (RFC 7692 §6). */
  allowRsv1?: boolean;
}

/** A frame, or the next piece of a data frame's payload. */
export interface Frame {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv1: boolean;
  /** Payload length announced by the header. */
  readonly length: number;
  /** This piece of the payload, unmasked (a view into the target, if one was given); the whole payload for control frames. */
  readonly payload: Buffer;
  /** The first piece of this frame (its header was just read). */
  readonly first: boolean;
  /** The last piece of this frame. */
  readonly last: boolean;
}

const EMPTY: Buffer = Buffer.alloc(0);

export class FrameDecoder {
  readonly #role: Role;
  readonly #maxPayload: number;
  readonly #allowRsv1: boolean;
  /** Unread input: chunks[0] from `offset` on, then the later chunks whole. */
  #chunks: Buffer[] = [];
  #offset = 0;
  #available = 0;
  /** The data frame whose payload is being handed out, if #inFrame (fields, not an object, to allocate nothing per frame). */
  #inFrame = false;
  #opcode = 0;
  #fin = false;
  #rsv1 = false;
  #length = 0;
  #remaining = 0;
  /** Its masking key: 4 bytes of `#keySource` from `#keyStart` (the header's own bytes), or null. */
  #keySource: Buffer | null = null;
  #keyStart = 0;
  /** Where the frame's pieces go, from payloadInto(); null: views into the chunks. */
  #target: Buffer | null = null;
  #targetOffset = 0;
  /** For a header split across chunks; made on first use. */
  #scratch: Buffer | null = null;

  constructor(options: DecoderOptions) {
    this.#role = options.role;
    this.#maxPayload = options.maxPayload;
    this.#allowRsv1 = options.allowRsv1 ?? false;
  }

  /** Bytes pushed but not yet handed out. */
  get buffered(): number {
    return this.#available;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
  }

  /** The next frame or payload piece, or null until more bytes are pushed. */
  next(): Frame | null {
    if (this.#inFrame) return this.#nextPiece(false);
    if (this.#available < 2) return null;
    const b0 = this.#peek(0);
    const b1 = this.#peek(1);
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const control = opcode >= 0x8;
    // Everything the first two bytes can tell is checked before waiting for the rest.
    if ((b0 & 0x30) !== 0 || (rsv1 && !this.#allowRsv1)) {
      throw fail('ERR_WS_RESERVED_BITS', 'reserved bits set', CloseCode.ProtocolError);
    }
    if (opcode > Opcode.Binary && !(control && opcode <= Opcode.Pong)) {
      throw fail('ERR_WS_RESERVED_OPCODE', `reserved opcode ${opcode}`, CloseCode.ProtocolError);
    }
    // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
    if (control && (!fin || length7 > MAX_CONTROL_PAYLOAD)) {
      throw fail('ERR_WS_BAD_CONTROL_FRAME', 'control frame fragmented or longer than 125 bytes', CloseCode.ProtocolError);
    }
    if (masked !== (this.#role === 'server')) {
      throw this.#role === 'server'
        ? fail('ERR_WS_MASK_EXPECTED', 'client frame not masked', CloseCode.ProtocolError)
        : fail('ERR_WS_MASK_UNEXPECTED', 'server frame masked', CloseCode.ProtocolError);
    }
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (this.#available < headerLength) return null;

    // The header is read where it lies; only one split across chunks is copied (to scratch).
    const first = this.#chunks[0]!;
    const contiguous = first.length - this.#offset >= headerLength;
    const header = contiguous ? first : this.#copyHeader(headerLength);
    const base = contiguous ? this.#offset : 0;
    let length = length7;
    if (lengthBytes === 2) {
      length = header.readUInt16BE(base + 2);
      if (length < 126) throw badLength('frame length not minimally encoded');
    } else if (lengthBytes === 8) {
      const high = header.readUInt32BE(base + 2);
      // RFC 6455 §5.2: "the most significant bit MUST be 0".
      if (high >= 0x80000000) throw badLength('frame length has its top bit set');
      if (high === 0 && header.readUInt32BE(base + 6) < 0x10000) throw badLength('frame length not minimally encoded');
      length = high * 0x100000000 + header.readUInt32BE(base + 6);
    }
    if (!control && length > this.#maxPayload) {
      throw fail('ERR_WS_MESSAGE_TOO_BIG', `message longer than ${this.#maxPayload} bytes`, CloseCode.MessageTooBig);
    }
    if (control && this.#available < headerLength + length) return null;
    // The key stays valid for the whole frame where it is: unmasking writes only after the
    // header, and the scratch copy is not reused before the next header.
    const keySource = masked ? header : null;
    const keyStart = base + headerLength - 4;
    this.#skip(headerLength);
    if (control) {
      const payload = this.#take(length);
      if (keySource !== null) mask(payload, keySource, 0, keyStart);
      return { opcode, fin, rsv1, length, payload, first: true, last: true };
    }
    this.#inFrame = true;
    this.#opcode = opcode;
    this.#fin = fin;
    this.#rsv1 = rsv1;
    this.#length = length;
    this.#remaining = length;
    this.#keySource = keySource;
    this.#keyStart = keyStart;
    const chunk = this.#chunks[0];
    // The whole payload in this chunk: one piece. Otherwise the header first, so the caller can
    // say where the payload goes before any of it is unmasked.
    if (length === 0 || (chunk !== undefined && chunk.length - this.#offset >= length)) return this.#nextPiece(true);
    return { opcode, fin, rsv1, length, payload: EMPTY, first: true, last: false };
  }

  /**
   * Right after the first piece of a data frame that came as its header alone: the rest of its
   * payload is to be unmasked into `target` from `offset` on (room for all of it is the caller's
   * to make). Its pieces are then views into `target`.
   */
  payloadInto(target: Buffer, offset: number): void {
    if (!this.#inFrame || this.#remaining !== this.#length) throw new Error('payloadInto() only right after a frame header');
    if (target.length - offset < this.#length) throw new RangeError('payloadInto() target too small for the frame');
    this.#target = target;
    this.#targetOffset = offset;
  }

  /** Hands out what has arrived of the current data frame's payload. */
  #nextPiece(first: boolean): Frame | null {
    // The first piece goes out even when empty: its `first` flag (and the length a caller checks
    // before the payload arrives) must not be lost when a header comes without payload bytes.
    if (!first && this.#remaining > 0 && this.#available === 0) return null;
    const chunk = this.#chunks[0];
    let payload = EMPTY;
    if (this.#remaining > 0 && chunk !== undefined) {
      const size = Math.min(this.#remaining, chunk.length - this.#offset);
      const done = this.#length - this.#remaining;
      const target = this.#target;
      if (target === null) {
        payload = this.#take(size);
        if (this.#keySource !== null) mask(payload, this.#keySource, done, this.#keyStart);
      } else {
        const at = this.#targetOffset + done;
        const source = chunk.subarray(this.#offset, this.#offset + size);
        if (this.#keySource !== null) maskInto(source, target, at, this.#keySource, done, this.#keyStart);
        else target.set(source, at);
        this.#skip(size);
        payload = target.subarray(at, at + size);
      }
      this.#remaining -= size;
    }
    const last = this.#remaining === 0;
    if (last) {
      this.#inFrame = false;
      this.#keySource = null;
      this.#target = null;
    }
    return { opcode: this.#opcode, fin: this.#fin, rsv1: this.#rsv1, length: this.#length, payload, first, last };
  }

  #peek(index: number): number {
    let i = this.#offset + index;
    for (const chunk of this.#chunks) {
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    throw new RangeError('peek past the end of the input');
  }

  /** Copies the next `length` bytes, which straddle chunks, to scratch without consuming them. */
  #copyHeader(length: number): Buffer {
    const scratch = (this.#scratch ??= Buffer.allocUnsafe(14));
    for (let i = 0; i < length; i++) scratch[i] = this.#peek(i);
    return scratch;
  }

  /** Consumes `length` bytes without making a view of them. */
  #skip(length: number): void {
    this.#available -= length;
    let left = length;
    while (left > 0) {
      const room = this.#chunks[0]!.length - this.#offset;
      if (left < room) {
        this.#offset += left;
        return;
      }
      left -= room;
      this.#shift();
    }
  }

  /** Consumes `length` bytes: a view when they lie in one chunk, a copy otherwise. */
  #take(length: number): Buffer {
    if (length === 0) return EMPTY;
    const chunk = this.#chunks[0]!;
    const start = this.#offset;
    this.#available -= length;
    if (chunk.length - start >= length) {
      this.#offset += length;
      if (this.#offset === chunk.length) this.#shift();
      return chunk.subarray(start, start + length);
    }
    const copy = Buffer.allocUnsafe(length);
    let copied = 0;
    while (copied < length) {
      const head = this.#chunks[0]!;
      const n = Math.min(length - copied, head.length - this.#offset);
      head.copy(copy, copied, this.#offset, this.#offset + n);
      copied += n;
      this.#offset += n;
      if (this.#offset === head.length) this.#shift();
    }
    return copy;
  }

  #shift(): void {
    this.#chunks.shift();
    this.#offset = 0;
  }
}

function fail(code: ProtocolError['code'], message: string, closeCode: number): ProtocolError {
  return new ProtocolError(code, message, closeCode);
}

function badLength(message: string): ProtocolError {
  return fail('ERR_WS_BAD_LENGTH', message, CloseCode.ProtocolError);
}
