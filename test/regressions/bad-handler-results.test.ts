// Bad handler results crashed or misled: start(request, undefined) answered 500 ("Cannot read properties of undefined"), a body of { a: 1 } or null crashed the process, and returning undefined logged "reading 'status'".
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attach, requestedProtocols, start, type Handler } from 'prise-ws';
import { createServer, type IncomingMessage } from 'node:http';
import { captureConsoleError } from '../helpers/console.js';
import { httpGet } from '../helpers/http-get.js';
import { RawClient } from '../helpers/raw-client.js';
import { listen, startServer, withServer, type TestServer } from '../helpers/server.js';

const test = suite('regression: bad handler results');

/** What plain JavaScript may return; each path is a case. */
const handler = ((request: IncomingMessage) => {
  switch (request.url) {
    case '/object-body':
      return { status: 200, body: { a: 1 } };
    case '/null-body':
      return { status: 200, body: null };
    case '/nothing':
      return undefined;
    case '/number':
      return 42;
    case '/bad-status':
      return { status: 'ok' };
    default: {
      // A client that offers no subprotocol: [0] is undefined, which means none.
      const { response } = start(request, requestedProtocols(request)[0]);
      return response;
    }
  }
}) as unknown as Handler;

const cases: Array<[string, number, RegExp | null]> = [
  ['/object-body', 500, /body of type plain object/],
  ['/null-body', 200, null],
  ['/nothing', 500, /the handler returned no response/],
  ['/number', 500, /returned a number/],
  ['/bad-status', 500, /status "ok"/],
];

async function check(server: TestServer, plain: boolean): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const logged = captureConsoleError();
  try {
    for (const [path, status, says] of cases) {
      const before = logged.text().length;
      if (plain) {
        const result = await httpGet(server.port, path);
        assert.is(result.status, status, path);
        if (status === 200) assert.is(result.body.length, 0, 'null is an empty body');
      } else {
        const client = await RawClient.connect(server.port);
        client.handshake({ path });
        assert.is((await client.readResponse()).status, status, path);
        await client.readToEnd();
      }
      const log = logged.text().slice(before);
      if (says === null) assert.is(log, '', path);
      else {
        assert.match(log, says, path);
        assert.not.match(log, /reading 'status'|Cannot read properties/, path);
      }
    }
    if (!plain) {
      const client = await RawClient.open(server.port, { path: '/upgrade' });
      client.destroy();
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    logged.restore();
  }
  assert.equal(unhandled, []);
}

test('serve(): plain requests', async () => {
  await withServer(startServer(handler), (server) => check(server, true));
});

test('serve(): upgrade requests, and start(request, undefined) upgrades', async () => {
  await withServer(startServer(handler), (server) => check(server, false));
});

test('attach(): upgrade requests', async () => {
  const app = createServer((_request, response) => response.end());
  attach(app, handler);
  await withServer(listen(app), (server) => check(server, false));
});

test.run();
