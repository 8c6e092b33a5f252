import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SIMD_MIN, mask, maskInto, maskingKey } from '../src/protocol/mask.js';
import { xorCopy } from '../src/protocol/mask-simd.js';
import { fromHex, hex, pattern } from './helpers/hex.js';

/** RFC 6455 §5.3 spelled out: byte i is XORed with key[(keyOffset + i) % 4]. */
function naiveMask(bytes: Uint8Array, key: Uint8Array, keyOffset: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) out[i]! ^= key[(keyOffset + i) % 4]!;
  return out;
}

const KEY = fromHex('37 fa 21 3d');
const LENGTHS = [...Array(201).keys(), 255, 256, 1000, 1023, 4099, 65536, 65539];

const masking = suite('mask');

masking('unmasks the RFC 6455 §5.7 "Hello" sample', () => {
  const payload = fromHex('7f 9f 4d 51 58');
  mask(payload, KEY);
  assert.is(payload.toString(), 'Hello');
});

masking('matches a byte loop for every length, alignment and key offset', () => {
  for (const length of LENGTHS) {
    const data = pattern(length, length + 1);
    for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
      for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
        // Guard bytes either side show any write outside the view.
        const memory = Buffer.alloc(byteOffset + length + 8, 0xee);
        data.copy(memory, byteOffset);
        const view = memory.subarray(byteOffset, byteOffset + length);
        mask(view, KEY, keyOffset);
        const where = `length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`;
        assert.is(hex(view), hex(naiveMask(data, KEY, keyOffset)), where);
        assert.is(hex(memory.subarray(0, byteOffset)), 'ee'.repeat(byteOffset), where);
        assert.is(hex(memory.subarray(byteOffset + length)), 'ee'.repeat(8), where);
      }
    }
  }
});

masking('takes key offsets past 3 modulo 4', () => {
  const data = pattern(100);
  for (const keyOffset of [4, 5, 6, 7, 65537, 2 ** 31 + 2, 2 ** 40 + 1]) {
    const bytes = Buffer.from(data);
    mask(bytes, KEY, keyOffset);
    assert.is(hex(bytes), hex(naiveMask(data, KEY, keyOffset % 4)), `keyOffset ${keyOffset}`);
  }
});

masking('works on a plain Uint8Array view, not only on Buffers', () => {
  const memory = new Uint8Array(300);
  memory.set(pattern(300));
  const view = memory.subarray(3, 203);
  const expected = naiveMask(view, KEY, 1);
  mask(view, KEY, 1);
  assert.is(hex(view), hex(expected));
});

masking('takes a key that is itself a view at an odd offset', () => {
  const keys = fromHex('00 37 fa 21 3d 00');
  const data = pattern(150);
  const bytes = Buffer.from(data);
  mask(bytes, keys.subarray(1, 5));
  assert.is(hex(bytes), hex(naiveMask(data, KEY, 0)));
});

masking('masking twice restores the bytes', () => {
  for (const length of [0, 1, 3, 63, 64, 65, 200, 4099]) {
    const data = pattern(length, 7);
    const bytes = Buffer.from(data);
    mask(bytes, KEY, 2);
    if (length > 4) assert.is.not(hex(bytes), hex(data));
    mask(bytes, KEY, 2);
    assert.is(hex(bytes), hex(data), `length ${length}`);
  }
});

masking('unmasking piece by piece equals unmasking whole', () => {
  const data = pattern(1000, 3);
  const whole = naiveMask(data, KEY, 0);
  for (const size of [1, 3, 64, 65, 333]) {
    const bytes = Buffer.from(data);
    for (let at = 0; at < bytes.length; at += size) mask(bytes.subarray(at, at + size), KEY, at);
    assert.is(hex(bytes), hex(whole), `pieces of ${size}`);
  }
});

masking.run();

const simd = suite('mask: WebAssembly SIMD and maskInto');

/** Random bytes at `byteOffset` of a buffer with 0xee guard bytes either side. */
function guarded(length: number, byteOffset: number): { memory: Buffer; view: Buffer } {
  const memory = Buffer.alloc(byteOffset + length + 8, 0xee);
  randomBytes(length).copy(memory, byteOffset);
  return { memory, view: memory.subarray(byteOffset, byteOffset + length) };
}

function checkGuards(memory: Buffer, byteOffset: number, length: number, where: string): void {
  assert.is(hex(memory.subarray(0, byteOffset)), 'ee'.repeat(byteOffset), where);
  assert.is(hex(memory.subarray(byteOffset + length)), 'ee'.repeat(8), where);
}

/** Lengths 0..300 at every offset 0..15, and big ones either side of the 64 KiB block. */
const SHORT = [...Array(301).keys()];
const BIG = [SIMD_MIN - 1, SIMD_MIN, 4097, 65535, 65536, 65537, 65536 * 3 + 61, 1 << 20];

simd('SIMD is available on this Node (the fallback is tested below, under --jitless)', () => {
  assert.ok(xorCopy !== null);
});

simd('xorCopy in place matches the byte loop at every length 0..300, offset 0..15 and key phase', () => {
  const key = randomBytes(4);
  for (const length of SHORT) {
    for (let byteOffset = 0; byteOffset < 16; byteOffset++) {
      const keyOffset = (length + byteOffset) & 3;
      const { memory, view } = guarded(length, byteOffset);
      const expected = naiveMask(view, key, keyOffset);
      const word = key[keyOffset & 3]! | (key[(keyOffset + 1) & 3]! << 8) | (key[(keyOffset + 2) & 3]! << 16) | (key[(keyOffset + 3) & 3]! << 24);
      xorCopy!(view, view, 0, word);
      const where = `length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`;
      assert.is(hex(view), hex(expected), where);
      checkGuards(memory, byteOffset, length, where);
    }
  }
});

simd('mask matches the byte loop on big random payloads at every offset 0..15', () => {
  for (const length of BIG) {
    for (let byteOffset = 0; byteOffset < 16; byteOffset++) {
      const key = randomBytes(4);
      const keyOffset = byteOffset % 4;
      const { memory, view } = guarded(length, byteOffset);
      const expected = naiveMask(view, key, keyOffset);
      mask(view, key, keyOffset);
      const where = `length ${length}, byteOffset ${byteOffset}`;
      assert.ok(view.equals(expected), where);
      checkGuards(memory, byteOffset, length, where);
    }
  }
});

simd('maskInto writes the unmasked bytes to the target and leaves the source alone', () => {
  const key = randomBytes(6);
  for (const length of [...SHORT.filter((n) => n % 7 === 0 || n < 20), ...BIG]) {
    for (const [sourceOffset, targetOffset] of [[0, 0], [1, 5], [3, 14], [15, 2], [8, 9]] as const) {
      const keyOffset = length + sourceOffset;
      const { view: source } = guarded(length, sourceOffset);
      const before = Buffer.from(source);
      const target = Buffer.alloc(targetOffset + length + 8, 0xee);
      maskInto(source, target, targetOffset, key, keyOffset, 1);
      const where = `length ${length}, offsets ${sourceOffset}/${targetOffset}`;
      assert.ok(target.subarray(targetOffset, targetOffset + length).equals(naiveMask(before, key.subarray(1, 5), keyOffset)), where);
      assert.ok(source.equals(before), `${where}: source unchanged`);
      checkGuards(target, targetOffset, length, where);
    }
  }
});

simd('unmasking a big payload piece by piece into one buffer equals unmasking it whole', () => {
  const data = randomBytes(300_000);
  const whole = naiveMask(data, KEY, 0);
  for (const size of [1000, 1024, 4099, 65536, 100_003]) {
    const target = Buffer.alloc(data.length);
    for (let at = 0; at < data.length; at += size) maskInto(data.subarray(at, at + size), target, at, KEY, at);
    assert.ok(target.equals(whole), `pieces of ${size}`);
  }
});

simd('without WebAssembly (node --jitless) mask and maskInto fall back to the JavaScript loops', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const script = `
    import { mask, maskInto } from ${JSON.stringify(new URL('../src/protocol/mask.js', import.meta.url).href)};
    import { xorCopy } from ${JSON.stringify(new URL('../src/protocol/mask-simd.js', import.meta.url).href)};
    const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    const naive = (b, k) => Buffer.from(b.map((x, i) => x ^ key[(k + i) % 4]));
    let ok = xorCopy === null;
    for (const length of [0, 5, 1023, 1024, 70001]) {
      const data = Buffer.from(Array.from({ length: length + 3 }, (_, i) => (i * 131) & 255)).subarray(3);
      const inPlace = Buffer.from(data); mask(inPlace, key, 1);
      const into = Buffer.alloc(length + 2); maskInto(data, into, 2, key, 1);
      ok &&= inPlace.equals(naive(data, 1)) && into.subarray(2).equals(naive(data, 1));
    }
    console.log(ok ? 'ok' : 'mismatch');`;
  const child = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], { cwd: here, encoding: 'utf8', timeout: 20_000 });
  assert.is(child.stdout.trim(), 'ok', child.stderr);
});

simd.run();

const keys = suite('maskingKey');

keys('returns 4 bytes', () => {
  const key = maskingKey();
  assert.ok(Buffer.isBuffer(key));
  assert.is(key.length, 4);
});

keys('varies from call to call, across pool refills', () => {
  // 3000 calls cross the 1024-key pool at least twice. 32 random bits make even one repeat
  // among 3000 keys unlikely (about 1 in 1000), so allow a few.
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) seen.add(hex(maskingKey()));
  assert.ok(seen.size >= 2990, `${seen.size} distinct keys of 3000`);
});

keys('does not hand out the same bytes to two calls in a row', () => {
  const a = maskingKey();
  const b = maskingKey();
  assert.ok(a.buffer !== b.buffer || a.byteOffset !== b.byteOffset);
});

keys.run();
