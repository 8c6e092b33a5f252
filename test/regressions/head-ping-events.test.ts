// Used to go wrong: 'ping' and 'pong' events for frames that arrived in the same packet as the
// handshake fired inside the constructor, before the application could listen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../helpers/deadline.js';
import { Op, RawClient, frame } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('a ping and a pong sent with the handshake reach listeners added when the promise resolves', async () => {
  const seen: string[] = [];
  const server = startWebsocketServer({
    onAccept: (ws) => {
      ws.on('ping', (data: Buffer) => seen.push(`ping ${data}`));
      ws.on('pong', (data: Buffer) => seen.push(`pong ${data}`));
      ws.on('data', (message: string) => seen.push(`message ${message}`));
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = await RawClient.connect(server.port);
      const after = Buffer.concat([
        frame({ opcode: Op.Ping, payload: 'early' }),
        frame({ opcode: Op.Pong, payload: 'also' }),
        frame({ opcode: Op.Text, payload: 'hi' }),
      ]);
      client.handshake({ after });
      await client.readResponse();
      const pong = await client.nextFrame();
      assert.is(pong?.opcode, Op.Pong);
      assert.is(pong?.payload.toString(), 'early');
      await server.accepted();
      assert.equal(seen, ['ping early', 'pong also', 'message hi']);
      client.destroy();
    }, 5000);
  });
});

test.run();
