// A decompression bomb for permessage-deflate tests: raw deflate data (RFC 1951, without the
// 00 00 ff ff tail RFC 7692 strips) that inflates to a run of zero bytes about a thousand times
// its size. Built in milliseconds without ever holding the inflated run: one megabyte of zeros
// is compressed once on its own and once against a window of zeros (a preset dictionary); the
// second piece, byte-aligned by its sync flush, is valid after any 32 KiB of zeros, so it repeats.
//
//   const bomb = zeroBomb(1024);            // ~1 MB that inflates to 1 GiB
//   client.send({ opcode: Op.Binary, rsv: 4, payload: bomb });

import { constants, deflateRawSync } from 'node:zlib';

const MIB = 1024 * 1024;

/** Raw deflate data, tail stripped, that inflates to `mebibytes` MiB of zeros. */
export function zeroBomb(mebibytes: number): Buffer {
  const zeros = Buffer.alloc(MIB);
  const options = { level: 9, finishFlush: constants.Z_SYNC_FLUSH };
  const first = deflateRawSync(zeros, options);
  const next = deflateRawSync(zeros, { ...options, dictionary: zeros.subarray(0, 32 * 1024) });
  const pieces = [first];
  for (let i = 1; i < mebibytes; i++) pieces.push(next);
  const bomb = Buffer.concat(pieces);
  return bomb.subarray(0, bomb.length - 4); // every piece ends 00 00 ff ff; the last one goes
}
