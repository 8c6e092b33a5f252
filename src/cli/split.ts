// Cuts a byte stream into messages at a separator byte: newline for text lines (a '\r' before
// it goes too), NUL for `-0`. Chunks are fed as they come; a piece that straddles chunks is
// joined once its end arrives, and whatever is left at EOF is the last piece.

const NEWLINE = 0x0a;
const RETURN = 0x0d;

export class Splitter {
  readonly #separator: number;
  /** Bytes after the last separator, waiting for the rest of their piece. */
  #pending: Buffer[] = [];

  constructor(separator: 'line' | 'nul') {
    this.#separator = separator === 'line' ? NEWLINE : 0;
  }

  /** The pieces completed by `chunk`, without their separators. */
  push(chunk: Buffer): Buffer[] {
    const pieces: Buffer[] = [];
    let start = 0;
    for (let at = chunk.indexOf(this.#separator); at !== -1; at = chunk.indexOf(this.#separator, start)) {
      const tail = chunk.subarray(start, at);
      pieces.push(this.#trim(this.#pending.length === 0 ? tail : Buffer.concat([...this.#pending, tail])));
      this.#pending = [];
      start = at + 1;
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start));
    return pieces;
  }

  /** The last piece, if the input did not end with a separator. */
  end(): Buffer | null {
    if (this.#pending.length === 0) return null;
    const rest = this.#trim(Buffer.concat(this.#pending));
    this.#pending = [];
    return rest;
  }

  #trim(piece: Buffer): Buffer {
    const cr = this.#separator === NEWLINE && piece.length > 0 && piece[piece.length - 1] === RETURN;
    return cr ? piece.subarray(0, -1) : piece;
  }
}
