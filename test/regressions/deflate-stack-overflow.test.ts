// Used to go wrong: with deflate on, a 5 KB message followed by 20,000 tiny ones overflowed the
// stack (_writev recursed through _write callbacks that completed synchronously).
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { withTimeout } from '../helpers/deadline.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

test('a compressed message, then 20,000 small ones: all arrive, in order, no RangeError', async () => {
  const failures: unknown[] = [];
  const record = (error: unknown): void => void failures.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  try {
    const server = startWebsocketServer({
      deflate: true,
      onAccept: (ws) => {
        ws.write('x'.repeat(5000));
        for (let i = 0; i < 20_000; i++) ws.write(String(i % 1000).slice(0, i % 4));
        ws.end();
      },
    });
    await withServer(server, async (server) => {
      await withTimeout(async () => {
        const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: true });
        const received: string[] = [];
        client.on('message', (data) => received.push(data.toString()));
        const [code] = (await once(client, 'close')) as [number];
        assert.is(code, 1000);
        assert.is(received.length, 20_001);
        assert.is(received[0], 'x'.repeat(5000));
        assert.is(received[20_000], String(19_999 % 1000).slice(0, 19_999 % 4));
      }, 20_000);
    });
    assert.equal(failures, []);
  } finally {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  }
});

test.run();
