// redisBroker against a real redis-server (started here on a free port, killed by PID), with
// both standard clients, ioredis and node-redis: every case runs once with each. Server
// processes are real child processes (helpers/topics-node.ts), each with its own Topics on
// the same Redis; the clients are prise Websockets connected to them.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, redisBroker, Topics, type Websocket } from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import { inbox } from './helpers/inbox.js';
import { CLIENTS, connectClient, connectPair, type ClientName } from './helpers/redis-clients.js';
import { redisAvailable, REDIS_SERVER, startRedis, type RedisServer } from './helpers/redis-server.js';
import { RawClient } from './helpers/raw-client.js';
import { startWebsocketServer } from './helpers/server.js';

const NODE_PROGRAM = fileURLToPath(new URL('./helpers/topics-node.js', import.meta.url));

interface Node {
  readonly child: ChildProcess;
  readonly port: number;
  alive(): boolean;
  stats(): Promise<{ pid: number; rss: number; stats: Topics['stats'] }>;
  kill(): void;
}

/** Starts a server process on Redis with the given client, and waits for its address. */
async function startNode(client: ClientName, redis: RedisServer): Promise<Node> {
  const child = spawn(process.execPath, [NODE_PROGRAM], {
    env: { ...process.env, CLIENT: client, REDIS_URL: redis.url, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
        if (match !== null) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`server process exited (${code}): ${output}`)));
    }),
    10_000,
    'a server process to listen',
  );
  return {
    child,
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    stats: async () => (await fetch(`http://127.0.0.1:${port}/stats`)).json() as Promise<{ pid: number; rss: number; stats: Topics['stats'] }>,
    kill: () => void child.kill('SIGKILL'),
  };
}

async function join(node: Node, topic: string): Promise<Websocket> {
  const ws = await connect(`ws://127.0.0.1:${node.port}/?topic=${encodeURIComponent(topic)}`);
  return ws;
}

/** The i-th message of a stream: text for even i, binary (with bytes that are not UTF-8) for odd. */
function message(i: number): string | Buffer {
  if (i % 2 === 0) return `message ${i} ✓`;
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(i, 0);
  bytes.set([0xff, 0xfe, 0x00, 0x80], 4);
  return bytes;
}

function numberOf(received: string | Buffer): number {
  return typeof received === 'string' ? Number(/^message (\d+) ✓$/.exec(received)![1]) : received.readUInt32BE(0);
}

/** Waits until the topic's channel has `count` subscribers in Redis (each process subscribes once). */
async function channelSubscribers(redis: RedisServer, channel: string, count: number): Promise<void> {
  const probe = await connectClient('ioredis', redis.url);
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const reply = (await (probe as unknown as { pubsub(...args: string[]): Promise<[string, number]> }).pubsub('NUMSUB', channel)) as [string, number];
      if (Number(reply[1]) === count) return;
      if (Date.now() > deadline) throw new Error(`${channel} has ${reply[1]} subscribers, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    (probe as unknown as { disconnect(): void }).disconnect();
  }
}

const test = suite('redis-broker');
const available = redisAvailable();
const it = available ? test : test.skip;
if (!available) console.log(`\n  redis tests skipped: ${REDIS_SERVER} not found (apt-get install redis-server)\n`);

let redis: RedisServer | null = null;
test.before(async () => {
  if (available) redis = await startRedis();
});
test.after(async () => {
  await redis?.stop();
});

it('misuse is refused at the call: one connection for both, or not a Redis client', async () => {
  assert.throws(() => redisBroker({ publisher: {} as never, subscriber: {} as never }), /ioredis client or a node-redis/);
  const client = await connectClient('ioredis', redis!.url);
  try {
    assert.throws(() => redisBroker({ publisher: client, subscriber: client }), /two connections/);
  } finally {
    (client as unknown as { disconnect(): void }).disconnect();
  }
});

for (const client of CLIENTS) {
  it(`${client}: subscribes to a channel while the topic has local subscribers, with the prefix`, async () => {
    const pair = await connectPair(client, redis!.url);
    const topics = new Topics({ broker: redisBroker({ publisher: pair.publisher, subscriber: pair.subscriber, prefix: 'app1:' }) });
    const server = await startWebsocketServer();
    try {
      const c1 = await connect(`ws://127.0.0.1:${server.port}/`);
      const { ws: s1 } = await server.accepted();
      const c2 = await connect(`ws://127.0.0.1:${server.port}/`);
      const { ws: s2 } = await server.accepted();
      s1.resume();
      s2.resume();
      topics.subscribe(s1, 'room');
      topics.subscribe(s2, 'room');
      await channelSubscribers(redis!, 'app1:room', 1);
      topics.unsubscribe(s1, 'room');
      await channelSubscribers(redis!, 'app1:room', 1);
      c2.close();
      await channelSubscribers(redis!, 'app1:room', 0);
      topics.subscribe(s1, 'room');
      await channelSubscribers(redis!, 'app1:room', 1);
      await topics.close(); // unsubscribes
      await channelSubscribers(redis!, 'app1:room', 0);
      c1.close();
    } finally {
      await server.close();
      await topics.close();
      await pair.close();
    }
  });

  it(`${client}: publishes made while Redis is away are held (bounded) or lost, counted, never rejected`, async () => {
    const pair = await connectPair(client, redis!.url);
    const listener = await connectPair(client, redis!.url);
    const broker = redisBroker({ publisher: pair.publisher, subscriber: pair.subscriber, maxPendingBytes: 100 });
    const topics = new Topics({ broker });
    const heard: string[] = [];
    const other = new Topics({ broker: redisBroker({ publisher: listener.publisher, subscriber: listener.subscriber }) });
    const server = await startWebsocketServer();
    try {
      const c = await connect(`ws://127.0.0.1:${server.port}/`);
      const { ws } = await server.accepted();
      ws.resume();
      c.on('data', (m: string) => heard.push(m));
      other.subscribe(ws, 'held');
      await channelSubscribers(redis!, 'prise:held', 1);
      await topics.publish('held', 'before');
      await until(() => heard.length === 1, 'the first message');
      await redis!.kill();
      await until(() => !(pair.publisher as { isReady?: boolean }).isReady && (pair.publisher as { status?: string }).status !== 'ready', 'the client to notice');
      const during = ['held 1', 'held 2', 'x'.repeat(200), 'held 3'].map((text) => topics.publish('held', text));
      await redis!.restart();
      await withTimeout(Promise.all(during), 10_000, 'the held publishes to settle');
      // Pub/sub keeps nothing: 'after' must wait until the other process has resubscribed.
      await channelSubscribers(redis!, 'prise:held', 1);
      await topics.publish('held', 'after');
      await until(() => heard.at(-1) === 'after', 'the message after the restart', 10_000);
      // Held in order and sent once ready; the one over maxPendingBytes was lost, and counted.
      // The held ones may still miss the other process if they reach Redis before its subscriber
      // has resubscribed (pub/sub keeps nothing): what arrives is in order, never twice.
      assert.is(heard[0], 'before');
      assert.is(heard.at(-1), 'after');
      const middle = heard.slice(1, -1);
      assert.equal(middle, ['held 1', 'held 2', 'held 3'].filter((text) => middle.includes(text)));
      assert.is(topics.stats.lost, 1);
      c.close();
    } finally {
      await server.close();
      await topics.close();
      await other.close();
      await pair.close();
      await listener.close();
    }
  });

  it(`${client}: clients on two processes exchange messages exactly once, in order, binary intact`, async () => {
    const [A, B] = [await startNode(client, redis!), await startNode(client, redis!)];
    const topic = `chat-${client}`;
    try {
      const a = await join(A!, topic);
      const a2 = await join(A!, topic); // same process as the sender: delivered locally, once
      const b = await join(B!, topic);
      const [toA2, toB, toA] = [inbox(a2), inbox(b), inbox(a)];
      await channelSubscribers(redis!, `test:${topic}`, 2);
      const COUNT = 200;
      for (let i = 0; i < COUNT; i++) a.write(message(i));
      b.write('from b');
      const [atB, atA2] = await withTimeout(Promise.all([toB.take(COUNT), toA2.take(COUNT + 1)]), 15_000, 'deliveries');
      assert.equal(atB, Array.from({ length: COUNT }, (_, i) => message(i)));
      assert.equal(atA2.filter((m) => m !== 'from b'), Array.from({ length: COUNT }, (_, i) => message(i)));
      assert.equal(await toA.next(), 'from b'); // the sender itself was left out
      // Nothing more comes: one more marker message arrives next, not a repeat.
      a.write('end');
      assert.is(await toB.next(), 'end');
      assert.is(await toA2.next(), 'end');
      const stats = (await B!.stats()).stats;
      assert.is(stats.repeated + stats.malformed + stats.lost, 0);
      for (const ws of [a, a2, b]) ws.close();
    } finally {
      A!.kill();
      B!.kill();
    }
  });

  it(`${client}: Redis killed and restarted mid-stream: delivery resumes, no process dies`, async () => {
    const [A, B] = [await startNode(client, redis!), await startNode(client, redis!)];
    const topic = `restart-${client}`;
    try {
      const a = await join(A!, topic);
      const b = await join(B!, topic);
      const received: number[] = [];
      b.on('data', (m: string | Buffer) => received.push(numberOf(m)));
      await channelSubscribers(redis!, `test:${topic}`, 2);
      let sent = 0;
      const sending = setInterval(() => a.write(message(sent++)), 5);
      try {
        await until(() => received.length >= 50, 'messages before the restart', 10_000);
        await redis!.kill();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await redis!.restart();
        const resumedFrom = sent;
        await until(() => received.some((n) => n > resumedFrom + 50), 'messages after the restart', 15_000);
      } finally {
        clearInterval(sending);
      }
      // At most once and in order: strictly increasing, gaps allowed (lost while Redis was away).
      for (let i = 1; i < received.length; i++) assert.ok(received[i]! > received[i - 1]!, `${received[i - 1]} then ${received[i]}`);
      assert.ok(A!.alive() && B!.alive(), 'a server process died');
      a.close();
      b.close();
    } finally {
      A!.kill();
      B!.kill();
    }
  });

  it(`${client}: one server process killed: the others carry on`, async () => {
    const nodes = [await startNode(client, redis!), await startNode(client, redis!), await startNode(client, redis!)];
    const topic = `kill-${client}`;
    try {
      const [a, b, c] = await Promise.all(nodes.map((node) => join(node, topic)));
      const [toA, toC] = [inbox(a!), inbox(c!)];
      b!.on('error', () => {});
      b!.resume();
      await channelSubscribers(redis!, `test:${topic}`, 3);
      nodes[1]!.kill();
      await withTimeout(b!.closeInfo, 5000, 'the killed process to drop its client');
      await channelSubscribers(redis!, `test:${topic}`, 2);
      a!.write('a to c');
      c!.write(Buffer.from([0xff, 1]));
      assert.is(await toC.next(), 'a to c');
      assert.equal(await toA.next(), Buffer.from([0xff, 1]));
      assert.ok(nodes[0]!.alive() && nodes[2]!.alive());
      a!.close();
      c!.close();
    } finally {
      for (const node of nodes) node.kill();
    }
  });

  it(`${client}: a subscriber that never reads while 50 MB go through: the server's memory stays bounded, the others keep pace`, async () => {
    const [A, B] = [await startNode(client, redis!), await startNode(client, redis!)];
    const topic = `flood-${client}`;
    let slow: RawClient | null = null;
    try {
      const sender = await join(A!, topic);
      const fast = await join(B!, topic);
      slow = await RawClient.open(B!.port, { path: `/?topic=${topic}` });
      slow.socket.pause();
      await channelSubscribers(redis!, `test:${topic}`, 2);
      const before = (await B!.stats()).rss;
      const MESSAGE = 64 * 1024;
      const COUNT = (50 * 1024 * 1024) / MESSAGE;
      let received = 0;
      let peakRss = before;
      fast.on('data', (m: Buffer) => {
        assert.is(m.readUInt32BE(0), received);
        received++;
      });
      const payload = Buffer.alloc(MESSAGE, 0xab);
      for (let i = 0; i < COUNT; i++) {
        payload.writeUInt32BE(i, 0);
        sender.write(Buffer.from(payload));
        // Paced by the fast reader (a window of 8 messages); sample B's memory as it goes.
        if (i - received >= 8) await until(() => i - received < 8, 'the fast reader', 15_000);
        if (i % 100 === 0) peakRss = Math.max(peakRss, (await B!.stats()).rss);
      }
      await until(() => received === COUNT, 'every message at the fast reader', 15_000);
      const { stats } = await B!.stats();
      assert.ok(stats.skipped > 0, `skipped ${stats.skipped}`);
      assert.ok(peakRss - before < 40 * 1024 * 1024, `the server process grew ${((peakRss - before) / 2 ** 20).toFixed(1)} MB`);
      sender.close();
      fast.close();
    } finally {
      slow?.destroy();
      A!.kill();
      B!.kill();
    }
  });
}

test.run();
