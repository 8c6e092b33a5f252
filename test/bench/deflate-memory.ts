// Memory per connection with permessage-deflate, for the README. A prise echo server runs in a
// child process (this same file, started with `server <scenario>`); this process opens N `ws`
// clients to it, has each exchange one message, and asks the child for process.memoryUsage()
// after a forced GC: once listening, once with the N connections open, once after the exchange.
// Not part of `npm test`; run by hand:
//
//   npm run build && node dist/test/bench/deflate-memory.js            # 1000 connections
//   node dist/test/bench/deflate-memory.js --connections 2000 --only takeover
//
// Scenarios: `plain` (no deflate), `default` (deflate: true, i.e. no context takeover either
// way: zlib streams come from a shared pool), `takeover` (context takeover both ways: each
// connection keeps its own deflate and inflate streams, window 15, memLevel 8), and `takeover-small`
// (the same with 10-bit windows and memLevel 4). The message is 4 KiB of compressible text, over
// the default 1 KiB threshold, so it goes compressed both ways whenever deflate was agreed.
// Only the child started here is stopped, by its handle; everything is bounded in count and time.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { serve, start, type StartOptions } from 'prise-ws';

const SCENARIOS: Record<string, { server: NonNullable<StartOptions['deflate']>; client: boolean }> = {
  plain: { server: false, client: false },
  default: { server: true, client: true },
  takeover: { server: { serverNoContextTakeover: false, clientNoContextTakeover: false }, client: true },
  'takeover-small': {
    server: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 },
    client: true,
  },
};

type Usage = NodeJS.MemoryUsage;
type FromChild = { type: 'listening'; port: number } | { type: 'usage'; usage: Usage; connections: number };

if (process.argv[2] === 'server') await runServer(process.argv[3]!);
else await runParent();

// ---------------------------------------------------------------------------------------------
// The child: an echo server that reports its memory when asked.

async function runServer(name: string): Promise<void> {
  const scenario = SCENARIOS[name]!;
  let connections = 0;
  const server = await serve(
    (request) => {
      const { response, websocket } = start(request, null, { deflate: scenario.server, pingInterval: 0 });
      void websocket.then((ws) => {
        connections++;
        ws.pipe(ws);
        void ws.closeInfo.then(() => connections--);
      });
      return response;
    },
    { port: 0, host: '127.0.0.1' },
  );
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'usage') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    // Twice, with a turn of the event loop between: zlib handles are freed by their finalizers.
    gc?.();
    setImmediate(() => {
      gc?.();
      process.send!({ type: 'usage', usage: process.memoryUsage(), connections } satisfies FromChild);
    });
  });
  process.on('disconnect', () => {
    server.close();
    process.exit(0);
  });
  process.send!({ type: 'listening', port: (server.address() as { port: number }).port } satisfies FromChild);
}

// ---------------------------------------------------------------------------------------------
// The parent: clients, measurements, the table.

async function runParent(): Promise<void> {
  const { values } = parseArgs({ options: { connections: { type: 'string', default: '1000' }, only: { type: 'string' } } });
  const count = Number(values.connections);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('--connections wants 1 to 10000');
  const names = values.only === undefined ? Object.keys(SCENARIOS) : values.only.split(',');
  const rows: string[] = [];
  for (const name of names) {
    if (SCENARIOS[name] === undefined) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    rows.push(await measure(name, count));
  }
  console.log(`\n${count} connections, node ${process.version}; per connection = (with connections - listening) / ${count}, after GC\n`);
  console.log('| scenario | stage | rss | heapUsed | external | arrayBuffers | per connection: rss / heap / external |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

async function measure(name: string, count: number): Promise<string> {
  const scenario = SCENARIOS[name]!;
  const child = fork(fileURLToPath(import.meta.url), ['server', name], { execArgv: ['--expose-gc'], stdio: 'inherit' });
  const clients: WebSocket[] = [];
  const deadline = setTimeout(() => {
    console.error(`deflate-memory: ${name} took over 120 s, giving up`);
    child.kill();
    process.exit(1);
  }, 120_000);
  try {
    const port = (await reply(child, 'listening')).port;
    const idle = (await askUsage(child)).usage;
    // Connect in batches so the listen backlog never overflows.
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, () => open(port, scenario.client));
      clients.push(...(await Promise.all(batch)));
    }
    const agreed = clients.filter((client) => client.extensions !== '').length;
    const connected = await askUsage(child);
    const message = text(4096);
    await Promise.all(
      clients.map(async (client) => {
        const echoed = once(client, 'message');
        client.send(message);
        const [data] = (await echoed) as [Buffer];
        if (data.toString() !== message) throw new Error('echo differs');
      }),
    );
    const exchanged = await askUsage(child);
    if (connected.connections !== count) throw new Error(`server counts ${connected.connections} connections`);
    const label = `${name} (${agreed}/${count} agreed deflate)`;
    return [
      row(label, 'listening', idle),
      row(label, `${count} open`, connected.usage, idle, count),
      row(label, 'after one message each way', exchanged.usage, idle, count),
    ].join('\n');
  } finally {
    clearTimeout(deadline);
    for (const client of clients) client.terminate();
    child.disconnect();
    await once(child, 'exit');
  }
}

function open(port: number, perMessageDeflate: boolean): Promise<WebSocket> {
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate });
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve(client));
    client.once('error', reject);
  });
}

function askUsage(child: ChildProcess): Promise<{ usage: Usage; connections: number }> {
  const answer = reply(child, 'usage');
  child.send({ type: 'usage' });
  return answer;
}

function reply<T extends FromChild['type']>(child: ChildProcess, type: T): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromChild): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<FromChild, { type: T }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`server exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function row(label: string, stage: string, usage: Usage, base?: Usage, count = 1): string {
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  const per =
    base === undefined
      ? ''
      : [usage.rss - base.rss, usage.heapUsed - base.heapUsed, usage.external - base.external].map((d) => kb(d / count)).join(' / ');
  return `| ${label} | ${stage} | ${mb(usage.rss)} | ${mb(usage.heapUsed)} | ${mb(usage.external)} | ${mb(usage.arrayBuffers)} | ${per} |`;
}

function text(length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += `{"id":${i},"name":"user ${(i * 7919) % 997}","score":${(i * 104729) % 1000}}\n`;
  return out.slice(0, length);
}
