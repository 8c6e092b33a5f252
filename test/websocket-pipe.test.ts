// ws.pipe(ws) takes a path of its own (three shared listeners instead of Node's pipe state, about
// 1.2 KB less per connection): the stream contract of pipe() still holds on it. The echo itself
// (ordering, backpressure, closing) is covered by every test that pipes a Websocket to itself.
import { once } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Websocket } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { startWebsocketServer, withServer } from './helpers/server.js';

const test = suite('websocket: pipe to itself');

/** A ws client to a server that hands each Websocket to `accept`; runs `body` with both. */
async function withPair(accept: (ws: Websocket) => void, body: (client: WebSocket, ws: Websocket) => Promise<void>): Promise<void> {
  await withServer(startWebsocketServer({ onAccept: accept }), async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      await once(client, 'open');
      const { ws } = await server.accepted();
      try {
        await body(client, ws);
      } finally {
        client.terminate();
      }
    }, 5000);
  });
}

function nextMessage(client: WebSocket): Promise<string> {
  return once(client, 'message').then(([data]) => String(data));
}

test('pipe() returns the destination, emits pipe, and flows', async () => {
  let piped: unknown = null;
  let returned: unknown = null;
  await withPair(
    (ws) => {
      ws.on('pipe', (source) => (piped = source));
      returned = ws.pipe(ws);
    },
    async (client, ws) => {
      assert.ok(returned === ws && piped === ws);
      assert.is(ws.readableFlowing, true);
      client.send('hello');
      assert.is(await nextMessage(client), 'hello');
    },
  );
});

test('unpipe() stops the echo, emits unpipe and pauses; pipe() again resumes it', async () => {
  await withPair(
    (ws) => void ws.pipe(ws),
    async (client, ws) => {
      client.send('one');
      assert.is(await nextMessage(client), 'one');
      const unpiped = once(ws, 'unpipe');
      ws.unpipe(ws);
      await unpiped;
      assert.ok(ws.isPaused());
      client.send('two'); // buffered, not echoed
      await new Promise((resolve) => setTimeout(resolve, 50));
      const echoed = nextMessage(client);
      ws.pipe(ws);
      assert.is(await echoed, 'two');
    },
  );
});

test('the peer closing ends the echo side: closeInfo is clean', async () => {
  await withPair(
    (ws) => void ws.pipe(ws),
    async (client, ws) => {
      client.close(1000, 'done');
      const [code] = (await once(client, 'close')) as [number];
      assert.is(code, 1000);
      assert.equal(await ws.closeInfo, { code: 1000, reason: 'done', wasClean: true });
      assert.ok(ws.writableEnded);
    },
  );
});

test('with a data listener already there, or to another stream, Node pipe() is used', async () => {
  await withPair(
    (ws) => {
      const seen: string[] = [];
      ws.on('data', (message) => seen.push(String(message)));
      ws.pipe(ws);
    },
    async (client) => {
      client.send('x');
      assert.is(await nextMessage(client), 'x');
    },
  );
});

test.run();
