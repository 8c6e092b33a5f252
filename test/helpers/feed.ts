// The three ways every decoder case is fed (STYLE.md): whole, one byte at a time, and followed by
// trailing bytes that must stay unread. Each feeding holds fresh copies, since the decoder
// unmasks pushed chunks in place.

import type { Role } from '../../src/protocol/decoder.js';
import { fromHex } from './hex.js';

export interface Feeding {
  readonly name: 'whole' | 'bytewise' | 'trailing';
  readonly chunks: Buffer[];
  /** How many bytes must still be buffered once the case's own bytes are decoded. */
  readonly trailing: number;
}

/**
 * The start of a next frame, cut inside its extended length: it passes every check the first two
 * bytes allow, so a decoder that reads past the case's bytes returns null rather than failing.
 */
export function trailer(role: Role): Buffer {
  return role === 'server'
    ? fromHex('81 fe 00') // FIN text, masked, 16-bit length: 1 of its 2 length bytes
    : fromHex('81 7e 00'); // FIN text, unmasked, 16-bit length: 1 of its 2 length bytes
}

export function feedings(bytes: Uint8Array, role: Role): Feeding[] {
  const tail = trailer(role);
  const bytewise: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) bytewise.push(Buffer.from([bytes[i]!]));
  return [
    { name: 'whole', chunks: [Buffer.from(bytes)], trailing: 0 },
    { name: 'bytewise', chunks: bytewise, trailing: 0 },
    { name: 'trailing', chunks: [Buffer.concat([bytes, tail])], trailing: tail.length },
  ];
}
