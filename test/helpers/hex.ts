// Bytes as hex strings, so fixtures read field by field and assertions diff cleanly. hex() takes
// a Buffer, a plain Uint8Array or a list of chunks (an encoder's output) and prints them joined.

/** Lowercase hex of `bytes`, or of the chunks joined in order; no spaces. */
export function hex(bytes: Uint8Array | readonly Uint8Array[]): string {
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  let out = '';
  for (const chunk of bytes) out += hex(chunk);
  return out;
}

/** The bytes a hex fixture spells; white space is ignored, anything else that is not hex throws. */
export function fromHex(text: string): Buffer {
  let digits = '';
  for (const c of text) {
    if (c === ' ' || c === '\n' || c === '\t') continue;
    if (!/[0-9a-fA-F]/.test(c)) throw new Error(`bad hex digit ${JSON.stringify(c)} in fixture`);
    digits += c;
  }
  if (digits.length % 2 !== 0) throw new Error(`odd number of hex digits in fixture "${text}"`);
  return Buffer.from(digits, 'hex');
}

/** `length` deterministic bytes that do not repeat with a short period (so misplaced bytes show). */
export function pattern(length: number, seed = 1): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
