// Hono and prise on one port: Hono answers its own routes through @hono/node-server, and
// attach() takes the WebSocket upgrades for /live on the server serve() returns.

import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { attach, start } from 'prise-ws';

const app = new Hono();
app.get('/', (c) => c.text('hello from hono\n'));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8080), hostname: '127.0.0.1' }, (info) => {
  console.log(`hono on http://127.0.0.1:${info.port}/, websocket echo on ws://127.0.0.1:${info.port}/live`);
});

attach(
  server,
  (request) => {
    const { response, websocket } = start(request, null);
    websocket.then((ws) => ws.pipe(ws));
    return response;
  },
  { filter: (request) => request.url === '/live' },
);
