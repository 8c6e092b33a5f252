// connect() over real sockets: against our own server and the `ws` package's, messages of every
// length class, subprotocols, closing both ways, pings; then every way the opening handshake can
// fail, with raw TCP servers that answer wrongly on purpose. All on 127.0.0.1 port 0, each test
// under a deadline, servers closed in `finally`.

import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { ConnectError, connect, serve, start, type ConnectErrorCode, type Websocket } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { pattern } from './helpers/hex.js';
import { inbox } from './helpers/inbox.js';
import { frame } from './helpers/raw-client.js';
import { startRawServer, switching, type RawServer } from './helpers/raw-server.js';
import { AsyncQueue, startServer, startWebsocketServer, track, withServer, type TestServer } from './helpers/server.js';

const DEADLINE = 10_000;
/** Lengths on each side of the frame-length encodings (7-bit, 16-bit, 64-bit), and 1 MiB. */
const SIZES = [0, 125, 126, 127, 65535, 65536, 1 << 20];

/** Text of exactly `bytes` UTF-8 bytes, mostly 4-byte characters so frames cut through them. */
function textOfBytes(bytes: number): string {
  return '😀'.repeat(bytes >> 2) + 'x'.repeat(bytes & 3);
}

/** Awaits connect(), expecting a ConnectError with `code`. */
async function rejectsWith(promise: Promise<Websocket>, code: ConnectErrorCode): Promise<ConnectError> {
  try {
    const ws = await promise;
    ws.destroy();
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    assert.is(error.code, code, error.message);
    return error;
  }
  throw new Error(`expected connect() to fail with ${code}, it connected`);
}

/** Sends every size as text and as binary and checks each echo, in order. */
async function assertEchoes(ws: Websocket): Promise<void> {
  const messages = inbox(ws);
  for (const size of SIZES) {
    ws.write(textOfBytes(size));
    ws.write(pattern(size, size + 1));
  }
  for (const size of SIZES) {
    const text = await messages.next();
    assert.type(text, 'string', `text of ${size} bytes`);
    assert.ok(text === textOfBytes(size), `text of ${size} bytes comes back the same`);
    const binary = await messages.next();
    assert.ok(Buffer.isBuffer(binary), `binary of ${size} bytes`);
    assert.ok((binary as Buffer).equals(pattern(size, size + 1)), `binary of ${size} bytes comes back the same`);
  }
}

/** A `ws` WebSocketServer on 127.0.0.1 port 0 that picks the first offered subprotocol. */
async function startWsServer(onConnection: (socket: WsSocket) => void): Promise<TestServer & { wss: WebSocketServer }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => offered.values().next().value ?? false,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', onConnection);
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    server: undefined as never,
    port,
    async close() {
      for (const client of wss.clients) client.terminate();
      await withTimeout(new Promise<void>((resolve) => wss.close(() => resolve())), 2000, 'wss.close()');
    },
  };
}

async function withRawServer(server: Promise<RawServer>, body: (server: RawServer) => Promise<void>): Promise<void> {
  const started = await server;
  try {
    await withTimeout(body(started), DEADLINE);
  } finally {
    await started.close();
  }
}

// ---------------------------------------------------------------------------------------------

const test = suite('client');

test('echoes text and binary of every length class through our server', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/echo`);
    await assertEchoes(ws);
    ws.close();
    assert.is((await ws.closeInfo).wasClean, true);
  }, DEADLINE);
});

test('takes http: URLs as ws:, such as the url of the server serve() started (IPv4 and IPv6)', async () => {
  const echo = (request: Parameters<typeof start>[0]) => {
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => ws.pipe(ws));
    return response;
  };
  for (const host of ['127.0.0.1', '::1']) {
    const listening = await serve(echo, { port: 0, host });
    await withServer(track(listening), async () => {
      const bracketed = host.includes(':') ? `[${host}]` : host;
      assert.is(listening.url, `http://${bracketed}:${listening.port}/`);
      const ws = await connect(new URL('/echo?x=1', listening.url));
      ws.write('over http:');
      assert.is(await inbox(ws).next(), 'over http:');
      ws.close();
      assert.is((await ws.closeInfo).code, 1000);
    }, DEADLINE);
  }
});

test('offers subprotocols in order and takes the one the server chose', async () => {
  let offered: string[] = [];
  const choose = (list: string[]): string | null => {
    offered = list;
    return list.includes('chat.v2') ? 'chat.v2' : null;
  };
  await withServer(startWebsocketServer({ choose }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { protocols: ['chat.v3', 'chat.v2', 'chat.v1'] });
    assert.equal(offered, ['chat.v3', 'chat.v2', 'chat.v1']);
    assert.is(ws.protocol, 'chat.v2');
    const { ws: accepted } = await server.accepted();
    assert.is(accepted.protocol, 'chat.v2');
    ws.destroy();

    const none = await connect(`ws://127.0.0.1:${server.port}/`);
    assert.is(none.protocol, null);
    const { request } = await server.accepted();
    assert.is(request.headers['sec-websocket-protocol'], undefined);
    none.destroy();
  }, DEADLINE);
});

test('sends the path, query, extra headers, origin and a fresh key', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const url = new URL(`ws://127.0.0.1:${server.port}/room/7?user=ana`);
    const ws = await connect(url, { headers: { 'X-Token': 'abc' }, origin: 'http://app.example' });
    const { request } = await server.accepted();
    assert.is(request.url, '/room/7?user=ana');
    assert.is(request.headers['x-token'], 'abc');
    assert.is(request.headers.origin, 'http://app.example');
    assert.is(request.headers['sec-websocket-version'], '13');
    assert.is(Buffer.from(request.headers['sec-websocket-key']!, 'base64').length, 16);
    assert.is(request.headers['sec-websocket-extensions'], undefined);
    ws.destroy();
  }, DEADLINE);
});

test('credentials in the url are sent as basic authorization', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const ws = await connect(`ws://ana%40home:s%3Acret@127.0.0.1:${server.port}/`);
    const { request } = await server.accepted();
    const [scheme, encoded] = (request.headers.authorization ?? '').split(' ');
    assert.is(scheme, 'Basic');
    assert.is(Buffer.from(encoded ?? '', 'base64').toString(), 'ana@home:s:cret');
    ws.destroy();
  }, DEADLINE);
});

test('a close from the client: the server sees its code and reason, both sides close cleanly', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.resume() }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    const { ws: accepted } = await server.accepted();
    ws.resume();
    ws.close(4000, 'client says bye ✓');
    assert.equal(await accepted.closeInfo, { code: 4000, reason: 'client says bye ✓', wasClean: true });
    const info = await ws.closeInfo;
    assert.is(info.code, 4000);
    assert.is(info.wasClean, true);
    assert.is(ws.readyState, 'closed');
  }, DEADLINE);
});

test('a close from the server: the client sees its code and reason', async () => {
  const onAccept = (ws: Websocket): void => ws.close(4001, 'server says bye');
  await withServer(startWebsocketServer({ onAccept }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    ws.resume();
    assert.equal(await ws.closeInfo, { code: 4001, reason: 'server says bye', wasClean: true });
    const { ws: accepted } = await server.accepted();
    assert.is((await accepted.closeInfo).wasClean, true);
  }, DEADLINE);
});

test('pings both ways: the client answers, and its own pings get pongs', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    ws.resume();
    const { ws: accepted } = await server.accepted();
    accepted.resume();
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping('from client');
    assert.is((await pong).toString(), 'from client');
    const ping = new Promise<Buffer>((resolve) => ws.once('ping', resolve));
    const serverPong = new Promise<Buffer>((resolve) => accepted.once('pong', resolve));
    accepted.ping('from server');
    assert.is((await ping).toString(), 'from server');
    assert.is((await serverPong).toString(), 'from server');
    ws.close();
    await ws.closeInfo;
  }, DEADLINE);
});

test('maxPayload: a longer message from the server fails the connection with 1009', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.write('x'.repeat(11)) }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { maxPayload: 10 });
    ws.resume();
    const info = await ws.closeInfo;
    assert.is(info.code, 1009);
    assert.is(info.wasClean, false);
    const { ws: accepted } = await server.accepted();
    assert.is((await accepted.closeInfo).code, 1009);
  }, DEADLINE);
});

test('bytes that arrive in the same packet as the 101 are the first message', async () => {
  const early = frame({ opcode: 0x1, payload: 'early bird', masked: false });
  await withRawServer(
    startRawServer((request, socket) => socket.write(Buffer.concat([Buffer.from(switching(request)), early]))),
    async (server) => {
      const ws = await connect(`ws://127.0.0.1:${server.port}/`);
      assert.is(await inbox(ws).next(), 'early bird');
      ws.destroy();
    },
  );
});

test('echoes every length class through a ws WebSocketServer, with its subprotocol', async () => {
  const onConnection = (socket: WsSocket): void => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  };
  await withServer(startWsServer(onConnection), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { protocols: ['first', 'second'] });
    assert.is(ws.protocol, 'first');
    await assertEchoes(ws);
    ws.close();
    assert.is((await ws.closeInfo).wasClean, true);
  }, DEADLINE);
});

test('permessage-deflate: every length class compressed both ways with our server', async () => {
  for (const deflate of [true, { serverNoContextTakeover: false, clientNoContextTakeover: false, threshold: 0 }] as const) {
    await withServer(startWebsocketServer({ deflate, onAccept: (ws) => ws.pipe(ws) }), async (server) => {
      const ws = await connect(`ws://127.0.0.1:${server.port}/`, { deflate: { threshold: 0 } });
      await assertEchoes(ws);
      ws.close();
      assert.is((await ws.closeInfo).wasClean, true);
    }, DEADLINE);
  }
});

test('permessage-deflate with a ws WebSocketServer; a server without it declines cleanly', async () => {
  const onConnection = (socket: WsSocket): void => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  };
  const wss = await startWsServer(onConnection);
  const options = wss.wss.options as { perMessageDeflate: unknown };
  options.perMessageDeflate = { threshold: 0 };
  await withServer(Promise.resolve(wss), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { deflate: { clientMaxWindowBits: 11 } });
    await assertEchoes(ws);
    ws.close();
    assert.is((await ws.closeInfo).wasClean, true);
  }, DEADLINE);
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { deflate: true });
    await assertEchoes(ws);
    ws.close();
  }, DEADLINE);
});

test('close codes and reasons both ways with a ws WebSocketServer', async () => {
  const closes = new AsyncQueue<{ code: number; reason: string }>();
  const onConnection = (socket: WsSocket): void => {
    socket.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    socket.on('message', (data) => {
      if (data.toString() === 'close yourself') socket.close(4003, 'as you wish');
    });
  };
  await withServer(startWsServer(onConnection), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    ws.resume();
    ws.close(4002, 'bye from prise');
    assert.equal(await ws.closeInfo, { code: 4002, reason: 'bye from prise', wasClean: true });
    assert.equal(await closes.shift(), { code: 4002, reason: 'bye from prise' });
    const other = await connect(`ws://127.0.0.1:${server.port}/`);
    other.resume();
    other.write('close yourself');
    assert.equal(await other.closeInfo, { code: 4003, reason: 'as you wish', wasClean: true });
    // ws reports the close frame it received: our echo repeats the code and the reason.
    assert.equal(await closes.shift(), { code: 4003, reason: 'as you wish' });
  }, DEADLINE);
});

test('pings both ways with a ws WebSocketServer', async () => {
  let accepted!: (socket: WsSocket) => void;
  const serverSocket = new Promise<WsSocket>((resolve) => (accepted = resolve));
  await withServer(startWsServer((socket) => accepted(socket)), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    ws.resume();
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping('ping from prise');
    assert.is((await pong).toString(), 'ping from prise');
    const socket = await serverSocket;
    const serverPong = new Promise<Buffer>((resolve) => socket.once('pong', resolve));
    socket.ping('ping from ws');
    assert.is((await serverPong).toString(), 'ping from ws');
    ws.close();
    await ws.closeInfo;
  }, DEADLINE);
});

// ---------------------------------------------------------------------------------------------

const failures = suite('connect failures');

failures('a status other than 101 rejects with the status', async () => {
  await withRawServer(
    startRawServer((_request, socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot here\r\n')),
    async (server) => {
      const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`), 'ERR_WS_UNEXPECTED_STATUS');
      assert.is(error.status, 404);
      assert.match(error.message, '404 Not Found');
    },
  );
});

failures('a refusal from our own server (a 400 for an unknown subprotocol) rejects with its status, headers and body', async () => {
  const refuse = () => ({ status: 400, headers: { 'X-Reason': 'subprotocol' }, body: 'offer chat.v2\n' });
  await withServer(startServer(refuse), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`, { protocols: ['x'] }), 'ERR_WS_UNEXPECTED_STATUS');
    assert.is(error.status, 400);
    assert.is(error.headers?.['x-reason'], 'subprotocol');
    assert.is(error.body, 'offer chat.v2\n');
    assert.match(error.message, '400 Bad Request instead of 101 switching protocols: "offer chat.v2"');
  }, DEADLINE);
});

failures('the body of a refusal is kept up to 64 KiB, never cut inside a character, and the rest is not read', async () => {
  // 40,000 four-byte characters (160,000 bytes): the 64 KiB cut falls inside one of them.
  const body = '😀'.repeat(40_000);
  const answer = `HTTP/1.1 403 Forbidden\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  await withRawServer(startRawServer((_request, socket) => socket.end(answer)), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`), 'ERR_WS_UNEXPECTED_STATUS');
    assert.is(error.status, 403);
    assert.is(error.body, '😀'.repeat(16_384), 'the first 65,536 bytes, whole characters');
    await server.closedConnections(1);
  });
});

failures('a refusal whose body never ends: the handshake timeout cuts it short, the status stays the answer', async () => {
  const answer = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000\r\n\r\nback soon';
  await withRawServer(startRawServer((_request, socket) => socket.write(answer)), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`, { handshakeTimeout: 200 }), 'ERR_WS_UNEXPECTED_STATUS');
    assert.is(error.status, 503);
    assert.is(error.body, 'back soon');
    await server.closedConnections(1);
  });
});

failures('a refusal without a body has body \'\'; a connection failure has neither status, headers nor body', async () => {
  await withRawServer(startRawServer((_request, socket) => socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n')), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`), 'ERR_WS_UNEXPECTED_STATUS');
    assert.is(error.body, '');
    assert.is(error.headers?.['content-length'], '0');
  });
  await withRawServer(startRawServer((_request, socket) => socket.end()), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`), 'ERR_WS_CONNECTION_FAILED');
    assert.equal([error.status, error.headers, error.body], [undefined, undefined, undefined]);
  });
});

/** A raw server answering `answer(request)`; connect must fail with `code` and close the connection. */
async function assertBadAnswer(
  answer: Parameters<typeof switching>[1],
  code: ConnectErrorCode,
  protocols: string[] = [],
  message?: string,
): Promise<void> {
  await withRawServer(
    startRawServer((request, socket) => socket.write(switching(request, answer))),
    async (server) => {
      const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`, { protocols }), code);
      if (message !== undefined) assert.match(error.message, message);
      assert.is(error.status, 101);
      // The client hangs up: the server's end of the connection closes too.
      await server.closedConnections(1);
    },
  );
}

failures('a wrong sec-websocket-accept rejects', async () => {
  await assertBadAnswer({ 'Sec-WebSocket-Accept': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, 'ERR_WS_BAD_ACCEPT');
});

failures('a missing upgrade header rejects', async () => {
  await assertBadAnswer({ Upgrade: null }, 'ERR_WS_MISSING_HEADER', [], 'upgrade');
});

failures('a missing connection header rejects', async () => {
  await assertBadAnswer({ Connection: null }, 'ERR_WS_MISSING_HEADER', [], 'connection');
});

failures('a missing sec-websocket-accept rejects', async () => {
  await assertBadAnswer({ 'Sec-WebSocket-Accept': null }, 'ERR_WS_MISSING_HEADER', [], 'sec-websocket-accept');
});

failures('a subprotocol that was not offered rejects', async () => {
  await assertBadAnswer({ 'Sec-WebSocket-Protocol': 'chat.v1' }, 'ERR_WS_BAD_PROTOCOL', ['chat.v2'], 'chat.v1');
});

failures('a subprotocol when none was offered rejects', async () => {
  await assertBadAnswer({ 'Sec-WebSocket-Protocol': 'chat' }, 'ERR_WS_BAD_PROTOCOL', [], 'none was offered');
});

failures('an extension that was not offered rejects', async () => {
  await assertBadAnswer({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }, 'ERR_WS_BAD_EXTENSION', [], 'permessage-deflate');
});

failures('a server that never answers: the handshake times out and the socket is closed', async () => {
  await withRawServer(startRawServer(() => {}), async (server) => {
    const error = await rejectsWith(
      connect(`ws://127.0.0.1:${server.port}/`, { handshakeTimeout: 100 }),
      'ERR_WS_HANDSHAKE_TIMEOUT',
    );
    assert.match(error.message, '100 ms');
    assert.is(server.requests.length, 1);
    await server.closedConnections(1);
  });
});

failures('an abort while the server thinks: rejects with the reason and closes the socket', async () => {
  const controller = new AbortController();
  await withRawServer(startRawServer(() => controller.abort(new Error('changed my mind'))), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`, { signal: controller.signal }), 'ERR_WS_ABORTED');
    assert.is((error.cause as Error).message, 'changed my mind');
    await server.closedConnections(1);
  });
});

failures('an already aborted signal rejects before sending anything', async () => {
  await withRawServer(startRawServer(() => {}), async (server) => {
    await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`, { signal: AbortSignal.abort() }), 'ERR_WS_ABORTED');
    assert.is(server.requests.length, 0);
  });
});

failures('an abort after connecting changes nothing', async () => {
  await withServer(startWebsocketServer({ onAccept: (ws) => ws.pipe(ws) }), async (server) => {
    const controller = new AbortController();
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { signal: controller.signal });
    controller.abort();
    ws.write('still here');
    assert.is(await inbox(ws).next(), 'still here');
    ws.close();
    await ws.closeInfo;
  }, DEADLINE);
});

failures('a refused connection rejects with the socket error as cause', async () => {
  // A port that was free a moment ago: listen, note it, close.
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const error = await withTimeout(rejectsWith(connect(`ws://127.0.0.1:${port}/`), 'ERR_WS_CONNECTION_FAILED'), DEADLINE);
  assert.is((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.is(error.status, undefined);
});

failures('a server that hangs up without answering rejects', async () => {
  await withRawServer(startRawServer((_request, socket) => socket.end()), async (server) => {
    await rejectsWith(connect(`ws://127.0.0.1:${server.port}/`), 'ERR_WS_CONNECTION_FAILED');
  });
});

/** Our server: /old/<n> redirects to /old/<n-1> ... /old/0 redirects to /target, which accepts. */
function redirecting(status = 302): Parameters<typeof startServer>[0] {
  return (request) => {
    const path = request.url ?? '/';
    if (path === '/target') {
      const { response, websocket } = start(request, null);
      void websocket.then((ws) => ws.pipe(ws));
      return response;
    }
    const n = Number(path.slice('/old/'.length));
    return { status, headers: { Location: n > 0 ? `/old/${n - 1}` : '/target' } };
  };
}

failures('a redirect is not followed by default: rejects naming the status and location', async () => {
  await withServer(startServer(redirecting(302)), async (server) => {
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/old/0`), 'ERR_WS_REDIRECT');
    assert.is(error.status, 302);
    assert.match(error.message, '/target');
  }, DEADLINE);
});

failures('followRedirects: follows a chain up to the limit', async () => {
  await withServer(startServer(redirecting(307)), async (server) => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/old/4`, { followRedirects: true });
    ws.write('after 5 redirects');
    assert.is(await inbox(ws).next(), 'after 5 redirects');
    ws.close();
    await ws.closeInfo;
    const error = await rejectsWith(connect(`ws://127.0.0.1:${server.port}/old/2`, { followRedirects: 2 }), 'ERR_WS_REDIRECT');
    assert.match(error.message, 'too many redirects');
    await rejectsWith(connect(`ws://127.0.0.1:${server.port}/old/0`, { followRedirects: 0 }), 'ERR_WS_REDIRECT');
  }, DEADLINE);
});

failures('followRedirects: to another host, with an http: location, without credentials', async () => {
  await withServer(startWebsocketServer(), async (target) => {
    const location = `http://127.0.0.1:${target.port}/landed`;
    await withRawServer(
      startRawServer((_request, socket) => socket.end(`HTTP/1.1 301 Moved Permanently\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`)),
      async (redirector) => {
        const ws = await connect(`ws://127.0.0.1:${redirector.port}/start`, {
          followRedirects: 1,
          headers: { Authorization: 'Bearer secret', Cookie: 'a=b', 'X-Kept': 'yes' },
        });
        assert.is(redirector.requests[0]!.headers.authorization, 'Bearer secret');
        const { request } = await target.accepted();
        assert.is(request.url, '/landed');
        assert.is(request.headers['x-kept'], 'yes');
        assert.is(request.headers.authorization, undefined);
        assert.is(request.headers.cookie, undefined);
        ws.destroy();
      },
    );
  }, DEADLINE);
});

failures('invalid urls and options reject before connecting', async () => {
  await rejectsWith(connect('ftp://127.0.0.1/'), 'ERR_WS_INVALID_URL');
  await rejectsWith(connect('not a url'), 'ERR_WS_INVALID_URL');
  await rejectsWith(connect('ws://127.0.0.1/#fragment'), 'ERR_WS_INVALID_URL');
  const url = 'ws://127.0.0.1:1/';
  const invalid: Array<[Parameters<typeof connect>[1], ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor]> = [
    [{ protocols: ['a', 'a'] }, TypeError],
    [{ protocols: ['not a token'] }, TypeError],
    [{ headers: { 'Sec-WebSocket-Key': 'x' } }, TypeError],
    [{ maxPayload: -1 }, RangeError],
    [{ handshakeTimeout: 0 }, RangeError],
    [{ followRedirects: -1 }, RangeError],
  ];
  for (const [options, type] of invalid) {
    try {
      await connect(url, options);
      assert.unreachable(`connect accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.instance(error, type, JSON.stringify(options));
    }
  }
});

test.run();
failures.run();
