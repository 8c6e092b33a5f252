// Stopping a server, and the handshake deadline, over real sockets: shutdown() on a serve()
// server and on an http.Server with attach() (close 1001 after pending writes, 503 for late
// upgrades, refused connections, peers that never answer dropped after the timeout), and
// serve()'s handshakeTimeout against clients that trickle their request head or send nothing.
// Timeouts are injected small; deadlines only keep a broken test from hanging.

import { once } from 'node:events';
import { createServer, Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { attach, shutdown, start, type CloseInfo, type Handler, type Websocket } from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import { Op, RawClient } from './helpers/raw-client.js';
import { AsyncQueue, listen, startServer, withServer } from './helpers/server.js';

const test = suite('shutdown');

const MiB = 1024 * 1024;

/** A `ws` client with everything it received, in order, and how it closed. */
interface Client {
  readonly socket: WebSocket;
  readonly messages: Array<string | Buffer>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function connectClient(port: number): Promise<Client> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: Array<string | Buffer> = [];
  socket.on('error', () => {}); // a test that fails would otherwise crash on it
  socket.on('message', (data: Buffer, isBinary) => messages.push(isBinary ? data : data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(socket, 'open');
  return { socket, messages, closed };
}

/** A handler accepting every handshake; the Websockets land in `accepted`, echoing. */
function accepting(accepted: AsyncQueue<Websocket>): Handler {
  return (request) => {
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => {
      ws.on('data', (message: string | Buffer) => ws.write(message));
      accepted.push(ws);
    });
    return response;
  };
}

/** Connects, checking the server took the TCP connection (not just the kernel's backlog). */
async function connectRaw(port: number, connections: () => number): Promise<RawClient> {
  const before = connections();
  const client = await RawClient.connect(port);
  await until(() => connections() > before, 'the server to accept the connection');
  return client;
}

/** Counts the connections a server accepted, for connectRaw. */
function countConnections(server: { on(event: 'connection', listener: () => void): unknown }): () => number {
  let count = 0;
  server.on('connection', () => count++);
  return () => count;
}

function refused(port: number): Promise<unknown> {
  return RawClient.connect(port).then(
    (client) => {
      client.destroy();
      return assert.unreachable('a new connection was accepted after shutdown');
    },
    (error: unknown) => error,
  );
}

const BYE = { code: 1001, reason: 'server shutting down', wasClean: true };

// ---------------------------------------------------------------------------------------------
// shutdown()

test('shutdown() on serve(): every client gets 1001 after the messages written before it', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(
    startServer(accepting(accepted)),
    async (server) => {
      const clients = [await connectClient(server.port), await connectClient(server.port), await connectClient(server.port)];
      const websockets = [await accepted.shift(), await accepted.shift(), await accepted.shift()];
      const big = Buffer.alloc(4 * MiB, 0x7a);
      for (const ws of websockets) {
        ws.write('first');
        ws.write(big); // still queued when shutdown() starts
        ws.write('last');
      }
      assert.ok(websockets.every((ws) => ws.writableLength > 0), 'writes were pending');
      const infos = await shutdown(server.server, { timeout: 3000 });
      assert.is(server.server.listening, false);
      for (const client of clients) {
        assert.equal(await client.closed, { code: 1001, reason: 'server shutting down' });
        assert.is(client.messages.length, 3);
        assert.is(client.messages[0], 'first');
        assert.ok(big.equals(client.messages[1] as Buffer));
        assert.is(client.messages[2], 'last');
      }
      assert.equal(infos, [BYE, BYE, BYE]);
      assert.match(String(((await refused(server.port)) as NodeJS.ErrnoException).code), 'ECONNREFUSED');
    },
    10_000,
  );
});

test('shutdown() with code and reason of its own, and with no Websocket open', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(accepting(accepted)), async (server) => {
    const client = await connectClient(server.port);
    await accepted.shift();
    const infos = await shutdown(server.server, { code: 4000, reason: 'maintenance', timeout: 3000 });
    assert.equal(await client.closed, { code: 4000, reason: 'maintenance' });
    assert.equal(infos, [{ code: 4000, reason: 'maintenance', wasClean: true }]);
  });
  await withServer(startServer(accepting(accepted)), async (server) => {
    assert.equal(await shutdown(server.server, { timeout: 3000 }), []);
    assert.is(server.server.listening, false);
  });
});

test('during shutdown: a late upgrade gets 503, a silent peer is dropped at the timeout', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(accepting(accepted)), async (server) => {
    const connections = countConnections(server.server);
    const slow = await RawClient.open(server.port);
    const slowWs = await accepted.shift();
    // Connected before shutdown, handshake sent after it began.
    const late = await connectRaw(server.port, connections);

    let done = false;
    const stopping = shutdown(server.server, { timeout: 1000 }).then((infos) => {
      done = true;
      return infos;
    });
    const { close } = await slow.readUntilClose();
    assert.is(close?.code, 1001);
    assert.is(close?.reason, 'server shutting down');
    // The slow client never answers, so the server is still shutting down.
    late.handshake();
    const response = await late.readResponse();
    assert.is(response.status, 503);
    assert.is(response.headers['retry-after'], '5');
    assert.is((await late.readToEnd()).toString(), 'server shutting down\n');
    assert.not.ok(done, 'shutdown() finished before the silent peer was dropped');
    await refused(server.port);

    const infos: CloseInfo[] = await stopping;
    assert.is(infos.length, 1);
    assert.is(infos[0]!.code, 1006);
    assert.is(infos[0]!.wasClean, false);
    assert.equal(await slowWs.closeInfo, infos[0]);
    await withTimeout(slow.closed, 2000, 'the silent peer to be disconnected');
  });
});

test('during shutdown: a handler still running answers 503; one that never finishes is cut off', async () => {
  const gates = new AsyncQueue<() => void>();
  const outcomes: unknown[] = [];
  const handler: Handler = async (request: IncomingMessage) => {
    const { response, websocket } = start(request, null);
    websocket.then(
      () => outcomes.push('upgraded'),
      (error: Error) => outcomes.push(error.message),
    );
    if (request.url === '/slow') await new Promise<void>((resolve) => gates.push(resolve));
    if (request.url === '/stuck') await new Promise<void>(() => gates.push(() => {}));
    return response;
  };
  await withServer(startServer(handler), async (server) => {
    const slow = await RawClient.connect(server.port);
    slow.handshake({ path: '/slow' });
    const openGate = await gates.shift();
    const stuck = await RawClient.connect(server.port);
    stuck.handshake({ path: '/stuck' });
    await gates.shift();

    const stopping = shutdown(server.server, { timeout: 300 });
    openGate();
    assert.is((await slow.readResponse()).status, 503);
    await slow.closed;
    // The stuck handler keeps the upgrade in flight until the timeout: then its socket goes.
    assert.equal(await stopping, []);
    await withTimeout(stuck.closed, 2000, 'the stuck upgrade to be cut off');
    assert.is(stuck.response, null, 'nothing was answered');
    assert.equal(outcomes, ['the request was answered with status 503, not upgraded']);
  });
});

test('shutdown() on an http.Server with attach(): Websockets close, idle keep-alive goes too', async () => {
  const accepted = new AsyncQueue<Websocket>();
  const app = createServer((_request, response) => response.end('app'));
  attach(app, accepting(accepted));
  const agent = new Agent({ keepAlive: true });
  try {
    await withServer(listen(app), async (server) => {
      // A keep-alive connection, idle after its response.
      const body = await new Promise<string>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: server.port, agent }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      assert.is(body, 'app');
      const clients = [await connectClient(server.port), await connectClient(server.port)];
      await accepted.shift();
      const ws = await accepted.shift();
      ws.write('before');
      const infos = await shutdown(app, { timeout: 3000 });
      assert.equal(infos, [BYE, BYE]);
      for (const client of clients) assert.equal(await client.closed, { code: 1001, reason: 'server shutting down' });
      assert.equal(clients[1]!.messages, ['before']);
      assert.is(app.listening, false);
    });
  } finally {
    agent.destroy();
  }
});

// ---------------------------------------------------------------------------------------------
// handshakeTimeout

test('handshakeTimeout: trickling or silent clients get 408 and are cut off; others are fine', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(
    startServer(accepting(accepted), { handshakeTimeout: 300 }),
    async (server) => {
      const connections = countConnections(server.server);
      const trickler = await connectRaw(server.port, connections);
      const silent = await connectRaw(server.port, connections);
      const client = await connectClient(server.port);
      await accepted.shift();

      // One header line every 50 ms: each arrives in time, the whole head never does.
      trickler.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      let lines = 0;
      let trickling = true;
      void trickler.closed.then(() => (trickling = false));
      const trickle = (async () => {
        while (trickling && lines < 100) {
          trickler.write(`X-Slow-${lines++}: ${'x'.repeat(10)}\r\n`);
          await sleep(50);
        }
      })();
      const response = await withTimeout(trickler.readResponse(), 3000, 'the trickler\'s 408');
      assert.is(response.status, 408);
      await withTimeout(trickler.closed, 3000, 'the trickler to be cut off');
      await trickle;
      assert.ok(lines > 1 && lines < 100, `${lines} header lines sent`);

      const silentResponse = await withTimeout(silent.readResponse(), 3000, 'the silent client\'s 408');
      assert.is(silentResponse.status, 408);
      await withTimeout(silent.closed, 3000, 'the silent client to be cut off');

      // The WebSocket that connected meanwhile outlived the handshake deadline.
      client.socket.send('fine');
      await until(() => client.messages.length === 1, 'the echo');
      assert.equal(client.messages, ['fine']);
      client.socket.close(1000);
      assert.is((await client.closed).code, 1000);
    },
    10_000,
  );
});

test('handshakeTimeout: an upgraded connection outlives it', async () => {
  const accepted = new AsyncQueue<Websocket>();
  await withServer(startServer(accepting(accepted), { handshakeTimeout: 300 }), async (server) => {
    const raw = await RawClient.open(server.port);
    await accepted.shift();
    // Well past the deadline, the upgraded connection is no HTTP request any more.
    await sleep(700);
    raw.sendText('late');
    const echo = await raw.nextFrame();
    assert.is(echo?.opcode, Op.Text);
    assert.is(echo?.payload.toString(), 'late');
    raw.sendClose(1000);
    assert.is((await raw.readUntilClose()).close?.code, 1000);
  });
});

test.run();
