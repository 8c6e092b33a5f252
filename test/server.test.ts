// serve(), attach() and upgrade() over real sockets: plain HTTP answers, refused and failed
// upgrades, handshakes a client got wrong, subprotocol choice, and bytes that arrive with the
// handshake. Each test has a deadline and closes its server in `finally` (see withServer).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebsocketError, attach, start, upgrade, type Response, type Websocket } from 'prise-ws';
import { httpGet } from './helpers/http-get.js';
import { Op, RawClient, frame, type HandshakeOptions, type ServerFrame } from './helpers/raw-client.js';
import {
  AsyncQueue,
  listen,
  startServer,
  startWebsocketServer,
  withServer,
} from './helpers/server.js';

const test = suite('server');

/** Frames until `count` have arrived (or the connection ended). */
async function frames(client: RawClient, count: number): Promise<ServerFrame[]> {
  const received: ServerFrame[] = [];
  while (received.length < count) {
    const next = await client.nextFrame();
    if (next === null) break;
    received.push(next);
  }
  return received;
}

/** Sends one text message and expects it back. */
async function assertEchoes(client: RawClient, text: string): Promise<void> {
  client.sendText(text);
  const echo = await client.nextFrame();
  assert.is(echo?.opcode, Op.Text);
  assert.is(echo?.payload.toString(), text);
}

/** The settled state of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

test('serve() writes the handler response: status, headers, string body', async () => {
  const handler = (): Response => ({
    status: 200,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Multi': ['a', 'b'], 'X-Number': 7 },
    body: 'héllo',
  });
  await withServer(startServer(handler), async ({ port }) => {
    const result = await httpGet(port);
    assert.is(result.status, 200);
    assert.is(result.headers['content-type'], 'text/plain; charset=utf-8');
    assert.is(result.headers['x-multi'], 'a, b');
    assert.is(result.headers['x-number'], '7');
    assert.is(result.body.toString('utf8'), 'héllo');
  });
});

test('serve() writes byte, Readable, async-iterable and empty bodies', async () => {
  const handler = (request: IncomingMessage): Response => {
    switch (request.url) {
      case '/bytes':
        return { status: 201, body: new Uint8Array([0, 1, 2, 255]) };
      case '/readable':
        return { status: 200, body: Readable.from([Buffer.from('one,'), 'two,', Buffer.from('three')]) };
      case '/generator':
        return {
          status: 200,
          body: (async function* () {
            yield 'a';
            yield new Uint8Array([0x62]);
          })(),
        };
      default:
        return { status: 204 };
    }
  };
  await withServer(startServer(handler), async ({ port }) => {
    const bytes = await httpGet(port, '/bytes');
    assert.is(bytes.status, 201);
    assert.is(bytes.body.toString('hex'), '000102ff');
    const readable = await httpGet(port, '/readable');
    assert.is(readable.status, 200);
    assert.is(readable.body.toString(), 'one,two,three');
    const generator = await httpGet(port, '/generator');
    assert.is(generator.body.toString(), 'ab');
    const empty = await httpGet(port, '/empty');
    assert.is(empty.status, 204);
    assert.is(empty.body.length, 0);
  });
});

test('a handler that throws gets a 500, onError hears of it, and the server keeps serving', async () => {
  const errors: unknown[] = [];
  const handler = async (request: IncomingMessage): Promise<Response> => {
    if (request.url === '/sync') throw new Error('sync failure');
    if (request.url === '/async') {
      await Promise.resolve();
      throw new Error('async failure');
    }
    return { status: 200, body: 'still here' };
  };
  const onError = (error: unknown): void => void errors.push(error);
  const server = startServer((request) => (request.url === '/sync' ? syncThrow() : handler(request)), { onError });
  await withServer(server, async ({ port }) => {
    const sync = await httpGet(port, '/sync');
    assert.is(sync.status, 500);
    assert.is(sync.body.toString(), 'internal server error\n');
    const rejected = await httpGet(port, '/async');
    assert.is(rejected.status, 500);
    const ok = await httpGet(port, '/');
    assert.is(ok.status, 200);
    assert.is(ok.body.toString(), 'still here');
    assert.equal(
      errors.map((error) => (error as Error).message),
      ['sync failure', 'async failure'],
    );
  });
});

function syncThrow(): never {
  throw new Error('sync failure');
}

test('a 101 from start() returned for a plain request is refused with a 500', async () => {
  const errors: unknown[] = [];
  const handler = (request: IncomingMessage): Response => {
    // A plain request is not a handshake, so borrow one to get a real 101 out of start().
    const borrowed = { ...request, headers: handshakeHeaders(), httpVersion: '1.1', method: 'GET' };
    return start(borrowed, null).response;
  };
  const server = startServer(handler, { onError: (error) => void errors.push(error) });
  await withServer(server, async ({ port }) => {
    const result = await httpGet(port);
    assert.is(result.status, 500);
    assert.is(errors.length, 1);
  });
});

function handshakeHeaders(): Record<string, string> {
  return {
    host: '127.0.0.1',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
  };
}

// ---------------------------------------------------------------------------------------------
// Upgrades answered with something else than 101

test('an upgrade answered with 403 gets that response, the socket closes, start() rejects', async () => {
  const started: Array<Promise<Websocket>> = [];
  const handler = (request: IncomingMessage): Response => {
    started.push(start(request, null).websocket);
    return { status: 403, headers: { 'X-Why': 'not you' }, body: 'forbidden\n' };
  };
  await withServer(startServer(handler), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake();
    const response = await client.readResponse();
    assert.is(response.status, 403);
    assert.is(response.headers['x-why'], 'not you');
    assert.is(response.headers['connection'], 'close');
    assert.is(response.headers['content-length'], '10');
    assert.is((await client.readToEnd()).toString(), 'forbidden\n');
    await client.closed;
    assert.is(started.length, 1);
    const error = await rejection(started[0]!);
    assert.instance(error, WebsocketError);
    assert.is((error as WebsocketError).kind, 'not-upgraded');
    assert.is((error as WebsocketError).response.status, 403);
  });
});

test('an upgrade answered with a streamed body gets it whole before the socket closes', async () => {
  const handler = (): Response => ({ status: 404, body: Readable.from(['no ', 'such ', 'place']) });
  await withServer(startServer(handler), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake();
    const response = await client.readResponse();
    assert.is(response.status, 404);
    assert.is(response.headers['content-length'], undefined);
    assert.is((await client.readToEnd()).toString(), 'no such place');
    await client.closed;
  });
});

test('an upgrade whose handler throws gets a 500, and start() rejects', async () => {
  const errors: unknown[] = [];
  const started: Array<Promise<Websocket>> = [];
  const handler = async (request: IncomingMessage): Promise<Response> => {
    started.push(start(request, null).websocket);
    throw new Error('handler broke');
  };
  const server = startServer(handler, { onError: (error) => void errors.push(error) });
  await withServer(server, async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake();
    const response = await client.readResponse();
    assert.is(response.status, 500);
    assert.is((await client.readToEnd()).toString(), 'internal server error\n');
    await client.closed;
    assert.is(errors.length, 1);
    const error = await rejection(started[0]!);
    assert.instance(error, WebsocketError);
    assert.is((error as WebsocketError).response.status, 500);
  });
});

// ---------------------------------------------------------------------------------------------
// Handshakes the client got wrong

interface BadHandshake {
  name: string;
  options: HandshakeOptions;
  status: 400 | 426;
  /** Part of the explanation the response body must give. */
  says: RegExp;
  /** Without `Connection: upgrade` Node sees a plain request, which may keep its connection. */
  plain?: boolean;
}

const badHandshakes: BadHandshake[] = [
  { name: 'HTTP/1.0', options: { httpVersion: '1.0' }, status: 400, says: /http\/1\.1/ },
  { name: 'no Host header', options: { headers: { Host: null } }, status: 400, says: /host/ },
  {
    name: 'a body',
    options: { headers: { 'Content-Length': '5' }, after: Buffer.from('hello') },
    status: 400,
    says: /body/,
  },
  {
    name: 'a chunked body',
    options: { headers: { 'Transfer-Encoding': 'chunked' }, after: Buffer.from('0\r\n\r\n') },
    status: 400,
    says: /body/,
  },
  { name: 'POST', options: { method: 'POST' }, status: 400, says: /GET/ },
  {
    name: 'Sec-WebSocket-Version: 8',
    options: { headers: { 'Sec-WebSocket-Version': '8' } },
    status: 426,
    says: /version/,
  },
  {
    name: 'no Sec-WebSocket-Version',
    options: { headers: { 'Sec-WebSocket-Version': null } },
    status: 426,
    says: /version/,
  },
  { name: 'a key that is not 16 bytes of base64', options: { key: 'c2hvcnQ=' }, status: 400, says: /key/ },
  { name: 'no key', options: { headers: { 'Sec-WebSocket-Key': null } }, status: 400, says: /key/ },
  { name: 'a list of subprotocols that are not tokens', options: { protocols: ['a b'] }, status: 400, says: /protocol/ },
  {
    name: 'Connection without upgrade',
    options: { headers: { Connection: 'keep-alive' } },
    status: 400,
    says: /connection/,
    plain: true,
  },
];

for (const { name, options, status, says, plain } of badHandshakes) {
  const closed = plain === true ? '' : ' and a closed connection';
  test(`a handshake with ${name} gets a ${status}${closed}`, async () => {
    await withServer(startWebsocketServer(), async ({ port }) => {
      const client = await RawClient.connect(port);
      client.handshake(options);
      const response = await client.readResponse();
      assert.is(response.status, status, response.raw);
      if (status === 426) assert.is(response.headers['sec-websocket-version'], '13');
      assert.is(response.headers['content-type'], 'text/plain; charset=utf-8');
      // RFC 7231 §6.5.15: every 426 names the protocol to upgrade to.
      assert.is(response.headers['upgrade'], status === 426 ? 'websocket' : undefined);
      assert.is(response.headers['sec-websocket-accept'], undefined);
      if (plain === true) return;
      assert.is(response.headers['connection'], status === 426 ? 'Upgrade, close' : 'close');
      assert.match((await client.readToEnd()).toString(), says);
      await client.closed;
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Subprotocols

test('the subprotocol is the handler\'s pick among several offered', async () => {
  const preference = ['chat.v3', 'chat.v2', 'chat.v1'];
  const choose = (offered: string[]): string | null => preference.find((p) => offered.includes(p)) ?? null;
  await withServer(startWebsocketServer({ choose, onAccept: (ws) => ws.pipe(ws) }), async (server) => {
    const client = await RawClient.open(server.port, { protocols: ['chat.v1', 'chat.v2', 'other'] });
    assert.is(client.response?.headers['sec-websocket-protocol'], 'chat.v2');
    const { ws } = await server.accepted();
    assert.is(ws.protocol, 'chat.v2');
    await assertEchoes(client, 'over chat.v2');

    const plain = await RawClient.open(server.port);
    assert.is(plain.response?.headers['sec-websocket-protocol'], undefined);
    assert.is((await server.accepted()).ws.protocol, null);
  });
});

test('choosing a subprotocol the client did not offer refuses the handshake with 400', async () => {
  await withServer(startWebsocketServer({ choose: () => 'unoffered' }), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake({ protocols: ['a', 'b'] });
    const response = await client.readResponse();
    assert.is(response.status, 400);
    assert.match((await client.readToEnd()).toString(), /unoffered/);
  });
});

// ---------------------------------------------------------------------------------------------
// attach()

test('attach(): plain requests stay the app\'s, upgrades go to the handler, detach() undoes it', async () => {
  const app = createServer((_request, response) => response.end('app'));
  const detach = attach(app, (request) => {
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => ws.pipe(ws));
    return response;
  });
  await withServer(listen(app), async ({ port }) => {
    const plain = await httpGet(port, '/');
    assert.is(plain.body.toString(), 'app');

    const client = await RawClient.open(port);
    await assertEchoes(client, 'attached');

    detach();
    assert.is(app.listenerCount('upgrade'), 0);
    // With no 'upgrade' listener left, Node hands the handshake to the app as a plain request.
    const late = await RawClient.connect(port);
    late.handshake();
    const response = await late.readResponse();
    assert.is(response.status, 200);
    // The WebSocket accepted before detach() carries on.
    await assertEchoes(client, 'still attached');
  });
});

test('attach() answers handshakes on its own server with its handler\'s refusals', async () => {
  const app = createServer((_request, response) => response.end('app'));
  attach(app, () => ({ status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: 'who are you?' }));
  await withServer(listen(app), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake();
    const response = await client.readResponse();
    assert.is(response.status, 401);
    assert.is(response.headers['www-authenticate'], 'Bearer');
    assert.is((await client.readToEnd()).toString(), 'who are you?');
  });
});

// ---------------------------------------------------------------------------------------------
// upgrade() from a bare 'upgrade' listener

type UpgradeResult = Websocket | null | Error;

/** An http.Server whose 'upgrade' listener calls upgrade() and echoes; results land in `results`. */
function bareServer(results: AsyncQueue<UpgradeResult>, subprotocol: string | null = null): Server {
  const server = createServer((_request, response) => response.end('plain'));
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(request, socket, head, subprotocol).then(
      (ws) => {
        ws?.pipe(ws);
        results.push(ws);
      },
      (error: unknown) => results.push(error instanceof Error ? error : new Error(String(error))),
    );
  });
  return server;
}

test('upgrade() turns a bare upgrade listener\'s socket into a Websocket', async () => {
  const results = new AsyncQueue<UpgradeResult>();
  await withServer(listen(bareServer(results, 'echo')), async ({ port }) => {
    const client = await RawClient.open(port, { protocols: ['echo'] });
    assert.is(client.response?.headers['sec-websocket-protocol'], 'echo');
    const ws = await results.shift();
    assert.ok(ws !== null && !(ws instanceof Error));
    assert.is(ws.protocol, 'echo');
    await assertEchoes(client, 'bare');
  });
});

test('upgrade() resolves null for a bad handshake, after answering it and closing the socket', async () => {
  const results = new AsyncQueue<UpgradeResult>();
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => void rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await withServer(listen(bareServer(results)), async ({ port }) => {
      const versionless = await RawClient.connect(port);
      versionless.handshake({ headers: { 'Sec-WebSocket-Version': '8' } });
      assert.is((await versionless.readResponse()).status, 426);
      await versionless.readToEnd();
      await versionless.closed;
      assert.is(await results.shift(), null);

      const keyless = await RawClient.connect(port);
      keyless.handshake({ headers: { 'Sec-WebSocket-Key': null } });
      assert.is((await keyless.readResponse()).status, 400);
      await keyless.closed;
      assert.is(await results.shift(), null);

      // The server is none the worse for it.
      const client = await RawClient.open(port);
      await assertEchoes(client, 'fine');
      const ws = await results.shift();
      assert.ok(ws !== null && !(ws instanceof Error));
    });
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  assert.equal(rejections, []);
});

test('upgrade() with a subprotocol the client did not offer resolves null after a 400', async () => {
  const results = new AsyncQueue<UpgradeResult>();
  await withServer(listen(bareServer(results, 'mine')), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake({ protocols: ['yours'] });
    assert.is((await client.readResponse()).status, 400);
    await client.closed;
    assert.is(await results.shift(), null);
  });
});

// ---------------------------------------------------------------------------------------------
// Bytes that come with the handshake

/** A text frame and a ping, to be sent in the same TCP write as the handshake request. */
function pipelined(): Buffer {
  return Buffer.concat([
    frame({ opcode: Op.Text, payload: 'early bird' }),
    frame({ opcode: Op.Ping, payload: 'p' }),
  ]);
}

async function assertPipelinedAnswered(client: RawClient): Promise<void> {
  const received = await frames(client, 2);
  const text = received.find((f) => f.opcode === Op.Text);
  const pong = received.find((f) => f.opcode === Op.Pong);
  assert.is(text?.payload.toString(), 'early bird');
  assert.is(pong?.payload.toString(), 'p');
}

test('frames sent in the same write as the handshake (head) are not lost: serve()', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async ({ port }) => {
    const client = await RawClient.open(port, { after: pipelined() });
    await assertPipelinedAnswered(client);
  });
});

test('frames sent in the same write as the handshake (head) are not lost: upgrade()', async () => {
  const results = new AsyncQueue<UpgradeResult>();
  await withServer(listen(bareServer(results)), async ({ port }) => {
    const client = await RawClient.open(port, { after: pipelined() });
    await assertPipelinedAnswered(client);
  });
});

test('frames sent before the 101 arrives are not lost while an async handler runs', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const handler = async (request: IncomingMessage): Promise<Response> => {
    await released;
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => ws.pipe(ws));
    return response;
  };
  await withServer(startServer(handler), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake();
    // Separate writes, all before the server answers.
    client.sendText('first');
    client.sendText('second');
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    assert.is((await client.readResponse()).status, 101);
    const echoes = await frames(client, 2);
    assert.equal(
      echoes.map((f) => f.payload.toString()),
      ['first', 'second'],
    );
  });
});

test('a server with several connections keeps them apart', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async ({ port }) => {
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.open(port)));
    clients.forEach((client, i) => client.sendText(`client ${i}`));
    const echoes = await Promise.all(clients.map((client) => client.nextFrame()));
    assert.equal(
      echoes.map((f) => f?.payload.toString()),
      ['client 0', 'client 1', 'client 2'],
    );
  });
});

test.run();
