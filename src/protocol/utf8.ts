// UTF-8 checks for text messages. Whole messages go to `isUtf8` (simdutf inside Node); a message
// that arrives in pieces is checked as it grows, so invalid text fails at the piece holding the
// first bad byte instead of after the whole message has been buffered.

import { isUtf8 } from 'node:buffer';

export { isUtf8 };

/**
 * Checks `bytes[from..]`, the newest part of a message still being received, given that
 * `bytes[..from]` has already been checked and ends on a character boundary. Returns the offset
 * of the last character boundary (the next call's `from`), or -1 as soon as any byte is invalid.
 * A character cut off at the end passes only if more bytes could still complete it.
 */
export function checkUtf8Prefix(bytes: Uint8Array, from: number): number {
  const end = bytes.length;
  const cut = incompleteTail(bytes, from, end);
  if (!isUtf8(bytes.subarray(from, cut))) return -1;
  return cut === end || isCharacterPrefix(bytes, cut, end) ? cut : -1;
}

/** Where a truncated last character starts, or `end` if the bytes end on a boundary. */
function incompleteTail(bytes: Uint8Array, from: number, end: number): number {
  // A character is at most 4 bytes, so its lead byte is among the last 3 if it is incomplete.
  for (let i = end - 1; i >= from && i >= end - 3; i--) {
    const byte = bytes[i]!;
    if (byte < 0x80) return end; // ASCII: nothing is cut off
    if (byte >= 0xc0) return end - i < sequenceLength(byte) ? i : end;
  }
  return end;
}

/** The length a lead byte announces; 0 for bytes that can never start a character. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** True if `bytes[start..end]` (shorter than its lead announces) can still become a character. */
function isCharacterPrefix(bytes: Uint8Array, start: number, end: number): boolean {
  const lead = bytes[start]!;
  if (sequenceLength(lead) === 0) return false;
  if (end - start < 2) return true;
  const second = bytes[start + 1]!;
  // RFC 3629 §4: the second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
  let low = 0x80;
  let high = 0xbf;
  if (lead === 0xe0) low = 0xa0;
  else if (lead === 0xed) high = 0x9f;
  else if (lead === 0xf0) low = 0x90;
  else if (lead === 0xf4) high = 0x8f;
  if (second < low || second > high) return false;
  return end - start < 3 || (bytes[start + 2]! & 0xc0) === 0x80;
}
