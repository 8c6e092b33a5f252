// Websocket.broadcast over real sockets: one frame, many clients, order kept for a client whose
// writes are still queued, closing and closed Websockets skipped.

import { once } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { Websocket } from 'prise-ws';
import { until } from './helpers/deadline.js';
import { startWebsocketServer, withServer } from './helpers/server.js';

const test = suite('broadcast');

/** Opens `count` ws clients and returns them with the server-side Websockets, in order. */
async function clients(port: number, accepted: () => Promise<{ ws: Websocket }>, count: number) {
  const pairs: Array<{ client: WebSocket; ws: Websocket; received: Array<string | Buffer> }> = [];
  for (let i = 0; i < count; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    const received: Array<string | Buffer> = [];
    client.on('message', (data: Buffer, binary) => received.push(binary ? data : data.toString()));
    await once(client, 'open');
    const { ws } = await accepted();
    ws.resume();
    pairs.push({ client, ws, received });
  }
  return pairs;
}

test('every open client gets text and binary, small and large, in order', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const pairs = await clients(server.port, server.accepted, 20);
    const big = Buffer.alloc(200_000, 7);
    assert.is(Websocket.broadcast(pairs.map((p) => p.ws), 'hello ✓'), 20);
    assert.is(Websocket.broadcast(pairs.map((p) => p.ws), Buffer.from([1, 2, 3])), 20);
    assert.is(Websocket.broadcast(pairs.map((p) => p.ws), big), 20);
    await Promise.all(pairs.map((p) => until(() => p.received.length === 3, 'deliveries')));
    for (const { received } of pairs) {
      assert.equal(received.slice(0, 2), ['hello ✓', Buffer.from([1, 2, 3])]);
      assert.ok((received[2] as Buffer).equals(big));
    }
    for (const { client } of pairs) client.close();
  }, 10_000);
});

test('a client with writes still queued gets the broadcast after them', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const [pair] = await clients(server.port, server.accepted, 1);
    const { ws, received } = pair!;
    // Fill the socket so later writes wait in the Websocket itself.
    const chunk = Buffer.alloc(1 << 20, 1);
    let queued = 0;
    while (ws.writableLength === 0 && queued < 64) {
      ws.write(chunk);
      queued++;
    }
    ws.write('last write');
    Websocket.broadcast([ws], 'broadcast');
    await until(() => received.length === queued + 2, 'all messages', 10_000);
    assert.equal(received.slice(-2), ['last write', 'broadcast']);
    pair!.client.close();
  }, 20_000);
});

test('closing and closed Websockets are skipped', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const pairs = await clients(server.port, server.accepted, 3);
    pairs[0]!.ws.close(1000);
    pairs[1]!.client.terminate();
    await pairs[1]!.ws.closeInfo;
    assert.is(Websocket.broadcast(pairs.map((p) => p.ws), 'only one'), 1);
    await until(() => pairs[2]!.received.length === 1, 'the open client');
    assert.equal(pairs[2]!.received, ['only one']);
    for (const { client } of pairs) client.terminate();
  }, 10_000);
});

test.run();
