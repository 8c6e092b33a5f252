// RFC 6455 §5.3 masking with WebAssembly SIMD: 16 bytes per instruction, 64 per loop turn. A
// WebAssembly module sees only its own memory, so bytes go through it a block at a time: copied
// in, XORed there, copied out to where they belong (in place, or straight into the message being
// reassembled). Two memcpys and a SIMD pass still beat the best JavaScript loop from about 1 KiB
// on (measured in test/bench/mask.ts); mask.ts picks by length. The module is built into the
// source below, compiled once at import, and `xorCopy` is null where WebAssembly or its SIMD
// proposal is missing (Node --jitless, old engines): mask.ts then keeps to JavaScript.

/**
 * The module, byte for byte (WebAssembly binary format 1, with the fixed-width SIMD opcodes):
 *
 *   (module
 *     (memory (export "m") 1)                   ;; one 64 KiB page: the block
 *     (func (export "x") (param $len i32) (param $key i32)
 *       (local $p i32) (local $k v128)
 *       (local.set $k (i32x4.splat (local.get $key)))
 *       (block $done (loop $next
 *         (br_if $done (i32.ge_u (local.get $p) (local.get $len)))   ;; $len: a multiple of 64
 *         (v128.store offset=0  (local.get $p) (v128.xor (v128.load offset=0  (local.get $p)) (local.get $k)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $k)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $k)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br $next)))))
 */
// prettier-ignore
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00, // type section: (func (param i32 i32))
  0x03, 0x02, 0x01, 0x00, //                         function section: one, of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, //                   memory section: min 1 page, no max
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x78, 0x00, 0x00, // exports: "m" memory 0, "x" func 0
  0x0a, 0x65, 0x01, 0x63, //                         code section: one body of 0x63 bytes
  0x02, 0x01, 0x7f, 0x01, 0x7b, //                   locals: $p i32, $k v128
  0x20, 0x01, 0xfd, 0x11, 0x21, 0x03, //             local.get $key, i32x4.splat, local.set $k
  0x02, 0x40, 0x03, 0x40, //                         block, loop
  0x20, 0x02, 0x20, 0x00, 0x4f, 0x0d, 0x01, //       br_if $done ($p >= $len)
  // Four times, at offsets 0, 16, 32, 48: local.get $p ×2, v128.load, local.get $k, v128.xor, v128.store
  0x20, 0x02, 0x20, 0x02, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00,
  0x20, 0x02, 0x20, 0x02, 0xfd, 0x00, 0x04, 0x10, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x10,
  0x20, 0x02, 0x20, 0x02, 0xfd, 0x00, 0x04, 0x20, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20,
  0x20, 0x02, 0x20, 0x02, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x30,
  0x20, 0x02, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x02, // $p = $p + 64
  0x0c, 0x00, 0x0b, 0x0b, 0x0b, //                  br $next, end loop, end block, end func
]);

/** Bytes XORed per call: the module's one page. */
const BLOCK = 65536;

interface Exports {
  m: WebAssembly.Memory;
  x: (length: number, word: number) => void;
}

function instantiate(): Exports | null {
  try {
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(MODULE)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(MODULE)).exports as unknown as Exports;
  } catch {
    return null; // WebAssembly present but not allowed to compile (a policy, --jitless)
  }
}

const exports = instantiate();
/** The module's memory; it never grows, so this view stays valid. */
const block = exports === null ? new Uint8Array(0) : new Uint8Array(exports.m.buffer, 0, BLOCK);
const xorBlock = exports?.x;

/**
 * Writes `source` XORed with the key to `target` at `targetOffset` (`target` may be `source`
 * itself, for masking in place). `word` is the key as a little-endian 32-bit word, rotated so its
 * low byte applies to `source[0]`. Null where WebAssembly SIMD is unavailable.
 */
export const xorCopy: ((source: Uint8Array, target: Uint8Array, targetOffset: number, word: number) => void) | null =
  xorBlock === undefined
    ? null
    : (source, target, targetOffset, word) => {
        const length = source.length;
        // Every block but the last is whole, a multiple of 4 bytes: the key's phase never moves.
        for (let done = 0; done < length; done += BLOCK) {
          const size = Math.min(BLOCK, length - done);
          block.set(size === length ? source : source.subarray(done, done + size));
          const simd = size & ~63;
          xorBlock(simd, word);
          // The last 0..63 bytes, from a 4-byte boundary of the block.
          for (let i = simd; i < size; i++) block[i]! ^= word >>> ((i & 3) << 3);
          target.set(size === BLOCK ? block : block.subarray(0, size), targetOffset + done);
        }
      };
