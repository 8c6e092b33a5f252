import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Opcode } from '../src/protocol/constants.js';
import { FrameDecoder, type Role } from '../src/protocol/decoder.js';
import {
  MERGE_LIMIT,
  TEXT_MERGE_LIMIT,
  checkCloseArguments,
  checkControlPayload,
  closePayload,
  encodeClose,
  encodeControl,
  encodeFrame,
  encodeMessage,
} from '../src/protocol/encoder.js';
import { fromHex, hex, pattern } from './helpers/hex.js';

const MiB = 1024 * 1024;
const LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, MERGE_LIMIT, MERGE_LIMIT + 1, MiB];

interface Decoded {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Buffer;
}

/**
 * Decodes what a side with role `sender` wrote, as its peer would, and checks nothing is left.
 * Output chunks are copied first: decoding unmasks in place and must not touch the encoder's output.
 */
function decodeAll(sender: Role, chunks: readonly Uint8Array[]): Decoded[] {
  const role = sender === 'client' ? 'server' : 'client';
  const decoder = new FrameDecoder({ role, maxPayload: 2 * MiB, allowRsv1: true });
  for (const chunk of chunks) decoder.push(Buffer.from(chunk));
  const frames: Decoded[] = [];
  let parts: Buffer[] = [];
  for (let piece = decoder.next(); piece !== null; piece = decoder.next()) {
    parts.push(piece.payload);
    if (piece.last) {
      frames.push({ opcode: piece.opcode, fin: piece.fin, rsv1: piece.rsv1, payload: Buffer.concat(parts) });
      parts = [];
    }
  }
  assert.is(decoder.buffered, 0, 'the output holds whole frames only');
  return frames;
}

function decodeOne(sender: Role, chunks: readonly Uint8Array[]): Decoded {
  const frames = decodeAll(sender, chunks);
  assert.is(frames.length, 1);
  return frames[0]!;
}

/** The header a frame of `length` bytes must start with (unmasked, FIN set). */
function headerFor(b0: string, length: number): string {
  if (length < 126) return b0 + length.toString(16).padStart(2, '0');
  if (length < 0x10000) return b0 + '7e' + length.toString(16).padStart(4, '0');
  return b0 + '7f' + length.toString(16).padStart(16, '0');
}

const exact = suite('encoder: exact frames');

exact('an unmasked text frame, as in RFC 6455 §5.7', () => {
  assert.is(hex(encodeMessage('Hello', false)), '810548656c6c6f');
  assert.is(hex(encodeFrame(Opcode.Text, Buffer.from('Hello'), { masked: false })), '810548656c6c6f');
});

exact('an unmasked fragmented text message, as in RFC 6455 §5.7', () => {
  assert.is(hex(encodeFrame(Opcode.Text, Buffer.from('Hel'), { masked: false, fin: false })), '010348656c');
  assert.is(hex(encodeFrame(Opcode.Continuation, Buffer.from('lo'), { masked: false })), '80026c6f');
});

exact('unmasked ping and pong, as in RFC 6455 §5.7', () => {
  assert.is(hex(encodeControl(Opcode.Ping, Buffer.from('Hello'), false)), '890548656c6c6f');
  assert.is(hex(encodeControl(Opcode.Pong, Buffer.from('Hello'), false)), '8a0548656c6c6f');
});

exact('binary headers at each length encoding', () => {
  assert.is(hex(encodeMessage(new Uint8Array(0), false)), '8200');
  assert.is(hex(encodeMessage(pattern(256), false)).slice(0, 8), '827e0100');
  assert.is(hex(encodeFrame(Opcode.Binary, pattern(65536), { masked: false })[0]!), '827f0000000000010000');
});

exact('RSV1 when asked for', () => {
  assert.is(hex(encodeFrame(Opcode.Text, Buffer.from('a'), { masked: false, rsv1: true })), 'c10161');
});

exact('close frames', () => {
  assert.is(hex(encodeClose(1000, '', false)), '880203e8');
  assert.is(hex(encodeClose(1001, 'bye', false)), '880503e9627965');
  assert.is(hex(encodeClose(4000, 'é', false)), '88040fa0c3a9');
  assert.is(hex(encodeClose(1005, '', false)), '8800'); // no status: an empty close frame
  assert.is(hex(closePayload(1000, 'ok')), '03e86f6b');
  assert.is(hex(closePayload(1005, '')), '');
});

exact('a masked frame: mask bit, key, then the payload XORed with it', () => {
  const [frame] = encodeMessage('Hello', true);
  assert.is(frame!.length, 2 + 4 + 5);
  assert.is(hex(frame!.subarray(0, 2)), '8185');
  const key = frame!.subarray(2, 6);
  const payload = Buffer.from(frame!.subarray(6));
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
  assert.is(payload.toString(), 'Hello');
});

exact('masked frames get a fresh key each', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 100; i++) keys.add(hex(encodeMessage('x', true)[0]!.subarray(2, 6)));
  assert.ok(keys.size >= 99);
});

exact.run();

const roundTrip = suite('encoder: round trip through FrameDecoder');

for (const sender of ['client', 'server'] as const) {
  const masked = sender === 'client';

  roundTrip(`binary frames from a ${sender}, lengths ${LENGTHS.join(', ')}`, () => {
    for (const length of LENGTHS) {
      const payload = pattern(length, length + 1);
      const out = encodeFrame(Opcode.Binary, payload, { masked });
      const expected = headerFor('82', length);
      const head = Buffer.from(out[0]!.subarray(0, expected.length / 2));
      assert.is((head[1]! & 0x80) !== 0, masked, `length ${length}: mask bit`);
      head[1]! &= 0x7f;
      assert.is(hex(head), expected, `length ${length}`);
      const frame = decodeOne(sender, out);
      assert.equal([frame.opcode, frame.fin, frame.rsv1], [Opcode.Binary, true, false]);
      assert.is(hex(frame.payload), hex(payload), `length ${length}`);
    }
  });

  roundTrip(`messages from a ${sender}: text and bytes`, () => {
    for (const length of LENGTHS) {
      const bytes = pattern(length, 3);
      const binary = decodeOne(sender, encodeMessage(bytes, masked));
      assert.is(binary.opcode, Opcode.Binary);
      assert.is(hex(binary.payload), hex(bytes), `binary ${length}`);
      const text = 'a'.repeat(length);
      const decoded = decodeOne(sender, encodeMessage(text, masked));
      assert.is(decoded.opcode, Opcode.Text);
      assert.is(decoded.payload.toString(), text, `text ${length}`);
    }
  });

  roundTrip(`text with multibyte characters from a ${sender}`, () => {
    const texts = ['é', '€uro', '😀', 'Ünïcödé ☃ 漢字 👩‍👩‍👧', '€'.repeat(42), '😀'.repeat(5000), '漢'.repeat(MiB / 3)];
    for (const text of texts) {
      const out = encodeMessage(text, masked);
      const frame = decodeOne(sender, out);
      assert.is(frame.opcode, Opcode.Text);
      assert.is(frame.payload.length, Buffer.byteLength(text));
      assert.ok(frame.payload.toString() === text, `${text.length} characters`);
    }
  });

  roundTrip(`control frames and fragments from a ${sender}`, () => {
    const out = [
      ...encodeFrame(Opcode.Text, Buffer.from('Hel'), { masked, fin: false }),
      encodeControl(Opcode.Ping, pattern(125), masked),
      ...encodeFrame(Opcode.Continuation, Buffer.from('lo'), { masked }),
      encodeControl(Opcode.Pong, Buffer.alloc(0), masked),
      encodeClose(3000, 'done', masked),
    ];
    const frames = decodeAll(sender, out);
    assert.equal(
      frames.map((f) => [f.opcode, f.fin, hex(f.payload)]),
      [
        [Opcode.Text, false, hex(Buffer.from('Hel'))],
        [Opcode.Ping, true, hex(pattern(125))],
        [Opcode.Continuation, true, hex(Buffer.from('lo'))],
        [Opcode.Pong, true, ''],
        [Opcode.Close, true, '0bb8' + hex(Buffer.from('done'))],
      ],
    );
  });
}

roundTrip.run();

const memory = suite('encoder: memory');

memory('small unmasked frames come as one buffer', () => {
  for (const length of [0, 125, 126, MERGE_LIMIT]) {
    assert.is(encodeFrame(Opcode.Binary, pattern(length), { masked: false }).length, 1, `length ${length}`);
    assert.is(encodeMessage('a'.repeat(length), false).length, 1, `text ${length}`);
  }
  // Text is written behind its header anyway: merged up to the larger text limit.
  assert.is(encodeMessage('a'.repeat(TEXT_MERGE_LIMIT), false).length, 1);
});

memory('large unmasked payloads come as [header, payload], the payload not copied', () => {
  const payload = pattern(MERGE_LIMIT + 1);
  const out = encodeFrame(Opcode.Binary, payload, { masked: false });
  assert.is(out.length, 2);
  assert.is(hex(out[0]!), '827e' + (MERGE_LIMIT + 1).toString(16).padStart(4, '0'));
  assert.ok(out[1] === payload, 'the same Buffer');

  const big = pattern(MiB);
  const [header, body] = encodeMessage(big, false);
  assert.is(hex(header!), '827f0000000000100000');
  assert.ok(body === big);

  // A plain Uint8Array view is wrapped, not copied: same memory, same offset.
  const backing = new Uint8Array(MiB + 10);
  const view = backing.subarray(7, 7 + MiB);
  const wrapped = encodeFrame(Opcode.Binary, view, { masked: false })[1]!;
  assert.ok(Buffer.isBuffer(wrapped));
  assert.ok(wrapped.buffer === backing.buffer);
  assert.is(wrapped.byteOffset, 7);
  assert.is(wrapped.length, MiB);
});

memory('large unmasked text comes as [header, payload]', () => {
  const text = 'é'.repeat(TEXT_MERGE_LIMIT);
  const out = encodeMessage(text, false);
  assert.is(out.length, 2);
  assert.is(hex(out[0]!), '817e8000');
  assert.is(out[1]!.toString(), text);
});

memory('masked frames always come as one buffer', () => {
  for (const length of [0, MERGE_LIMIT + 1, MiB]) {
    assert.is(encodeFrame(Opcode.Binary, pattern(length), { masked: true }).length, 1, `length ${length}`);
    assert.is(encodeMessage('a'.repeat(length), true).length, 1, `text ${length}`);
  }
});

memory('masking never changes the caller\'s bytes', () => {
  for (const length of [1, 5, 125, 126, 4096, MERGE_LIMIT + 1, MiB]) {
    const payload = pattern(length, 9);
    const before = hex(payload);
    const out = encodeFrame(Opcode.Binary, payload, { masked: true });
    assert.is(hex(payload), before, `encodeFrame, length ${length}`);
    assert.is(hex(decodeOne('client', out).payload), before);
    encodeMessage(payload, true);
    assert.is(hex(payload), before, `encodeMessage, length ${length}`);
    const view = new Uint8Array(payload);
    encodeFrame(Opcode.Binary, view, { masked: true });
    assert.is(hex(view), before, `Uint8Array, length ${length}`);
  }
  const ping = fromHex('01020304');
  encodeControl(Opcode.Ping, ping, true);
  assert.is(hex(ping), '01020304');
});

memory.run();

const checks = suite('encoder: argument checks');

checks('checkCloseArguments accepts the codes an application may send', () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
    checkCloseArguments(code, 'reason');
  }
});

checks('checkCloseArguments refuses codes that never go on the wire', () => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535, -1000, 1000.5, NaN, Infinity]) {
    assert.throws(() => checkCloseArguments(code, ''), (e: unknown) => e instanceof RangeError, `code ${code}`);
  }
});

checks('checkCloseArguments counts the reason in UTF-8 bytes, up to 123', () => {
  checkCloseArguments(1000, '');
  checkCloseArguments(1000, 'a'.repeat(123));
  checkCloseArguments(1000, '€'.repeat(41)); // 123 bytes
  for (const reason of ['a'.repeat(124), 'é'.repeat(62), '€'.repeat(42), '😀'.repeat(31)]) {
    const isRangeError = (e: unknown) => e instanceof RangeError;
    assert.throws(() => checkCloseArguments(1000, reason), isRangeError, `${reason.length} characters`);
  }
});

checks('the longest reason allowed still makes a valid close frame', () => {
  const frame = encodeClose(1000, '€'.repeat(41), false);
  assert.is(frame.length, 2 + 125);
  assert.is(decodeOne('server', [frame]).payload.subarray(2).toString(), '€'.repeat(41));
});

checks('checkControlPayload allows at most 125 bytes', () => {
  checkControlPayload(new Uint8Array(0));
  checkControlPayload(new Uint8Array(125));
  assert.throws(() => checkControlPayload(new Uint8Array(126)), (e: unknown) => e instanceof RangeError);
});

checks.run();
