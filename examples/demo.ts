// The demo: one server for a browser. GET / returns a page; the page opens a WebSocket on /ws
// (subprotocol "echo") and every message comes back. Open the printed address in a browser.

import { serve, start, type Websocket } from 'prise-ws';
import { demoPage } from './demo-page.js';

async function echo(ws: Websocket): Promise<void> {
  for await (const message of ws) ws.write(message);
  const { code, reason } = await ws.closeInfo;
  console.log(`a browser left: ${code} ${reason}`);
}

const server = await serve(
  (request) => {
    if (request.url === '/ws') {
      // Browsers offer permessage-deflate; accept it (with no per-connection zlib memory).
      const { response, websocket } = start(request, 'echo', { deflate: true });
      websocket.then(echo);
      return response;
    }
    if (request.url === '/') {
      return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: demoPage };
    }
    return { status: 404, body: 'not found\n' };
  },
  { port: Number(process.env.PORT ?? 8080) },
);

console.log(`demo on ${server.url} (open it in a browser)`);
