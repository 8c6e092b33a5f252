// Used to go wrong: maxBufferedAmount counted each queued byte twice (in the Websocket and in
// its socket), so one large write to a client reading at full speed was dropped with 1006.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { withTimeout } from '../helpers/deadline.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

test('a 6 MiB message under an 8 MiB cap reaches a reading client whole', async () => {
  const message = Buffer.alloc(6 * MiB, 0x61);
  const server = startWebsocketServer({
    start: { maxBufferedAmount: 8 * MiB },
    onAccept: (ws) => {
      ws.write(message);
      ws.end();
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      const received: Buffer[] = [];
      client.on('message', (data) => received.push(data as Buffer));
      const [code] = (await once(client, 'close')) as [number];
      assert.is(code, 1000);
      assert.is(received.length, 1);
      assert.ok(received[0]!.equals(message));
      const { ws } = await server.accepted();
      const info = await ws.closeInfo;
      assert.is(info.wasClean, true, info.error?.message);
    }, 10_000);
  });
});

test.run();
