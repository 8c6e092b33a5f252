// Chromium's own WebSocket over HTTP/2 (RFC 8441). The page is loaded over HTTPS from
// serve({ http2: true, tls }) with a throwaway certificate (--ignore-certificate-errors), so
// Chromium holds an h2 connection to the origin; its `new WebSocket('wss://…')` then goes as an
// extended CONNECT on that connection. The server records the httpVersion of each request: the
// proof that the WebSocket came over HTTP/2.
//
// Run with `npm run test:browser`. Skipped when Chromium is missing.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import { serve, shutdown, start, type CloseInfo, type Http2Handler } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { selfSignedCertificate } from '../helpers/tls-cert.js';
import { Cdp } from './cdp.js';
import { CHROMIUM, chromiumAvailable, launchChromium } from './chromium.js';

const DEADLINE = 60_000;

const PAGE = `<!doctype html><meta charset="utf-8"><title>h2</title><script>
window.run = async function () {
  const ws = new WebSocket('wss://' + location.host + '/ws');
  ws.binaryType = 'arraybuffer';
  const queue = [], waiting = [];
  ws.onmessage = (event) => { const w = waiting.shift(); if (w) w(event.data); else queue.push(event.data); };
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r));
  const closed = new Promise((r) => { ws.onclose = (e) => r({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('websocket failed')); });
  ws.send('hello over h2 ✓');
  const text = await next();
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  ws.send(big);
  const back = new Uint8Array(await next());
  let same = back.length === big.length;
  for (let i = 0; same && i < big.length; i++) same = back[i] === big[i];
  ws.close(4000, 'bye');
  return { text, binary: back.length, same, close: await closed, extensions: ws.extensions };
};
</script>`;

interface Record {
  readonly path: string;
  readonly httpVersion: string;
  readonly method: string;
  readonly headers: Readonly<{ [name: string]: string | string[] | undefined }>;
  closeInfo?: Promise<CloseInfo>;
}

const test = suite('browser: websockets over http/2');
const available = chromiumAvailable();
const it = available ? test : test.skip;
if (!available) console.log(`\n  browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)\n`);

it('Chromium opens wss: over RFC 8441 on the page\'s h2 connection and echoes text and 1 MiB', async () => {
  const records: Record[] = [];
  const handler: Http2Handler = (request) => {
    const record: Record = { path: request.url ?? '', httpVersion: request.httpVersion, method: request.method ?? '', headers: request.headers };
    records.push(record);
    if (request.url === '/') return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: PAGE };
    if (request.url !== '/ws') return { status: 404, body: 'not found\n' };
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => {
      record.closeInfo = ws.closeInfo;
      ws.pipe(ws);
    });
    return response;
  };
  const server = await serve(handler, { http2: true, tls: selfSignedCertificate(), port: 0 });
  const browser = await launchChromium(30_000, ['--ignore-certificate-errors']);
  try {
    const cdp = await withTimeout(Cdp.open(browser.devtoolsUrl), DEADLINE, 'devtools');
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await cdp.send('Page.enable', {}, sessionId);
    const loaded = cdp.event('Page.loadEventFired', sessionId);
    await cdp.send('Page.navigate', { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/` }, sessionId);
    await withTimeout(loaded, DEADLINE, 'page load');
    const reply = await withTimeout(
      cdp.send('Runtime.evaluate', { expression: 'window.run()', awaitPromise: true, returnByValue: true }, sessionId),
      DEADLINE,
      'the page',
    );
    const details = reply['exceptionDetails'] as { exception?: { description?: string } } | undefined;
    if (details !== undefined) throw new Error(`the page threw: ${details.exception?.description}`);
    const result = (reply['result'] as { value: { text: string; binary: number; same: boolean; close: unknown } }).value;
    assert.is(result.text, 'hello over h2 ✓');
    assert.is(result.binary, 1 << 20);
    assert.ok(result.same, '1 MiB came back unchanged');
    const close = result.close as { code: number; wasClean: boolean };
    assert.equal([close.code, close.wasClean], [4000, true]);
    const page = records.find((r) => r.path === '/')!;
    assert.is(page.httpVersion, '2.0', 'the page came over h2');
    const socket = records.find((r) => r.path === '/ws')!;
    // The server's record: an extended CONNECT over HTTP/2, with no Sec-WebSocket-Key.
    assert.is(socket.httpVersion, '2.0');
    assert.is(socket.method, 'CONNECT');
    assert.is(socket.headers[':protocol'], 'websocket');
    assert.is(socket.headers['sec-websocket-key'], undefined);
    const info = await withTimeout(socket.closeInfo!, DEADLINE, 'server closeInfo');
    assert.equal(info, { code: 4000, reason: 'bye', wasClean: true });
    await withTimeout(cdp.send('Browser.close'), 5000, 'Browser.close').catch(() => {});
  } finally {
    await browser.stop();
    await shutdown(server, { timeout: 1000 });
  }
});

test.run();
