// Express and prise on one port: Express answers its own routes, and attach() takes the
// WebSocket upgrades for /live (its filter), leaving any others to other listeners.

import express from 'express';
import type { AddressInfo } from 'node:net';
import { attach, start } from 'prise-ws';

const app = express();
app.get('/', (_request, response) => {
  response.type('text/plain').send('hello from express\n');
});

// app.listen() returns the node:http Server that attach() takes as it is.
const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`express on http://127.0.0.1:${port}/, websocket echo on ws://127.0.0.1:${port}/live`);
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
