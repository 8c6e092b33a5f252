// The prise benchmark server: an echo (each Websocket piped into itself, as in examples/echo.ts)
// or a broadcast (each message written to every other open Websocket). Run by run.ts.

import { serve, start, Websocket } from 'prise';
import { modeFromArgs, ready } from './control.js';

const mode = modeFromArgs();
const everyone = new Set<Websocket>();

function broadcast(ws: Websocket): void {
  everyone.add(ws);
  ws.on('data', (message: Buffer | string) => {
    // Framed once, the same bytes written to every other client.
    everyone.delete(ws);
    Websocket.broadcast(everyone, message);
    everyone.add(ws);
  });
  void ws.closeInfo.then(() => everyone.delete(ws));
}

const server = await serve(
  (request) => {
    if (request.headers.upgrade === undefined) return { status: 404 };
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => (mode === 'echo' ? ws.pipe(ws) : broadcast(ws)));
    return response;
  },
  { port: 0 },
);

ready((server.address() as { port: number }).port, { server: 'prise', mode });
