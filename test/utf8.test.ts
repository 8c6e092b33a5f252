import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkUtf8Prefix, isUtf8 } from '../src/protocol/utf8.js';
import { fromHex } from './helpers/hex.js';

/**
 * Feeds `bytes` to checkUtf8Prefix as a growing message, `sizes` bytes at a time (cycling), until
 * it fails. Returns each call's result and the message length it was given.
 */
function feed(bytes: Uint8Array, sizes: readonly number[]): { results: number[]; ends: number[] } {
  const results: number[] = [];
  const ends: number[] = [];
  let from = 0;
  for (let end = 0, step = 0; end < bytes.length; step++) {
    end = Math.min(bytes.length, end + sizes[step % sizes.length]!);
    const checked = checkUtf8Prefix(bytes.subarray(0, end), from);
    results.push(checked);
    ends.push(end);
    if (checked === -1) break;
    from = checked;
  }
  return { results, ends };
}

/** The start of every character in `bytes` (valid UTF-8), and its length. */
function boundaries(bytes: Uint8Array): number[] {
  const starts: number[] = [];
  for (let i = 0; i <= bytes.length; i++) if (i === bytes.length || (bytes[i]! & 0xc0) !== 0x80) starts.push(i);
  return starts;
}

const TEXTS = [
  'hello',
  'é', // 2 bytes
  '€', // 3 bytes
  '😀', // 4 bytes
  'aé€😀b',
  'Ünïcödé ☃ 漢字 👩‍👩‍👧 🏳️‍🌈 𝄞',
  '\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}', // the edges of each length
  '\ud7ff\ue000', // either side of the surrogates
];

const valid = suite('checkUtf8Prefix on valid text');

valid('accepts the empty message', () => {
  assert.is(checkUtf8Prefix(Buffer.alloc(0), 0), 0);
});

valid('accepts every prefix, returning the last character boundary', () => {
  for (const text of TEXTS) {
    const bytes = Buffer.from(text);
    const starts = boundaries(bytes);
    for (let end = 0; end <= bytes.length; end++) {
      const boundary = starts.filter((s) => s <= end).at(-1)!;
      assert.is(checkUtf8Prefix(bytes.subarray(0, end), 0), boundary, `${JSON.stringify(text)} cut at ${end}`);
    }
  }
});

valid('accepts the text split in two at every byte position', () => {
  for (const text of TEXTS) {
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const from = checkUtf8Prefix(bytes.subarray(0, cut), 0);
      assert.ok(from !== -1 && from <= cut && from >= cut - 3, `${JSON.stringify(text)} cut at ${cut}`);
      assert.is(checkUtf8Prefix(bytes, from), bytes.length, `${JSON.stringify(text)} cut at ${cut}`);
    }
  }
});

valid('accepts the text fed one byte, two bytes or three bytes at a time', () => {
  for (const text of TEXTS) {
    const bytes = Buffer.from(text);
    for (const sizes of [[1], [2], [3], [1, 2], [3, 1]]) {
      const { results } = feed(bytes, sizes);
      assert.not.ok(results.includes(-1), `${JSON.stringify(text)} by ${sizes}`);
      assert.is(results.at(-1), bytes.length, `${JSON.stringify(text)} by ${sizes}`);
    }
  }
});

valid('checks only from `from` on, as its contract allows', () => {
  // The caller vouches for bytes before `from`; they are not looked at again.
  const bytes = Buffer.concat([fromHex('ff'), Buffer.from('ok')]);
  assert.is(checkUtf8Prefix(bytes, 1), 3);
});

valid.run();

// Each case: the bytes, and the index of the first byte after which no continuation can make
// the message valid. Every shorter prefix is accepted; every longer one refused.
const INVALID: readonly [string, string, number][] = [
  ['overlong 2-byte NUL', 'c0 80', 0],
  ['overlong 2-byte, c1', '41 c1 bf', 1],
  ['overlong 3-byte', 'e0 80 80', 1],
  ['overlong 3-byte, top of range', 'e0 9f bf', 1],
  ['overlong 4-byte', 'f0 80 80 80', 1],
  ['overlong 4-byte, top of range', 'f0 8f bf bf', 1],
  ['high surrogate', 'ed a0 80', 1],
  ['low surrogate', '61 62 ed bf bf', 3],
  ['above U+10FFFF', 'f4 90 80 80', 1],
  ['lead byte f5', 'f5 80 80 80', 0],
  ['lead byte f8', 'f8 88 80 80 80', 0],
  ['byte fe', '61 fe', 1],
  ['byte ff', 'ff', 0],
  ['lone continuation', '80', 0],
  ['lone continuation after ASCII', '68 69 bf', 2],
  ['continuation after a whole character', 'c3 a9 a9', 2],
  ['2-byte character cut by ASCII', 'c3 41', 1],
  ['3-byte character cut by ASCII after 1', 'e2 28 a1', 1],
  ['3-byte character cut by ASCII after 2', 'e2 82 41', 2],
  ['4-byte character cut by ASCII after 3', 'f0 9f 98 41', 3],
  ['4-byte character cut by a new lead', 'f0 9f 98 f0 9f 98 80', 3],
  ['bad byte deep inside valid text', '61 62 63 64 65 66 67 68 c3 a9 e2 82 ac ff 61', 13],
];

const invalid = suite('checkUtf8Prefix on invalid text');

invalid('refuses each prefix from the first invalid byte on, and accepts the ones before', () => {
  for (const [name, fixture, bad] of INVALID) {
    const bytes = fromHex(fixture);
    for (let end = 0; end <= bytes.length; end++) {
      const checked = checkUtf8Prefix(bytes.subarray(0, end), 0);
      if (end <= bad) assert.ok(checked !== -1, `${name}: prefix of ${end} refused`);
      else assert.is(checked, -1, `${name}: prefix of ${end} accepted`);
    }
    assert.not.ok(isUtf8(bytes), name);
  }
});

invalid('fails at the piece holding the first invalid byte, however the bytes arrive', () => {
  for (const [name, fixture, bad] of INVALID) {
    const bytes = fromHex(fixture);
    for (const sizes of [[1], [2], [3], [bytes.length]]) {
      const { results, ends } = feed(bytes, sizes);
      assert.is(results.at(-1), -1, `${name} by ${sizes}`);
      // The piece that failed is the one that brought byte `bad` in.
      const end = ends.at(-1)!;
      const previousEnd = ends.at(-2) ?? 0;
      assert.ok(previousEnd <= bad && bad < end, `${name} by ${sizes}: failed at byte ${end}`);
    }
  }
});

invalid('accepts a truncated character until the byte that rules it out arrives', () => {
  const euro = fromHex('e2 82 ac');
  assert.is(checkUtf8Prefix(euro.subarray(0, 1), 0), 0);
  assert.is(checkUtf8Prefix(euro.subarray(0, 2), 0), 0);
  assert.is(checkUtf8Prefix(euro, 0), 3);
  const emoji = fromHex('f0 9f 98 80');
  for (let end = 1; end < 4; end++) assert.is(checkUtf8Prefix(emoji.subarray(0, end), 0), 0);
  assert.is(checkUtf8Prefix(emoji, 0), 4);
  const afterText = fromHex('61 62 f4 8f bf');
  assert.is(checkUtf8Prefix(afterText, 0), 2);
  assert.is(checkUtf8Prefix(Buffer.concat([afterText, fromHex('bf')]), 2), 6);
});

invalid('does not accept a truncated character as a whole message', () => {
  // Completion is the caller's job (isUtf8 on the whole message), but the prefix check
  // reports the boundary before the cut character, not the end.
  const cut = fromHex('61 e2 82');
  assert.is(checkUtf8Prefix(cut, 0), 1);
  assert.not.ok(isUtf8(cut));
});

invalid.run();
