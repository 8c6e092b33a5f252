// Fastify and prise on one port: Fastify answers its own routes, and attach() takes the
// WebSocket upgrades for /live on `fastify.server`, Fastify's node:http Server.

import Fastify from 'fastify';
import { attach, start } from 'prise-ws';

const fastify = Fastify();
fastify.get('/', async () => 'hello from fastify\n');

attach(
  fastify.server,
  (request) => {
    const { response, websocket } = start(request, null);
    websocket.then((ws) => ws.pipe(ws));
    return response;
  },
  { filter: (request) => request.url === '/live' },
);

// listen() resolves to the address, e.g. http://127.0.0.1:8080
const address = await fastify.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' });
console.log(`fastify on ${address}/, websocket echo on ${address.replace('http:', 'ws:')}/live`);
