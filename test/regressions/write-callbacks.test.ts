// Used to go wrong: write callbacks reported success for messages that never reached the
// socket (still queued when the connection ended), and for a write waiting for 'drain'.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout, until } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('2,000 × 16 KiB to a peer that stops reading and resets: the ones not sent fail', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.pause();
      const { ws } = await server.accepted();
      const message = Buffer.alloc(16 * 1024, 0x64);
      let succeeded = 0;
      let failed = 0;
      for (let i = 0; i < 2000; i++) ws.write(message, (error) => (error ? failed++ : succeeded++));
      await until(() => ws.writableNeedDrain, 'the socket backs up');
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.destroy();
      await ws.closeInfo;
      await until(() => succeeded + failed === 2000, 'every callback called');
      assert.ok(failed > 0, `${succeeded} succeeded, ${failed} failed`);
      // What succeeded went to the socket: at most what TCP took before the reset.
      assert.ok(succeeded * message.length < 2000 * message.length);
    }, 10_000);
  });
});

test('a write after the connection is gone fails in its callback, without an error event', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      const { ws } = await server.accepted();
      ws.pause();
      const errors: Error[] = [];
      ws.on('error', (error) => errors.push(error));
      client.destroy();
      await ws.closeInfo;
      const told = await new Promise<Error | null | undefined>((resolve) => ws.write('late', resolve));
      assert.instance(told, Error);
      assert.equal(errors, []);
    }, 5000);
  });
});

test.run();
