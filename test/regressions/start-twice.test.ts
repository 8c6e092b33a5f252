// Calling start() twice for one request left a promise rejecting with "the request was answered with status 101, not upgraded", which contradicts itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { start, type Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, withServer } from '../helpers/server.js';

const test = suite('regression: start() twice says what happened');

test('the promise of the call whose response was not returned explains itself', async () => {
  let first: Promise<Websocket> | undefined;
  let second: Promise<Websocket> | undefined;
  await withServer(
    startServer((request) => {
      const a = start(request, null);
      const b = start(request, null);
      first = a.websocket;
      second = b.websocket;
      return b.response;
    }),
    async ({ port }) => {
      const client = await RawClient.open(port);
      const ws = await withTimeout(second!, 2000, 'the returned call');
      const error = await withTimeout(first!.then(() => null, (e: Error) => e), 2000, 'the other call');
      assert.ok(error !== null);
      assert.is(error.message, 'start() was called again for this request; the response from another call answered it');
      assert.not.match(error.message, /status 101/);
      ws.destroy();
      client.destroy();
    },
  );
});

test.run();
