// Used to go wrong: a Websocket only written to was never destroyed: no 'close' event after a
// clean close, and pipeline(fs.createReadStream(f), ws) never settled after the peer reset, so
// the file descriptor leaked.
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../helpers/deadline.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('pipeline(file, ws) settles when the peer resets; the file is closed; close fires once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prise-'));
  const file = join(dir, 'big');
  writeFileSync(file, Buffer.alloc(32 * 1024 * 1024, 0x63));
  try {
    await withServer(startWebsocketServer(), async (server) => {
      await withTimeout(async () => {
        const client = await RawClient.open(server.port);
        client.pause();
        const { ws } = await server.accepted();
        let closes = 0;
        ws.on('close', () => closes++);
        const source = createReadStream(file);
        const piping = pipeline(source, ws).then(() => 'resolved', (error: Error) => error.message);
        await new Promise((resolve) => setTimeout(resolve, 50));
        client.destroy();
        const settled = await piping;
        assert.ok(settled !== 'resolved', 'the file did not all go out: the pipeline must not say it did');
        assert.ok(ws.destroyed);
        assert.ok(source.destroyed, 'the file stream was destroyed (its descriptor closed)');
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.is(closes, 1);
        assert.is(ws.readyState, 'closed');
      }, 10_000);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Websocket only written to: after a clean close, destroyed with one close event', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.open(server.port);
      const { ws } = await server.accepted();
      let closes = 0;
      ws.on('close', () => closes++);
      ws.write('hello');
      ws.close();
      await client.readUntilClose();
      client.sendClose(1000);
      assert.is((await ws.closeInfo).wasClean, true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(ws.destroyed);
      assert.is(closes, 1);
    }, 5000);
  });
});

test.run();
