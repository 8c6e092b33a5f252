// WebSockets over HTTP/2 against HTTP/1.1 on the same prise server (serve({ http2: true, tls }),
// one port, both versions), for the README:
// - echo: one WebSocket, 16 messages in flight, 1 KiB and 64 KiB, messages per second;
// - memory: the server's heap + external per idle WebSocket, 1,000 sharing one HTTP/2
//   connection against 1,000 TLS connections (HTTP/1.1 upgrades).
// The server runs in a child process (this file with `server`), pinned to CPU 0 when taskset
// exists, the clients (our connect()) here on CPU 1. Transports take turns within each size.
// Bounded in count and time; only the children started here are stopped, by their handles.
//
//   npm run build && node dist/test/bench/http2.js [--quick]

import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, openSession, serve, start, type Websocket } from 'prise-ws';
import { selfSignedCertificate } from '../helpers/tls-cert.js';

type FromChild = { type: 'listening'; port: number } | { type: 'usage'; usage: NodeJS.MemoryUsage };

if (process.argv[2] === 'server') await runServer();
else await runParent();

async function runServer(): Promise<void> {
  const server = await serve(
    (request) => {
      const { response, websocket } = start(request, null, { pingInterval: 0 });
      void websocket.then((ws) => ws.pipe(ws));
      return response;
    },
    // The parent's certificate, so its clients can trust it.
    { http2: true, tls: { key: process.env['BENCH_TLS_KEY']!, cert: process.env['BENCH_TLS_CERT']! }, port: 0 },
  );
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'usage') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    process.send!({ type: 'usage', usage: process.memoryUsage() } satisfies FromChild);
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'listening', port: (server.address() as { port: number }).port } satisfies FromChild);
}

async function runParent(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const pin = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  if (pin) spawnSync('taskset', ['-pc', '1', String(process.pid)]);
  const seconds = values.quick ? 1 : 2;
  const reps = values.quick ? 1 : 3;
  const cert = selfSignedCertificate();
  const tls = { ca: cert.cert };

  console.log(`echo, one WebSocket, 16 in flight, ${seconds} s each, ${reps} turns (messages/s, median):`);
  const child = await startChild(pin);
  try {
    for (const size of [1024, 64 * 1024]) {
      const rates: Record<'http/1.1' | 'h2', number[]> = { 'http/1.1': [], h2: [] };
      for (let rep = 0; rep < reps; rep++) {
        for (const transport of ['http/1.1', 'h2'] as const) {
          const url = `wss://127.0.0.1:${child.port}/`;
          const ws = await connect(url, transport === 'h2' ? { http2: 'require', tls } : { tls });
          rates[transport].push(await echoRate(ws, size, seconds));
          ws.close();
          await ws.closeInfo;
        }
      }
      const h1 = median(rates['http/1.1']);
      const h2 = median(rates.h2);
      console.log(`  ${size / 1024} KiB: http/1.1 ${Math.round(h1)}, h2 ${Math.round(h2)} (h2/http1.1 ${(h2 / h1).toFixed(2)})`);
    }
  } finally {
    child.process.kill();
  }

  const count = values.quick ? 300 : 1000;
  console.log(`memory of the server per idle WebSocket, ${count} open (heapUsed + external, after gc):`);
  for (const transport of ['http/1.1', 'h2'] as const) {
    const server = await startChild(pin);
    try {
      const before = await usage(server.process);
      const url = `wss://127.0.0.1:${server.port}/`;
      const session = transport === 'h2' ? await openSession(url, { tls }) : null;
      const open: Websocket[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = Array.from({ length: Math.min(50, count - i) }, () => connect(url, session === null ? { tls, pingInterval: 0 } : { session, pingInterval: 0 }));
        open.push(...(await Promise.all(batch)));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const after = await usage(server.process);
      const perSocket = (after.heapUsed + after.external - before.heapUsed - before.external) / count;
      const rss = (after.rss - before.rss) / count;
      console.log(`  ${transport === 'h2' ? `${count} on one h2 connection` : `${count} tls connections`}: ${(perSocket / 1024).toFixed(1)} KiB (rss ${(rss / 1024).toFixed(1)} KiB)`);
      for (const ws of open) ws.destroy();
      session?.destroy();
    } finally {
      server.process.kill();
    }
  }
}

async function startChild(pin: boolean): Promise<{ process: ChildProcess; port: number }> {
  const file = fileURLToPath(import.meta.url);
  const { key, cert } = selfSignedCertificate();
  const env = { ...process.env, BENCH_TLS_KEY: key, BENCH_TLS_CERT: cert };
  const child = fork(file, ['server'], { env, execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (pin && child.pid !== undefined) spawnSync('taskset', ['-pc', '0', String(child.pid)]);
  const timer = setTimeout(() => child.kill(), 30_000);
  const [message] = (await once(child, 'message')) as [FromChild];
  clearTimeout(timer);
  if (message.type !== 'listening') throw new Error('server child did not start');
  return { process: child, port: message.port };
}

async function usage(child: ChildProcess): Promise<NodeJS.MemoryUsage> {
  child.send({ type: 'usage' });
  const [message] = (await once(child, 'message')) as [FromChild];
  if (message.type !== 'usage') throw new Error('unexpected message');
  return message.usage;
}

/** Echo messages of `size` bytes with 16 in flight for `seconds`; returns messages per second. */
async function echoRate(ws: Websocket, size: number, seconds: number): Promise<number> {
  const payload = Buffer.alloc(size, 0x61);
  let received = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    ws.on('data', () => {
      received++;
      if (Date.now() < deadline) ws.write(payload);
      else if (--inFlight === 0) resolve();
    });
    let inFlight = 16;
    for (let i = 0; i < 16; i++) ws.write(payload);
  });
  ws.removeAllListeners('data');
  return received / ((Date.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
