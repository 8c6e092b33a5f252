import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, type DecoderOptions, type Frame, type Role } from '../src/protocol/decoder.js';
import { ProtocolError, type ProtocolErrorCode } from '../src/protocol/errors.js';
import { feedings } from './helpers/feed.js';
import { fromHex, hex, pattern } from './helpers/hex.js';

/** The masking key of the RFC 6455 §5.7 samples. */
const KEY = fromHex('37 fa 21 3d');
const MAX = 1024 * 1024;

/** A frame as the test sees it: its header fields and its payload reassembled, as hex. */
interface Decoded {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  length: number;
  payload: string;
}

function decoded(opcode: number, payload: string | Uint8Array, fin = true, rsv1 = false): Decoded {
  const bytes = typeof payload === 'string' ? fromHex(payload) : payload;
  return { opcode, fin, rsv1, length: bytes.length, payload: hex(bytes) };
}

/** XORs `payload` with `key` from its start: what a client puts on the wire. */
function masked(payload: Uint8Array, key: Uint8Array = KEY): Buffer {
  const out = Buffer.from(payload);
  for (let i = 0; i < out.length; i++) out[i]! ^= key[i % 4]!;
  return out;
}

/**
 * A frame built by hand: `b0` (FIN, RSV, opcode), then the length in its shortest form, then the
 * key and masked payload for the server role, or the plain payload for the client role.
 */
function frame(b0: number, payload: Uint8Array, role: Role): Buffer {
  const maskBit = role === 'server' ? 0x80 : 0;
  const n = payload.length;
  let length: Buffer;
  if (n < 126) length = Buffer.from([maskBit | n]);
  else if (n < 0x10000) length = Buffer.from([maskBit | 126, n >> 8, n & 0xff]);
  else {
    length = Buffer.alloc(9);
    length[0] = maskBit | 127;
    length.writeUInt32BE(Math.floor(n / 2 ** 32), 1);
    length.writeUInt32BE(n >>> 0, 5);
  }
  const body = role === 'server' ? [KEY, masked(payload)] : [payload];
  return Buffer.concat([Buffer.from([b0]), length, ...body]);
}

/**
 * Pushes `chunks` one at a time, draining next() after each, and reassembles the frames. Checks
 * the piece invariants on the way: `first` opens a frame, `last` ends it, pieces of one frame
 * agree on its header, their lengths add up, and control frames come whole.
 */
function collect(decoder: FrameDecoder, chunks: readonly Buffer[]): Decoded[] {
  const frames: Decoded[] = [];
  let head: Frame | null = null;
  let parts: Buffer[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let piece = decoder.next(); piece !== null; piece = decoder.next()) {
      assert.is(piece.first, head === null, 'first marks the first piece of a frame');
      if (head === null) head = piece;
      else {
        assert.equal(
          [piece.opcode, piece.fin, piece.rsv1, piece.length],
          [head.opcode, head.fin, head.rsv1, head.length],
          'pieces of one frame agree on its header',
        );
      }
      if (piece.opcode >= 0x8) {
        assert.ok(piece.first && piece.last, 'control frames come whole');
        assert.is(piece.payload.length, piece.length);
      }
      parts.push(Buffer.from(piece.payload));
      if (piece.last) {
        const payload = Buffer.concat(parts);
        assert.is(payload.length, head.length, 'pieces add up to the announced length');
        const { opcode, fin, rsv1, length } = head;
        frames.push({ opcode, fin, rsv1, length, payload: hex(payload) });
        head = null;
        parts = [];
      }
    }
  }
  assert.is(head, null, 'no frame left half read');
  return frames;
}

/** Decodes `bytes` fed the three ways and expects `frames` each time, with trailing bytes unread. */
function expectFrames(bytes: Uint8Array, expected: Decoded[], options: DecoderOptions): void {
  for (const feeding of feedings(bytes, options.role)) {
    const decoder = new FrameDecoder(options);
    assert.equal(collect(decoder, feeding.chunks), expected, feeding.name);
    assert.is(decoder.buffered, feeding.trailing, `${feeding.name}: bytes left unread`);
  }
}

/**
 * Decodes `bytes` fed the three ways and expects the same ProtocolError each time; fed one byte
 * at a time, it must be thrown as soon as byte number `at` arrives, not later.
 */
function expectError(
  bytes: Uint8Array,
  code: ProtocolErrorCode,
  closeCode: number,
  at: number,
  options: DecoderOptions,
): void {
  for (const feeding of feedings(bytes, options.role)) {
    const decoder = new FrameDecoder(options);
    let pushed = 0;
    let error: unknown = null;
    try {
      for (const chunk of feeding.chunks) {
        decoder.push(chunk);
        pushed += chunk.length;
        while (decoder.next() !== null);
      }
    } catch (e) {
      error = e;
    }
    const where = `${feeding.name} ${hex(bytes)}`;
    assert.ok(error instanceof ProtocolError, `${where}: expected a ProtocolError, got ${String(error)}`);
    assert.is(error.name, 'ProtocolError', where);
    assert.is(error.code, code, where);
    assert.is(error.closeCode, closeCode, where);
    assert.ok(error.message.length > 0 && error.message.length <= 123, where);
    if (feeding.name === 'bytewise') assert.is(pushed, at, `${where}: thrown after byte ${pushed}`);
  }
}

const client: DecoderOptions = { role: 'client', maxPayload: MAX };
const server: DecoderOptions = { role: 'server', maxPayload: MAX };

const samples = suite('decoder: RFC 6455 §5.7 samples');

samples('a single-frame unmasked text message', () => {
  expectFrames(fromHex('81 05 48656c6c6f'), [decoded(0x1, '48656c6c6f')], client);
});

samples('a single-frame masked text message', () => {
  expectFrames(fromHex('81 85 37fa213d 7f9f4d5158'), [decoded(0x1, '48656c6c6f')], server);
});

samples('a fragmented unmasked text message', () => {
  expectFrames(
    fromHex('01 03 48656c   80 02 6c6f'),
    [decoded(0x1, '48656c', false), decoded(0x0, '6c6f')],
    client,
  );
});

samples('an unmasked ping and a masked pong', () => {
  expectFrames(fromHex('89 05 48656c6c6f'), [decoded(0x9, '48656c6c6f')], client);
  expectFrames(fromHex('8a 85 37fa213d 7f9f4d5158'), [decoded(0xa, '48656c6c6f')], server);
});

samples('256 bytes and 64 KiB of binary in one unmasked frame', () => {
  const small = pattern(256);
  expectFrames(Buffer.concat([fromHex('82 7e 0100'), small]), [decoded(0x2, small)], client);
  const large = pattern(65536);
  expectFrames(Buffer.concat([fromHex('82 7f 0000000000010000'), large]), [decoded(0x2, large)], client);
});

samples.run();

const lengths = suite('decoder: payload lengths');

// Each length at the edge of its encoding, with the header spelled out (unmasked form).
const LENGTHS: readonly [number, string][] = [
  [0, '82 00'],
  [1, '82 01'],
  [125, '82 7d'], // largest 7-bit length
  [126, '82 7e 007e'], // smallest 16-bit length
  [127, '82 7e 007f'],
  [65535, '82 7e ffff'], // largest 16-bit length
  [65536, '82 7f 0000000000010000'], // smallest 64-bit length
];

for (const [length, header] of LENGTHS) {
  lengths(`${length} bytes, unmasked, to a client`, () => {
    const payload = pattern(length, length);
    const bytes = Buffer.concat([fromHex(header), payload]);
    assert.is(hex(bytes), hex(frame(0x82, payload, 'client')));
    expectFrames(bytes, [decoded(0x2, payload)], client);
  });

  lengths(`${length} bytes, masked, to a server`, () => {
    const payload = pattern(length, length);
    const head = fromHex(header);
    head[1]! |= 0x80;
    const bytes = Buffer.concat([head, KEY, masked(payload)]);
    assert.is(hex(bytes), hex(frame(0x82, payload, 'server')));
    expectFrames(bytes, [decoded(0x2, payload)], server);
  });
}

lengths('a payload of exactly maxPayload is accepted', () => {
  const payload = pattern(1000);
  expectFrames(frame(0x82, payload, 'client'), [decoded(0x2, payload)], { role: 'client', maxPayload: 1000 });
  expectFrames(frame(0x82, payload, 'server'), [decoded(0x2, payload)], { role: 'server', maxPayload: 1000 });
});

lengths('control frames of up to 125 bytes, whatever maxPayload says', () => {
  const payload = pattern(125);
  expectFrames(frame(0x89, payload, 'client'), [decoded(0x9, payload)], { role: 'client', maxPayload: 10 });
});

lengths.run();

const frames = suite('decoder: frame sequences');

frames('every opcode RFC 6455 defines, in both roles', () => {
  for (const role of ['client', 'server'] as const) {
    const payload = Buffer.from('abc');
    const list = [0x01, 0x00, 0x80, 0x82, 0x02, 0x88, 0x89, 0x8a].map((b0) => frame(b0, payload, role));
    const expected = [
      decoded(0x1, payload, false),
      decoded(0x0, payload, false),
      decoded(0x0, payload, true),
      decoded(0x2, payload, true),
      decoded(0x2, payload, false),
      decoded(0x8, payload),
      decoded(0x9, payload),
      decoded(0xa, payload),
    ];
    expectFrames(Buffer.concat(list), expected, { role, maxPayload: MAX });
  }
});

frames('control frames between fragments, in both roles', () => {
  for (const role of ['client', 'server'] as const) {
    const bytes = Buffer.concat([
      frame(0x01, Buffer.from('Hel'), role),
      frame(0x89, Buffer.from('ping'), role),
      frame(0x00, Buffer.from('lo, '), role),
      frame(0x8a, Buffer.alloc(0), role),
      frame(0x80, Buffer.from('world'), role),
      frame(0x88, fromHex('03e8'), role),
    ]);
    const expected = [
      decoded(0x1, Buffer.from('Hel'), false),
      decoded(0x9, Buffer.from('ping')),
      decoded(0x0, Buffer.from('lo, '), false),
      decoded(0xa, ''),
      decoded(0x0, Buffer.from('world')),
      decoded(0x8, '03e8'),
    ];
    expectFrames(bytes, expected, { role, maxPayload: MAX });
  }
});

frames('empty data and control frames, in both roles', () => {
  for (const role of ['client', 'server'] as const) {
    const bytes = Buffer.concat([0x81, 0x88, 0x82].map((b0) => frame(b0, Buffer.alloc(0), role)));
    expectFrames(bytes, [decoded(0x1, ''), decoded(0x8, ''), decoded(0x2, '')], { role, maxPayload: MAX });
  }
});

frames('RSV1 is reported when allowed', () => {
  const options = { role: 'client', maxPayload: MAX, allowRsv1: true } as const;
  expectFrames(fromHex('c1 02 6869'), [decoded(0x1, '6869', true, true)], options);
  expectFrames(fromHex('41 01 68  80 01 69'), [decoded(0x1, '68', false, true), decoded(0x0, '69')], options);
});

frames.run();

const pieces = suite('decoder: payload pieces');

/** Pushes `chunks` and returns every piece as [first, last, payload length]. */
function pieceShapes(decoder: FrameDecoder, chunks: Buffer[]): [boolean, boolean, number][] {
  const shapes: [boolean, boolean, number][] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let piece = decoder.next(); piece !== null; piece = decoder.next()) {
      shapes.push([piece.first, piece.last, piece.payload.length]);
    }
  }
  return shapes;
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Buffer, ...at: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const end of [...at, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(start, end)));
    start = end;
  }
  return chunks;
}

pieces('a data frame is handed out as its bytes arrive, not buffered', () => {
  const payload = pattern(256);
  const bytes = frame(0x82, payload, 'client'); // 4-byte header
  const decoder = new FrameDecoder(client);
  assert.equal(pieceShapes(decoder, cut(bytes, 100, 200)), [
    [true, false, 0], // not all in this chunk: the header comes alone
    [false, false, 96],
    [false, false, 100],
    [false, true, 60],
  ]);
  assert.is(decoder.buffered, 0);
});

pieces('masked pieces are unmasked with the key at the right offset', () => {
  const payload = pattern(301);
  for (const at of [[9], [7, 8, 9, 10], [50, 51, 200], [8, 13, 100, 300]]) {
    const decoder = new FrameDecoder(server);
    const frames = collect(decoder, cut(frame(0x82, payload, 'server'), ...at));
    assert.equal(frames, [decoded(0x2, payload)], `cut at ${at}`);
  }
});

pieces('a data frame header is reported before any of its payload arrives', () => {
  for (const role of ['client', 'server'] as const) {
    const payload = pattern(300);
    const bytes = frame(0x82, payload, role);
    const headerLength = role === 'client' ? 4 : 8;
    const decoder = new FrameDecoder({ role, maxPayload: MAX });
    decoder.push(Buffer.from(bytes.subarray(0, headerLength)));
    const head = decoder.next();
    assert.ok(head !== null, `${role}: the header alone yields the first piece`);
    assert.equal([head.opcode, head.length, head.first, head.last, head.payload.length], [0x2, 300, true, false, 0]);
    assert.is(decoder.next(), null);
    decoder.push(Buffer.from(bytes.subarray(headerLength)));
    const rest = decoder.next();
    assert.ok(rest !== null);
    assert.equal([rest.first, rest.last, hex(rest.payload)], [false, true, hex(payload)]);
    assert.is(decoder.next(), null);
  }
});

pieces('a control frame split across chunks waits, then comes whole', () => {
  const bytes = frame(0x89, Buffer.from('are you there?'), 'server');
  const decoder = new FrameDecoder(server);
  assert.equal(pieceShapes(decoder, cut(bytes, 1, 5, 9, 15)), [[true, true, 14]]);
});

pieces('unmasked payloads are views into the pushed chunk', () => {
  const chunk = Buffer.concat([frame(0x82, pattern(1000), 'client'), frame(0x81, Buffer.from('hi'), 'client')]);
  const decoder = new FrameDecoder(client);
  decoder.push(chunk);
  const first = decoder.next()!;
  assert.ok(first.payload.buffer === chunk.buffer);
  assert.is(first.payload.byteOffset, chunk.byteOffset + 4);
  const second = decoder.next()!;
  assert.ok(second.payload.buffer === chunk.buffer);
  assert.is(second.payload.byteOffset, chunk.byteOffset + 1006);
});

pieces('masked payloads are unmasked in place in the pushed chunk', () => {
  const chunk = frame(0x82, pattern(100), 'server');
  const decoder = new FrameDecoder(server);
  decoder.push(chunk);
  const piece = decoder.next()!;
  assert.ok(piece.payload.buffer === chunk.buffer);
  assert.is(hex(chunk.subarray(6)), hex(pattern(100))); // after 2 header bytes and the key
});

pieces('empty chunks are ignored', () => {
  const decoder = new FrameDecoder(client);
  decoder.push(Buffer.alloc(0));
  assert.is(decoder.buffered, 0);
  assert.is(decoder.next(), null);
  decoder.push(fromHex('81'));
  decoder.push(Buffer.alloc(0));
  assert.is(decoder.next(), null);
  assert.equal(collect(decoder, [fromHex('01 61')]), [decoded(0x1, '61')]);
  assert.is(decoder.buffered, 0);
});

pieces('buffered counts the bytes not yet handed out', () => {
  const decoder = new FrameDecoder(client);
  decoder.push(fromHex('82 7e 01'));
  assert.is(decoder.next(), null);
  assert.is(decoder.buffered, 3);
  decoder.push(Buffer.concat([fromHex('00'), pattern(10)]));
  assert.is(decoder.next()!.payload.length, 0);
  assert.is(decoder.buffered, 10);
  assert.is(decoder.next()!.payload.length, 10);
  assert.is(decoder.buffered, 0);
});

pieces('a data frame whole in its chunk comes as one piece', () => {
  for (const role of ['client', 'server'] as const) {
    const decoder = new FrameDecoder({ role, maxPayload: MAX });
    const bytes = frame(0x82, pattern(300), role);
    assert.equal(pieceShapes(decoder, [bytes]), [[true, true, 300]], role);
  }
});

pieces('payloadInto: the payload is unmasked straight into the target, as views of it', () => {
  for (const role of ['client', 'server'] as const) {
    const payload = pattern(5000, 9);
    const bytes = frame(0x82, payload, role);
    for (const at of [[3, 2000], [10, 11], [20, 1100, 1101, 4000], [9, 5000]]) {
      const decoder = new FrameDecoder({ role, maxPayload: MAX });
      const target = Buffer.alloc(5000 + 7 + 3, 0xee);
      const pieces: Buffer[] = [];
      for (const chunk of cut(bytes, ...at)) {
        const before = Buffer.from(chunk);
        decoder.push(chunk);
        for (let piece = decoder.next(); piece !== null; piece = decoder.next()) {
          if (piece.first) {
            assert.is(piece.payload.length, 0, 'the header comes alone');
            decoder.payloadInto(target, 7);
          } else {
            assert.ok(piece.payload.buffer === target.buffer, 'a view of the target');
            pieces.push(piece.payload);
          }
        }
        if (role === 'server') assert.ok(chunk.equals(before), 'the chunk itself is left masked');
      }
      const where = `${role}, cut at ${at}`;
      assert.is(hex(Buffer.concat(pieces)), hex(payload), where);
      assert.is(hex(target.subarray(7, 5007)), hex(payload), where);
      assert.is(hex(target.subarray(0, 7)) + hex(target.subarray(5007)), 'ee'.repeat(10), where);
      assert.is(decoder.buffered, 0);
    }
  }
});

pieces('payloadInto: only right after a header, with room for the frame', () => {
  const decoder = new FrameDecoder(server);
  assert.throws(() => decoder.payloadInto(Buffer.alloc(10), 0), /only right after a frame header/);
  const bytes = frame(0x82, pattern(300), 'server');
  decoder.push(Buffer.from(bytes.subarray(0, 20)));
  assert.is(decoder.next()!.payload.length, 0);
  assert.throws(() => decoder.payloadInto(Buffer.alloc(300), 1), /too small/);
  decoder.payloadInto(Buffer.alloc(300), 0);
  assert.is(decoder.next()!.payload.length, 12);
  assert.throws(() => decoder.payloadInto(Buffer.alloc(300), 0), /only right after a frame header/);
});

pieces.run();

const errors = suite('decoder: protocol errors');

errors('RSV2 or RSV3 set', () => {
  expectError(fromHex('a1 00'), 'ERR_WS_RESERVED_BITS', 1002, 2, client);
  expectError(fromHex('91 00'), 'ERR_WS_RESERVED_BITS', 1002, 2, client);
  expectError(fromHex('b1 80 37fa213d'), 'ERR_WS_RESERVED_BITS', 1002, 2, server);
  // Allowing RSV1 does not allow the other two.
  expectError(fromHex('e1 00'), 'ERR_WS_RESERVED_BITS', 1002, 2, { ...client, allowRsv1: true });
});

errors('RSV1 set without allowRsv1', () => {
  expectError(fromHex('c1 02 6869'), 'ERR_WS_RESERVED_BITS', 1002, 2, client);
  expectError(fromHex('c1 80 37fa213d'), 'ERR_WS_RESERVED_BITS', 1002, 2, server);
});

errors('reserved opcodes 3-7 and 11-15', () => {
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    expectError(Buffer.from([0x80 | opcode, 0x00]), 'ERR_WS_RESERVED_OPCODE', 1002, 2, client);
    expectError(Buffer.from([0x80 | opcode, 0x80, ...KEY]), 'ERR_WS_RESERVED_OPCODE', 1002, 2, server);
    expectError(Buffer.from([opcode, 0x00]), 'ERR_WS_RESERVED_OPCODE', 1002, 2, client);
  }
});

errors('fragmented control frames', () => {
  for (const b0 of [0x08, 0x09, 0x0a]) {
    expectError(Buffer.from([b0, 0x00]), 'ERR_WS_BAD_CONTROL_FRAME', 1002, 2, client);
    expectError(Buffer.from([b0, 0x80, ...KEY]), 'ERR_WS_BAD_CONTROL_FRAME', 1002, 2, server);
  }
});

errors('control frames longer than 125 bytes, refused at their second byte', () => {
  expectError(Buffer.concat([fromHex('89 7e 007e'), pattern(126)]), 'ERR_WS_BAD_CONTROL_FRAME', 1002, 2, client);
  expectError(fromHex('88 7f 0000000000010000'), 'ERR_WS_BAD_CONTROL_FRAME', 1002, 2, client);
  expectError(fromHex('8a fe 007e'), 'ERR_WS_BAD_CONTROL_FRAME', 1002, 2, server);
});

errors('an unmasked frame to a server', () => {
  expectError(fromHex('81 05 48656c6c6f'), 'ERR_WS_MASK_EXPECTED', 1002, 2, server);
  expectError(fromHex('88 00'), 'ERR_WS_MASK_EXPECTED', 1002, 2, server);
});

errors('a masked frame to a client', () => {
  expectError(fromHex('81 85 37fa213d 7f9f4d5158'), 'ERR_WS_MASK_UNEXPECTED', 1002, 2, client);
  expectError(fromHex('89 80 37fa213d'), 'ERR_WS_MASK_UNEXPECTED', 1002, 2, client);
});

errors('16-bit lengths that fit in 7 bits', () => {
  expectError(fromHex('82 7e 0000'), 'ERR_WS_BAD_LENGTH', 1002, 4, client);
  expectError(Buffer.concat([fromHex('82 7e 007d'), pattern(125)]), 'ERR_WS_BAD_LENGTH', 1002, 4, client);
  expectError(fromHex('82 fe 007d 37fa213d'), 'ERR_WS_BAD_LENGTH', 1002, 8, server);
});

errors('64-bit lengths that fit in 16 bits', () => {
  expectError(fromHex('82 7f 0000000000000000'), 'ERR_WS_BAD_LENGTH', 1002, 10, client);
  expectError(fromHex('82 7f 000000000000007e'), 'ERR_WS_BAD_LENGTH', 1002, 10, client);
  expectError(fromHex('82 7f 000000000000ffff'), 'ERR_WS_BAD_LENGTH', 1002, 10, client);
  expectError(fromHex('82 ff 000000000000ffff 37fa213d'), 'ERR_WS_BAD_LENGTH', 1002, 14, server);
});

errors('64-bit lengths with the top bit set', () => {
  expectError(fromHex('82 7f 8000000000000000'), 'ERR_WS_BAD_LENGTH', 1002, 10, client);
  expectError(fromHex('82 7f ffffffffffffffff'), 'ERR_WS_BAD_LENGTH', 1002, 10, client);
  expectError(fromHex('82 ff 8000000000010000 37fa213d'), 'ERR_WS_BAD_LENGTH', 1002, 14, server);
});

errors('a frame longer than maxPayload, refused once its header is read', () => {
  // Only the header is given: the error must not wait for the payload.
  const small = { maxPayload: 1000 };
  expectError(fromHex('82 7e 03e9'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 4, { ...client, ...small });
  expectError(fromHex('81 fe 03e9 37fa213d'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 8, { ...server, ...small });
  expectError(fromHex('00 7e 03e9'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 4, { ...client, ...small });
  expectError(fromHex('82 7f 0000000100000000'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 10, client);
  expectError(fromHex('82 ff 7fffffffffffffff 37fa213d'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 14, server);
  expectError(fromHex('82 0b'), 'ERR_WS_MESSAGE_TOO_BIG', 1009, 2, { role: 'client', maxPayload: 10 });
});

errors('an error in a later frame comes after the earlier frames', () => {
  const decoder = new FrameDecoder(client);
  decoder.push(fromHex('81 02 6869  89 00  83 00'));
  assert.is(hex(decoder.next()!.payload), '6869');
  assert.is(decoder.next()!.opcode, 0x9);
  assert.throws(
    () => decoder.next(),
    (e: unknown) => e instanceof ProtocolError && e.code === 'ERR_WS_RESERVED_OPCODE',
  );
});

errors.run();
