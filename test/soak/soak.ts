// Soak test (not part of `npm test`): many idle-ish connections to a prise echo server in a
// child process, with traffic at a bounded rate for a while, watching the server's memory.
// It reports what one connection costs the server (after minus before connecting, after a GC)
// and how the heap moves while traffic runs (a steady slope is a leak), then closes every
// connection and checks the heap comes back down. Everything is on 127.0.0.1 and bounded in
// time; the only process it ends is the child it started, by its PID.
//
//   node dist/test/soak/soak.js [--connections 5000] [--duration 60] [--rate 2000]
//                               [--size 64] [--sample 2]
//
// Each connection takes a file descriptor here and one in the server: with the default 5000,
// raise the open-files limit first if `ulimit -n` is lower (`ulimit -n 20000` in the shell).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Listening, Sample } from './echo-server.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '60' },
    rate: { type: 'string', default: '2000' },
    size: { type: 'string', default: '64' },
    sample: { type: 'string', default: '2' },
  },
});

const CONNECTIONS = positive('connections');
const DURATION_S = positive('duration');
/** Messages per second, over all connections together. */
const RATE = positive('rate');
const SIZE = positive('size');
const SAMPLE_S = positive('sample');
/** Connections being opened at once (the listen backlog is 511). */
const CONNECTING_AT_ONCE = 100;
/** The whole run, whatever happens: then the child is killed and we fail. */
const DEADLINE_MS = (DURATION_S + 180) * 1000;
const TICK_MS = 100;

function positive(name: keyof typeof flags): number {
  const value = Number(flags[name]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The server child

function openFilesLimit(): number {
  try {
    const text = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return text === 'unlimited' ? Infinity : Number(text);
  } catch {
    return Infinity; // cannot tell: try anyway
  }
}

class Server {
  readonly child: ChildProcess;
  readonly port: number;
  #nextId = 0;
  readonly #waiting = new Map<number, (sample: Sample) => void>();

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    child.on('message', (message: Sample) => {
      if (message.type !== 'sample') return;
      this.#waiting.get(message.id)?.(message);
      this.#waiting.delete(message.id);
    });
  }

  static async start(): Promise<Server> {
    const script = fileURLToPath(new URL('./echo-server.js', import.meta.url));
    const child = spawn(process.execPath, ['--expose-gc', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
      child.on('message', (message: Listening) => {
        if (message.type === 'listening') resolve(message.port);
      });
    });
    return new Server(child, port);
  }

  sample(): Promise<Sample> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not report its memory')), 30_000);
      this.#waiting.set(id, (sample) => {
        clearTimeout(timer);
        resolve(sample);
      });
      this.child.send({ type: 'sample', id });
    });
  }

  /** Ends the child we started, by its PID, if it still runs. */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

interface Counters {
  sent: number;
  echoed: number;
  /** Echoes that did not match what was sent. */
  wrong: number;
  errors: number;
  unexpectedCloses: number;
}

const counters: Counters = { sent: 0, echoed: 0, wrong: 0, errors: 0, unexpectedCloses: 0 };
let closing = false;

function openClient(port: number, payload: Buffer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    client.once('open', () => {
      client.off('error', reject);
      client.on('error', () => counters.errors++);
      resolve(client);
    });
    client.once('error', reject);
    client.on('message', (data: Buffer) => {
      counters.echoed++;
      if (!data.equals(payload)) counters.wrong++;
    });
    client.on('close', () => {
      if (!closing) counters.unexpectedCloses++;
    });
  });
}

async function openClients(port: number, payload: Buffer): Promise<WebSocket[]> {
  const clients: WebSocket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      next++;
      clients.push(await openClient(port, payload));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTING_AT_ONCE, CONNECTIONS) }, worker));
  return clients;
}

// ---------------------------------------------------------------------------------------------
// Reporting

const KB = 1024;
const MB = 1024 * 1024;

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function kb(bytes: number): string {
  return `${(bytes / KB).toFixed(2)} KB`;
}

/** Buffers outside the JS heap: sockets' and messages' bytes. */
function offHeap(memory: NodeJS.MemoryUsage): number {
  return memory.external + memory.arrayBuffers;
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function row(label: string, memory: NodeJS.MemoryUsage, extra = ''): string {
  return `  ${label.padEnd(28)} rss ${mb(memory.rss).padStart(9)}   heapUsed ${mb(memory.heapUsed).padStart(9)}   off-heap ${mb(offHeap(memory)).padStart(9)}${extra}`;
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  const needed = CONNECTIONS + 64;
  const limit = openFilesLimit();
  if (limit < needed) {
    console.error(`soak: ${CONNECTIONS} connections need about ${needed} open files here and in the server,`);
    console.error(`but ulimit -n is ${limit}. Raise it (ulimit -n ${Math.max(needed * 2, 20000)}) or pass fewer --connections.`);
    return 2;
  }
  const payload = Buffer.alloc(SIZE, 0x73);
  console.log(`soak: ${CONNECTIONS} connections, ${DURATION_S} s of ${RATE} msg/s of ${SIZE} bytes, sampled every ${SAMPLE_S} s`);

  const server = await Server.start();
  const deadline = setTimeout(() => {
    console.error(`soak: no result after ${DEADLINE_MS / 1000} s: giving up`);
    server.stop();
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  process.once('SIGINT', () => {
    server.stop();
    process.exit(130);
  });
  process.once('exit', () => server.stop());

  try {
    const before = await server.sample();
    console.log(`server memory (after GC: ${before.collected ? 'yes' : 'no'})`);
    console.log(row('before connecting', before.memory));

    const connectStart = performance.now();
    const clients = await openClients(server.port, payload);
    const connectMs = performance.now() - connectStart;
    const connected = await server.sample();
    console.log(row(`${clients.length} connections open`, connected.memory, `   (${connected.open} open on the server, ${(connectMs / 1000).toFixed(1)} s to connect)`));
    const perConnection = {
      rss: (connected.memory.rss - before.memory.rss) / CONNECTIONS,
      heapUsed: (connected.memory.heapUsed - before.memory.heapUsed) / CONNECTIONS,
      offHeap: (offHeap(connected.memory) - offHeap(before.memory)) / CONNECTIONS,
    };
    console.log(`  per connection               rss ${kb(perConnection.rss).padStart(9)}   heapUsed ${kb(perConnection.heapUsed).padStart(9)}   off-heap ${kb(perConnection.offHeap).padStart(9)}`);

    // Traffic: RATE messages a second, round-robin over the connections, for DURATION_S.
    console.log('traffic');
    const samples: Array<{ t: number; sample: Sample; sent: number }> = [{ t: 0, sample: connected, sent: 0 }];
    const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
    let cursor = 0;
    const start = performance.now();
    let nextSample = SAMPLE_S * 1000;
    const ticker = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const client = clients[cursor++ % clients.length]!;
        if (client.readyState !== WebSocket.OPEN) continue;
        client.send(payload);
        counters.sent++;
      }
    }, TICK_MS);
    try {
      while (performance.now() - start < DURATION_S * 1000) {
        const wait = Math.min(nextSample, DURATION_S * 1000) - (performance.now() - start);
        if (wait > 0) await sleep(wait);
        if (performance.now() - start < nextSample) continue;
        const sample = await server.sample();
        const t = (performance.now() - start) / 1000;
        samples.push({ t, sample, sent: counters.sent });
        console.log(row(`t=${t.toFixed(0)} s`, sample.memory, `   sent ${counters.sent}, echoed ${counters.echoed}`));
        nextSample += SAMPLE_S * 1000;
      }
    } finally {
      clearInterval(ticker);
    }
    // Every echo should come back; a lost one shows as a shortfall, bounded by the wait.
    const settle = performance.now();
    while (counters.echoed < counters.sent && performance.now() - settle < 30_000) await sleep(50);

    // The first sample was taken before any traffic: the step up to a working set is no leak.
    const during = samples.slice(1);
    const heapSlope = slope(during.map(({ t, sample }) => [t, sample.memory.heapUsed]));
    const rssSlope = slope(during.map(({ t, sample }) => [t, sample.memory.rss]));
    const messagesPerSecond = counters.sent / DURATION_S;
    console.log(`  heapUsed slope ${(heapSlope / KB).toFixed(2)} KB/s (${(heapSlope / messagesPerSecond).toFixed(2)} B per message), rss slope ${(rssSlope / KB).toFixed(2)} KB/s, over ${during.length} samples during traffic`);

    closing = true;
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === WebSocket.CLOSED) return resolve();
            client.once('close', () => resolve());
            client.close(1000);
          }),
      ),
    );
    let after = await server.sample();
    for (let i = 0; after.open > 0 && i < 100; i++) {
      await sleep(100);
      after = await server.sample();
    }
    console.log(row('all closed', after.memory, `   (${after.open} still open on the server)`));
    console.log(`  heapUsed after closing vs before connecting: ${mb(after.memory.heapUsed - before.memory.heapUsed)}`);

    const problems: string[] = [];
    if (clients.length !== CONNECTIONS) problems.push(`only ${clients.length} of ${CONNECTIONS} connected`);
    if (counters.echoed !== counters.sent) problems.push(`${counters.sent - counters.echoed} of ${counters.sent} echoes missing`);
    if (counters.wrong > 0) problems.push(`${counters.wrong} echoes differ from what was sent`);
    if (counters.errors > 0) problems.push(`${counters.errors} client errors`);
    if (counters.unexpectedCloses > 0) problems.push(`${counters.unexpectedCloses} connections closed during the run`);
    if (after.open > 0) problems.push(`${after.open} websockets still open on the server after the clients closed`);
    if (after.unclean > 0) problems.push(`${after.unclean} websockets ended uncleanly`);
    console.log(`result: ${counters.sent} sent, ${counters.echoed} echoed; ${problems.length === 0 ? 'ok' : problems.join('; ')}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    clearTimeout(deadline);
    server.stop();
  }
}

process.exitCode = await main();
