// Adding WebSockets to an app that already has its own http.Server: attach() takes the upgrade
// requests, and every plain request stays with the app's own listener.

import { createServer } from 'node:http';
import { attach, start } from 'prise-ws';

const server = createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.end('plain http, served by the app\n');
});

attach(server, (request) => {
  if (request.url !== '/live') return { status: 404, body: 'no websocket here\n' };
  const { response, websocket } = start(request, null);
  websocket.then((ws) => {
    ws.write('welcome');
    ws.pipe(ws);
  });
  return response;
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`app on http://127.0.0.1:${port}/, websocket on ws://127.0.0.1:${port}/live`);
});
