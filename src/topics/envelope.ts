// The envelope a message travels in between processes (through a Broker such as Redis): what
// kind of message it is, who published it and when, and the payload, as one buffer. Pure.
//
//   byte 0        version and type: 0x01 text (the payload is UTF-8), 0x02 binary
//   bytes 1..8    the publishing Topics' origin id (8 random bytes, one per Topics instance)
//   bytes 9..14   its sequence number, 48-bit big-endian, one more for every message it publishes
//   bytes 15..    the payload, as sent
//
// The origin lets a process skip its own messages when the broker echoes them back: those
// were delivered locally already, at publish time. The sequence number lets a receiver refuse a
// message it already had, or one older than the last it had from that origin: a client that
// re-sends a PUBLISH after a reconnect (ioredis does) may have had it reach Redis the first
// time, and at-most-once means never twice. Anything else (a shorter buffer, an unknown first
// byte, text that is not UTF-8) is not ours and is refused.

import { Buffer, isUtf8 } from 'node:buffer';

export const EnvelopeType = { Text: 0x01, Binary: 0x02 } as const;
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

export const ORIGIN_LENGTH = 8;
const SEQUENCE_OFFSET = 1 + ORIGIN_LENGTH;
const SEQUENCE_LENGTH = 6;
export const HEADER_LENGTH = SEQUENCE_OFFSET + SEQUENCE_LENGTH;
/** Sequence numbers wrap here (2^48: nine years at a million messages a second). */
export const SEQUENCE_LIMIT = 2 ** 48;

export interface Envelope {
  /** A string for text, a view into the envelope's buffer for binary. */
  readonly data: string | Buffer;
  /** The origin id, as an 8-character latin1 string (a cheap map key). */
  readonly origin: string;
  readonly sequence: number;
}

/** Wraps a message: one allocation, the payload copied once. */
export function encodeEnvelope(data: string | Uint8Array, origin: Buffer, sequence: number): Buffer {
  const text = typeof data === 'string';
  const size = text ? Buffer.byteLength(data) : data.byteLength;
  const envelope = Buffer.allocUnsafe(HEADER_LENGTH + size);
  envelope[0] = text ? EnvelopeType.Text : EnvelopeType.Binary;
  origin.copy(envelope, 1, 0, ORIGIN_LENGTH);
  envelope.writeUIntBE(sequence, SEQUENCE_OFFSET, SEQUENCE_LENGTH);
  if (text) envelope.write(data, HEADER_LENGTH, 'utf8');
  else envelope.set(data, HEADER_LENGTH);
  return envelope;
}

/** Unwraps a message, or returns null when the bytes are not an envelope of ours. */
export function decodeEnvelope(envelope: Buffer): Envelope | null {
  if (envelope.length < HEADER_LENGTH) return null;
  const type = envelope[0];
  const origin = envelope.toString('latin1', 1, SEQUENCE_OFFSET);
  const sequence = envelope.readUIntBE(SEQUENCE_OFFSET, SEQUENCE_LENGTH);
  const payload = envelope.subarray(HEADER_LENGTH);
  if (type === EnvelopeType.Binary) return { data: payload, origin, sequence };
  if (type === EnvelopeType.Text && isUtf8(payload)) return { data: payload.toString('utf8'), origin, sequence };
  return null;
}
