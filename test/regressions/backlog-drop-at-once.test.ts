// Used to go wrong: a peer dropped for exceeding maxBufferedAmount still looked open for the rest
// of the tick: readyState 'open', broadcast counted it, and writes kept queueing (3x the cap).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

test('once over the cap, the Websocket is closed at once and queues nothing more', async () => {
  await withServer(startWebsocketServer({ start: { maxBufferedAmount: MiB } }), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.pause();
      const { ws } = await server.accepted();
      const chunk = Buffer.alloc(64 * 1024);
      let counted = 0;
      for (let i = 0; i < 3000; i++) counted += Websocket.broadcast([ws], chunk);
      assert.ok(counted < 3000, 'broadcast stopped counting the dropped Websocket');
      assert.is(ws.readyState, 'closed');
      assert.ok(ws.writableLength <= 2 * MiB + chunk.length, `queued ${ws.writableLength} bytes`);
      assert.is(ws.write('more'), false);
      const info = await ws.closeInfo;
      assert.is(info.code, 1006);
      assert.match(info.error?.message ?? '', 'outgoing queue over');
      client.destroy();
    }, 5000);
  });
});

test.run();
