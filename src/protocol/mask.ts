// RFC 6455 §5.3 masking: XOR with a 4-byte key, in place (`mask`) or on the way to another buffer
// (`maskInto`, which unmasks a payload piece straight into the message it belongs to). Short
// payloads take a byte loop, middling ones 32-bit words over their aligned middle, long ones
// WebAssembly SIMD (mask-simd.ts) where the engine has it. Client keys come from a pooled random
// buffer, refilled with one crypto call per 1024 frames rather than one per frame.

import { randomFillSync } from 'node:crypto';
import { xorCopy } from './mask-simd.js';

/** Below this many bytes the word loop costs more to set up than it saves. */
const WORD_LOOP_MIN = 64;
/**
 * From this many bytes on, SIMD (with its two copies through WebAssembly memory) beats the word
 * loop: measured 1.3-1.7x in place and 1.5-2x into another buffer at 1-64 KiB of cold data
 * (node dist/test/bench/mask.js), and about even at 256 B.
 */
export const SIMD_MIN = 1024;
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XORs `bytes` in place with the 4-byte key at `key[keyStart..]`, as if `bytes` started
 * `keyOffset` bytes into the masked payload (so a payload that arrives in pieces can be unmasked
 * piece by piece). The key can stay inside the frame header it came in: no copy, no view.
 */
export function mask(bytes: Uint8Array, key: Uint8Array, keyOffset = 0, keyStart = 0): void {
  const length = bytes.length;
  if (length >= SIMD_MIN && xorCopy !== null) return xorCopy(bytes, bytes, 0, keyWord(key, keyOffset, keyStart));
  maskWords(bytes, key, keyOffset, keyStart);
}

/**
 * Writes `source` XORed with the key to `target` from `targetOffset` on, leaving `source` as it
 * was; the arguments after `target` are those of `mask`. One pass, instead of unmasking in place
 * and copying after (the payload is read once, while it is cold).
 */
export function maskInto(
  source: Uint8Array,
  target: Uint8Array,
  targetOffset: number,
  key: Uint8Array,
  keyOffset = 0,
  keyStart = 0,
): void {
  const length = source.length;
  if (length >= SIMD_MIN && xorCopy !== null) return xorCopy(source, target, targetOffset, keyWord(key, keyOffset, keyStart));
  target.set(source, targetOffset);
  maskWords(target.subarray(targetOffset, targetOffset + length), key, keyOffset, keyStart);
}

/** The key as the little-endian word whose low byte masks the byte at `keyOffset`. */
function keyWord(key: Uint8Array, keyOffset: number, keyStart: number): number {
  return (
    key[keyStart + (keyOffset & 3)]! |
    (key[keyStart + ((keyOffset + 1) & 3)]! << 8) |
    (key[keyStart + ((keyOffset + 2) & 3)]! << 16) |
    (key[keyStart + ((keyOffset + 3) & 3)]! << 24)
  );
}

/** The JavaScript loops: bytes, then Int32 words over the aligned middle of long payloads. */
function maskWords(bytes: Uint8Array, key: Uint8Array, keyOffset: number, keyStart: number): void {
  const length = bytes.length;
  let i = 0;
  if (length >= WORD_LOOP_MIN) {
    // Bytes up to a 4-byte boundary of the underlying memory, so an Int32Array view can cover the rest.
    const lead = (4 - (bytes.byteOffset & 3)) & 3;
    for (; i < lead; i++) bytes[i]! ^= key[keyStart + ((keyOffset + i) & 3)]!;
    const start = keyOffset + lead;
    const k0 = key[keyStart + (start & 3)]!;
    const k1 = key[keyStart + ((start + 1) & 3)]!;
    const k2 = key[keyStart + ((start + 2) & 3)]!;
    const k3 = key[keyStart + ((start + 3) & 3)]!;
    // Int32, not Uint32: XOR results stay small integers, and V8 keeps the loop in registers.
    const word = littleEndian ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
    const words = (length - lead) >>> 2;
    const view = new Int32Array(bytes.buffer, bytes.byteOffset + lead, words);
    // Eight words a turn: measured 1.8x faster than one at a time on 64 KiB.
    const unrolled = words & ~7;
    let w = 0;
    for (; w < unrolled; w += 8) {
      view[w]! ^= word;
      view[w + 1]! ^= word;
      view[w + 2]! ^= word;
      view[w + 3]! ^= word;
      view[w + 4]! ^= word;
      view[w + 5]! ^= word;
      view[w + 6]! ^= word;
      view[w + 7]! ^= word;
    }
    for (; w < words; w++) view[w]! ^= word;
    i = lead + words * 4;
  }
  for (; i < length; i++) bytes[i]! ^= key[keyStart + ((keyOffset + i) & 3)]!;
}

const KEY_POOL_SIZE = 4096;
const keyPool = Buffer.allocUnsafeSlow(KEY_POOL_SIZE);
let keyPoolOffset = KEY_POOL_SIZE;

/** A fresh random 4-byte masking key (RFC 6455 §5.3: unpredictable, from a strong source). */
export function maskingKey(): Buffer {
  if (keyPoolOffset === KEY_POOL_SIZE) {
    randomFillSync(keyPool);
    keyPoolOffset = 0;
  }
  keyPoolOffset += 4;
  return keyPool.subarray(keyPoolOffset - 4, keyPoolOffset);
}
