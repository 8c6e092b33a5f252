// Runs each example as a user would (node dist/examples/<name>.js with PORT=0), reads the
// address it logs, and talks to it. Each child is killed by its PID when its test ends.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { connect } from 'prise-ws';
import { redisAvailable, startRedis } from './helpers/redis-server.js';
import { selfSignedCertificate } from './helpers/tls-cert.js';

const DEADLINE = 10_000;
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

interface Running {
  child: ChildProcess;
  /** The first URL the example logged. */
  url: string;
  output: () => string;
}

async function run(name: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [examples + name + '.js'], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If this test process dies first (a crash, an early exit), its examples go with it.
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await deadline(
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const match = /(?:wss|ws|https|http):\/\/127\.0\.0\.1:\d+\/[^\s,]*/.exec(output);
        if (match !== null) resolve(match[0]);
      });
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${output}`)));
    }),
    `${name} to log its address`,
  );
  return { child, url, output: () => output };
}

function stop(running: Running): void {
  if (running.child.exitCode === null) running.child.kill('SIGTERM');
}

function deadline<T>(promise: Promise<T>, what: string, ms = DEADLINE): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Opens a ws client, sends `messages`, and collects `count` replies. */
async function exchange(url: string, protocols: string[], messages: (string | Buffer)[], count: number) {
  const client = new WebSocket(url, protocols);
  const replies: { data: string | Buffer; binary: boolean }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    client.on('message', (data: Buffer, binary) => {
      replies.push({ data: binary ? data : data.toString(), binary });
      if (replies.length === count) resolve();
    });
    client.on('error', reject);
  });
  done.catch(() => {}); // awaited below; an early failure shows up at the 'open' wait
  await deadline(once(client, 'open'), 'open');
  for (const message of messages) client.send(message);
  await deadline(done, 'replies');
  const closed = once(client, 'close');
  client.close(1000, 'done');
  const [code] = await deadline(closed, 'close');
  return { client, replies, protocol: client.protocol, closeCode: code as number };
}

const examplesSuite = suite('examples');

examplesSuite('echo: text and binary come back as sent', async () => {
  const echo = await run('echo');
  try {
    const { replies, closeCode } = await exchange(echo.url, [], ['hi ✓', Buffer.from([1, 2, 3])], 2);
    assert.equal(replies, [
      { data: 'hi ✓', binary: false },
      { data: Buffer.from([1, 2, 3]), binary: true },
    ]);
    assert.is(closeCode, 1000);
  } finally {
    stop(echo);
  }
});

examplesSuite('demo: serves the chat page; /ws with subprotocol chat welcomes, announces and relays', async () => {
  const demo = await run('demo');
  try {
    const page = await deadline(fetch(demo.url).then((response) => response.text()), 'page');
    assert.match(page, 'new WebSocket');
    const base = demo.url.replace('http://', 'ws://');
    const say = JSON.stringify({ type: 'say', text: 'hello' });
    const { replies, protocol } = await exchange(base + 'ws?room=t&name=ann', ['other', 'chat'], [say], 3);
    assert.is(protocol, 'chat');
    const messages = replies.map((reply) => JSON.parse(String(reply.data)) as { type: string; name: string; text?: string });
    assert.equal(messages.map((m) => [m.type, m.name, m.text]), [
      ['welcome', 'ann', undefined],
      ['join', 'ann', undefined],
      ['say', 'ann', 'hello'],
    ]);
  } finally {
    stop(demo);
  }
});

examplesSuite('subprotocols: picks the best offered, refuses clients offering none', async () => {
  const server = await run('subprotocols');
  try {
    const v2 = await exchange(server.url, ['chat.v1', 'chat.v2'], ['a'], 1);
    assert.is(v2.protocol, 'chat.v2');
    assert.equal(v2.replies, [{ data: '{"echo":"a"}', binary: false }]);
    const v1 = await exchange(server.url, ['chat.v1'], ['b'], 1);
    assert.equal(v1.replies, [{ data: 'echo: b', binary: false }]);
    const refused = new WebSocket(server.url, ['irc']);
    refused.on('error', () => {});
    const [, response] = await deadline(once(refused, 'unexpected-response'), 'refusal');
    assert.is((response as { statusCode: number }).statusCode, 400);
    (response as { destroy(): void }).destroy();
  } finally {
    stop(server);
  }
});

examplesSuite('pipeline: text is upper-cased, binary passes through', async () => {
  const server = await run('pipeline');
  try {
    const { replies } = await exchange(server.url, [], ['quiet', Buffer.from('raw')], 2);
    assert.equal(replies, [
      { data: 'QUIET', binary: false },
      { data: Buffer.from('raw'), binary: true },
    ]);
  } finally {
    stop(server);
  }
});

examplesSuite('attach: plain http stays the app, /live is a websocket', async () => {
  const app = await run('attach');
  try {
    const text = await deadline(fetch(app.url).then((response) => response.text()), 'plain response');
    assert.is(text, 'plain http, served by the app\n');
    const live = app.url.replace('http://', 'ws://') + 'live';
    const { replies } = await exchange(live, [], ['ping?'], 2);
    assert.equal(replies, [
      { data: 'welcome', binary: false },
      { data: 'ping?', binary: false },
    ]);
  } finally {
    stop(app);
  }
});

examplesSuite('client: connects, sends, reads both echoes, closes with 1000', async () => {
  const echo = await run('echo');
  try {
    const client = await run('client', { URL: echo.url });
    const exited = await deadline(once(client.child, 'exit'), 'the client to finish');
    assert.is(exited[0], 0, client.output());
    assert.match(client.output(), 'received "hello"');
    assert.match(client.output(), 'received <Buffer 01 02 03>');
    assert.match(client.output(), 'closed with 1000');
  } finally {
    stop(echo);
  }
});

examplesSuite('wss-echo: serves wss:// with the given key and certificate', async () => {
  const { key, cert } = selfSignedCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'prise-example-'));
  writeFileSync(join(dir, 'key.pem'), key);
  writeFileSync(join(dir, 'cert.pem'), cert);
  try {
    const server = await run('wss-echo', { TLS_KEY: dir + '/key.pem', TLS_CERT: dir + '/cert.pem' });
    try {
      assert.match(server.url, 'wss://');
      const client = new WebSocket(server.url, { ca: cert });
      client.on('error', () => {});
      await deadline(once(client, 'open'), 'tls open');
      client.send('secret');
      const [reply] = await deadline(once(client, 'message'), 'tls echo');
      assert.is(String(reply), 'secret');
      client.close();
      await deadline(once(client, 'close'), 'tls close');
    } finally {
      stop(server);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

examplesSuite('http2-echo: echoes over an HTTP/2 extended CONNECT and over an HTTP/1.1 upgrade', async () => {
  const { key, cert } = selfSignedCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'prise-example-'));
  writeFileSync(join(dir, 'key.pem'), key);
  writeFileSync(join(dir, 'cert.pem'), cert);
  try {
    const server = await run('http2-echo', { TLS_KEY: dir + '/key.pem', TLS_CERT: dir + '/cert.pem' });
    try {
      for (const http2 of ['require', false] as const) {
        const ws = await deadline(connect(server.url, { http2, tls: { ca: cert } }), `connect (http2: ${http2})`);
        ws.write('both ways');
        const [reply] = await deadline(once(ws, 'data'), 'echo');
        assert.is(reply, 'both ways');
        ws.close();
        await deadline(ws.closeInfo, 'close');
      }
    } finally {
      stop(server);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const framework of ['express', 'fastify', 'hono']) {
  examplesSuite(`${framework}: the framework's route and a prise websocket on one port`, async () => {
    const app = await run(framework);
    try {
      const text = await deadline(fetch(app.url).then((response) => response.text()), 'plain response');
      assert.is(text, `hello from ${framework}\n`);
      const live = app.url.replace('http://', 'ws://') + 'live';
      const { replies, closeCode } = await exchange(live, [], ['hi', Buffer.from([7])], 2);
      assert.equal(replies, [
        { data: 'hi', binary: false },
        { data: Buffer.from([7]), binary: true },
      ]);
      assert.is(closeCode, 1000);
      // Upgrades for other paths are not prise's: with nobody else listening, a 404.
      const other = new WebSocket(app.url.replace('http://', 'ws://') + 'other');
      other.on('error', () => {});
      const [, response] = await deadline(once(other, 'unexpected-response'), 'refusal');
      assert.is((response as { statusCode: number }).statusCode, 404);
      (response as { destroy(): void }).destroy();
    } finally {
      stop(app);
    }
  });
}

examplesSuite('auth: 401 without credentials; a signed cookie or an auth.<token> subprotocol gets in', async () => {
  const server = await run('auth');
  try {
    const login = await deadline(fetch(server.url + 'login?user=ada'), 'login');
    const token = (await login.text()).trim();
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, `session=${token}`);
    const base = server.url.replace('http://', 'ws://');
    const status = async (url: string, options: WebSocket.ClientOptions, protocols: string[] = []): Promise<number> => {
      const client = new WebSocket(url, protocols, options);
      client.on('error', () => {});
      const [, response] = await deadline(once(client, 'unexpected-response'), 'refusal');
      (response as { destroy(): void }).destroy();
      return (response as { statusCode: number }).statusCode;
    };
    assert.is(await status(base + 'chat', {}), 401);
    assert.is(await status(base + 'chat', { headers: { Cookie: `session=${token}x` } }), 401);
    assert.is(await status(base + 'feed', {}, ['chat', 'auth.ada.forged']), 401);
    const chat = new WebSocket(base + 'chat', { headers: { Cookie: `session=${token}` } });
    const [hello] = await deadline(once(chat, 'message'), 'hello');
    assert.is(String(hello), 'hello ada');
    chat.send('hi');
    const [said] = await deadline(once(chat, 'message'), 'echo');
    assert.is(String(said), 'ada: hi');
    chat.close();
    const feed = new WebSocket(base + 'feed', ['chat', `auth.${token}`]);
    const [feedHello] = await deadline(once(feed, 'message'), 'feed hello');
    assert.is(String(feedHello), 'hello ada');
    assert.is(feed.protocol, 'chat');
    feed.close();
  } finally {
    stop(server);
  }
});

examplesSuite('cluster: workers on one port share topics through Redis', async () => {
  if (!redisAvailable()) return console.log('  cluster example skipped: no redis-server');
  const redis = await startRedis();
  try {
    const app = await run('cluster', { REDIS_URL: redis.url, WORKERS: '2' });
    try {
      // Round-robin spreads these over both workers; each hears the other three, once.
      const clients = await Promise.all([0, 1, 2, 3].map(async () => {
        const client = new WebSocket(app.url);
        const heard: string[] = [];
        client.on('message', (data: Buffer) => heard.push(data.toString()));
        await deadline(once(client, 'open'), 'open');
        return { client, heard };
      }));
      await new Promise((resolve) => setTimeout(resolve, 300)); // every worker subscribed
      clients.forEach(({ client }, i) => client.send(`from ${i}`));
      await deadline(new Promise<void>((resolve) => {
        const check = setInterval(() => clients.every((c) => c.heard.length >= 3) && (clearInterval(check), resolve()), 10);
      }), 'every message');
      clients.forEach(({ heard }, i) => assert.equal(heard.sort(), [0, 1, 2, 3].filter((j) => j !== i).map((j) => `from ${j}`)));
      for (const { client } of clients) client.close();
    } finally {
      stop(app);
    }
  } finally {
    await redis.stop();
  }
});

examplesSuite.run();
