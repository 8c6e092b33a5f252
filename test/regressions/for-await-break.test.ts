// Used to go wrong: leaving a for-await loop early destroyed the Websocket and cut TCP (1006 on
// both sides, an 'error' on the client), losing messages written just before the break, and
// readyState still said 'open' while destroyed was true.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('break out of for await: the replies go out, then a clean close with 1000', async () => {
  const server = startWebsocketServer({
    onAccept: (ws) => {
      void (async () => {
        for await (const message of ws) {
          for (let i = 0; i < 50; i++) ws.write(`${message} ${i}`);
          if (message === 'stop') break;
        }
      })();
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      const errors: Error[] = [];
      client.on('error', (error) => errors.push(error));
      const received: string[] = [];
      client.on('message', (data) => received.push(data.toString()));
      await once(client, 'open');
      client.send('go');
      client.send('stop');
      client.send('after the break: dropped');
      const [code] = (await once(client, 'close')) as [number];
      assert.is(code, 1000);
      assert.is(received.length, 100);
      assert.is(received[99], 'stop 49');
      assert.equal(errors, []);
      const { ws } = await server.accepted();
      assert.is((await ws.closeInfo).wasClean, true);
    }, 5000);
  });
});

test('a destroyed Websocket is not open, and broadcast skips it', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      const { ws } = await server.accepted();
      ws.destroy();
      assert.is(ws.readyState, 'closed');
      assert.is(Websocket.broadcast([ws], 'hello'), 0);
      await client.closed;
    }, 5000);
  });
});

test.run();
