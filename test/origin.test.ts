// The Origin allow-list of start() and accept(): the pure check, and over a real socket with a ws
// client sending an Origin as a browser would.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { accept, start, WebsocketError, type Origins } from 'prise-ws';
import { checkOrigin, checkOrigins, MAX_ORIGIN_LENGTH, originAllowed } from '../src/protocol/origin.js';
import { withTimeout } from './helpers/deadline.js';
import { startServer, withServer } from './helpers/server.js';

const pure = suite('origin: the check');

const LIST: Origins = ['https://example.com', /^https:\/\/[a-z0-9-]+\.example\.com$/];

pure('a list: exact origins (case-insensitive) and patterns', () => {
  assert.ok(originAllowed('https://example.com', LIST));
  assert.ok(originAllowed('HTTPS://EXAMPLE.COM', LIST));
  assert.ok(originAllowed('https://chat.example.com', LIST));
  assert.not.ok(originAllowed('https://evil.com', LIST));
  assert.not.ok(originAllowed('https://example.com.evil.com', LIST));
  assert.not.ok(originAllowed('http://example.com', LIST));
  assert.not.ok(originAllowed('null', LIST));
  assert.ok(originAllowed('null', ['null']));
  assert.not.ok(originAllowed('https://' + 'a'.repeat(MAX_ORIGIN_LENGTH) + '.example.com', LIST), 'too long to be an origin');
});

pure('a list allows requests without Origin (not from a browser); a function decides', () => {
  assert.ok(originAllowed(undefined, LIST));
  const seen: Array<string | undefined> = [];
  const rule = (origin: string | undefined): boolean => (seen.push(origin), origin !== undefined);
  assert.not.ok(originAllowed(undefined, rule));
  assert.ok(originAllowed('https://a.test', rule));
  assert.equal(seen, [undefined, 'https://a.test']);
});

pure('a global RegExp does not carry state from one request to the next', () => {
  const list = [/^https:\/\/a\.test$/g];
  for (let i = 0; i < 3; i++) assert.ok(originAllowed('https://a.test', list));
});

pure('the refusal is a 403 WebsocketError of kind forbidden-origin', () => {
  let error: unknown;
  try {
    checkOrigin({ headers: { origin: 'https://evil.com' } }, LIST);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof WebsocketError);
  assert.is(error.kind, 'forbidden-origin');
  assert.is(error.code, 'ERR_WS_FORBIDDEN_ORIGIN');
  assert.is(error.response.status, 403);
  checkOrigin({ headers: {} }, LIST);
});

pure('an origins option that cannot work is a TypeError at the call', () => {
  for (const bad of ['https://example.com', ['https://example.com/'], ['example.com'], [42], null]) {
    assert.throws(() => checkOrigins(bad), TypeError, JSON.stringify(bad));
  }
  checkOrigins(['null', 'http://127.0.0.1:8080', /x/]);
  checkOrigins(() => true);
});

const socket = suite('origin: over a socket');

async function attempt(port: number, origin: string | undefined): Promise<number> {
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, origin === undefined ? {} : { origin });
  const status = new Promise<number>((resolve) => {
    client.on('open', () => resolve(101));
    client.on('unexpected-response', (_request, response: IncomingMessage) => resolve(response.statusCode ?? 0));
  });
  client.on('error', () => {});
  const result = await withTimeout(status, 2000, 'the handshake');
  client.terminate();
  return result;
}

for (const [name, answer] of [
  ['start()', (request: IncomingMessage) => start(request, null, { origins: LIST }).response],
  ['accept()', (request: IncomingMessage) => accept(request, null, (ws) => ws.pipe(ws), { origins: LIST })],
] as const) {
  socket(`${name}: an allowed Origin upgrades, another gets 403, none upgrades`, async () => {
    await withServer(startServer(answer), async ({ port }) => {
      assert.is(await attempt(port, 'https://example.com'), 101);
      assert.is(await attempt(port, 'https://chat.example.com'), 101);
      assert.is(await attempt(port, 'https://evil.com'), 403);
      assert.is(await attempt(port, undefined), 101);
    });
  });
}

socket('the 403 says why', async () => {
  await withServer(startServer((request) => start(request, null, { origins: LIST }).response), async ({ port }) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { origin: 'https://evil.com' });
    client.on('error', () => {});
    const [, response] = (await withTimeout(once(client, 'unexpected-response'), 2000, '403')) as [unknown, IncomingMessage];
    let body = '';
    for await (const chunk of response) body += String(chunk);
    assert.is(body, 'origin https://evil.com is not allowed\n');
    client.terminate();
  });
});

pure.run();
socket.run();
