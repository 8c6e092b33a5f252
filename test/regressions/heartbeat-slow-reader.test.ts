// Used to go wrong: the heartbeat's pong deadline ran from when the ping was queued, behind our
// own data, so a client downloading for longer than pingTimeout was dropped as dead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Heartbeat, HeartbeatState } from '../../src/protocol/heartbeat.js';
import { withTimeout } from '../helpers/deadline.js';
import { Op, RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('the core: the deadline runs from when the ping left, not from when it was queued', () => {
  const heartbeat = new Heartbeat(100);
  assert.ok(heartbeat.beat(false), 'a silent peer is pinged');
  assert.is(heartbeat.state, HeartbeatState.Queued);
  assert.not.ok(heartbeat.expired(10_000, false), 'still queued behind our data: not due');
  assert.is(heartbeat.pingLeft(10_000), 10_100);
  assert.not.ok(heartbeat.expired(10_099, false));
  assert.ok(heartbeat.expired(10_100, false));
});

test('the core: anything heard answers; a reader that is behind gets the benefit of the doubt', () => {
  const heartbeat = new Heartbeat(100);
  heartbeat.heard();
  assert.not.ok(heartbeat.beat(false), 'heard since the last beat');
  assert.ok(heartbeat.beat(false));
  heartbeat.pingLeft(0);
  heartbeat.heard();
  assert.is(heartbeat.state, HeartbeatState.Idle);
  assert.not.ok(heartbeat.beat(true), 'our reader is behind: no ping');
  assert.ok(heartbeat.beat(false));
  heartbeat.pingLeft(0);
  assert.not.ok(heartbeat.expired(500, true), 'the answer may sit unread');
  heartbeat.stop();
  assert.not.ok(heartbeat.beat(false), 'no ping after our close');
});

test('over a socket: a client reading 64 MiB slowly for longer than pingTimeout stays connected', async () => {
  const MiB = 1024 * 1024;
  const server = startWebsocketServer({
    start: { pingInterval: 100, pingTimeout: 200, maxBufferedAmount: 256 * MiB },
    onAccept: (ws) => {
      for (let i = 0; i < 64; i++) ws.write(Buffer.alloc(MiB, i));
      ws.end();
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.pause();
      const started = Date.now();
      let received = 0;
      let pings = 0;
      for (;;) {
        client.resume();
        const frame = await client.nextFrame();
        client.pause();
        if (frame === null) throw new Error('the server dropped the connection');
        if (frame.opcode === Op.Ping) {
          pings++;
          client.sendPong(frame.payload); // answered as soon as it is read, as real clients do
          continue;
        }
        if (frame.opcode === Op.Close) break;
        received += frame.payload.length;
        await new Promise((resolve) => setTimeout(resolve, 10)); // about 100 MB/s
      }
      assert.ok(Date.now() - started > 400, 'the download took longer than pingTimeout');
      assert.ok(pings > 0, 'the server pinged during the download');
      assert.is(received, 64 * MiB);
      client.sendClose(1000);
      const { ws } = await server.accepted();
      const info = await ws.closeInfo;
      assert.is(info.wasClean, true, info.error?.message);
    }, 20_000);
  });
});

test.run();
