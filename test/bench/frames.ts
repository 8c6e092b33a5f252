// The load generator's side of the wire, written from RFC 6455 without prise's codec (so a bug
// there cannot flatter the numbers): the opening handshake as fixed bytes, frames built once and
// sent many times, and a streaming reader that checks every frame coming back (opcode, length,
// mask bit) without copying payloads.
//
//   const frame = maskedFrame(Op.Binary, 16);          // build once, write many times
//   const reader = new FrameReader({ opcode: Op.Binary, length: 16, masked: false });
//   socket.on('data', (chunk) => (received += reader.push(chunk)));

import { createHash } from 'node:crypto';

/** RFC 6455 §5.2 opcodes used here. */
export const Op = { Binary: 0x2, Close: 0x8 } as const;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Every connection sends the same key: the request is one fixed buffer and the answer is known. */
const KEY = 'cHJpc2UtYmVuY2gta2V5IQ==';
const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** The opening handshake request (RFC 6455 §4.1), the same bytes for every connection. */
export const upgradeRequest = Buffer.from(
  'GET / HTTP/1.1\r\n' +
    'Host: 127.0.0.1\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${KEY}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n',
);

/** The Sec-WebSocket-Accept value the server must answer `upgradeRequest` with. */
export const expectedAccept = acceptFor(KEY);

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A final, masked frame (as a client must send) whose payload is `length` bytes of a pattern. */
export function maskedFrame(opcode: number, length: number): Buffer {
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = (i * 31 + 7) & 0xff;
  return encode(opcode, payload);
}

/** A masked close frame with code 1000 (RFC 6455 §5.5.1). */
export function closeFrame(): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(1000);
  return encode(Op.Close, payload);
}

function encode(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const frame = Buffer.alloc(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  if (extended === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  MASK_KEY.copy(frame, 2 + extended);
  const start = 2 + extended + 4;
  for (let i = 0; i < length; i++) frame[start + i] = payload[i]! ^ MASK_KEY[i & 3]!;
  return frame;
}

/** What every data frame coming back must look like. */
export interface Expected {
  opcode: number;
  length: number;
  /**
   * Servers never mask (RFC 6455 §5.1); the raw TCP echo sends our own masked frames back, so
   * for it the reader expects the mask bit and skips the key.
   */
  masked: boolean;
}

/**
 * Counts the frames in a byte stream and checks each header against `Expected`. A close frame
 * (at most 125 bytes) is allowed at any point and sets `closed`; anything else throws.
 */
export class FrameReader {
  /** True once a close frame has been read. */
  closed = false;
  readonly #expected: Expected;
  /** Header bytes of a frame that straddles chunks (at most 2 + 8 + 4). */
  readonly #header = Buffer.alloc(14);
  #headerHave = 0;
  /** Payload bytes of the current frame still to skip. */
  #payloadLeft = 0;
  #current = 0;

  constructor(expected: Expected) {
    this.#expected = expected;
  }

  /** Reads a chunk; returns how many expected data frames it completed. */
  push(chunk: Buffer): number {
    let frames = 0;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, end - at);
        at += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0 && this.#current !== Op.Close) frames++;
        continue;
      }
      // Gather the header: two bytes say how long the rest of it is.
      const header = this.#header;
      while (this.#headerHave < 2 && at < end) header[this.#headerHave++] = chunk[at++]!;
      if (this.#headerHave < 2) break;
      const size = headerSize(header[1]!);
      while (this.#headerHave < size && at < end) header[this.#headerHave++] = chunk[at++]!;
      if (this.#headerHave < size) break;
      this.#headerHave = 0;
      const length = this.#check(header);
      if (length === 0) {
        if (this.#current !== Op.Close) frames++;
      } else {
        this.#payloadLeft = length;
      }
    }
    return frames;
  }

  /** Checks a complete header; returns the payload length. */
  #check(header: Buffer): number {
    const b0 = header[0]!;
    const b1 = header[1]!;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const short = b1 & 0x7f;
    const length = short === 126 ? header.readUInt16BE(2) : short === 127 ? Number(header.readBigUInt64BE(2)) : short;
    this.#current = opcode;
    if (opcode === Op.Close && (b0 & 0x80) !== 0 && length <= 125) {
      this.closed = true;
      return length;
    }
    const want = this.#expected;
    if ((b0 & 0xf0) !== 0x80 || opcode !== want.opcode || length !== want.length || masked !== want.masked) {
      throw new Error(
        `unexpected frame: fin/rsv ${(b0 >> 4).toString(2)}, opcode ${opcode}, length ${length}, ` +
          `masked ${masked}; expected opcode ${want.opcode}, length ${want.length}, masked ${want.masked}`,
      );
    }
    return length;
  }
}

/** Header size from its second byte: 2, plus the extended length, plus the masking key. */
function headerSize(b1: number): number {
  const short = b1 & 0x7f;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}
