// The smallest WebSocket server: every message comes back as it was sent.
// Try it: node dist/examples/echo.js, then connect a client to ws://127.0.0.1:8080/

import { accept, serve } from 'prise-ws';

const server = await serve(
  (request) =>
    // Piping a Websocket into itself echoes: text stays text, binary stays binary.
    accept(request, null, (ws) => void ws.pipe(ws)),
  { port: Number(process.env.PORT ?? 8080) },
);

console.log(`echo server on ws://127.0.0.1:${server.port}/`);
