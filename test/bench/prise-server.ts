// The prise benchmark server: an echo (each message written back) or a broadcast (each message
// written to every other open Websocket). Run by run.ts as `prise-server.js MODE STYLE`; the echo
// comes in three styles, each the way README shows it:
//   pipe: start(request, null), then websocket.then((ws) => ws.pipe(ws))
//   iter: accept(request, null, async (ws) => { for await (const message of ws) ws.write(message) })
//         (README's first example)
//   data: a 'data' listener that writes back and pauses while write() says wait (ws's echo, plus
//         backpressure)

import { accept, serve, start, Websocket } from 'prise-ws';
import { modeFromArgs, ready } from './control.js';

const mode = modeFromArgs();
const style = process.argv[3] ?? 'pipe';
if (style !== 'pipe' && style !== 'iter' && style !== 'data') throw new Error(`unknown echo style ${style}`);
const everyone = new Set<Websocket>();

async function iterate(ws: Websocket): Promise<void> {
  for await (const message of ws) ws.write(message);
}

/** Echo with backpressure, as a 'data' listener: what ws's echo server does, plus pausing while the socket is full. */
function listen(ws: Websocket): void {
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
    if (mode === 'echo' && style === 'iter') return accept(request, null, iterate);
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => {
      if (mode === 'broadcast') broadcast(ws);
      else if (style === 'pipe') ws.pipe(ws);
      else listen(ws);
    });
    return response;
  },
  { port: 0 },
);

ready((server.address() as { port: number }).port, { server: 'prise', mode, style });
