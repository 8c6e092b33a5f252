// A handler that awaited its websocket promise hung the request forever, past handshakeTimeout, and nothing was logged.
import { createServer } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attach, start } from 'prise-ws';
import { captureConsoleError } from '../helpers/console.js';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { listen, startServer, withServer, type TestServer } from '../helpers/server.js';

const test = suite('regression: await websocket inside the handler');

async function check(server: TestServer, errors: unknown[]): Promise<void> {
  const client = await RawClient.connect(server.port);
  client.handshake();
  const response = await withTimeout(client.readResponse(), 3000, 'an answer instead of a hang');
  assert.is(response.status, 500);
  await client.closed;
  assert.is(errors.length, 1);
  assert.match(String(errors[0]), /called start\(\).*awaited the websocket promise/s);
}

test('serve(): a 500 and a log line after handshakeTimeout', async () => {
  const errors: unknown[] = [];
  const server = startServer(
    async (request) => {
      const { response, websocket } = start(request, null);
      await websocket; // the mistake
      return response;
    },
    { handshakeTimeout: 200, onError: (error) => errors.push(error) },
  );
  await withServer(server, (s) => check(s, errors));
});

test('attach(): the same, with its own handshakeTimeout; the default hook logs it', async () => {
  const app = createServer((_request, response) => response.end());
  attach(
    app,
    async (request) => {
      const { response, websocket } = start(request, null);
      await websocket;
      return response;
    },
    { handshakeTimeout: 200 },
  );
  const logged = captureConsoleError();
  const errors: unknown[] = [];
  try {
    await withServer(listen(app), async (s) => {
      const client = await RawClient.connect(s.port);
      client.handshake();
      assert.is((await withTimeout(client.readResponse(), 3000, 'an answer')).status, 500);
      errors.push(logged.text());
    });
  } finally {
    logged.restore();
  }
  assert.match(String(errors[0]), /awaited the websocket promise/);
});

test('a slow handler that did not call start() yet is left alone', async () => {
  await withServer(
    startServer(
      async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        return start(request, null).response;
      },
      { handshakeTimeout: 200 },
    ),
    async ({ port }) => {
      const client = await RawClient.open(port);
      client.destroy();
    },
  );
});

test.run();
