// The prise benchmark server: an echo (each message written back, with backpressure)
// or a broadcast (each message written to every other open Websocket). Run by run.ts.

import { serve, start, Websocket } from 'prise-ws';
import { modeFromArgs, ready } from './control.js';

const mode = modeFromArgs();
const everyone = new Set<Websocket>();

/**
 * Echo with backpressure, as a 'data' listener: what ws's echo server does, plus pausing while
 * the socket is full. (ws.pipe(ws) does the same, with ~1.4 KB more of Node's pipe state each.)
 */
function echo(ws: Websocket): void {
  const resume = (): void => void ws.resume();
  ws.on('data', (message: Buffer | string) => {
    if (!ws.write(message)) {
      ws.pause();
      ws.once('drain', resume);
    }
  });
}

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
    void websocket.then((ws) => (mode === 'echo' ? echo(ws) : broadcast(ws)));
    return response;
  },
  { port: 0 },
);

ready((server.address() as { port: number }).port, { server: 'prise', mode });
