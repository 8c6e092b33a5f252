// Used to go wrong: when zlib failed on a message we were sending, the message was dropped
// silently and its write callback reported success.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { MessageDeflate } from '../../src/deflate.js';
import { withTimeout } from '../helpers/deadline.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('zlib failing at run time fails the connection with 1011 and the write callback', async () => {
  const original = MessageDeflate.prototype.compress;
  MessageDeflate.prototype.compress = () => Promise.reject(new Error('zlib broke'));
  try {
    let told: Error | null | undefined;
    const server = startWebsocketServer({
      deflate: { threshold: 0 },
      onAccept: (ws) => {
        ws.resume();
        ws.write('compressed, or not at all', (error) => (told = error));
      },
    });
    await withServer(server, async (server) => {
      await withTimeout(async () => {
        const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: true });
        const received: string[] = [];
        client.on('message', (data) => received.push(data.toString()));
        const [code] = (await once(client, 'close')) as [number];
        assert.is(code, 1011);
        assert.equal(received, []);
        const { ws } = await server.accepted();
        const info = await ws.closeInfo;
        assert.match(info.error?.message ?? '', 'compression failed: zlib broke');
        assert.instance(told, Error);
      }, 5000);
    });
  } finally {
    MessageDeflate.prototype.compress = original;
  }
});

test.run();
