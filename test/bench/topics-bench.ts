// `npm run bench:topics`: fan-out of one message to 10,000 subscribers, measured in one run
//   local   prise Topics, a for loop over `ws` clients, Socket.IO rooms, each in one process
//   redis   prise Topics on redisBroker, Socket.IO with @socket.io/redis-adapter: two server
//           processes on one Redis, 5,000 subscribers on each, messages published in one
// Servers (topics-server.ts) run pinned to CPU 0; this process, the 10,000 raw WebSocket
// clients, pins itself to CPU 1 (Redis is not pinned). Deliveries/s: a burst of messages, from
// the command to the last frame counted here; with one core reading 10,000 sockets that is often
// the receiving side's limit, so the servers' own cost is reported too: deliveries per second of
// server CPU (user + system, summed over the server processes, during the burst). Latency: messages 200 ms apart (the receiving side keeps up), from publish to
// each subscriber's receipt (p50, p99 over every delivery). Ratios are to Socket.IO.
//
//   npm run bench:topics [-- --quick] [-- --reps 3] [-- --subscribers 10000]

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, reps: { type: 'string' }, subscribers: { type: 'string', default: '10000' } },
});
const SUBSCRIBERS = Number(flags.subscribers);
const REPS = Number(flags.reps ?? (flags.quick ? 1 : 3));
const BURST = flags.quick ? 30 : 100;
const RATE = { count: flags.quick ? 10 : 20, ms: 200 };
const SERVER = fileURLToPath(new URL('./topics-server.js', import.meta.url));
const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  next(prefix: string): Promise<string>;
  send(line: string): void;
}

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));

async function startServer(kind: string, redisUrl: string | undefined): Promise<Server> {
  const pinned = pin ? ['taskset', '-c', '0'] : [];
  const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  const child = spawn('sh', ['-c', script, 'bench', ...pinned, process.execPath, SERVER, kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }) },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const waiting: Array<{ prefix: string; resolve: (rest: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const i = waiting.findIndex((w) => line.startsWith(w.prefix));
    if (i < 0) return;
    const [waiter] = waiting.splice(i, 1);
    waiter!.resolve(line.slice(waiter!.prefix.length));
  });
  const next = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind}: no "${prefix}" within 60 s`)), 60_000);
      waiting.push({ prefix, resolve: (rest) => (clearTimeout(timer), resolve(rest)) });
    });
  const port = Number(await next('ready '));
  return { child, port, next, send: (text) => child.stdin!.write(`${text}\n`) };
}

/** Counts, in every client, frames carrying a benchmark message; records latencies when asked. */
class Clients {
  deliveries = 0;
  latencies: number[] | null = null;
  readonly sockets: Socket[] = [];

  async open(port: number, count: number, socketIo: boolean): Promise<void> {
    const path = socketIo ? '/socket.io/?EIO=4&transport=websocket' : '/';
    let opened = 0;
    const one = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        this.sockets.push(socket);
        socket.setNoDelay(true);
        socket.once('error', reject);
        socket.once('connect', () => {
          const key = randomBytes(16).toString('base64');
          socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
        });
        let buffer: Buffer = Buffer.alloc(0);
        let upgraded = false;
        socket.on('data', (chunk: Buffer) => {
          buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
          if (!upgraded) {
            const end = buffer.indexOf('\r\n\r\n');
            if (end < 0) return;
            if (!buffer.subarray(0, 12).toString().includes('101')) return reject(new Error(buffer.toString()));
            upgraded = true;
            buffer = buffer.subarray(end + 4);
            if (!socketIo) resolve();
          }
          buffer = this.#frames(buffer, socket, socketIo ? resolve : null);
        });
      });
    const workers = Array.from({ length: 200 }, async () => {
      while (opened < count) {
        opened++;
        await one();
      }
    });
    await Promise.all(workers);
  }

  /** Parses whole frames (server frames are unmasked) and returns what is left over. */
  #frames(buffer: Buffer, socket: Socket, socketIoOpen: (() => void) | null): Buffer {
    let offset = 0;
    for (;;) {
      if (buffer.length - offset < 2) break;
      let length = buffer[offset + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (buffer.length - offset < header + length) break;
      const payload = buffer.subarray(offset + header, offset + header + length);
      offset += header + length;
      const bar = payload.indexOf(0x7c); // '|'
      if (bar >= 0) {
        this.deliveries++;
        if (this.latencies !== null) {
          const end = payload.indexOf(0x7c, bar + 1);
          this.latencies.push(performance.timeOrigin + performance.now() - Number(payload.toString('latin1', bar + 1, end)));
        }
      } else if (socketIoOpen !== null && payload[0] === 0x30 /* '0': engine.io open */) {
        socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0x30])); // "40": join the namespace
      } else if (socketIoOpen !== null && payload[0] === 0x34 && payload[1] === 0x30) {
        socketIoOpen();
      }
    }
    return offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

interface Measured {
  perSecond: number;
  perCpuSecond: number;
  p50: number;
  p99: number;
}

/** One measurement: servers up, subscribers in, a burst, a paced run, servers down. */
async function measure(kinds: string[], redis: RedisServer | null): Promise<Measured> {
  const servers = await Promise.all(kinds.map((kind) => startServer(kind, redis?.url)));
  const clients = new Clients();
  try {
    const share = SUBSCRIBERS / servers.length;
    for (const server of servers) await clients.open(server.port, share, kinds[0]!.startsWith('socketio'));
    for (const server of servers) {
      for (;;) {
        server.send('count');
        if (Number(await server.next('count ')) >= share) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // Redis subscriptions settle
    const publisher = servers[0]!;
    for (const server of servers) server.send('mark');
    const started = performance.now();
    publisher.send(`burst ${BURST}`);
    await until(() => clients.deliveries >= BURST * SUBSCRIBERS, 'the burst', 300_000);
    const perSecond = (BURST * SUBSCRIBERS) / ((performance.now() - started) / 1000);
    let cpu = 0;
    for (const server of servers) {
      server.send('cpu');
      cpu += Number(await server.next('cpu '));
    }
    const perCpuSecond = (BURST * SUBSCRIBERS) / (cpu / 1e6);
    clients.deliveries = 0;
    clients.latencies = [];
    publisher.send(`rate ${RATE.count} ${RATE.ms}`);
    await until(() => clients.deliveries >= RATE.count * SUBSCRIBERS, 'the paced run');
    const sorted = clients.latencies.sort((a, b) => a - b);
    return { perSecond, perCpuSecond, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  } finally {
    clients.close();
    for (const server of servers) server.child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const rows: Array<{ scenario: string; server: string; runs: Measured[] }> = [];
  const plan = [
    { scenario: 'fan-out local', servers: { prise: ['prise'], 'ws-loop': ['ws-loop'], 'socket.io': ['socketio'] } },
    { scenario: 'fan-out 2 processes + Redis', servers: { prise: ['prise-redis', 'prise-redis'], 'socket.io': ['socketio-redis', 'socketio-redis'] } },
  ];
  try {
    for (const { scenario, servers } of plan) {
      const entries = Object.entries(servers).map(([server, kinds]) => ({ scenario, server, kinds, runs: [] as Measured[] }));
      for (let rep = 0; rep < REPS; rep++) {
        for (const entry of entries) {
          const result = await measure(entry.kinds, scenario.includes('Redis') ? redis : null);
          entry.runs.push(result);
          console.error(`${scenario} ${entry.server}: ${Math.round(result.perSecond)} deliveries/s, ${Math.round(result.perCpuSecond)} per server CPU-s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
        }
      }
      rows.push(...entries);
    }
  } finally {
    await redis.stop();
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  };
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`\n${SUBSCRIBERS.toLocaleString('en-US')} subscribers, bursts of ${BURST}, ${RATE.count} paced messages, ${REPS} rep(s), median shown${pin ? '' : ', unpinned'}\n`);
  console.log('| scenario | server | deliveries/s | × socket.io | per server CPU-s | × socket.io | p50 ms | p99 ms |');
  console.log('|---|---|--:|--:|--:|--:|--:|--:|');
  for (const row of rows) {
    const base = rows.find((r) => r.scenario === row.scenario && r.server === 'socket.io')!;
    const perSecond = median(row.runs.map((r) => r.perSecond));
    const ratio = perSecond / median(base.runs.map((r) => r.perSecond));
    const perCpu = median(row.runs.map((r) => r.perCpuSecond));
    const cpuRatio = perCpu / median(base.runs.map((r) => r.perCpuSecond));
    const p50 = median(row.runs.map((r) => r.p50));
    const p99 = median(row.runs.map((r) => r.p99));
    console.log(`| ${row.scenario} | ${row.server} | ${fmt(perSecond)} | ${ratio.toFixed(2)}× | ${fmt(perCpu)} | ${cpuRatio.toFixed(2)}× | ${p50.toFixed(1)} | ${p99.toFixed(1)} |`);
  }
}

// Pin ourselves to CPU 1 by running again under taskset (with the open-file limit raised).
if (pin && process.env.TOPICS_BENCH_PINNED === undefined) {
  const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  const args = ['-c', script, 'bench', 'taskset', '-c', '1', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawn('sh', args, { stdio: 'inherit', env: { ...process.env, TOPICS_BENCH_PINNED: '1' } });
  child.once('exit', (code) => process.exit(code ?? 1));
} else {
  await main();
}
