// Used to go wrong: our answer to the peer's close repeated its code but not its reason, so a
// browser that started the close saw reason "" (ws and Python's websockets repeat both).
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { Connection } from '../../src/protocol/connection.js';
import { Opcode } from '../../src/protocol/constants.js';
import { encodeFrame, closePayload } from '../../src/protocol/encoder.js';
import { withTimeout } from '../helpers/deadline.js';
import { hex } from '../helpers/hex.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('the core: the answer to close(4000, "bye") carries 4000 and "bye"', () => {
  const server = new Connection({ role: 'server', maxPayload: 1024 });
  server.push(encodeFrame(Opcode.Close, closePayload(4000, 'bye'), { masked: true })[0]!);
  assert.equal(server.next(), { type: 'close', code: 4000, reason: 'bye' });
  server.close(1000, '');
  assert.is(hex(server.takeOutput()), '88050fa0627965');
});

test('over a socket: a ws client that closes with (4000, "bye") gets (4000, "bye") back', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => void ws.pipe(ws) }), async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      await once(client, 'open');
      client.close(4000, 'bye');
      const [code, reason] = (await once(client, 'close')) as [number, Buffer];
      assert.is(code, 4000);
      assert.is(reason.toString(), 'bye');
      const { ws } = await server.accepted();
      assert.equal(await ws.closeInfo, { code: 4000, reason: 'bye', wasClean: true });
    }, 5000);
  });
});

test.run();
