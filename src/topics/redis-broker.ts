// redisBroker: Topics across processes and machines through Redis pub/sub, on two connections
// the app made (one publishes, one subscribes) with ioredis or node-redis (redis-client.ts).
// Each topic is the Redis channel `prefix + topic`; a channel is subscribed while this process
// has a local subscriber on the topic. Delivery is Redis pub/sub's: at most once.
//
// Faults. While the publisher is not ready (Redis restarting, the client reconnecting), messages
// are held here, in order, up to `maxPendingBytes`, and sent once it is ready again: a client's
// own offline queue could let a new PUBLISH overtake older ones resent after the reconnect
// (seen with ioredis 5). Past that bound, and for PUBLISHes the client rejects (in flight when
// the connection broke), messages are lost: publish() resolves false and Topics counts them.
// Every time the subscriber becomes ready we subscribe to our channels again (SUBSCRIBE is
// idempotent), whether or not the client resubscribed by itself.

import type { Broker } from './broker.js';
import { redisConnection, type RedisConnection, type RedisLike } from './redis-client.js';

export const DEFAULT_REDIS_PREFIX = 'prise:';
export const DEFAULT_MAX_PENDING_BYTES = 1024 * 1024;

export interface RedisBrokerOptions {
  /** The connection PUBLISHes go out on (ioredis, or node-redis after `await connect()`). */
  publisher: RedisLike;
  /** Another connection, for SUBSCRIBE: a subscribed connection can't be shared in RESP2. */
  subscriber: RedisLike;
  /** Put before every topic to make its channel, so apps can share a Redis (default 'prise:'). */
  prefix?: string;
  /** Bytes of messages held while the publisher is not ready (default 1 MiB); beyond, lost. */
  maxPendingBytes?: number;
}

export function redisBroker(options: RedisBrokerOptions): Broker {
  return new RedisBroker(options);
}

interface Pending {
  readonly channel: string;
  readonly message: Buffer;
  readonly resolve: (sent: boolean | Promise<boolean>) => void;
}

const ignore = (): void => {};

class RedisBroker implements Broker {
  readonly #prefix: string;
  readonly #maxPendingBytes: number;
  readonly #publisher: RedisConnection;
  readonly #subscriber: RedisConnection;
  /** Topics with local subscribers: the channels we want to be subscribed to. */
  readonly #topics = new Set<string>();
  /** Messages waiting for the publisher to be ready, in publish order. */
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #receive: ((topic: string, message: Buffer) => void) | null = null;
  #closed = false;

  constructor(options: RedisBrokerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('redisBroker needs { publisher, subscriber }');
    const { publisher, subscriber, prefix = DEFAULT_REDIS_PREFIX, maxPendingBytes = DEFAULT_MAX_PENDING_BYTES } = options;
    if (publisher === subscriber) {
      throw new TypeError('redisBroker needs two connections: a subscribed one cannot publish (RESP2)');
    }
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    if (!Number.isFinite(maxPendingBytes) || maxPendingBytes < 0) throw new RangeError('maxPendingBytes must be >= 0');
    this.#prefix = prefix;
    this.#maxPendingBytes = maxPendingBytes;
    this.#publisher = redisConnection(publisher, { onReady: () => this.#flush(), onError: ignore });
    this.#subscriber = redisConnection(subscriber, {
      onReady: () => this.#resubscribe(),
      onMessage: (channel, message) => this.#message(channel, message),
      onError: ignore,
    });
  }

  start(receive: (topic: string, message: Buffer) => void): void {
    if (this.#receive !== null) throw new Error('this broker serves another Topics already');
    this.#receive = receive;
  }

  subscribe(topic: string): void {
    if (this.#closed || this.#topics.has(topic)) return;
    this.#topics.add(topic);
    command(() => this.#subscriber.subscribe(this.#prefix + topic));
  }

  unsubscribe(topic: string): void {
    if (this.#closed || !this.#topics.delete(topic)) return;
    command(() => this.#subscriber.unsubscribe(this.#prefix + topic));
  }

  publish(topic: string, message: Buffer): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const channel = this.#prefix + topic;
    if (this.#pending.length === 0 && this.#publisher.ready()) return this.#send(channel, message);
    if (this.#pendingBytes + message.length > this.#maxPendingBytes) return Promise.resolve(false);
    this.#pendingBytes += message.length;
    return new Promise((resolve) => this.#pending.push({ channel, message, resolve }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#subscriber.ready();
    const unsubscribed = [...this.#topics].map((topic) => settle(() => this.#subscriber.unsubscribe(this.#prefix + topic)));
    this.#topics.clear();
    for (const { resolve } of this.#pending) resolve(false);
    this.#pending = [];
    this.#pendingBytes = 0;
    // With Redis away, an UNSUBSCRIBE waits in the client's queue: don't wait for it.
    if (ready) await Promise.all(unsubscribed);
    this.#publisher.detach();
    this.#subscriber.detach();
  }

  /** Sends one PUBLISH; true once Redis has it. */
  #send(channel: string, message: Buffer): Promise<boolean> {
    try {
      return this.#publisher.publish(channel, message).then(() => true, () => false);
    } catch {
      return Promise.resolve(false); // node-redis throws at once when it is not connected
    }
  }

  /** The publisher is ready again: send what was held, in order. */
  #flush(): void {
    while (this.#pending.length > 0 && this.#publisher.ready()) {
      const { channel, message, resolve } = this.#pending.shift()!;
      this.#pendingBytes -= message.length;
      resolve(this.#send(channel, message));
    }
  }

  #resubscribe(): void {
    for (const topic of this.#topics) command(() => this.#subscriber.subscribe(this.#prefix + topic));
  }

  #message(channel: string, message: Buffer): void {
    if (!channel.startsWith(this.#prefix)) return; // the app's own use of the connection
    const topic = channel.slice(this.#prefix.length);
    if (this.#topics.has(topic)) this.#receive?.(topic, message);
  }
}

/** Runs a Redis command whose failure is not ours to report: a later 'ready' retries it. */
function command(run: () => Promise<unknown>): void {
  void settle(run);
}

function settle(run: () => Promise<unknown>): Promise<void> {
  try {
    return run().then(ignore, ignore);
  } catch {
    return Promise.resolve();
  }
}
