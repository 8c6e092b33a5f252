// Used to go wrong: at its timeout shutdown() destroyed the Websockets still open, so README's
// for-await echo threw ERR_STREAM_PREMATURE_CLOSE, logged as a failed handler on every deploy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accept, serve, shutdown, type Websocket } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';

test('shutdown() past its timeout ends a for-await session normally, 1006 saying why', async () => {
  const errors: unknown[] = [];
  let session!: Promise<Websocket>;
  let ended = false;
  const server = await serve(
    (request) =>
      accept(request, null, async (ws) => {
        session = Promise.resolve(ws);
        for await (const message of ws) ws.write(message);
        ended = true;
      }),
    { port: 0, onError: (error) => errors.push(error) },
  );
  try {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.pause(); // never reads our close: the shutdown times out
      client.sendText('hi');
      while (session === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      const ws = await session;
      const infos = await shutdown(server, { timeout: 300 });
      assert.is(infos.length, 1);
      assert.is(infos[0]!.code, 1006);
      assert.match(infos[0]!.error?.message ?? '', 'server shut down');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(ended, 'the loop finished');
      assert.equal(errors, []);
      assert.is(ws.readyState, 'closed');
      client.destroy();
    }, 5000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test.run();
