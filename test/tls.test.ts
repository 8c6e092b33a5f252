// wss:// end to end, with a self-signed certificate made at test time: serve({ tls }) with our
// client and with the `ws` client, attach() on an https.Server the application built, our client
// against a `ws` server over TLS, certificate checks, and redirects between ws: and wss:.

import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { ConnectError, attach, connect, requestedProtocols, start, type Handler, type Websocket } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { pattern } from './helpers/hex.js';
import { inbox } from './helpers/inbox.js';
import { startRawServer } from './helpers/raw-server.js';
import { AsyncQueue, listen, startServer, withServer } from './helpers/server.js';
import { selfSignedCertificate } from './helpers/tls-cert.js';

const DEADLINE = 15_000;
const SIZES = [0, 125, 126, 127, 65535, 65536, 1 << 20];
const { key, cert } = selfSignedCertificate();

/** Echoes every message; picks 'chat.v2' when offered; queues each Websocket it accepts. */
function echoHandler(accepted: AsyncQueue<Websocket>): Handler {
  return (request) => {
    if (request.headers.upgrade === undefined) return { status: 200, body: 'plain https\n' };
    const { response, websocket } = start(request, requestedProtocols(request).includes('chat.v2') ? 'chat.v2' : null);
    void websocket.then((ws) => {
      ws.pipe(ws);
      accepted.push(ws);
    });
    return response;
  };
}

async function assertEchoes(ws: Websocket): Promise<void> {
  const messages = inbox(ws);
  for (const size of SIZES) {
    ws.write('é'.repeat(size >> 1));
    ws.write(pattern(size, size + 7));
  }
  for (const size of SIZES) {
    assert.ok((await messages.next()) === 'é'.repeat(size >> 1), `text of ${size} bytes`);
    assert.ok(pattern(size, size + 7).equals((await messages.next()) as Buffer), `binary of ${size} bytes`);
  }
}

const test = suite('tls');

test('serve({ tls }) and connect(wss:) with the certificate as ca: echo and close', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(echoHandler(accepted), { tls: { key, cert } }), async (server) => {
    const ws = await connect(`wss://127.0.0.1:${server.port}/secure`, { tls: { ca: cert }, protocols: ['chat.v2'] });
    assert.is(ws.protocol, 'chat.v2');
    await assertEchoes(ws);
    const serverSide = await accepted.shift();
    ws.close(4000, 'done over tls');
    assert.equal(await serverSide.closeInfo, { code: 4000, reason: 'done over tls', wasClean: true });
    assert.is((await ws.closeInfo).wasClean, true);
  }, DEADLINE);
});

test('the ws client talks to serve({ tls })', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(echoHandler(accepted), { tls: { key, cert } }), async (server) => {
    const client = new WebSocket(`wss://127.0.0.1:${server.port}/`, ['chat.v1', 'chat.v2'], { ca: cert });
    const replies = new AsyncQueue<{ data: Buffer; binary: boolean }>();
    client.on('message', (data: Buffer, binary) => replies.push({ data, binary }));
    await new Promise<void>((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    assert.is(client.protocol, 'chat.v2');
    client.send('hello over tls ✓');
    client.send(pattern(70_000));
    const text = await replies.shift();
    assert.is(text.binary, false);
    assert.is(text.data.toString(), 'hello over tls ✓');
    const binary = await replies.shift();
    assert.is(binary.binary, true);
    assert.ok(binary.data.equals(pattern(70_000)));
    const serverSide = await accepted.shift();
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.close(4001, 'ws says bye');
    assert.is(await closed, 4001);
    assert.equal(await serverSide.closeInfo, { code: 4001, reason: 'ws says bye', wasClean: true });
  }, DEADLINE);
});

test('attach() on an https.Server: the app keeps its requests, upgrades go to the handler', async () => {
  const accepted = new AsyncQueue<Websocket>();
  const https = createHttpsServer({ key, cert }, (_request, response) => response.end('from the app\n'));
  attach(https, echoHandler(accepted));
  await withServer(listen(https), async (server) => {
    const body = await new Promise<string>((resolve, reject) => {
      const request = httpsRequest({ host: '127.0.0.1', port: server.port, ca: cert, agent: false }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      });
      request.on('error', reject);
      request.end();
    });
    assert.is(body, 'from the app\n');
    const ws = await connect(`wss://127.0.0.1:${server.port}/`, { tls: { ca: cert } });
    ws.write('attached');
    assert.is(await inbox(ws).next(), 'attached');
    ws.close();
    assert.is((await ws.closeInfo).wasClean, true);
  }, DEADLINE);
});

test('connect(wss:) to a ws WebSocketServer over https', async () => {
  const https = createHttpsServer({ key, cert });
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
  await withServer(listen(https), async (server) => {
    const ws = await connect(`wss://localhost:${server.port}/`, { tls: { ca: cert } });
    await assertEchoes(ws);
    ws.close(4002);
    assert.is((await ws.closeInfo).code, 4002);
  }, DEADLINE);
  wss.close();
});

test('without the certificate as ca, the self-signed server is refused', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(echoHandler(accepted), { tls: { key, cert } }), async (server) => {
    try {
      const ws = await connect(`wss://127.0.0.1:${server.port}/`);
      ws.destroy();
      assert.unreachable('connected to a server with an untrusted certificate');
    } catch (error) {
      assert.instance(error, ConnectError);
      assert.is((error as ConnectError).code, 'ERR_WS_CONNECTION_FAILED');
      assert.is(((error as ConnectError).cause as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    }
  }, DEADLINE);
});

test('a redirect from ws: to wss: is followed; tls options apply to the new connection', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(echoHandler(accepted), { tls: { key, cert } }), async (secure) => {
    // An https: location, as servers that think in HTTP write it, means wss:.
    const location = `https://127.0.0.1:${secure.port}/upgraded`;
    const redirector = await startRawServer((_request, socket) => {
      socket.end(`HTTP/1.1 308 Permanent Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
    });
    try {
      const ws = await withTimeout(
        connect(`ws://127.0.0.1:${redirector.port}/`, { followRedirects: true, tls: { ca: cert } }),
        DEADLINE,
      );
      ws.write('now encrypted');
      assert.is(await inbox(ws).next(), 'now encrypted');
      ws.close();
      await ws.closeInfo;
    } finally {
      await redirector.close();
    }
  }, DEADLINE);
});

test('a redirect from wss: down to ws: is refused', async () => {
  const handler: Handler = () => ({ status: 302, headers: { Location: 'ws://127.0.0.1:9/plain' } });
  await withServer(startServer(handler, { tls: { key, cert } }), async (server) => {
    try {
      const ws = await connect(`wss://127.0.0.1:${server.port}/`, { followRedirects: true, tls: { ca: cert } });
      ws.destroy();
      assert.unreachable('followed a redirect to plain text');
    } catch (error) {
      assert.instance(error, ConnectError);
      assert.is((error as ConnectError).code, 'ERR_WS_REDIRECT');
      assert.match((error as ConnectError).message, 'from wss: to ws:');
    }
  }, DEADLINE);
});

test.run();
