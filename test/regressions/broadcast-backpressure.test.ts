// Used to go wrong: Websocket.broadcast() wrote frames straight to the socket, so
// writableNeedDrain and 'drain' never changed for broadcast traffic.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('broadcast to a client that does not read: writableNeedDrain turns true, then drain', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.pause();
      const { ws } = await server.accepted();
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let sent = 0;
      while (!ws.writableNeedDrain && sent < 2048) {
        assert.is(Websocket.broadcast([ws], chunk), 1);
        sent++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(ws.writableNeedDrain, `no backpressure after ${sent} broadcasts`);
      assert.ok(ws.writableLength > 0);
      client.resume();
      await once(ws, 'drain');
      assert.is(ws.writableLength, 0);
      for (let i = 0; i < sent; i++) {
        const frame = await client.nextFrame();
        assert.is(frame?.payload.length, chunk.length);
      }
      ws.close();
      await client.readUntilClose();
      client.sendClose(1000);
      assert.is((await ws.closeInfo).wasClean, true);
    }, 10_000);
  });
});

test.run();
