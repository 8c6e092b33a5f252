// A WebSocket client over a bare TCP socket, for tests that need to misbehave. It writes the
// opening handshake by hand (well-formed or not) and reads the raw HTTP response, sends frames
// built here byte by byte (masked or not, broken on purpose: reserved bits, reserved opcodes,
// lengths that lie...), and parses what the server sends back without judging it. Nothing here
// uses prise's own codec, so a bug there cannot cancel out in a test.
//
//   const client = await RawClient.open(port, { protocols: ['chat'] });
//   client.send({ opcode: Op.Text, payload: 'hi', fin: false });
//   const frame = await client.nextFrame();

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** RFC 6455 §5.2 opcodes, spelled out here so the tests do not lean on src/. */
export const Op = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---------------------------------------------------------------------------------------------
// Frames

/** Everything about a frame a test may want to get wrong. */
export interface FrameSpec {
  /** 0-15: reserved opcodes are allowed on purpose. */
  opcode: number;
  payload?: Uint8Array | string;
  /** Default true. */
  fin?: boolean;
  /** RSV1-3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3); default 0. */
  rsv?: number;
  /** Default true: clients must mask. */
  masked?: boolean;
  /** Payload length written in the header; default the payload's. A header may promise more. */
  length?: number;
  /** Bytes of extended length: 0, 2 or 8; default the shortest. Longer ones are illegal. */
  lengthBytes?: 0 | 2 | 8;
  /** Masking key; default random. */
  key?: Uint8Array;
}

/** Builds one frame, exactly as specified. */
export function frame(spec: FrameSpec): Buffer {
  // A copy in every case: masking happens in place.
  const payload = Buffer.from(typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? []));
  const length = spec.length ?? payload.length;
  const lengthBytes = spec.lengthBytes ?? (length < 126 ? 0 : length < 0x10000 ? 2 : 8);
  const masked = spec.masked ?? true;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (masked) {
    const key = spec.key ?? randomBytes(4);
    header.set(key.subarray(0, 4), 2 + lengthBytes);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  }
  return Buffer.concat([header, payload]);
}

/** The payload of a close frame: the code, then the reason (given as bytes to send invalid UTF-8). */
export function closePayload(code: number, reason: string | Uint8Array = ''): Buffer {
  const code16 = Buffer.alloc(2);
  code16.writeUInt16BE(code);
  return Buffer.concat([code16, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

/** A frame the server sent, parsed but not validated. */
export interface ServerFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** Unmasked payload. */
  readonly payload: Buffer;
  /** Close frames: the status code, or null when the payload is empty. */
  readonly code: number | null;
  /** Close frames: the reason, decoded as UTF-8. */
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------------
// The opening handshake

export interface HandshakeOptions {
  path?: string;
  /** Default 'GET'. */
  method?: string;
  /** Default '1.1'. */
  httpVersion?: string;
  /** Default: a fresh random key. */
  key?: string;
  /** Sent as one Sec-WebSocket-Protocol header. */
  protocols?: string[];
  /** Headers to add or replace (names match case-insensitively); null leaves a default one out. */
  headers?: Record<string, string | null>;
  /** Bytes sent right after the request, in the same write (a body, or pipelined frames). */
  after?: Uint8Array;
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** The text of an opening handshake request (RFC 6455 §4.1), as modified by `options`. */
export function handshakeRequest(options: HandshakeOptions = {}): string {
  const headers: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': options.key ?? newKey(),
    'Sec-WebSocket-Version': '13',
  };
  if (options.protocols !== undefined) headers['Sec-WebSocket-Protocol'] = options.protocols.join(', ');
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const existing = Object.keys(headers).find((known) => known.toLowerCase() === name.toLowerCase());
    if (existing !== undefined) delete headers[existing];
    headers[name] = value;
  }
  let text = `${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/${options.httpVersion ?? '1.1'}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== null) text += `${name}: ${value}\r\n`;
  return text + '\r\n';
}

/** An HTTP response head as the server sent it. */
export interface HttpResponse {
  readonly status: number;
  /** Header names lowercased; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  /** The head exactly as received, up to and including the blank line. */
  readonly raw: string;
}

function parseResponseHead(raw: string): HttpResponse {
  const lines = raw.slice(0, -4).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(match[1]), headers, raw };
}

// ---------------------------------------------------------------------------------------------
// The client

export class RawClient {
  readonly socket: Socket;
  /** The server's answer to the handshake, once open() or readResponse() has read it. */
  response: HttpResponse | null = null;
  /** A socket error, if one happened (the socket is then closed). */
  error: Error | null = null;
  /** Resolves when the server has ended its side of the TCP connection (or it broke). */
  readonly ended: Promise<void>;
  /** Resolves when the TCP connection is closed. */
  readonly closed: Promise<void>;

  readonly #input = new ByteQueue();
  #eof = false;
  readonly #waiters = new Set<() => boolean>();

  private constructor(socket: Socket) {
    this.socket = socket;
    this.ended = new Promise((resolve) => {
      socket.once('end', resolve);
      socket.once('close', resolve);
    });
    this.closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('data', (chunk: Buffer) => {
      this.#input.push(chunk);
      this.#wake();
    });
    socket.on('end', () => this.#finish());
    socket.on('close', () => this.#finish());
    socket.on('error', (error) => (this.error ??= error));
  }

  /** A TCP connection, nothing sent yet. */
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Connects and completes a handshake; throws unless the server answers 101 with the right accept. */
  static async open(port: number, options: HandshakeOptions = {}): Promise<RawClient> {
    const key = options.key ?? newKey();
    const client = await RawClient.connect(port);
    client.handshake({ ...options, key });
    const response = await client.readResponse();
    if (response.status !== 101) {
      client.destroy();
      throw new Error(`handshake refused: ${response.raw}`);
    }
    if (response.headers['sec-websocket-accept'] !== acceptFor(key)) {
      client.destroy();
      throw new Error(`wrong sec-websocket-accept in: ${response.raw}`);
    }
    return client;
  }

  /** Sends a handshake request (and options.after in the same write). */
  handshake(options: HandshakeOptions = {}): void {
    const request = Buffer.from(handshakeRequest(options), 'latin1');
    this.write(options.after === undefined ? request : Buffer.concat([request, options.after]));
  }

  /** Writes raw bytes; returns what socket.write returned. */
  write(bytes: Uint8Array | string): boolean {
    return this.socket.write(bytes);
  }

  send(spec: FrameSpec): boolean {
    return this.write(frame(spec));
  }

  sendText(text: string): boolean {
    return this.send({ opcode: Op.Text, payload: text });
  }

  sendBinary(bytes: Uint8Array): boolean {
    return this.send({ opcode: Op.Binary, payload: bytes });
  }

  sendPing(payload: Uint8Array | string = ''): boolean {
    return this.send({ opcode: Op.Ping, payload });
  }

  sendPong(payload: Uint8Array | string = ''): boolean {
    return this.send({ opcode: Op.Pong, payload });
  }

  /** A close frame with `code` and `reason`, or with no payload when `code` is omitted. */
  sendClose(code?: number, reason: string | Uint8Array = ''): boolean {
    return this.send({ opcode: Op.Close, payload: code === undefined ? '' : closePayload(code, reason) });
  }

  /** Reads the HTTP response head; what follows it stays queued (WebSocket frames, or a body). */
  readResponse(): Promise<HttpResponse> {
    return this.#when(() => {
      const end = this.#input.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.#eof) throw new Error(`connection ended before a full response head`);
        return undefined;
      }
      this.response = parseResponseHead(this.#input.take(end + 4).toString('latin1'));
      return this.response;
    });
  }

  /** Everything left until the server ends the connection (a response body, say). */
  readToEnd(): Promise<Buffer> {
    return this.#when(() => (this.#eof ? this.#input.take(this.#input.length) : undefined));
  }

  /** The next frame from the server, or null once the connection ended without one. */
  nextFrame(): Promise<ServerFrame | null> {
    return this.#when(() => this.#parseFrame() ?? (this.#eof ? null : undefined));
  }

  /** Frames up to and including the first close frame (null if the connection ended first). */
  async readUntilClose(): Promise<{ frames: ServerFrame[]; close: ServerFrame | null }> {
    const frames: ServerFrame[] = [];
    for (;;) {
      const next = await this.nextFrame();
      if (next === null) return { frames, close: null };
      if (next.opcode === Op.Close) return { frames, close: next };
      frames.push(next);
    }
  }

  /** Stops reading from the socket, so the server's writes back up. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Runs `attempt` now and after every change of the input until it returns a value or throws. */
  #when<T>(attempt: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = (): boolean => {
        try {
          const value = attempt();
          if (value === undefined) return false;
          resolve(value);
        } catch (error) {
          reject(error);
        }
        return true;
      };
      if (!run()) this.#waiters.add(run);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) if (waiter()) this.#waiters.delete(waiter);
  }

  #finish(): void {
    this.#eof = true;
    this.#wake();
  }

  #parseFrame(): ServerFrame | undefined {
    const input = this.#input;
    if (input.length < 2) return undefined;
    const [b0, b1] = input.peek(2);
    const masked = (b1! & 0x80) !== 0;
    const length7 = b1! & 0x7f;
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (input.length < headerLength) return undefined;
    const header = input.peek(headerLength);
    let length = length7;
    if (lengthBytes === 2) length = header.readUInt16BE(2);
    if (lengthBytes === 8) length = Number(header.readBigUInt64BE(2));
    if (input.length < headerLength + length) return undefined;
    input.take(headerLength);
    const payload = input.take(length);
    if (masked) {
      const key = header.subarray(headerLength - 4);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    }
    const opcode = b0! & 0x0f;
    const close = opcode === Op.Close && payload.length >= 2;
    return {
      fin: (b0! & 0x80) !== 0,
      rsv: (b0! >> 4) & 0x7,
      opcode,
      masked,
      payload,
      code: close ? payload.readUInt16BE(0) : null,
      reason: close ? payload.subarray(2).toString('utf8') : '',
    };
  }
}

/** Received bytes, consumed from the front; chunks are joined only when a read spans them. */
class ByteQueue {
  #chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes (n <= length), left in the queue. */
  peek(n: number): Buffer {
    this.#gather(n);
    return this.#chunks[0]!.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#gather(n);
    const first = this.#chunks[0]!;
    const taken = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.length -= n;
    return taken;
  }

  indexOf(text: string): number {
    this.#gather(this.length);
    return this.length === 0 ? -1 : this.#chunks[0]!.indexOf(text, 0, 'latin1');
  }

  /** Makes the first chunk hold at least `n` bytes. */
  #gather(n: number): void {
    if (this.#chunks.length === 0 || this.#chunks[0]!.length >= n) return;
    let count = 0;
    let size = 0;
    while (size < n) size += this.#chunks[count++]!.length;
    this.#chunks.splice(0, count, Buffer.concat(this.#chunks.slice(0, count), size));
  }
}
