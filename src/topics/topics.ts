// Topics: publish one message to every Websocket subscribed to a topic. Without a broker it
// serves this process only; with one (redisBroker) the same calls reach the subscribers of
// every process on the broker, and handlers do not change.
//
//   const topics = new Topics();                       // or new Topics({ broker: redisBroker(...) })
//   topics.subscribe(ws, 'room:lobby');
//   topics.publish('room:lobby', 'hello', { except: ws });
//
// Frame once, write many: a message is framed once per process and the same bytes go to every
// local subscriber (Websocket.broadcast). Local subscribers get a message at once, at publish
// time; the broker carries it to the other processes, and the copy that comes back to us is
// recognised by its origin (envelope.ts) and skipped, so nobody gets a message twice.
//
// Slow subscribers: one whose outgoing queue (`writableLength`) is over `slowSubscriberLimit`
// bytes when a message comes is skipped for that message (the default) or dropped, and counted
// either way; it never makes the process buffer more than the limit plus one message for it.

import { randomBytes } from 'node:crypto';
import { Websocket } from '../websocket.js';
import type { Broker } from './broker.js';
import { decodeEnvelope, encodeEnvelope, SEQUENCE_LIMIT } from './envelope.js';

export const SlowSubscriber = { Skip: 'skip', Drop: 'drop' } as const;
export type SlowSubscriber = (typeof SlowSubscriber)[keyof typeof SlowSubscriber];

export const DEFAULT_SLOW_SUBSCRIBER_LIMIT = 1024 * 1024;

export interface TopicsOptions {
  /** Carries messages to and from other processes; none: this process only. */
  broker?: Broker;
  /**
   * What happens to a subscriber whose queue is over the limit when a message comes: 'skip'
   * (the default) leaves it out of that message; 'drop' closes its connection at once (1006).
   */
  slowSubscriber?: SlowSubscriber;
  /** Bytes queued for a subscriber past which it counts as slow (default 1 MiB). */
  slowSubscriberLimit?: number;
}

export interface PublishOptions {
  /** A Websocket left out (typically the sender). */
  except?: Websocket;
}

/** Counters since the Topics was made. */
export interface TopicsStats {
  /** Calls to publish(). */
  readonly published: number;
  /** Messages received from the broker that other processes published. */
  readonly received: number;
  /** Messages written to local subscribers (one per subscriber and message). */
  readonly delivered: number;
  /** Deliveries left out because the subscriber was over its limit ('skip'). */
  readonly skipped: number;
  /** Subscribers dropped because they were over their limit ('drop'). */
  readonly dropped: number;
  /** Messages the broker could not send (Redis unreachable for too long): other processes missed them. */
  readonly lost: number;
  /** Messages from the broker that were not envelopes of ours, ignored. */
  readonly malformed: number;
  /** Messages from the broker refused as already seen or older than one seen (a client re-sent them). */
  readonly repeated: number;
}

export class Topics {
  readonly #broker: Broker | null;
  readonly #slowSubscriber: SlowSubscriber;
  readonly #slowSubscriberLimit: number;
  /** Identifies this instance's messages when the broker brings them back (envelope.ts). */
  readonly #origin = randomBytes(8);
  readonly #originKey = this.#origin.toString('latin1');
  /** Numbers our messages to the broker (envelope.ts). */
  #sequence = 0;
  /** The last sequence number received from each other origin: older or repeated ones are refused. */
  readonly #lastFrom = new Map<string, number>();
  readonly #subscribers = new Map<string, Set<Websocket>>();
  readonly #topicsOf = new Map<Websocket, Set<string>>();
  /** Websockets whose closeInfo we listen to already (one listener per Websocket, ever). */
  readonly #watched = new WeakSet<Websocket>();
  /** Reused between publishes: the subscribers a message goes to. */
  readonly #targets: Websocket[] = [];
  #closed = false;
  #stats = { published: 0, received: 0, delivered: 0, skipped: 0, dropped: 0, lost: 0, malformed: 0, repeated: 0 };

  constructor(options: TopicsOptions = {}) {
    const { broker, slowSubscriber = SlowSubscriber.Skip, slowSubscriberLimit = DEFAULT_SLOW_SUBSCRIBER_LIMIT } = options;
    if (slowSubscriber !== SlowSubscriber.Skip && slowSubscriber !== SlowSubscriber.Drop) {
      throw new TypeError(`slowSubscriber must be 'skip' or 'drop', not ${String(slowSubscriber)}`);
    }
    if (!Number.isFinite(slowSubscriberLimit) || slowSubscriberLimit < 0) {
      throw new RangeError(`slowSubscriberLimit must be a number of bytes >= 0, not ${slowSubscriberLimit}`);
    }
    this.#slowSubscriber = slowSubscriber;
    this.#slowSubscriberLimit = slowSubscriberLimit;
    this.#broker = broker ?? null;
    this.#broker?.start((topic, message) => this.#receive(topic, message));
  }

  /** Adds `ws` to `topic`'s subscribers; a no-op if it is one already or has closed. */
  subscribe(ws: Websocket, topic: string): void {
    this.#check(ws, topic);
    if (ws.readyState === 'closed') return; // it would never leave
    let topics = this.#topicsOf.get(ws);
    if (topics?.has(topic)) return;
    if (topics === undefined) this.#topicsOf.set(ws, (topics = new Set()));
    topics.add(topic);
    let subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined) {
      this.#subscribers.set(topic, (subscribers = new Set()));
      this.#broker?.subscribe(topic);
    }
    subscribers.add(ws);
    if (!this.#watched.has(ws)) {
      this.#watched.add(ws);
      void ws.closeInfo.then(() => this.#leaveAll(ws));
    }
  }

  /** Removes `ws` from `topic`'s subscribers; a no-op if it was not one. */
  unsubscribe(ws: Websocket, topic: string): void {
    this.#check(ws, topic);
    const topics = this.#topicsOf.get(ws);
    if (topics === undefined || !topics.delete(topic)) return;
    if (topics.size === 0) this.#topicsOf.delete(ws);
    this.#leave(ws, topic);
  }

  /**
   * Sends `data` (a string as text, bytes as binary) to every subscriber of `topic`, here and,
   * with a broker, in every other process. Local subscribers have it before this returns. With
   * a broker, the promise settles once the broker took the message or lost it (counted in
   * stats.lost); it never rejects.
   */
  publish(topic: string, data: string | Uint8Array, options: PublishOptions = {}): void | Promise<void> {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError('data must be a string (text) or a Uint8Array (binary)');
    }
    if (this.#closed) throw new Error('topics closed: cannot publish');
    this.#stats.published++;
    this.#deliver(topic, data, options.except);
    const broker = this.#broker;
    if (broker === null) return;
    const sequence = this.#sequence;
    this.#sequence = (sequence + 1) % SEQUENCE_LIMIT;
    return broker.publish(topic, encodeEnvelope(data, this.#origin, sequence)).then((sent) => {
      if (!sent) this.#stats.lost++;
    });
  }

  /** How many Websockets of this process are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.#subscribers.get(topic)?.size ?? 0;
  }

  /** The topics `ws` is subscribed to. */
  topicsOf(ws: Websocket): string[] {
    return [...(this.#topicsOf.get(ws) ?? [])];
  }

  get stats(): TopicsStats {
    return { ...this.#stats };
  }

  /**
   * Forgets every subscription (the Websockets stay open) and unsubscribes from the broker.
   * Publishing afterwards throws.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    this.#topicsOf.clear();
    await this.#broker?.close();
  }

  #check(ws: Websocket, topic: string): void {
    if (!(ws instanceof Websocket)) throw new TypeError('expected a Websocket');
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    if (this.#closed) throw new Error('topics closed');
  }

  #leave(ws: Websocket, topic: string): void {
    const subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined || !subscribers.delete(ws) || subscribers.size > 0) return;
    this.#subscribers.delete(topic);
    this.#broker?.unsubscribe(topic);
  }

  #leaveAll(ws: Websocket): void {
    const topics = this.#topicsOf.get(ws);
    if (topics === undefined) return;
    this.#topicsOf.delete(ws);
    for (const topic of topics) this.#leave(ws, topic);
  }

  /** A message from the broker: another process's, for our subscribers; our own, already delivered. */
  #receive(topic: string, message: Buffer): void {
    if (this.#closed) return;
    const envelope = decodeEnvelope(message);
    if (envelope === null) {
      this.#stats.malformed++;
      return;
    }
    if (envelope.origin === this.#originKey) return;
    const last = this.#lastFrom.get(envelope.origin);
    // Wrapped around (2^48 messages later) when far behind the last one: a new cycle, not a repeat.
    if (last !== undefined && envelope.sequence <= last && last - envelope.sequence < SEQUENCE_LIMIT / 2) {
      this.#stats.repeated++;
      return;
    }
    this.#lastFrom.set(envelope.origin, envelope.sequence);
    this.#stats.received++;
    this.#deliver(topic, envelope.data, undefined);
  }

  /** Frames the message once and writes it to every local subscriber with room for it. */
  #deliver(topic: string, data: string | Uint8Array, except: Websocket | undefined): void {
    const subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined) return;
    const targets = this.#targets;
    const limit = this.#slowSubscriberLimit;
    let slow: Websocket[] | null = null;
    for (const ws of subscribers) {
      if (ws === except) continue;
      if (ws.writableLength > limit) (slow ??= []).push(ws);
      else targets.push(ws);
    }
    try {
      this.#stats.delivered += Websocket.broadcast(targets, data);
    } finally {
      targets.length = 0;
    }
    if (slow === null) return;
    if (this.#slowSubscriber === SlowSubscriber.Skip) {
      this.#stats.skipped += slow.length;
      return;
    }
    for (const ws of slow) {
      this.#stats.dropped++;
      this.#leaveAll(ws); // at once: its closeInfo comes later
      ws.destroy();
    }
  }
}
