// The envelope a message travels in between processes (through a Broker such as Redis): what
// kind of message it is, which Topics published it, and the payload, as one buffer. Pure.
//
//   byte 0       version and type: 0x01 text (the payload is UTF-8), 0x02 binary
//   bytes 1..8   the publishing Topics' origin id (8 random bytes, one per Topics instance)
//   bytes 9..    the payload, as sent
//
// The origin lets a process skip its own messages when the broker echoes them back: those
// were delivered locally already, at publish time. Anything else (a shorter buffer, an unknown
// first byte, text that is not UTF-8) is not ours and is refused.

import { Buffer, isUtf8 } from 'node:buffer';

export const EnvelopeType = { Text: 0x01, Binary: 0x02 } as const;
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

export const ORIGIN_LENGTH = 8;
export const HEADER_LENGTH = 1 + ORIGIN_LENGTH;

export interface Envelope {
  /** A string for text, a view into the envelope's buffer for binary. */
  readonly data: string | Buffer;
  /** A view of the 8 origin bytes. */
  readonly origin: Buffer;
}

/** Wraps a message: one allocation, the payload copied once. */
export function encodeEnvelope(data: string | Uint8Array, origin: Buffer): Buffer {
  const text = typeof data === 'string';
  const size = text ? Buffer.byteLength(data) : data.byteLength;
  const envelope = Buffer.allocUnsafe(HEADER_LENGTH + size);
  envelope[0] = text ? EnvelopeType.Text : EnvelopeType.Binary;
  origin.copy(envelope, 1, 0, ORIGIN_LENGTH);
  if (text) envelope.write(data, HEADER_LENGTH, 'utf8');
  else envelope.set(data, HEADER_LENGTH);
  return envelope;
}

/** Unwraps a message, or returns null when the bytes are not an envelope of ours. */
export function decodeEnvelope(envelope: Buffer): Envelope | null {
  if (envelope.length < HEADER_LENGTH) return null;
  const type = envelope[0];
  const origin = envelope.subarray(1, HEADER_LENGTH);
  const payload = envelope.subarray(HEADER_LENGTH);
  if (type === EnvelopeType.Binary) return { data: payload, origin };
  if (type === EnvelopeType.Text && isUtf8(payload)) return { data: payload.toString('utf8'), origin };
  return null;
}
