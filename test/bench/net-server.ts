// The floor: plain node:net. It answers the opening handshake with a bare 101 (no checks beyond
// finding the key), then is a byte pipe. Echo sends each connection's bytes back as they came,
// still masked; broadcast writes each chunk to every other connection. The load generator
// accepts masked frames from this server only.

import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { modeFromArgs, ready } from './control.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const mode = modeFromArgs();
const everyone = new Set<Socket>();

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.off('data', onData);
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1', 0, end))?.[1] ?? '';
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const rest = head.subarray(end + 4);
    if (mode === 'echo') {
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
    } else {
      everyone.add(socket);
      socket.on('close', () => everyone.delete(socket));
      socket.on('data', (bytes: Buffer) => {
        for (const other of everyone) if (other !== socket) other.write(bytes);
      });
      if (rest.length > 0) socket.emit('data', rest);
    }
  };
  socket.on('data', onData);
});

server.listen(0, '127.0.0.1', () => {
  ready((server.address() as { port: number }).port, { server: 'net', mode });
});
