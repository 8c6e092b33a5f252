// permessage-deflate at run time (RFC 7692 §7.2), over node:zlib's raw deflate. A message is
// compressed with a sync flush and loses its 00 00 ff ff tail; an incoming one gets the tail
// back and is inflated piece by piece, its output handed on as it comes, so a limit can stop a
// decompression bomb without the whole output ever being held.
//
// Memory: with no context takeover (prise's default, both ways), a connection owns no zlib
// state at all. Streams come from a shared pool, are reset after each message, and return.
// With context takeover a connection keeps its own stream (its window lives between messages).
// Either way every zlib job passes through one limiter, so thousands of connections
// compressing at once queue up instead of each holding zlib buffers.

import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import type { Role } from './protocol/decoder.js';
import type { DeflateParams } from './protocol/extensions.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY_MESSAGE = Buffer.from([0x00]);

/** Tuning for our compressor; see README for what each costs. */
export interface CompressionOptions {
  /** Messages shorter than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** zlib level, 0 to 9 (default 6). */
  level?: number;
  /** zlib memLevel, 1 to 9 (default 8): deflate memory is 2^(windowBits+2) + 2^(memLevel+9). */
  memLevel?: number;
}

export const DEFAULT_THRESHOLD = 1024;

/**
 * Throws a RangeError naming the first option zlib could not use (zlib refuses them only once a
 * stream exists, that is mid-connection). `threshold` may be Infinity: never compress.
 */
export function checkCompressionOptions(options: CompressionOptions): void {
  const { threshold, level, memLevel } = options;
  if (threshold !== undefined && !((Number.isSafeInteger(threshold) && threshold >= 0) || threshold === Infinity)) {
    throw new RangeError(`deflate.threshold must be a non-negative integer (or Infinity), got ${String(threshold)}`);
  }
  if (level !== undefined && !(Number.isInteger(level) && level >= -1 && level <= 9)) {
    throw new RangeError(`deflate.level must be an integer from 0 to 9 (or -1, zlib's default), got ${String(level)}`);
  }
  if (memLevel !== undefined && !(Number.isInteger(memLevel) && memLevel >= 1 && memLevel <= 9)) {
    throw new RangeError(`deflate.memLevel must be an integer from 1 to 9, got ${String(memLevel)}`);
  }
}
/** How many zlib jobs run (and hold buffers) at once, across all connections. */
export const ZLIB_CONCURRENCY = 8;

/** A FIFO semaphore: at most `limit` jobs run at once. */
class Limiter {
  #running = 0;
  readonly #queue: Array<() => void> = [];
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#running++;
    try {
      return await job();
    } finally {
      const next = this.#queue.shift();
      if (next === undefined) this.#running--;
      else next(); // the slot passes straight to the next job
    }
  }
}

const limiter = new Limiter(ZLIB_CONCURRENCY);

/** Idle zlib streams of one configuration, reset and ready; at most ZLIB_CONCURRENCY kept. */
class Pool<T extends DeflateRaw | InflateRaw> {
  readonly #idle: T[] = [];
  readonly #create: () => T;
  constructor(create: () => T) {
    this.#create = create;
  }
  take(): T {
    return this.#idle.pop() ?? this.#create();
  }
  give(stream: T): void {
    if (this.#idle.length < ZLIB_CONCURRENCY) {
      stream.reset();
      this.#idle.push(stream);
    } else stream.close();
  }
}

const pools = new Map<string, Pool<DeflateRaw | InflateRaw>>();

function poolFor(key: string, create: () => DeflateRaw | InflateRaw): Pool<DeflateRaw | InflateRaw> {
  let pool = pools.get(key);
  if (pool === undefined) pools.set(key, (pool = new Pool(create)));
  return pool;
}

/** One connection's compression, both ways, for the parameters negotiated. */
export class MessageDeflate {
  readonly threshold: number;
  readonly #deflateKey: string;
  readonly #createDeflate: () => DeflateRaw;
  readonly #inflateKey: string;
  readonly #createInflate: () => InflateRaw;
  /** Our streams when their context must live between messages; null when pooled. */
  #deflate: DeflateRaw | null = null;
  #inflate: InflateRaw | null = null;
  readonly #keepDeflate: boolean;
  readonly #keepInflate: boolean;
  #closed = false;
  /**
   * Settle when the last compress and the last inflate job are done, so that each kind runs one
   * at a time in call order: a kept stream (and an inflate stream held for a whole message)
   * serves one job at once. They never reject, and hold no result (no buffer kept alive).
   */
  #lastCompress: Promise<void> = Promise.resolve();
  #lastInflate: Promise<void> = Promise.resolve();

  constructor(params: DeflateParams, role: Role, options: CompressionOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    const ours = role === 'server' ? 'server' : 'client';
    // zlib's raw deflate has no 8-bit window and takes 9, which still never reaches back more
    // than 250 bytes (see negotiateDeflate): an 8-bit agreement is kept.
    const windowBits = Math.max(9, ours === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits);
    const level = options.level ?? constants.Z_DEFAULT_COMPRESSION;
    const memLevel = options.memLevel ?? 8;
    this.#keepDeflate = !(ours === 'server' ? params.serverNoContextTakeover : params.clientNoContextTakeover);
    this.#keepInflate = !(ours === 'server' ? params.clientNoContextTakeover : params.serverNoContextTakeover);
    this.#deflateKey = `deflate ${windowBits} ${level} ${memLevel}`;
    this.#createDeflate = () => quiet(createDeflateRaw({ windowBits, level, memLevel }));
    // Inflate with the peer's agreed window: less memory than 15 bits when it is smaller. 9 is
    // the least, so a zlib peer's 9-bit stream for an 8-bit agreement is read whatever it holds.
    const peerBits = Math.max(9, ours === 'server' ? params.clientMaxWindowBits : params.serverMaxWindowBits);
    this.#inflateKey = `inflate ${peerBits}`;
    this.#createInflate = () => quiet(createInflateRaw({ windowBits: peerBits }));
  }

  /** Compresses one whole message (RFC 7692 §7.2.1): the payload of its RSV1 frame. */
  compress(data: Buffer): Promise<Buffer> {
    const job = this.#lastCompress.then(() => limiter.run(async () => {
      if (this.#closed) throw new Error('compressor closed'); // a kept stream would be leaked
      const stream = this.#deflate ?? (poolFor(this.#deflateKey, this.#createDeflate).take() as DeflateRaw);
      if (this.#keepDeflate) this.#deflate = stream;
      const chunks: Buffer[] = [];
      let length = 0;
      const collect = (chunk: Buffer): void => {
        chunks.push(chunk);
        length += chunk.length;
      };
      stream.on('data', collect);
      try {
        await flushed(stream, data, false);
      } finally {
        stream.off('data', collect);
        if (!this.#keepDeflate) poolFor(this.#deflateKey, this.#createDeflate).give(stream);
      }
      const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      // A sync flush ends with an empty stored block, 00 00 ff ff: the receiver puts it back.
      // zlib flushes nothing for an empty message right after another flush; RFC 7692 §7.2.3.6
      // spells an empty message as one 0x00 byte (an empty stored block, minus the tail).
      if (out.length === 0) return EMPTY_MESSAGE;
      return out.subarray(out.length - 4).equals(TAIL) ? out.subarray(0, out.length - 4) : out;
    }));
    this.#lastCompress = job.then(ignore, ignore);
    return job;
  }

  /**
   * Inflates one piece of a compressed message (the tail goes in after the piece with `end`),
   * handing each output chunk to `output`; when it returns false (a limit was hit), inflating
   * stops at once and the stream is thrown away. Rejects if the data is not valid deflate.
   */
  inflate(piece: Buffer, end: boolean, output: (chunk: Buffer) => boolean): Promise<void> {
    const job = this.#lastInflate.then(() => limiter.run(async () => {
      if (this.#closed) return;
      const stream = this.#inflate ?? (poolFor(this.#inflateKey, this.#createInflate).take() as InflateRaw);
      this.#inflate = stream; // held until the message ends (or for good, with context takeover)
      let stopped = false;
      const collect = (chunk: Buffer): void => {
        if (!stopped && !output(chunk)) {
          stopped = true;
          stream.destroy(); // no more output: a bomb ends here
        }
      };
      stream.on('data', collect);
      try {
        await flushed(stream, piece, end);
      } catch (error) {
        if (!stopped) {
          this.#inflate = null;
          stream.destroy();
          throw error;
        }
      } finally {
        stream.off('data', collect);
      }
      if (stopped) {
        this.#inflate = null;
      } else if (end && (stream.readableEnded || !this.#keepInflate)) {
        this.#inflate = null;
        // RFC 7692 §7.2.3.4: a peer may end a message with a BFINAL block, which ends zlib's
        // stream for good (reset() does not revive its readable side): drop it, never pool it.
        if (stream.readableEnded) stream.close();
        else poolFor(this.#inflateKey, this.#createInflate).give(stream);
      }
    }));
    this.#lastInflate = job.then(ignore, ignore);
    return job;
  }

  /** Releases the connection's own zlib streams. */
  close(): void {
    this.#closed = true;
    if (this.#keepDeflate) this.#deflate?.close();
    this.#inflate?.close();
    this.#deflate = null;
    this.#inflate = null;
  }
}

function ignore(): void {}


/** Errors are taken from the flush callbacks; an unheard 'error' must not crash the process. */
function quiet<T extends DeflateRaw | InflateRaw>(stream: T): T {
  stream.on('error', () => {});
  return stream;
}

/**
 * Writes `data` (and the tail) and waits for a sync flush to push all output out. Settles on
 * the flush, an error, or the stream closing (as it does when inflating is stopped).
 */
function flushed(stream: DeflateRaw | InflateRaw, data: Buffer, tail: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      stream.off('error', done);
      stream.off('close', closed);
      if (error === undefined) resolve();
      else reject(error);
    };
    const closed = (): void => done();
    stream.once('error', done);
    stream.once('close', closed);
    if (data.length > 0) stream.write(data);
    if (tail) stream.write(TAIL);
    stream.flush(constants.Z_SYNC_FLUSH, () => done());
  });
}
