// Used to go wrong: ws.end('bye') after close() or shutdown() threw ERR_STREAM_WRITE_AFTER_END,
// uncaught: end(chunk) went through Node's own write path, not ours.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shutdown } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('end("bye") after close() and after shutdown() is dropped quietly, callback told', async () => {
  const uncaught: unknown[] = [];
  const record = (error: unknown): void => void uncaught.push(error);
  process.on('uncaughtException', record);
  try {
    await withServer(startWebsocketServer(), async (server) => {
      await withTimeout(async () => {
        const a = await RawClient.open(server.port);
        const { ws } = await server.accepted();
        const errors: Error[] = [];
        ws.on('error', (error) => errors.push(error));
        ws.close(4000, 'done');
        let told: Error | null | undefined;
        ws.end('bye', () => {});
        ws.write('late', (error) => (told = error));
        const { close } = await a.readUntilClose();
        assert.is(close?.code, 4000);
        a.sendClose(4000);
        await ws.closeInfo;
        assert.instance(told, Error);
        assert.equal(errors, []);

        const b = await RawClient.open(server.port);
        const second = (await server.accepted()).ws;
        second.on('error', (error) => errors.push(error));
        const stopping = shutdown(server.server, { timeout: 500 });
        second.end('bye');
        second.end(Buffer.from('again'));
        await b.readUntilClose();
        b.sendClose(1001);
        await stopping;
        assert.equal(errors, []);
      }, 5000);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(uncaught, []);
  } finally {
    process.off('uncaughtException', record);
  }
});

test.run();
