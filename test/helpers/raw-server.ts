// A server over bare TCP, for client tests that need a server to misbehave: it reads the request
// head and lets the test answer with whatever bytes it likes (a 101 with a wrong accept, a
// subprotocol nobody offered, a 302, nothing at all). Nothing here uses prise's own code.
//
//   const server = await startRawServer((request, socket) => socket.end('HTTP/1.1 404 Not Found\r\n\r\n'));
//   try { await connect(`ws://127.0.0.1:${server.port}/`) } finally { await server.close() }

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { acceptFor } from './raw-client.js';
import { withTimeout } from './deadline.js';

/** The request head a client sent. */
export interface RawRequest {
  /** "GET /path HTTP/1.1" */
  readonly line: string;
  readonly path: string;
  /** Lowercase names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RawServer {
  readonly port: number;
  /** Every request head received, in order. */
  readonly requests: RawRequest[];
  /** Resolves when `n` connections (counting from the first) have closed on the server side. */
  closedConnections(n: number): Promise<void>;
  /** Destroys the connections still open, then closes the server. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 port 0; `answer` gets each request head once it is complete. */
export async function startRawServer(answer: (request: RawRequest, socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: RawRequest[] = [];
  let closed = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      closed++;
      for (const waiter of waiters.filter((w) => w.n <= closed)) waiter.resolve();
    });
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const request = parseHead(text.slice(0, end));
      requests.push(request);
      answer(request, socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    closedConnections(n) {
      if (closed >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await withTimeout(done, 2000, 'raw server close()');
    },
  };
}

/**
 * A 101 answer to `request`: the right accept and headers, changed by `headers` (a value of null
 * leaves that header out). Header names are written as given.
 */
export function switching(request: RawRequest, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': acceptFor(request.headers['sec-websocket-key'] ?? ''),
    ...headers,
  };
  let text = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (const [name, value] of Object.entries(all)) if (value !== null) text += `${name}: ${value}\r\n`;
  return text + '\r\n';
}

function parseHead(head: string): RawRequest {
  const [line = '', ...fields] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0) headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { line, path: line.split(' ')[1] ?? '', headers };
}
