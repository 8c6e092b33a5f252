// `for await (const message of ws)` over a Websocket, without Node's generic stream iterator
// (an async generator plus finished()'s half-dozen closures and listeners, about 3 KB a
// connection, set up before the first message). The semantics are those of Readable.iterator
// with destroyOnReturn false: messages in order, done once the readable side ends, the stream's
// error (or a premature close) thrown; the stream is never destroyed by the iterator. Four shared
// listeners find the iterator through the stream; one promise is made per wait.

import type { Readable } from 'node:stream';

const slot = Symbol('prise.iterator');
type Iterated = Readable & { [slot]?: MessageIterator };

export class MessageIterator implements AsyncIterableIterator<string | Buffer> {
  readonly #stream: Iterated;
  readonly #onLeave: () => void;
  /** undefined while the stream may still deliver; null once it ended; the error otherwise. */
  #outcome: Error | null | undefined = undefined;
  #finished = false;
  /** next() calls waiting for the stream; woken together, each looks again. */
  #waiting: Array<() => void> = [];

  /** `onLeave` runs when the loop is left early (break, return, throw). */
  constructor(stream: Readable, onLeave: () => void) {
    this.#stream = stream;
    this.#onLeave = onLeave;
    if (stream.readableEnded) this.#outcome = null;
    else if (stream.destroyed) this.#outcome = stream.errored ?? prematureClose();
    this.#stream[slot] = this;
    stream.on('readable', MessageIterator.#onReadable);
    stream.on('end', MessageIterator.#onEnd);
    stream.on('error', MessageIterator.#onError);
    stream.on('close', MessageIterator.#onClose);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<string | Buffer>> {
    for (;;) {
      if (this.#finished) return { value: undefined, done: true };
      const stream = this.#stream;
      const message = stream.destroyed ? null : (stream.read() as string | Buffer | null);
      if (message !== null) return { value: message, done: false };
      const outcome = this.#outcome;
      if (outcome !== undefined) {
        this.#finish();
        if (outcome !== null) throw outcome;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  async return(value?: unknown): Promise<IteratorResult<string | Buffer>> {
    if (!this.#finished) {
      this.#finish();
      this.#onLeave();
    }
    return { value: value as undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<string | Buffer>> {
    await this.return();
    throw error;
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  #finish(): void {
    this.#finished = true;
    const stream = this.#stream;
    stream.off('readable', MessageIterator.#onReadable);
    stream.off('end', MessageIterator.#onEnd);
    stream.off('error', MessageIterator.#onError);
    stream.off('close', MessageIterator.#onClose);
    delete stream[slot];
    this.#wake();
  }

  static #onReadable(this: Iterated): void {
    const it = this[slot];
    if (it !== undefined) it.#wake();
  }
  static #onEnd(this: Iterated): void {
    const it = this[slot];
    if (it === undefined) return;
    it.#outcome ??= null;
    it.#wake();
  }
  static #onError(this: Iterated, error: Error): void {
    const it = this[slot];
    if (it === undefined) return;
    if (it.#outcome === undefined || it.#outcome === null) it.#outcome = error;
    it.#wake();
  }
  static #onClose(this: Iterated): void {
    const it = this[slot];
    if (it === undefined) return;
    it.#outcome ??= this.readableEnded ? null : (this.errored ?? prematureClose());
    it.#wake();
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
