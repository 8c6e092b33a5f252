// One shape over the two standard Redis clients, for redisBroker. They differ in how to tell
// them apart, how messages arrive and how to unsubscribe:
//
//   ioredis        string `status` ('ready' when usable); one 'messageBuffer' event for every
//                  channel, as (channel, message); resubscribes by itself after a reconnect.
//   node-redis 4+  booleans `isOpen` / `isReady`; `subscribe(channel, listener, true)` calls
//                  the listener with Buffers as (message, channel); unsubscribing needs that same
//                  listener, or every listener of the channel goes.
//
// Both emit 'ready' once a (re)connection is usable, and 'error' when Redis goes away. A
// node-redis client with no 'error' listener crashes the process then, so we always listen
// (and remove our listeners on detach()); the app's own listeners still hear every error.

/** An ioredis client (v5 and v6), as far as we use it. */
export interface IoredisLike {
  readonly status: string;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** A node-redis client (`redis` v4 and later), as far as we use it. */
export interface NodeRedisLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => unknown, bufferMode: true): Promise<unknown>;
  unsubscribe(channel: string, listener: (message: Buffer, channel: Buffer) => unknown, bufferMode: true): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

export type RedisLike = IoredisLike | NodeRedisLike;

export type RedisClientKind = 'ioredis' | 'node-redis';

export interface RedisConnection {
  readonly kind: RedisClientKind;
  /** Connected, and commands sent now go out now (not into a client-side queue). */
  ready(): boolean;
  /** May throw synchronously (node-redis before connect()) or reject. */
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** Removes every listener we added to the client. */
  detach(): void;
}

export interface ConnectionEvents {
  /** The client is (again) ready. */
  onReady(): void;
  /** A message on a channel, for a subscriber connection. */
  onMessage?(channel: string, message: Buffer): void;
  onError(error: unknown): void;
}

/** Which client `client` is, or null when it is neither. */
export function redisClientKind(client: unknown): RedisClientKind | null {
  if (typeof client !== 'object' || client === null) return null;
  const c = client as Record<string, unknown>;
  if (typeof c['publish'] !== 'function' || typeof c['subscribe'] !== 'function' || typeof c['on'] !== 'function') return null;
  if (typeof c['status'] === 'string') return 'ioredis';
  if (typeof c['isOpen'] === 'boolean' && typeof c['isReady'] === 'boolean') return 'node-redis';
  return null;
}

/** Wraps an ioredis or node-redis client, listening to it through `events`. */
export function redisConnection(client: RedisLike, events: ConnectionEvents): RedisConnection {
  const kind = redisClientKind(client);
  if (kind === null) throw new TypeError('expected an ioredis client or a node-redis (v4+) client');
  const onReady = (): void => events.onReady();
  const onError = (error: unknown): void => events.onError(error);
  client.on('ready', onReady);
  client.on('error', onError);
  if (kind === 'ioredis') {
    const io = client as IoredisLike;
    const onMessageBuffer = (channel: Buffer, message: Buffer): void => events.onMessage?.(channel.toString(), message);
    if (events.onMessage !== undefined) io.on('messageBuffer', onMessageBuffer);
    return {
      kind,
      ready: () => io.status === 'ready',
      publish: (channel, message) => io.publish(channel, message),
      subscribe: (channel) => io.subscribe(channel),
      unsubscribe: (channel) => io.unsubscribe(channel),
      detach() {
        io.off('ready', onReady);
        io.off('error', onError);
        io.off('messageBuffer', onMessageBuffer);
      },
    };
  }
  const node = client as NodeRedisLike;
  // One listener for every channel, so that unsubscribe removes ours and nobody else's.
  const listener = (message: Buffer, channel: Buffer): void => events.onMessage?.(channel.toString(), message);
  return {
    kind,
    ready: () => node.isReady,
    publish: (channel, message) => node.publish(channel, message),
    subscribe: (channel) => node.subscribe(channel, listener, true),
    unsubscribe: (channel) => node.unsubscribe(channel, listener, true),
    detach() {
      node.off('ready', onReady);
      node.off('error', onError);
    },
  };
}
