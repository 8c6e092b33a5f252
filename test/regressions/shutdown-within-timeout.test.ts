// shutdown() waited on server.close() without bound, so a socket it does not own (here a CONNECT tunnel) kept it from ever resolving.
import { connect as tcpConnect } from 'node:net';
import { once } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { shutdown } from 'prise-ws';
import { withTimeout } from '../helpers/deadline.js';
import { startServer } from '../helpers/server.js';

const test = suite('regression: shutdown() resolves by its timeout');

test('a CONNECT tunnel held by other code does not hold shutdown() past its timeout', async () => {
  const server = await startServer(() => ({ status: 200, body: 'ok\n' }));
  // Code of the application's own: node:http hands the socket over and no longer tracks it.
  server.server.on('connect', (_request, socket) => {
    socket.on('error', () => {});
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  });
  const tunnel = tcpConnect(server.port, '127.0.0.1');
  tunnel.on('error', () => {});
  try {
    await once(tunnel, 'connect');
    tunnel.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
    await withTimeout(once(tunnel, 'data'), 2000, 'the tunnel to open');
    await withTimeout(shutdown(server.server, { timeout: 200 }), 3000, 'shutdown()');
    assert.ok(!server.server.listening);
  } finally {
    tunnel.destroy();
    await server.close();
  }
});

test.run();
