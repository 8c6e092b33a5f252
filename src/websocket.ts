// The Websocket: a Node Duplex over a socket, driving a pure Connection. Reading yields whole
// messages (text as string, binary as Buffer); writing a string sends text, bytes send binary.
// This layer owns the socket, the timers and the stream plumbing; the protocol lives in
// connection.ts. Reading stops (the socket is paused) whenever the stream's reader falls behind,
// so a fast peer cannot make us buffer more than the readable high-water mark.

import type { Duplex as DuplexType } from 'node:stream';
import { Duplex } from 'node:stream';
import { CloseCode, DEFAULT_MAX_PAYLOAD } from './constants.js';
import { Connection, type Role } from './connection.js';
import { checkCloseArguments, checkControlPayload, encodeMessage } from './encoder.js';

/** How a connection ended. */
export interface CloseInfo {
  /** The code of the close frame received (1005 if it had none), the one we failed it with, or 1006. */
  readonly code: number;
  readonly reason: string;
  /** True when both close frames crossed before the TCP connection closed. */
  readonly wasClean: boolean;
  /** What went wrong, for an unclean close: the peer's protocol error, a socket error or a timeout. */
  readonly error?: Error;
}

export interface WebsocketOptions {
  /** 'server' (the default) expects masked frames; 'client' masks what it sends. */
  role?: Role;
  /** The negotiated subprotocol, or null. */
  protocol?: string | null;
  /** Largest message accepted, in bytes, after reassembly (default 16 MiB). */
  maxPayload?: number;
  /** Bytes that arrived with the handshake and belong to the WebSocket stream. */
  head?: Buffer;
  /** How long, in ms, the peer gets to finish the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Incoming messages buffered for a slow reader before the socket is paused (default 16). */
  readableHighWaterMark?: number;
  /** Outgoing bytes buffered before write() returns false (default 16 KiB). */
  writableHighWaterMark?: number;
}

export type ReadyState = 'open' | 'closing' | 'closed';

export const DEFAULT_CLOSE_TIMEOUT = 5000;

export class Websocket extends Duplex {
  /** The subprotocol both sides agreed on, or null. */
  readonly protocol: string | null;
  /**
   * How the connection ended: resolves (never rejects) once the TCP connection has closed.
   * (Not named `closed`: Node streams already have a boolean of that name.)
   */
  readonly closeInfo: Promise<CloseInfo>;

  readonly #socket: DuplexType;
  readonly #conn: Connection;
  readonly #masked: boolean;
  readonly #closeTimeout: number;
  #resolveClosed!: (info: CloseInfo) => void;
  /** Code and reason close() asked for; sent by _final once pending writes have gone out. */
  #closeRequest = { code: CloseCode.Normal as number, reason: '' };
  /** False while the stream's reader has enough: stop turning bytes into messages. */
  #reading = true;
  #pumping = false;
  #readableEnded = false;
  #socketClosed = false;
  #socketError: Error | null = null;
  #drainCallback: ((error?: Error | null) => void) | null = null;
  #closeTimer: NodeJS.Timeout | null = null;

  constructor(socket: DuplexType, options: WebsocketOptions = {}) {
    super({
      allowHalfOpen: true,
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
      writableHighWaterMark: options.writableHighWaterMark ?? 16 * 1024,
      decodeStrings: false, // keep strings as strings: they become text frames
      // We destroy ourselves once the socket is gone (#destroyWhenDone). Node's autoDestroy would
      // destroy the socket as soon as a for-await loop or a pipe ends, cutting off the close
      // echo still queued behind earlier writes, and with an AbortError 'error' event.
      autoDestroy: false,
    });
    const role = options.role ?? 'server';
    this.protocol = options.protocol ?? null;
    this.#socket = socket;
    this.#masked = role === 'client';
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.#conn = new Connection({ role, maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD });
    this.closeInfo = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.once('end', () => this.#destroyWhenDone());

    const net = socket as DuplexType & { setNoDelay?(noDelay: boolean): void; setTimeout?(ms: number): void };
    net.setNoDelay?.(true);
    net.setTimeout?.(0);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('drain', () => this.#drained());
    socket.on('end', () => this.#peerEnded());
    socket.on('error', (error: Error) => (this.#socketError ??= error));
    socket.on('close', () => this.#socketClose());
    if (options.head !== undefined && options.head.length > 0) this.#receive(options.head);
    if (socket.destroyed) queueMicrotask(() => this.#socketClose());
  }

  /** 'open', then 'closing' once a close frame was sent or received, then 'closed' with the TCP connection. */
  get readyState(): ReadyState {
    if (this.#socketClosed) return 'closed';
    return this.#conn.sentClose === null && !this.#conn.readDone ? 'open' : 'closing';
  }

  /**
   * Starts the closing handshake once the writes already made have been sent (RFC 6455 §7.1.2).
   * `code` defaults to 1000; the reason must fit in 123 bytes of UTF-8.
   */
  close(code: number = CloseCode.Normal, reason = ''): void {
    checkCloseArguments(code, reason);
    if (!this.writableEnded) this.#closeRequest = { code, reason };
    this.#armCloseTimer();
    this.end();
  }

  /** Sends a ping with up to 125 bytes; the peer's pong arrives as a 'pong' event. */
  ping(data: string | Uint8Array = ''): void {
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    checkControlPayload(payload);
    this.#conn.ping(payload);
    this.#flush();
  }

  override _read(): void {
    this.#reading = true;
    this.#pump();
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // After a close frame no data may follow (RFC 6455 §5.5.1); such writes are dropped.
    if (this.#conn.sentClose !== null || this.#socketClosed) return callback();
    this.#send(encodeMessage(chunk, this.#masked), callback);
  }

  override _writev(
    chunks: Array<{ chunk: string | Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.#conn.sentClose !== null || this.#socketClosed) return callback();
    const frames: Buffer[] = [];
    for (const { chunk } of chunks) for (const frame of encodeMessage(chunk, this.#masked)) frames.push(frame);
    this.#send(frames, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const { code, reason } = this.#closeRequest;
    this.#conn.close(code, reason);
    this.#flush();
    this.#armCloseTimer();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearCloseTimer();
    if (!this.#socketClosed) this.#socket.destroy();
    callback(error);
  }

  /** Writes frames in one go; the callback waits for 'drain' when the socket is full. */
  #send(frames: Buffer[], callback: (error?: Error | null) => void): void {
    const socket = this.#socket;
    let ok = true;
    if (frames.length === 1) {
      ok = socket.write(frames[0]!);
    } else {
      socket.cork();
      for (const frame of frames) ok = socket.write(frame);
      socket.uncork();
    }
    if (ok) callback();
    else this.#drainCallback = callback;
  }

  #drained(): void {
    const callback = this.#drainCallback;
    this.#drainCallback = null;
    callback?.();
  }

  #receive(chunk: Buffer): void {
    this.#conn.push(chunk);
    this.#pump();
  }

  /** Turns received bytes into messages while the reader wants them, then writes any replies. */
  #pump(): void {
    if (this.#pumping) return; // a push() below called back into _read(): the loop goes on
    this.#pumping = true;
    try {
      while (this.#reading && !this.#readableEnded && !this.destroyed) {
        const event = this.#conn.next();
        if (event === null) break;
        switch (event.type) {
          case 'message':
            if (!this.push(event.data)) this.#reading = false;
            break;
          case 'ping':
          case 'pong':
            this.#flush();
            this.emit(event.type, event.data);
            break;
          case 'close':
          case 'error':
            this.#flush();
            this.#endReadable();
            this.#closingHandshakeDone();
            break;
        }
      }
    } finally {
      this.#pumping = false;
    }
    this.#flush();
    if (this.#socketClosed) return;
    if (this.#reading || this.#conn.readDone) this.#socket.resume();
    else this.#socket.pause();
  }

  /** Writes the replies the connection queued (pongs, close frames). */
  #flush(): void {
    if (!this.#conn.hasOutput || this.#socketClosed) return;
    const output = this.#conn.takeOutput();
    if (output.length === 1) {
      this.#socket.write(output[0]!);
    } else {
      this.#socket.cork();
      for (const bytes of output) this.#socket.write(bytes);
      this.#socket.uncork();
    }
  }

  /** Both close frames have crossed, or the peer broke the protocol: time to end TCP. */
  #closingHandshakeDone(): void {
    this.#armCloseTimer();
    // RFC 6455 §7.1.1: the server closes TCP first; a client waits for it (see #peerEnded).
    if (this.#conn.role === 'server' || this.#conn.error !== null) this.#socket.end();
  }

  #peerEnded(): void {
    // The peer half-closed: for a client after the close handshake this is expected; otherwise
    // the connection is gone without a close frame (1006). Either way, close our side too.
    this.#socket.end();
  }

  #socketClose(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    this.#clearCloseTimer();
    // Bytes that arrived before the socket closed are in memory already (a paused socket
    // holds at most a chunk): turn them into messages now rather than lose them.
    for (let event = this.#conn.next(); event !== null && !this.destroyed; event = this.#conn.next()) {
      if (event.type === 'message') this.push(event.data);
    }
    this.#endReadable();
    // Writes waiting for a drain that will never come are dropped, not left hanging.
    this.#drained();
    this.#resolveClosed(this.#closeInfoNow());
    this.#destroyWhenDone();
  }

  #closeInfoNow(): CloseInfo {
    const received = this.#conn.receivedClose;
    const error = this.#conn.error;
    if (received !== null) return { code: received.code, reason: received.reason, wasClean: true };
    if (error !== null) return { code: error.closeCode, reason: error.message, wasClean: false, error };
    const cause = this.#socketError;
    return cause === null
      ? { code: CloseCode.Abnormal, reason: '', wasClean: false }
      : { code: CloseCode.Abnormal, reason: '', wasClean: false, error: cause };
  }

  #endReadable(): void {
    if (this.#readableEnded) return;
    this.#readableEnded = true;
    this.push(null);
  }

  /** The stream is destroyed once its messages have been read and the socket is gone. */
  #destroyWhenDone(): void {
    if (this.#socketClosed && this.readableEnded && !this.destroyed) this.destroy();
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== null || this.#socketClosed) return;
    this.#closeTimer = setTimeout(() => {
      this.#socketError ??= new Error('closing handshake timed out');
      this.#socket.destroy();
    }, this.#closeTimeout);
    this.#closeTimer.unref();
  }

  #clearCloseTimer(): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
  }
}
