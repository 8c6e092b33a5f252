// The Websocket: a Node Duplex over a socket, driving a pure Connection. Reading yields whole
// messages (text as string, binary as Buffer); writing a string sends text, bytes send binary.
// This layer owns the socket, the timers and the stream plumbing; the protocol lives in
// connection.ts. Reading stops (the socket is paused) whenever the stream's reader falls behind,
// so a fast peer cannot make us buffer more than the readable high-water mark.

import type { Duplex as DuplexType } from 'node:stream';
import { Duplex } from 'node:stream';
import { CloseCode, DEFAULT_MAX_PAYLOAD } from './constants.js';
import { Connection, type ConnectionEvent, type Role } from './connection.js';
import { MessageDeflate, type CompressionOptions } from './deflate.js';
import { checkCloseArguments, checkControlPayload, encodeFrame, encodeMessage } from './encoder.js';
import { Opcode } from './constants.js';
import type { DeflateParams } from './extensions.js';

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

/** Bounds on what a peer can make a Websocket spend or wait for. Every one has a default. */
export interface WebsocketLimits {
  /** Largest message accepted, in bytes, after reassembly (default 16 MiB); more fails with 1009. */
  maxPayload?: number;
  /** Most frames one message may arrive in (default 131,072); more fails with 1008. */
  maxFragments?: number;
  /**
   * Outgoing bytes (queued in the Websocket plus in the socket) past which a peer that does not
   * read is dropped (default 64 MiB). write() returns false long before, at 16 KiB.
   */
  maxBufferedAmount?: number;
  /** How long, in ms, the peer gets to finish the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Ping a peer that has sent nothing for this many ms (default 30,000; 0 turns heartbeats off). */
  pingInterval?: number;
  /** Drop the peer if nothing comes back this many ms after such a ping (default 10,000). */
  pingTimeout?: number;
}

export const DEFAULT_CLOSE_TIMEOUT = 5000;
export const DEFAULT_MAX_BUFFERED_AMOUNT = 64 * 1024 * 1024;
export const DEFAULT_PING_INTERVAL = 30_000;
export const DEFAULT_PING_TIMEOUT = 10_000;

export interface WebsocketOptions extends WebsocketLimits {
  /** 'server' (the default) expects masked frames; 'client' masks what it sends. */
  role?: Role;
  /** The negotiated subprotocol, or null. */
  protocol?: string | null;
  /** Bytes that arrived with the handshake and belong to the WebSocket stream. */
  head?: Buffer;
  /** permessage-deflate as negotiated in the handshake, and how to compress; none if absent. */
  deflate?: { params: DeflateParams; options?: CompressionOptions };
  /** Incoming messages buffered for a slow reader before the socket is paused (default 16). */
  readableHighWaterMark?: number;
  /** Outgoing bytes buffered before write() returns false (default 16 KiB). */
  writableHighWaterMark?: number;
}

export type ReadyState = 'open' | 'closing' | 'closed';

const EMPTY = Buffer.alloc(0);

/** The socket a Websocket runs on, pointing back at it for the shared listeners. */
const owner = Symbol('prise.websocket');
type OwnedSocket = DuplexType & { [owner]: Websocket };

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
  readonly #maxBufferedAmount: number;
  readonly #pingInterval: number;
  readonly #pingTimeout: number;
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
  /** The socket drained since the close timer was armed: a reader is still taking our writes. */
  #drainedSinceArmed = false;
  /** The socket is corked until the end of this tick (see #writeFrames). */
  #corked = false;
  /** Heartbeat: anything heard from the peer since the last beat, and whether a ping is out. */
  #heard = false;
  /** Running from a heartbeat ping until anything comes back (no timer otherwise). */
  #pongTimer: NodeJS.Timeout | null = null;
  /** An exception thrown by application code we called (a listener): it closed this connection. */
  #appError: Error | null = null;
  /** permessage-deflate, when negotiated; #inflating while a piece is in zlib (events wait). */
  readonly #deflate: MessageDeflate | null;
  #inflating = false;
  /** The socket closed and everything it delivered has been handed out. */
  #finished = false;

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
    this.#maxBufferedAmount = options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT;
    this.#pingInterval = options.pingInterval ?? DEFAULT_PING_INTERVAL;
    this.#pingTimeout = options.pingTimeout ?? DEFAULT_PING_TIMEOUT;
    this.#deflate = options.deflate === undefined ? null : new MessageDeflate(options.deflate.params, role, options.deflate.options);
    this.#conn = new Connection({
      role,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      compression: this.#deflate !== null,
      ...(options.maxFragments === undefined ? {} : { maxFragments: options.maxFragments }),
    });
    this.closeInfo = new Promise((resolve) => (this.#resolveClosed = resolve));

    const net = socket as OwnedSocket & { setNoDelay?(noDelay: boolean): void; setTimeout?(ms: number): void };
    net.setNoDelay?.(true);
    net.setTimeout?.(0);
    // Shared listeners that find us through the socket: no closures per connection.
    net[owner] = this;
    socket.on('data', Websocket.#onData);
    socket.on('drain', Websocket.#onDrain);
    socket.on('end', Websocket.#onEnd);
    socket.on('error', Websocket.#onError);
    socket.on('close', Websocket.#onClose);
    if (options.head !== undefined && options.head.length > 0) this.#receive(options.head);
    if (socket.destroyed) queueMicrotask(() => this.#socketClose());
    else if (this.#pingInterval > 0) Websocket.#joinHeartbeat(this);
  }

  static #onData(this: OwnedSocket, chunk: Buffer): void {
    this[owner].#receive(chunk);
  }
  static #onDrain(this: OwnedSocket): void {
    this[owner].#drained();
  }
  static #onEnd(this: OwnedSocket): void {
    this[owner].#peerEnded();
  }
  static #onError(this: OwnedSocket, error: Error): void {
    this[owner].#socketError ??= error;
  }
  static #onClose(this: OwnedSocket): void {
    this[owner].#socketClose();
  }

  /** 'open', then 'closing' once a close frame was sent or received, then 'closed' with the TCP connection. */
  get readyState(): ReadyState {
    if (this.#socketClosed) return 'closed';
    return this.writableEnded || this.#conn.sentClose !== null || this.#conn.readDone ? 'closing' : 'open';
  }

  /**
   * Starts the closing handshake once the writes already made have been sent (RFC 6455 §7.1.2).
   * `code` defaults to 1000; the reason must fit in 123 bytes of UTF-8. Later writes are dropped.
   */
  close(code: number = CloseCode.Normal, reason = ''): void {
    checkCloseArguments(code, reason);
    if (this.writableEnded) return;
    this.#closeRequest = { code, reason };
    this.end();
  }

  /** As Writable.end; the closing (see close()) is bounded in time from here on. */
  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    this.#armCloseTimer();
    return super.end(chunk as string, encoding as BufferEncoding, callback as () => void);
  }

  /**
   * As Writable.write, except once closing has begun (close(), end(), or the peer's close):
   * then the message is dropped, as RFC 6455 requires, and its callback gets an error. No
   * 'error' event: the peer chooses when to close, so writing late is no reason to crash.
   */
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error: Error | null | undefined) => void),
    callback?: (error: Error | null | undefined) => void,
  ): boolean {
    if (this.readyState === 'open' || this.destroyed) {
      const ok = super.write(chunk, encoding as BufferEncoding, callback);
      if (!ok) this.#checkBuffered();
      return ok;
    }
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done !== undefined) process.nextTick(done, new Error('websocket is closing: message dropped'));
    return false;
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
    const deflate = this.#deflate;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (deflate === null || size < deflate.threshold) return this.#send(encodeMessage(chunk, this.#masked), callback);
    const opcode = typeof chunk === 'string' ? Opcode.Text : Opcode.Binary;
    deflate.compress(typeof chunk === 'string' ? Buffer.from(chunk) : chunk).then(
      (payload) => {
        if (this.#conn.sentClose !== null || this.#socketClosed) return callback();
        this.#send(encodeFrame(opcode, payload, { masked: this.#masked, rsv1: true }), callback);
      },
      () => callback(), // zlib failed on our own data: only a closed connection does that
    );
  }

  override _writev(
    chunks: Array<{ chunk: string | Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.#conn.sentClose !== null || this.#socketClosed) return callback();
    if (this.#deflate !== null) {
      // Compression is asynchronous: one message after the other keeps them in order.
      let i = 0;
      const next = (): void => (i < chunks.length ? this._write(chunks[i++]!.chunk, 'utf8', next) : callback());
      return next();
    }
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

  /** Writes frames; the callback waits for 'drain' when the socket is full. */
  #send(frames: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.#writeFrames(frames)) callback();
    else this.#drainCallback = callback;
  }

  /**
   * Writes frames to the socket, corked until the end of this tick: every frame written in the
   * same tick (a batch of echoes, a for-await loop over buffered messages, pongs) leaves in one
   * writev system call instead of one write each. Returns false when the socket is full.
   */
  #writeFrames(frames: Buffer[]): boolean {
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(Websocket.#uncork, this);
    }
    let ok = true;
    for (const frame of frames) ok = socket.write(frame);
    return ok;
  }

  /** Ends the tick's batch of writes (see #writeFrames). */
  static #uncork(ws: Websocket): void {
    ws.#corked = false;
    ws.#socket.uncork();
  }

  /**
   * Sends one message to many Websockets, framing it once: every open server-side Websocket
   * gets the same frame bytes, uncopied. A Websocket with writes still queued (or a client's,
   * which must mask) gets it through write() instead, so order is kept. Returns how many
   * Websockets it went to. Flow control is the caller's: see `writableNeedDrain` per Websocket.
   */
  static broadcast(websockets: Iterable<Websocket>, data: string | Uint8Array): number {
    let frames: Buffer[] | null = null;
    let sent = 0;
    for (const ws of websockets) {
      if (ws.readyState !== 'open') continue;
      sent++;
      if (ws.#masked || ws.writableLength > 0) {
        ws.write(data);
        continue;
      }
      frames ??= encodeMessage(data, false);
      if (!ws.#writeFrames(frames)) ws.#checkBuffered();
    }
    return sent;
  }

  /** A peer that never reads, written to by code that ignores `false`: drop it before it costs unbounded memory. */
  #checkBuffered(): void {
    if (this.writableLength + this.#socket.writableLength > this.#maxBufferedAmount) {
      this.#drop(new Error(`outgoing queue over ${this.#maxBufferedAmount} bytes: the peer does not read fast enough`));
    }
  }

  #drained(): void {
    this.#drainedSinceArmed = true;
    this.#flush(); // a pong held back while the socket was full
    const callback = this.#drainCallback;
    this.#drainCallback = null;
    callback?.();
  }

  #receive(chunk: Buffer): void {
    this.#heard = true;
    if (this.#pongTimer !== null) {
      clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
    }
    this.#conn.push(chunk);
    this.#pump();
  }

  /** Turns received bytes into messages while the reader wants them, then writes any replies. */
  #pump(): void {
    if (this.#pumping) return; // a push() below called back into _read(): the loop goes on
    this.#pumping = true;
    try {
      this.#pumpEvents(); // a listener that throws is caught in emit()
    } finally {
      this.#pumping = false;
    }
    this.#flush();
    if (this.#socketClosed) {
      if (!this.#inflating) this.#finish();
      return;
    }
    if ((this.#reading && !this.#inflating) || this.#conn.readDone) this.#socket.resume();
    else this.#socket.pause();
  }

  #pumpEvents(): void {
    // Once the socket has closed, what it delivered is in memory already: hand it all out.
    while ((this.#reading || this.#socketClosed) && !this.#inflating && !this.destroyed) {
      const event = this.#conn.next();
      if (event === null) break;
      this.#handle(event);
    }
  }

  #handle(event: ConnectionEvent): void {
    switch (event.type) {
      case 'message':
        if (!this.#deliver(event.data)) this.#reading = false;
        break;
      case 'compressed':
        this.#inflatePiece(event.data, event.end);
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

  /** Runs a compressed piece through zlib; events wait until it is done, to stay in order. */
  #inflatePiece(piece: Buffer, end: boolean): void {
    const deflate = this.#deflate!;
    this.#inflating = true;
    let failure: ConnectionEvent | null = null;
    const output = (chunk: Buffer): boolean => (failure = this.#conn.inflated(chunk)) === null;
    deflate.inflate(piece, end, output).then(
      () => failure ?? (end ? this.#conn.inflatedEnd() : null),
      (error: Error) => this.#conn.inflateFailed(`invalid compressed data: ${error.message}`),
    ).then((event) => {
      // A promise callback: no pump is running now, so the event can be handled in order.
      this.#inflating = false;
      this.#pumping = true;
      try {
        if (event !== null) this.#handle(event);
      } finally {
        this.#pumping = false;
      }
      this.#pump();
    });
  }

  /** Hands a message to the reader; after the readable side ended, drops it. False: reader is full. */
  #deliver(data: string | Buffer): boolean {
    // push() also says false when a 'data' listener failed inside it (the readable side ended).
    return this.#readableEnded || this.push(data) || this.#readableEnded;
  }

  /**
   * Application code runs inside emit(): a 'data', 'ping' or 'pong' listener that throws ends
   * this connection with 1011, not the process and not the other connections. That holds
   * whether our pump called it or the stream did later on its own, as it does for a message
   * that waited in the buffer while the stream was paused.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'end') {
      const listened = super.emit(event, ...args);
      this.#destroyWhenDone(); // every message has been read: done once the socket is too
      return listened;
    }
    if (event !== 'data' && event !== 'ping' && event !== 'pong') return super.emit(event, ...args);
    // No more messages for code that failed, not even those already buffered.
    if (event === 'data' && this.#appError !== null) return false;
    try {
      return super.emit(event, ...args);
    } catch (error) {
      this.#appFailed(error);
      return true;
    }
  }

  #appFailed(error: unknown): void {
    this.#appError ??= error instanceof Error ? error : new Error(String(error));
    this.#conn.close(CloseCode.InternalError, 'internal error');
    // No more messages for code that failed; keep reading (and dropping) until the peer's close.
    this.#endReadable();
    this.#reading = true;
    this.#armCloseTimer();
    // Sends the close frame and resumes reading; inside a pump, that pump does it.
    this.#pump();
  }

  /** Writes the replies the connection queued: close frames, and a pong when the socket has room. */
  #flush(): void {
    if (this.#socketClosed) return;
    if (this.#conn.hasOutput) this.#writeFrames(this.#conn.takeOutput());
    // A peer flooding pings without reading gets one pending pong, sent once the socket drains.
    if (!this.#socket.writableNeedDrain) {
      const pong = this.#conn.takePong();
      if (pong !== null) this.#writeFrames([pong]);
    }
  }

  /** Both close frames have crossed, or the peer broke the protocol: time to end TCP. */
  #closingHandshakeDone(): void {
    this.#armCloseTimer();
    // RFC 6455 §7.1.1: the server closes TCP first; a client waits for it (see #peerEnded).
    if (this.#conn.role === 'server' || this.#conn.error !== null) this.#endSocket();
  }

  #peerEnded(): void {
    // The peer half-closed: for a client after the close handshake this is expected; otherwise
    // the connection is gone without a close frame (1006). Either way, close our side too.
    this.#endSocket();
  }

  /** Half-closes TCP once (ending an ended socket builds an error object just to drop it). */
  #endSocket(): void {
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  #socketClose(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    this.#clearCloseTimer();
    if (this.#pongTimer !== null) clearTimeout(this.#pongTimer);
    if (this.#pingInterval > 0) Websocket.#leaveHeartbeat(this);
    // Bytes that arrived before the socket closed are in memory already (a paused socket holds
    // at most a chunk): #pump turns them into messages, then calls #finish.
    this.#pump();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#deflate?.close();
    this.#endReadable();
    // Writes waiting for a drain that will never come are dropped, not left hanging.
    this.#drained();
    this.#resolveClosed(this.#closeInfoNow());
    this.#destroyWhenDone();
  }

  #closeInfoNow(): CloseInfo {
    const received = this.#conn.receivedClose;
    const error = this.#conn.error;
    const appError = this.#appError;
    if (received !== null) {
      const info = { code: received.code, reason: received.reason, wasClean: true };
      return appError === null ? info : { ...info, error: appError };
    }
    if (error !== null) return { code: error.closeCode, reason: error.message, wasClean: false, error };
    if (appError !== null) return { code: CloseCode.InternalError, reason: 'internal error', wasClean: false, error: appError };
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

  /** Ends the connection at once, without a closing handshake; `reason` shows in closeInfo.error. */
  #drop(reason: Error): void {
    this.#socketError ??= reason;
    this.#socket.destroy();
  }

  /** Heartbeats by pingInterval: one timer beats every Websocket with that interval. */
  static readonly #heartbeats = new Map<number, { members: Set<Websocket>; timer: NodeJS.Timeout }>();

  static #joinHeartbeat(ws: Websocket): void {
    let heartbeat = Websocket.#heartbeats.get(ws.#pingInterval);
    if (heartbeat === undefined) {
      const members = new Set<Websocket>();
      const timer = setInterval(() => {
        for (const member of members) member.#beat();
      }, ws.#pingInterval);
      timer.unref();
      Websocket.#heartbeats.set(ws.#pingInterval, (heartbeat = { members, timer }));
    }
    heartbeat.members.add(ws);
  }

  static #leaveHeartbeat(ws: Websocket): void {
    const heartbeat = Websocket.#heartbeats.get(ws.#pingInterval);
    if (heartbeat === undefined || !heartbeat.members.delete(ws) || heartbeat.members.size > 0) return;
    clearInterval(heartbeat.timer);
    Websocket.#heartbeats.delete(ws.#pingInterval);
  }

  /**
   * Heartbeat, every pingInterval: a peer that has sent nothing since the last beat gets a ping;
   * if nothing at all comes back within pingTimeout it is presumed gone (a dead host, a
   * half-open TCP connection) and dropped with 1006. While our own reader is behind, the
   * peer's answer could be sitting unread, so the peer is given the benefit of the doubt.
   * Timers are shared: an idle connection holds one only between a ping and its answer.
   */
  #beat(): void {
    // Closing: no ping may follow our close frame, and closeTimeout already bounds the wait.
    if (this.#conn.sentClose !== null || this.#pongTimer !== null) return;
    if (this.#heard || !this.#reading) {
      this.#heard = false;
      return;
    }
    this.#conn.ping(EMPTY);
    this.#flush();
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = null;
      if (this.#heard || !this.#reading) return;
      this.#drop(new Error(`no answer to a ping within ${this.#pingTimeout} ms`));
    }, this.#pingTimeout);
    this.#pongTimer.unref();
  }

  /**
   * Bounds the closing: from close()/end() (or the peer's close) the peer gets closeTimeout ms,
   * renewed only while writes made before the close are still draining to it, to finish.
   */
  #armCloseTimer(): void {
    if (this.#closeTimer !== null || this.#socketClosed) return;
    this.#drainedSinceArmed = false;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = null;
      if (this.#drainedSinceArmed && this.#conn.sentClose === null) return this.#armCloseTimer();
      this.#drop(new Error(`closing handshake not finished within ${this.#closeTimeout} ms`));
    }, this.#closeTimeout);
    this.#closeTimer.unref();
  }

  #clearCloseTimer(): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
  }
}
