// attach() used to answer every 'upgrade' request: beside a `ws` noServer endpoint on the same http.Server, it wrote its 404 into the socket ws had just upgraded, and the ws client failed ("RSV1 must be clear"). With `filter`, prise leaves the other requests alone.

import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { attach, connect, start } from 'prise-ws';
import { inbox } from '../helpers/inbox.js';
import { listen, withServer } from '../helpers/server.js';

const test = suite('regression: attach on a shared server');

test('a ws noServer endpoint and prise share one http.Server, in either listener order', async () => {
  for (const order of ['prise first', 'ws first']) {
    const app = createServer((_request, response) => response.end('app\n'));
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
    const wsListener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (request.url !== '/ws') return;
      wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
    };
    const attachPrise = (): void =>
      void attach(
        app,
        (request) => {
          const { response, websocket } = start(request, null);
          void websocket.then((ws) => ws.pipe(ws));
          return response;
        },
        { filter: (request) => request.url === '/prise' },
      );
    if (order === 'prise first') attachPrise();
    app.on('upgrade', wsListener);
    if (order === 'ws first') attachPrise();

    await withServer(listen(app), async ({ port }) => {
      const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const failed = new Promise<never>((_resolve, reject) => client.once('error', reject));
      await Promise.race([once(client, 'open'), failed]);
      client.send('to ws');
      const [reply] = (await Promise.race([once(client, 'message'), failed])) as [Buffer];
      assert.is(reply.toString(), 'to ws', order);
      client.close();
      await once(client, 'close');

      const ws = await connect(`ws://127.0.0.1:${port}/prise`);
      ws.write('to prise');
      assert.is(await inbox(ws).next(), 'to prise', order);
      ws.close();
      await ws.closeInfo;
    });
    wss.close();
  }
});

test.run();
