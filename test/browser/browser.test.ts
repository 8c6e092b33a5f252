// Chromium's own WebSocket against our server, driven over the DevTools protocol by our own
// client. The page and its socket endpoint are served by serve() on 127.0.0.1; the page runs
// each case (see page.ts) and the server side records what it saw. Chromium offers
// permessage-deflate: the cases run first with the server declining it (no extensions header),
// then again with the server accepting it (start()'s deflate option).
//
// Run with `npm run test:browser`. Skipped when Chromium is missing (apt-get install chromium).

import type { IncomingMessage } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requestedProtocols, start, type CloseInfo, type Handler, type Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { AsyncQueue, startServer, type TestServer } from '../helpers/server.js';
import { Cdp } from './cdp.js';
import { CHROMIUM, chromiumAvailable, launchChromium, type Chromium } from './chromium.js';
import { PAGE_HTML } from './page.js';

const DEADLINE = 60_000;
const SUPPORTED = ['chat.v2', 'chat.v1'];

/** What the server side saw of one case's connection. */
interface Seen {
  readonly request: IncomingMessage;
  readonly ws: Websocket;
  readonly closeInfo: Promise<CloseInfo>;
}

const seen = new Map<string, AsyncQueue<Seen>>();
function seenFor(name: string): AsyncQueue<Seen> {
  let queue = seen.get(name);
  if (queue === undefined) seen.set(name, (queue = new AsyncQueue()));
  return queue;
}

const handler: Handler = (request) => {
  const url = new URL(request.url ?? '/', 'http://x');
  if (url.pathname === '/') return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: PAGE_HTML };
  if (url.pathname !== '/ws') return { status: 404, body: 'not found\n' };
  const name = url.searchParams.get('case') ?? '';
  const chosen = SUPPORTED.find((protocol) => requestedProtocols(request).includes(protocol)) ?? null;
  const { response, websocket } = start(request, chosen, { deflate: url.searchParams.has('deflate') });
  void websocket.then((ws) => {
    seenFor(name).push({ request, ws, closeInfo: ws.closeInfo });
    if (name === 'server-close') {
      ws.resume();
      ws.close(4001, 'server says bye ✓');
    } else if (name === 'ping') {
      ws.resume();
      ws.once('pong', (data: Buffer) => ws.write(`pong: ${data.toString()}`));
      ws.ping('are you there?');
    } else {
      ws.pipe(ws);
    }
  });
  return response;
};

/** One browser, one server and one page for the whole suite, made on first use. */
interface Session {
  readonly browser: Chromium;
  readonly server: TestServer;
  readonly cdp: Cdp;
  readonly sessionId: string;
}

let session: Promise<Session> | null = null;
let browser: Chromium | null = null;
let server: TestServer | null = null;

function open(): Promise<Session> {
  session ??= (async () => {
    server = await startServer(handler);
    browser = await launchChromium();
    const cdp = await Cdp.open(browser.devtoolsUrl);
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await cdp.send('Page.enable', {}, sessionId);
    const loaded = cdp.event('Page.loadEventFired', sessionId);
    await cdp.send('Page.navigate', { url: `http://127.0.0.1:${server.port}/` }, sessionId);
    await loaded;
    return { browser, server, cdp, sessionId };
  })();
  return session;
}

/** Runs `window.cases[name]()` in the page and returns its result. */
async function runCase(name: string, deflate = false): Promise<unknown> {
  const { cdp, sessionId } = await withTimeout(open(), DEADLINE, 'starting chromium and the page');
  const expression = `window.deflate = ${deflate}; window.cases.${name}()`;
  const reply = await withTimeout(
    cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId),
    DEADLINE,
    `case ${name}`,
  );
  const details = reply['exceptionDetails'] as { text?: string; exception?: { description?: string } } | undefined;
  if (details !== undefined) throw new Error(`case ${name} threw in the page: ${details.exception?.description ?? details.text}`);
  return (reply['result'] as { value?: unknown }).value;
}

const test = suite('browser');
const available = chromiumAvailable();
const it = available ? test : test.skip;
if (!available) console.log(`\n  browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)\n`);

it('negotiates a subprotocol from several offered, without permessage-deflate', async () => {
  const result = (await runCase('negotiate')) as { protocol: string; extensions: string };
  assert.equal(result, { protocol: 'chat.v2', extensions: '' });
  const { request, closeInfo } = await seenFor('negotiate').shift();
  assert.is(request.headers['sec-websocket-protocol'], 'chat.v3, chat.v2, chat.v1');
  // Chromium asked for compression; the 101 said nothing, so both sides speak plain frames.
  assert.match(request.headers['sec-websocket-extensions'] ?? '', 'permessage-deflate');
  assert.is((await withTimeout(closeInfo, DEADLINE)).wasClean, true);
});

it('echoes text with 4-byte UTF-8 around every length boundary', async () => {
  const results = (await runCase('text')) as Array<{ bytes: number; ok: boolean }>;
  assert.is(results.length, 25);
  for (const { bytes, ok } of results) assert.ok(ok, `text of ${bytes} bytes came back changed`);
  assert.ok(results.some((r) => r.bytes === 65536) && results.some((r) => r.bytes === 1 << 20));
});

it('echoes binary up to 8 MiB', async () => {
  const results = (await runCase('binary')) as Array<{ size: number; received: number; ok: boolean }>;
  assert.equal(results.map((r) => r.size), [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 8 << 20]);
  for (const { size, received, ok } of results) assert.ok(ok, `binary of ${size} bytes came back as ${received} different bytes`);
});

it('1000 messages come back in order', async () => {
  assert.equal(await runCase('ordered'), { count: 1000, firstWrong: -1 });
});

it('a close from the browser: the server sees code 4000 and the reason', async () => {
  const browserSide = (await runCase('clientClose')) as { code: number; reason: string; wasClean: boolean };
  assert.is(browserSide.code, 4000);
  assert.is(browserSide.wasClean, true);
  const { closeInfo } = await seenFor('client-close').shift();
  assert.equal(await withTimeout(closeInfo, DEADLINE), { code: 4000, reason: 'bye from the browser 👋', wasClean: true });
});

it('a close from the server: the browser sees code 4001 and the reason', async () => {
  const browserSide = await runCase('serverClose');
  assert.equal(browserSide, { code: 4001, reason: 'server says bye ✓', wasClean: true });
});

it('the browser answers a ping from the server', async () => {
  assert.is(await runCase('ping'), 'pong: are you there?');
});

it('permessage-deflate accepted: negotiated, then text, binary up to 8 MiB and 1000 messages', async () => {
  const negotiated = (await runCase('negotiate', true)) as { protocol: string; extensions: string };
  assert.is(negotiated.protocol, 'chat.v2');
  assert.match(negotiated.extensions, /^permessage-deflate/);
  const { closeInfo } = await seenFor('negotiate').shift();
  assert.is((await withTimeout(closeInfo, DEADLINE)).wasClean, true);
  const texts = (await runCase('text', true)) as Array<{ bytes: number; ok: boolean }>;
  for (const { bytes, ok } of texts) assert.ok(ok, `compressed text of ${bytes} bytes came back changed`);
  const binaries = (await runCase('binary', true)) as Array<{ size: number; ok: boolean }>;
  for (const { size, ok } of binaries) assert.ok(ok, `compressed binary of ${size} bytes came back changed`);
  assert.equal(await runCase('ordered', true), { count: 1000, firstWrong: -1 });
  const closing = (await runCase('clientClose', true)) as { code: number; wasClean: boolean };
  assert.equal([closing.code, closing.wasClean], [4000, true]);
});

test.after(async () => {
  // The browser goes first: it holds connections the server would wait for.
  try {
    if (session !== null) {
      const { cdp } = await session.catch(() => ({ cdp: null }));
      if (cdp !== null) await withTimeout(cdp.send('Browser.close'), 5000, 'Browser.close').catch(() => {});
    }
  } finally {
    await browser?.stop();
    await server?.close();
  }
});

test.run();
