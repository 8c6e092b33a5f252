// The `ws` benchmark server: an echo (each message sent back) or a broadcast (each message sent
// to every other client in wss.clients). Whether ws uses the native `bufferutil` is up to the
// environment: run.ts sets WS_NO_BUFFER_UTIL=1 for the pure-JS variant. The ready line says
// which one actually loaded.

import { createRequire } from 'node:module';
import { WebSocket, WebSocketServer } from 'ws';
import { modeFromArgs, ready } from './control.js';

const mode = modeFromArgs();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (mode === 'echo') return ws.send(data, { binary: isBinary });
    for (const other of wss.clients) {
      if (other !== ws && other.readyState === WebSocket.OPEN) other.send(data, { binary: isBinary });
    }
  });
});

await new Promise((resolve) => wss.once('listening', resolve));
const loaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('bufferutil'));
ready((wss.address() as { port: number }).port, { server: 'ws', mode, bufferutil: loaded });
