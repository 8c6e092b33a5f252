// Used to go wrong: our answer to the peer's close went out at once, overtaking the replies a
// for-await loop was still writing for messages that came before the close (184 of 200 echoes).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../helpers/deadline.js';
import { Op, RawClient, closePayload, frame } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('200 messages then a close, echoed by for await: 200 echoes, then the close', async () => {
  const server = startWebsocketServer({
    onAccept: (ws) => {
      void (async () => {
        for await (const message of ws) ws.write(message);
      })();
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      const frames: Buffer[] = [];
      for (let i = 0; i < 200; i++) frames.push(frame({ opcode: Op.Text, payload: `message ${i}` }));
      frames.push(frame({ opcode: Op.Close, payload: closePayload(1000, 'done') }));
      client.write(Buffer.concat(frames));
      const { frames: echoes, close } = await client.readUntilClose();
      assert.is(echoes.length, 200);
      assert.is(echoes[199]?.payload.toString(), 'message 199');
      assert.is(close?.payload.readUInt16BE(0), 1000);
      assert.is(close?.payload.subarray(2).toString(), 'done');
      await client.closed;
    }, 5000);
  });
});

test('a reader that never reads does not hold the close open past closeTimeout', async () => {
  const server = startWebsocketServer({ start: { closeTimeout: 200 }, onAccept: (ws) => void ws.pause() });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      for (let i = 0; i < 10; i++) client.sendText(`unread ${i}`); // fewer than the readable high-water mark: the close is seen
      client.sendClose(1000);
      await client.closed;
      const { ws } = await server.accepted();
      const info = await ws.closeInfo;
      assert.is(info.code, 1000);
      assert.is(info.wasClean, false, 'our answer never went out');
    }, 5000);
  });
});

test.run();
