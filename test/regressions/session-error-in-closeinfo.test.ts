// Used to go wrong: an accept() session that threw closed with 1011, but closeInfo carried no
// error, unlike a listener that threw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accept, serve, type CloseInfo } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';

test('a session that throws: 1011 to the peer, the exception in closeInfo.error and onError', async () => {
  const boom = new Error('session bug');
  const reported: unknown[] = [];
  let info!: Promise<CloseInfo>;
  const server = await serve(
    (request) =>
      accept(request, null, async (ws) => {
        info = ws.closeInfo;
        for await (const message of ws) if (message === 'boom') throw boom;
      }),
    { port: 0, onError: (error) => reported.push(error) },
  );
  try {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      client.sendText('boom');
      const { close } = await client.readUntilClose();
      assert.is(close?.payload.readUInt16BE(0), 1011);
      client.sendClose(1011);
      const closed = await info;
      assert.is(closed.code, 1011);
      assert.is(closed.error, boom);
      assert.equal(reported, [boom]);
      client.destroy();
    }, 5000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test.run();
