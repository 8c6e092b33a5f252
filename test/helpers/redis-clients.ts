// The two Redis clients every broker test runs with, made and closed the same way. Each
// client gets an 'error' listener of its own, as an app should have (and retries quickly, so
// that a test restarting Redis does not wait long for the reconnect).

import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisLike } from 'prise-ws';

export const CLIENTS = ['ioredis', 'node-redis'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface RedisPair {
  readonly publisher: RedisLike;
  readonly subscriber: RedisLike;
  /** Errors the clients reported (Redis going away shows up here). */
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function connectClient(name: ClientName, url: string, errors: unknown[] = []): Promise<RedisLike & { quit?(): unknown; destroy?(): unknown; disconnect?(): unknown }> {
  if (name === 'ioredis') {
    const client = new Redis(url, { retryStrategy: () => 50, maxRetriesPerRequest: 3 });
    client.on('error', (error: unknown) => errors.push(error));
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('ioredis ended before ready')));
    });
    return client;
  }
  const client = createClient({ url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', (error: unknown) => errors.push(error));
  await client.connect();
  return client;
}

export async function connectPair(name: ClientName, url: string): Promise<RedisPair> {
  const errors: unknown[] = [];
  const publisher = await connectClient(name, url, errors);
  const subscriber = await connectClient(name, url, errors);
  return {
    publisher,
    subscriber,
    errors,
    async close() {
      for (const client of [publisher, subscriber]) {
        const c = client as { disconnect?(): void; destroy?(): void };
        if (name === 'ioredis') c.disconnect?.();
        else c.destroy?.();
      }
    },
  };
}
