// The Websocket: a Node Duplex over a socket (or any Duplex: an HTTP/2 stream), driving a pure
// Connection. Reading yields whole messages (text as string, binary as Buffer); writing a string
// sends text, bytes send binary. This layer only moves bytes, runs timers that call into the core
// (connection.ts decides what may be sent, how it is framed and when TCP may close; heartbeat.ts
// when a silent peer is gone) and speaks Node's stream API. Reading stops (the socket is paused)
// whenever the stream's reader falls behind, so a fast peer cannot make us buffer more than the
// readable high-water mark.

import type { Duplex as DuplexType } from 'node:stream';
import { Duplex } from 'node:stream';
import { CloseCode, DEFAULT_MAX_PAYLOAD, Opcode } from './protocol/constants.js';
import { Connection, State, type CloseInfo, type ConnectionEvent, type Role } from './protocol/connection.js';
import { MessageDeflate, type CompressionOptions } from './deflate.js';
import { checkCloseArguments, checkControlPayload, encodeShared } from './protocol/encoder.js';
import type { DeflateParams } from './protocol/extensions.js';
import { Heartbeat } from './protocol/heartbeat.js';
import { MessageIterator } from './message-iterator.js';
import { toMessage } from './protocol/message.js';

export type { CloseInfo };

/** Bounds on what a peer can make a Websocket spend or wait for. Every one has a default. */
export interface WebsocketLimits {
  /** Largest message accepted, in bytes, after reassembly (default 16 MiB); more fails with 1009. */
  maxPayload?: number;
  /** Most frames one message may arrive in (default 131,072); more fails with 1008. */
  maxFragments?: number;
  /**
   * Outgoing bytes queued behind the socket's current write past which a peer that does not
   * read is dropped (default 64 MiB). write() returns false long before, at 16 KiB.
   */
  maxBufferedAmount?: number;
  /** How long, in ms, the peer gets to finish the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Ping a peer that has sent nothing for this many ms (default 30,000; 0 turns heartbeats off). */
  pingInterval?: number;
  /** Drop the peer if nothing comes back this many ms after such a ping left (default 10,000). */
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

/** Frames broadcast() encoded once for many Websockets: written as they are. */
const preframed = new WeakSet<Buffer>();

type Callback = (error?: Error | null) => void;

/**
 * Fails a Websocket because application code around it failed (an accept() session threw):
 * closes with 1011 and reports the error in closeInfo. Package-internal, not exported.
 */
export const failInternally = Symbol('prise.failInternally');

/** What write(), end() and broadcast() send: a string as text, any bytes as binary. */
export type Message = string | Buffer | Uint8Array | ArrayBuffer | ArrayBufferView;

const SelfPipe = { End: 1, KeepOpen: 2 } as const;
type SelfPipe = (typeof SelfPipe)[keyof typeof SelfPipe];

export class Websocket extends Duplex {
  /** The subprotocol both sides agreed on, or null. */
  readonly protocol: string | null;
  /**
   * How the connection ended: resolves (never rejects) once the TCP connection has closed.
   * (Not named `closed`: Node streams already have a boolean of that name.)
   */
  get closeInfo(): Promise<CloseInfo> {
    // Made on first use (a promise and its resolver are about 240 bytes a connection).
    return (this.#closeInfo ??= this.#closedWith === null ? new Promise((resolve) => (this.#resolveClosed = resolve)) : Promise.resolve(this.#closedWith));
  }

  readonly #socket: DuplexType;
  readonly #conn: Connection;
  readonly #deflate: MessageDeflate | null;
  readonly #heartbeat: Heartbeat | null;
  readonly #pingInterval: number;
  readonly #closeTimeout: number;
  readonly #maxBufferedAmount: number;
  #closeInfo: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;
  /** What closeInfo resolves with, once the connection is over. */
  #closedWith: CloseInfo | null = null;
  /** Code and reason close() asked for; sent by _final once pending writes have gone out. */
  #closeRequest: { code: number; reason: string } | null = null;

  // Reading. Each flag is independent of the connection's life cycle (the core's state).
  /** The stream's reader wants more messages (Node's read() called us). */
  #reading = true;
  /** A pump is running: a push() that calls back into _read() must not start another. */
  #pumping = false;
  /** A compressed piece is in zlib: events wait for it, to stay in order. */
  #inflating = false;
  /** A 'message' listener was added: 'data' is bridged to ws-style 'message' events. */
  #messagesBridged = false;
  /** The user has the Websocket (its promise resolved): until then no events are emitted. */
  #handedOver = false;
  /** Nobody will read any more (the readable side ended): later messages are dropped. */
  #readableEnded = false;

  // Writing.
  /** The socket is corked until the end of this tick (see #writeFrames). */
  #corked = false;
  /** _write's callback, waiting for the socket's 'drain'; with what it covers. */
  #drainCallback: Callback | null = null;
  #inFlightFrom = 0;
  #inFlightLength = 0;
  /** Messages accepted by write() and handed to _write, counted alike so they can be matched. */
  #accepted = 0;
  #processed = 0;
  /** Number of the first message that never reached the socket: it and all after it failed. */
  #firstDropped = Infinity;

  // Ending.
  #socketClosed = false;
  #socketError: Error | null = null;
  /** The socket closed and everything it delivered has been handed out. */
  #finished = false;
  #closeTimer: NodeJS.Timeout | null = null;
  /** The socket drained since the close timer was armed: a reader is still taking our writes. */
  #drainedSinceArmed = false;
  /** Running from a heartbeat ping's leaving until anything comes back (no timer otherwise). */
  #pongTimer: NodeJS.Timeout | null = null;

  constructor(socket: DuplexType, options: WebsocketOptions = {}) {
    super({
      allowHalfOpen: true,
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
      writableHighWaterMark: options.writableHighWaterMark ?? 16 * 1024,
      decodeStrings: false, // keep strings as strings: they become text frames
      // We destroy ourselves once the socket is gone (#destroyWhenDone). Node's autoDestroy would
      // destroy the socket as soon as a pipe ends, cutting off the close echo still queued
      // behind earlier writes, and with an AbortError 'error' event.
      autoDestroy: false,
    });
    const role = options.role ?? 'server';
    this.protocol = options.protocol ?? null;
    this.#socket = socket;
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.#maxBufferedAmount = options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT;
    this.#pingInterval = options.pingInterval ?? DEFAULT_PING_INTERVAL;
    this.#heartbeat = this.#pingInterval > 0 ? new Heartbeat(options.pingTimeout ?? DEFAULT_PING_TIMEOUT) : null;
    const deflate = options.deflate;
    this.#deflate = deflate === undefined ? null : new MessageDeflate(deflate.params, role, deflate.options);
    this.#conn = new Connection({
      role,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      compression: this.#deflate !== null,
      ...(this.#deflate === null ? {} : { compressionThreshold: this.#deflate.threshold }),
      ...(options.maxFragments === undefined ? {} : { maxFragments: options.maxFragments }),
    });

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
    if (options.head !== undefined && options.head.length > 0) this.#conn.push(options.head);
    if (socket.destroyed) queueMicrotask(() => this.#socketClose());
    else if (this.#heartbeat !== null) Websocket.#joinHeartbeat(this);
    // Events for the bytes that came with the handshake (a ping, say) wait until the user has
    // the Websocket: its promise resolves in this turn, and its listeners go on in microtasks.
    setImmediate(Websocket.#handOver, this);
  }

  static #handOver(ws: Websocket): void {
    ws.#handedOver = true;
    ws.#pump();
  }
  static #onData(this: OwnedSocket, chunk: Buffer): void {
    this[owner].#receive(chunk);
  }
  static #onDrain(this: OwnedSocket): void {
    this[owner].#drained();
  }
  static #onEnd(this: OwnedSocket): void {
    // The peer half-closed: after the close handshake this is expected; otherwise the
    // connection is gone without a close frame (1006). Either way, close our side too.
    this[owner].#endSocket();
  }
  static #onError(this: OwnedSocket, error: Error): void {
    this[owner].#socketError ??= error;
  }
  static #onClose(this: OwnedSocket): void {
    this[owner].#socketClose();
  }

  /** 'open'; 'closing' once a close frame was sent or received, or end() was called; then 'closed'. */
  get readyState(): ReadyState {
    if (this.#socketClosed || this.destroyed || this.#socket.destroyed) return 'closed';
    return this.#conn.state === State.Open && !this.writableEnded ? 'open' : 'closing';
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

  /**
   * As Writable.end: sends `chunk` if given (dropped quietly when closing, as by write()), then
   * closes with 1000 once pending writes have gone out. The closing is bounded in time from here.
   */
  override end(callback?: () => void): this;
  override end(chunk: Message, callback?: () => void): this;
  override end(chunk: Message, encoding?: BufferEncoding, callback?: () => void): this;
  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    const done = [chunk, encoding, callback].find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (chunk !== undefined && chunk !== null && chunk !== done) this.write(chunk as Message);
    this.#armCloseTimer();
    return super.end(done);
  }

  /**
   * As Writable.write, except once closing has begun (our close frame, end(), or a closed
   * connection): then the message is dropped, as RFC 6455 requires, and its callback gets an
   * error; so does the callback of any message that never reached the socket. No 'error' event:
   * the peer chooses when to close, so writing late is no reason to crash.
   */
  override write(chunk: Message, callback?: Callback): boolean;
  override write(chunk: Message, encoding?: BufferEncoding, callback?: Callback): boolean;
  override write(chunk: Message, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    const message = toMessage(chunk);
    if (!this.#conn.canSend || this.writableEnded || this.destroyed || this.#socket.destroyed) {
      if (done !== undefined) process.nextTick(done, dropped());
      return false;
    }
    return this.#accept(message, done);
  }

  /** Queues a message for _write, numbered so its callback can learn whether it was sent. */
  #accept(message: string | Buffer, done?: Callback): boolean {
    const number = ++this.#accepted;
    const ok =
      done === undefined
        ? super.write(message)
        : super.write(message, (error) => done(error ?? (number >= this.#firstDropped ? dropped() : null)));
    if (!ok) this.#checkBacklog();
    return ok;
  }

  /** Sends a ping with up to 125 bytes; the peer's pong arrives as a 'pong' event. */
  ping(data: string | Uint8Array = ''): void {
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    checkControlPayload(payload);
    this.#conn.ping(payload);
    this.#flush();
  }

  /**
   * `for await (const message of ws)`. Leaving the loop early (break, return, or an exception)
   * does not cut the connection: later messages are dropped, and the Websocket closes with 1000
   * once the writes made before have gone out. (accept() turns an exception into 1011: its
   * close comes first, since ours waits a turn of the event loop.)
   */
  override [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer> {
    return new MessageIterator(this, () => {
      this.#readerLeft();
      setImmediate(() => this.close());
    });
  }

  /**
   * `ws.pipe(ws)`, the echo README teaches, without Node's pipe machinery (its closures and
   * listeners cost about 1.2 KB a connection): three shared listeners do the same, pausing while
   * write() says wait and ending our side when the peer's messages end (unless `end: false`).
   * Any other destination, or a second pipe, goes through Node's pipe().
   */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if ((destination as unknown) !== this || this.#selfPipe !== 0 || this.listenerCount('data') > 0 || this.readableFlowing === false) {
      return super.pipe(destination, options);
    }
    this.#selfPipe = options?.end === false ? SelfPipe.KeepOpen : SelfPipe.End;
    super.on('data', Websocket.#echo);
    super.on('drain', Websocket.#echoDrained);
    super.on('end', Websocket.#echoEnded);
    this.emit('pipe', this);
    this.resume();
    return destination;
  }

  override unpipe(destination?: NodeJS.WritableStream): this {
    if (this.#selfPipe === 0 || (destination !== undefined && (destination as unknown) !== this)) return super.unpipe(destination);
    this.#selfPipe = 0;
    this.off('data', Websocket.#echo);
    this.off('drain', Websocket.#echoDrained);
    this.off('end', Websocket.#echoEnded);
    this.pause();
    this.emit('unpipe', this);
    return this;
  }

  /** ws.pipe(ws) without Node's pipe: 0, or whether the end of our reading ends our writing. */
  #selfPipe: SelfPipe | 0 = 0;
  static #echo(this: Websocket, message: string | Buffer): void {
    if (this.writableEnded) return; // our side is closing: what still comes in is not echoed
    if (!this.write(message)) this.pause();
  }
  static #echoDrained(this: Websocket): void {
    if (this.#selfPipe !== 0 && this.isPaused()) this.resume();
  }
  static #echoEnded(this: Websocket): void {
    if (this.#selfPipe === SelfPipe.End) this.end();
  }

  /** The next message (text as a string, binary as a Buffer), or null when none is buffered. */
  override read(size?: number): string | Buffer | null {
    return super.read(size) as string | Buffer | null;
  }

  // Listeners, typed. 'message' is there for code coming from ws: (data, isBinary), where data is
  // a string for text (ws gives a Buffer) and a Buffer for binary; it reads the stream.
  override on(event: 'data', listener: (message: string | Buffer) => void): this;
  override on(event: 'message', listener: (data: string | Buffer, isBinary: boolean) => void): this;
  override on(event: 'ping' | 'pong', listener: (payload: Buffer) => void): this;
  override on(event: 'close' | 'end' | 'drain' | 'finish' | 'pause' | 'readable' | 'resume', listener: () => void): this;
  override on(event: 'error', listener: (error: Error) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    if (event === 'message') this.#bridgeMessages();
    return super.on(event, listener);
  }
  override once(event: 'data', listener: (message: string | Buffer) => void): this;
  override once(event: 'message', listener: (data: string | Buffer, isBinary: boolean) => void): this;
  override once(event: 'ping' | 'pong', listener: (payload: Buffer) => void): this;
  override once(event: 'close' | 'end' | 'drain' | 'finish' | 'pause' | 'readable' | 'resume', listener: () => void): this;
  override once(event: 'error', listener: (error: Error) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    if (event === 'message') this.#bridgeMessages();
    return super.once(event, listener);
  }
  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return this.on(event, listener);
  }

  /** 'message' events, ws-style, from the stream's 'data' (added once, on the first such listener). */
  #bridgeMessages(): void {
    if (this.#messagesBridged) return;
    this.#messagesBridged = true;
    super.on('data', (message: string | Buffer) => this.emit('message', message, typeof message !== 'string'));
  }

  override _read(): void {
    this.#reading = true;
    this.#pump();
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#sendFrom([chunk], 0, callback);
  }

  override _writev(chunks: Array<{ chunk: string | Buffer }>, callback: Callback): void {
    this.#sendFrom(
      chunks.map((entry) => entry.chunk),
      0,
      callback,
    );
  }

  /**
   * Frames messages from `chunks[i]` on and writes them, in a loop (never one call per message:
   * thousands of small writes queued behind a compressed one would overflow the stack).
   * A compressed message waits for zlib, then the loop goes on from the next one.
   */
  #sendFrom(chunks: Array<string | Buffer>, i: number, callback: Callback): void {
    const first = this.#processed + 1;
    let frames: Buffer[] = [];
    let length = 0;
    for (; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const number = ++this.#processed;
      length += chunk.length;
      if (this.#socketClosed || !this.#conn.canSend) {
        this.#dropFrom(number);
        continue;
      }
      if (typeof chunk !== 'string' && preframed.has(chunk)) {
        frames.push(chunk);
        continue;
      }
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (this.#conn.compresses(size)) {
        if (frames.length > 0) this.#writeFrames(frames);
        frames = [];
        return this.#compress(chunks, i, number, callback);
      }
      for (const frame of this.#conn.encode(chunk)!) frames.push(frame);
    }
    if (frames.length > 0) this.#writeFrames(frames);
    // Wait for 'drain' if this (or a compressed message's) write filled the socket.
    if (this.#socketClosed || !this.#socket.writableNeedDrain) return callback();
    this.#drainCallback = callback;
    this.#inFlightFrom = first;
    this.#inFlightLength = length;
  }

  #compress(chunks: Array<string | Buffer>, i: number, number: number, callback: Callback): void {
    const chunk = chunks[i]!;
    const opcode = typeof chunk === 'string' ? Opcode.Text : Opcode.Binary;
    this.#deflate!.compress(typeof chunk === 'string' ? Buffer.from(chunk) : chunk).then(
      (payload) => {
        const frames = this.#socketClosed ? null : this.#conn.encodeCompressed(opcode, payload);
        if (frames === null) this.#dropFrom(number);
        else this.#writeFrames(frames);
      },
      (error: Error) => {
        // zlib failed on our own data: the connection fails, nothing is dropped silently.
        this.#dropFrom(number);
        this.#conn.failInternal(new Error(`compression failed: ${error.message}`, { cause: error }));
        this.#afterClose();
      },
    ).then(() => this.#sendFrom(chunks, i + 1, callback));
  }

  #dropFrom(number: number): void {
    if (number < this.#firstDropped) this.#firstDropped = number;
  }

  override _final(callback: Callback): void {
    const { code, reason } = this.#closeRequest ?? { code: CloseCode.Normal, reason: '' };
    // After the peer's close, this echoes it; with TCP gone, no close frame is sent at all.
    if (!this.#socketClosed) this.#conn.close(code, reason);
    this.#afterClose();
    callback();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#clearCloseTimer();
    if (!this.#socketClosed) this.#socket.destroy();
    callback(error);
  }

  /**
   * Writes frames to the socket, corked until the end of this tick: every frame written in the
   * same tick (a batch of echoes, a for-await loop over buffered messages, pongs) leaves in one
   * writev system call instead of one write each. Callers look at writableNeedDrain.
   */
  #writeFrames(frames: Buffer[]): void {
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(Websocket.#uncork, this);
    }
    for (const frame of frames) socket.write(frame);
  }

  /** Ends the tick's batch of writes (see #writeFrames). */
  static #uncork(ws: Websocket): void {
    ws.#corked = false;
    ws.#socket.uncork();
  }

  /**
   * Sends one message to many Websockets, framing it once: every open server-side Websocket
   * gets the same frame bytes, uncopied, queued like any write (so `writableNeedDrain`, 'drain'
   * and maxBufferedAmount see them). A client's Websocket, which must mask, gets it through
   * write(). Returns how many Websockets it went to.
   */
  static broadcast(websockets: Iterable<Websocket>, data: Message): number {
    const message = toMessage(data);
    let frame: Buffer | null = null;
    let sent = 0;
    for (const ws of websockets) {
      if (ws.readyState !== 'open') continue;
      sent++;
      if (ws.#conn.role === 'client') {
        ws.write(message);
        continue;
      }
      if (frame === null) preframed.add((frame = encodeShared(message)));
      ws.#accept(frame);
    }
    return sent;
  }

  /**
   * A peer that never reads, written to by code that ignores `false`: drop it before it costs
   * unbounded memory. Counts what waits behind the socket's current write, each byte once, so
   * one large message to a peer that reads is never dropped.
   */
  #checkBacklog(): void {
    const backlog = this.writableLength - (this.#drainCallback === null ? 0 : this.#inFlightLength);
    if (backlog > this.#maxBufferedAmount) {
      this.#drop(new Error(`outgoing queue over ${this.#maxBufferedAmount} bytes: the peer does not read fast enough`));
    }
  }

  #drained(): void {
    this.#drainedSinceArmed = true;
    this.#flush(); // a pong held back while the socket was full
    this.#pingLeft(); // a heartbeat ping queued behind our data has gone out now
    const callback = this.#drainCallback;
    this.#drainCallback = null;
    callback?.();
  }

  #receive(chunk: Buffer): void {
    if (this.#heartbeat !== null) {
      this.#heartbeat.heard();
      this.#clearPongTimer();
    }
    this.#conn.push(chunk);
    this.#pump();
  }

  /** Turns received bytes into messages while the reader wants them, then writes any replies. */
  #pump(): void {
    if (this.#pumping || !this.#handedOver) return; // a push() below called back into _read()
    this.#pumping = true;
    try {
      // Once the socket has closed, what it delivered is in memory already: hand it all out.
      while ((this.#reading || this.#socketClosed) && !this.#inflating && !this.destroyed) {
        const event = this.#conn.next();
        if (event === null) break;
        this.#handle(event); // a listener that throws is caught in emit()
      }
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
        // Answered once the reader has the messages that came before it (see emit('end')) and
        // the writes it makes meanwhile have gone out; closeTimeout bounds the wait.
        this.#endReadable();
        if (this.#conn.state === State.Closed) this.#afterClose(); // it answered ours: done
        else if (this.readableFlowing === null || this.readableEnded) this.end(); // nobody reads
        else this.#armCloseTimer();
        break;
      case 'error':
        this.#endReadable();
        this.#afterClose();
        break;
    }
  }

  /** Runs a compressed piece through zlib; events wait until it is done, to stay in order. */
  #inflatePiece(piece: Buffer, end: boolean): void {
    this.#inflating = true;
    let failure: ConnectionEvent | null = null;
    const output = (chunk: Buffer): boolean => (failure = this.#conn.inflated(chunk)) === null;
    this.#deflate!.inflate(piece, end, output).then(
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
      // Every message has been read: answer the peer's close, and be done once the socket is.
      if (this.#conn.receivedClose !== null) this.end();
      this.#destroyWhenDone();
      return listened;
    }
    if (event !== 'data' && event !== 'ping' && event !== 'pong') return super.emit(event, ...args);
    // No more messages for code that failed, not even those already buffered.
    if (event === 'data' && this.#conn.internalError !== null) return false;
    try {
      return super.emit(event, ...args);
    } catch (error) {
      this[failInternally](error);
      return true;
    }
  }

  [failInternally](error: unknown): void {
    this.#conn.failInternal(error instanceof Error ? error : new Error(String(error)));
    this.#readerLeft();
    this.#afterClose();
    this.#pump(); // resumes reading until the peer's close; inside a pump, that pump does it
  }

  /**
   * Cuts the connection at once, without a closing handshake (as shutdown() does at its
   * timeout). Unlike destroy(), the stream ends normally: a for-await loop finishes, and
   * closeInfo says 1006 with `reason` as its error.
   */
  terminate(reason = 'terminated'): void {
    if (!this.#socketClosed) this.#drop(new Error(reason));
  }

  /** The reader is gone: end the readable side, and keep reading (dropping) until the peer's close. */
  #readerLeft(): void {
    this.#endReadable();
    this.#reading = true;
    this.resume(); // messages already buffered are dropped, so 'end' comes
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

  /** Our close frame may be queued: send it, and end TCP when the core says so. */
  #afterClose(): void {
    this.#flush();
    this.#heartbeat?.stop();
    this.#clearPongTimer();
    this.#armCloseTimer();
    if (this.#conn.tcpMayClose) this.#endSocket();
  }

  /** Half-closes TCP once (ending an ended socket builds an error object just to drop it). */
  #endSocket(): void {
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  #socketClose(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    this.#clearCloseTimer();
    this.#clearPongTimer();
    if (this.#heartbeat !== null) Websocket.#leaveHeartbeat(this);
    // Bytes that arrived before the socket closed are in memory already (a paused socket holds
    // at most a chunk): #pump turns them into messages, then calls #finish (after the handover).
    this.#pump();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#deflate?.close();
    this.#endReadable();
    // Writes waiting for a drain that will never come failed: their callbacks say so.
    if (this.#drainCallback !== null) this.#dropFrom(this.#inFlightFrom);
    this.#drained();
    this.#closedWith = this.#conn.closeInfo(this.#socketError);
    this.#resolveClosed?.(this.#closedWith);
    this.#destroyWhenDone();
  }

  #endReadable(): void {
    if (this.#readableEnded) return;
    this.#readableEnded = true;
    this.push(null);
  }

  /**
   * Once the socket is gone, the stream is destroyed ('close', exactly once) when its messages
   * have been read, or at once when nobody reads it (a Websocket only written to, in a pipeline).
   */
  #destroyWhenDone(): void {
    if (!this.#socketClosed || this.destroyed) return;
    if (this.readableEnded || this.readableFlowing === null) this.destroy();
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

  /** Every pingInterval: the heartbeat decides whether to ping (see heartbeat.ts). */
  #beat(): void {
    if (!this.#heartbeat!.beat(!this.#reading)) return;
    this.#conn.ping(EMPTY);
    this.#flush();
    // The answer's deadline runs from when the ping leaves: now, or at the next 'drain'.
    if (!this.#socket.writableNeedDrain) this.#pingLeft();
  }

  #pingLeft(): void {
    const deadline = this.#heartbeat?.pingLeft(Date.now()) ?? null;
    if (deadline !== null) this.#armPongTimer(deadline);
  }

  #armPongTimer(deadline: number): void {
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = null;
      const heartbeat = this.#heartbeat!;
      if (heartbeat.expired(Date.now(), !this.#reading)) {
        this.#drop(new Error(`no answer to a ping within ${heartbeat.timeout} ms`));
      } else if (heartbeat.deadline !== null) {
        this.#armPongTimer(heartbeat.deadline); // the timer fired a little early
      }
    }, Math.max(1, deadline - Date.now()));
    this.#pongTimer.unref();
  }

  #clearPongTimer(): void {
    if (this.#pongTimer !== null) clearTimeout(this.#pongTimer);
    this.#pongTimer = null;
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
      if (this.#drainedSinceArmed && this.#conn.canSend) return this.#armCloseTimer();
      this.#drop(new Error(`closing handshake not finished within ${this.#closeTimeout} ms`));
    }, this.#closeTimeout);
    this.#closeTimer.unref();
  }

  #clearCloseTimer(): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
  }
}

function dropped(): Error {
  return new Error('websocket is closing: message dropped');
}
