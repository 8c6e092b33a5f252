import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mask, maskingKey } from '../src/mask.js';
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
