// WebSockets over HTTP/2 (RFC 8441) over real sockets on 127.0.0.1: serve({ http2: true }) with
// TLS (h2 + http/1.1 on one port) and without (h2c), attach() on servers the app made (with and
// without node's compat layer, whose 'request' listener would 405 every CONNECT), our
// connect({ http2 }) with its fallback and shared sessions, undici's WebSocket over h2, ws over
// HTTP/1.1 on the same port, multiplexing and isolation, protocol violations over both
// transports, and shutdown (1001, then GOAWAY).

import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import {
  connect as http2Connect,
  constants as h2,
  createSecureServer,
  createServer as createH2cServer,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
} from 'node:http2';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, WebSocket as UndiciWebSocket } from 'undici';
import WebSocketClient from 'ws';
import {
  accept,
  attach,
  connect,
  ConnectError,
  openSession,
  serve,
  shutdown,
  start,
  WebsocketError,
  type CloseInfo,
  type Http2Handler,
  type Websocket,
} from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import { inbox } from './helpers/inbox.js';
import { closePayload, frame, Op, RawClient, type FrameSpec } from './helpers/raw-client.js';
import { AsyncQueue } from './helpers/server.js';
import { selfSignedCertificate } from './helpers/tls-cert.js';

const DEADLINE = 15_000;
const cert = selfSignedCertificate();
const tls = { ca: cert.cert };

interface Seen {
  readonly ws: Websocket;
  readonly httpVersion: string;
  readonly path: string;
}

/** A handler that echoes every WebSocket (except /stall, which never reads) and records it. */
function echoHandler(seen: AsyncQueue<Seen>): Http2Handler {
  return (request) => {
    const path = request.url ?? '/';
    if (!path.startsWith('/ws')) return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: `plain ${request.httpVersion}` };
    let started;
    try {
      started = start(request, null, { maxPayload: 4 * 1024 * 1024 });
    } catch (error) {
      if (error instanceof WebsocketError) return error.response;
      throw error;
    }
    void started.websocket.then((ws) => {
      if (path.startsWith('/ws/drop')) ws.destroy();
      else if (!path.startsWith('/ws/stall')) ws.pipe(ws);
      seen.push({ ws, httpVersion: request.httpVersion, path });
    });
    return started.response;
  };
}

type AnyServer = Http2SecureServer | Http2Server;

async function withHttp2Server(
  options: { tls: boolean },
  body: (port: number, seen: AsyncQueue<Seen>, server: AnyServer) => Promise<void>,
): Promise<void> {
  const seen = new AsyncQueue<Seen>();
  const server = await serve(echoHandler(seen), { http2: true, port: 0, ...(options.tls ? { tls: cert } : {}) });
  try {
    await withTimeout(body((server.address() as AddressInfo).port, seen, server), DEADLINE);
  } finally {
    await withTimeout(shutdown(server, { timeout: 500 }), 5000, 'shutdown');
  }
}

async function echo(ws: Websocket, messages: Array<string | Buffer>): Promise<void> {
  const box = inbox(ws);
  for (const message of messages) ws.write(message);
  for (const message of messages) {
    const got = await box.next();
    if (typeof message === 'string') assert.is(got, message);
    else assert.ok(Buffer.isBuffer(got) && got.equals(message), 'binary echo');
  }
}

const serverSuite = suite('http2: serve');

serverSuite('wss over HTTP/2: connect({ http2: "require" }) echoes text and 1 MiB; the handler sees 2.0; clean close', async () => {
  await withHttp2Server({ tls: true }, async (port, seen) => {
    const ws = await connect(`wss://127.0.0.1:${port}/ws`, { http2: 'require', tls });
    const server = await seen.shift();
    assert.is(server.httpVersion, '2.0');
    await echo(ws, ['hello', Buffer.alloc(1024 * 1024, 7), '']);
    ws.close(1000, 'done');
    const [client, serverInfo] = await Promise.all([ws.closeInfo, server.ws.closeInfo]);
    assert.equal([client.code, client.wasClean], [1000, true]);
    assert.equal([serverInfo.code, serverInfo.reason, serverInfo.wasClean], [1000, 'done', true]);
  });
});

serverSuite('plain requests over h2 and http/1.1 get the handler\'s response; ALPN offers h2', async () => {
  await withHttp2Server({ tls: true }, async (port) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, tls);
    try {
      const stream = session.request({ ':path': '/' });
      stream.setEncoding('utf8');
      let text = '';
      stream.on('data', (chunk: string) => (text += chunk));
      const [headers] = await once(stream, 'response');
      await once(stream, 'end');
      assert.is(headers[':status'], 200);
      assert.is(text, 'plain 2.0');
    } finally {
      session.close();
    }
    // A client that asks for h2 alone gets it (an https.Server would send no_application_protocol).
    const socket = tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], ...tls });
    await once(socket, 'secureConnect');
    assert.is(socket.alpnProtocol, 'h2');
    socket.destroy();
    const socket1 = tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['http/1.1'], ...tls });
    await once(socket1, 'secureConnect');
    assert.is(socket1.alpnProtocol, 'http/1.1');
    socket1.destroy();
  });
});

serverSuite('h2c (no tls): extended CONNECT with prior knowledge', async () => {
  await withHttp2Server({ tls: false }, async (port, seen) => {
    const ws = await connect(`ws://127.0.0.1:${port}/ws`, { http2: 'require' });
    assert.is((await seen.shift()).httpVersion, '2.0');
    await echo(ws, ['over h2c', Buffer.from([1, 2, 3])]);
    ws.close();
    assert.is((await ws.closeInfo).wasClean, true);
  });
});

serverSuite('same port, both versions: ws (HTTP/1.1 upgrade), our HTTP/1.1 client and HTTP/2 CONNECTs', async () => {
  await withHttp2Server({ tls: true }, async (port, seen) => {
    const wsClient = new WebSocketClient(`wss://127.0.0.1:${port}/ws`, { ca: cert.cert });
    await once(wsClient, 'open');
    assert.is((await seen.shift()).httpVersion, '1.1');
    wsClient.send('from ws');
    const [reply] = await once(wsClient, 'message');
    assert.is(String(reply), 'from ws');
    const http1 = await connect(`wss://127.0.0.1:${port}/ws`, { tls });
    assert.is((await seen.shift()).httpVersion, '1.1');
    const http2 = await connect(`wss://127.0.0.1:${port}/ws`, { http2: 'require', tls });
    assert.is((await seen.shift()).httpVersion, '2.0');
    await Promise.all([echo(http1, ['one']), echo(http2, ['two'])]);
    wsClient.close(1000);
    await once(wsClient, 'close');
    http1.close();
    http2.close();
    await Promise.all([http1.closeInfo, http2.closeInfo]);
  });
});

serverSuite('a refused extended CONNECT mirrors HTTP/1.1: 426 naming version 13, 400 for a bad one', async () => {
  await withHttp2Server({ tls: false }, async (port) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    try {
      await once(session, 'remoteSettings');
      const ask = async (headers: Record<string, string>): Promise<Record<string, unknown>> => {
        const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/ws', ':authority': `127.0.0.1:${port}`, ...headers }, { endStream: false });
        stream.resume();
        const [response] = await once(stream, 'response');
        await once(stream, 'close');
        return response;
      };
      const wrongVersion = await ask({ 'sec-websocket-version': '8' });
      assert.is(wrongVersion[':status'], 426);
      assert.is(wrongVersion['sec-websocket-version'], '13');
      const badProtocols = await ask({ 'sec-websocket-version': '13', 'sec-websocket-protocol': 'a, a' });
      assert.is(badProtocols[':status'], 400);
    } finally {
      session.close();
    }
  });
});

serverSuite('accept() over HTTP/2: the session runs on the stream\'s Websocket', async () => {
  const server = await serve((request) => accept(request, null, (ws) => ws.pipe(ws)), { http2: true, port: 0 });
  try {
    const ws = await withTimeout(connect(`ws://127.0.0.1:${server.port}/`, { http2: 'require' }), DEADLINE);
    await withTimeout(echo(ws, ['from a session']), DEADLINE);
    ws.close();
    assert.is((await withTimeout(ws.closeInfo, DEADLINE)).wasClean, true);
  } finally {
    await shutdown(server, { timeout: 500 });
  }
});

serverSuite.run();

const clientSuite = suite('http2: connect()');

clientSuite('against a minimal node:http2 server written here: 200, one text frame and a close', async () => {
  const server = createH2cServer({ settings: { enableConnectProtocol: true } });
  const requests: Array<Record<string, unknown>> = [];
  server.on('stream', (stream, headers) => {
    requests.push(headers);
    stream.respond({ ':status': 200 });
    // Unmasked server frames, built by hand: text "hello", then close 1000.
    stream.write(Buffer.from('8105' + Buffer.from('hello').toString('hex'), 'hex'));
    stream.write(Buffer.from('880203e8', 'hex'));
    stream.on('data', () => {}); // the client's masked close frame
    stream.on('end', () => stream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const ws = await withTimeout(connect(`ws://127.0.0.1:${port}/chat?x=1`, { http2: 'require', protocols: [] }), DEADLINE);
    assert.is(await withTimeout(inbox(ws).next(), DEADLINE), 'hello');
    const info = await withTimeout(ws.closeInfo, DEADLINE);
    assert.equal([info.code, info.wasClean], [1000, true]);
    const headers = requests[0]!;
    assert.is(headers[':method'], 'CONNECT');
    assert.is(headers[':protocol'], 'websocket');
    assert.is(headers[':path'], '/chat?x=1');
    assert.is(headers['sec-websocket-version'], '13');
    assert.is(headers['sec-websocket-key'], undefined);
  } finally {
    server.close();
  }
});

clientSuite('fallback: an HTTP/1.1-only server gets an upgrade; http2: "require" refuses with ERR_WS_NO_HTTP2', async () => {
  const seen = new AsyncQueue<Seen>();
  const server = await serve(echoHandler(seen) as (request: IncomingMessage) => ReturnType<Http2Handler>, { port: 0, tls: cert });
  try {
    const port = (server.address() as AddressInfo).port;
    const ws = await withTimeout(connect(`wss://127.0.0.1:${port}/ws`, { http2: true, tls }), DEADLINE);
    assert.is((await seen.shift()).httpVersion, '1.1');
    await withTimeout(echo(ws, ['fell back']), DEADLINE);
    ws.close();
    await ws.closeInfo;
    const error = await connect(`wss://127.0.0.1:${port}/ws`, { http2: 'require', tls }).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError);
    assert.is(error.code, 'ERR_WS_NO_HTTP2');
  } finally {
    await shutdown(server, { timeout: 500 });
  }
});

clientSuite('fallback: an h2 server without enableConnectProtocol; "require" gives ERR_WS_NO_EXTENDED_CONNECT', async () => {
  // The app's server: HTTP/2 and HTTP/1.1, but the RFC 8441 setting left off.
  const server = createSecureServer({ ...cert, allowHTTP1: true });
  const seen = new AsyncQueue<Seen>();
  attach(server, echoHandler(seen));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const ws = await withTimeout(connect(`wss://127.0.0.1:${port}/ws`, { http2: true, tls }), DEADLINE);
    assert.is((await seen.shift()).httpVersion, '1.1');
    ws.close();
    await ws.closeInfo;
    const error = await connect(`wss://127.0.0.1:${port}/ws`, { http2: 'require', tls }).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectError);
    assert.is(error.code, 'ERR_WS_NO_EXTENDED_CONNECT');
  } finally {
    await shutdown(server, { timeout: 500 });
  }
});

clientSuite('a stream the server resets before answering is ERR_WS_STREAM_RESET', async () => {
  const server = createH2cServer({ settings: { enableConnectProtocol: true } });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.close(h2.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const error = await withTimeout(connect(`ws://127.0.0.1:${port}/`, { http2: 'require' }).catch((e: unknown) => e), DEADLINE);
    assert.ok(error instanceof ConnectError);
    assert.is(error.code, 'ERR_WS_STREAM_RESET');
    assert.match(error.message, String(h2.NGHTTP2_REFUSED_STREAM));
  } finally {
    server.close();
  }
});

clientSuite.run();

const muxSuite = suite('http2: multiplexing');

muxSuite('50 WebSockets on one session echo concurrently; a stalled and a reset one do not stop them', async () => {
  await withHttp2Server({ tls: true }, async (port, seen) => {
    const session: ClientHttp2Session = await openSession(`wss://127.0.0.1:${port}`, { tls });
    try {
      // Every WebSocket below rides this one TCP connection.
      const stalled = await connect(`wss://127.0.0.1:${port}/ws/stall`, { session });
      const reset = await connect(`wss://127.0.0.1:${port}/ws/reset`, { session });
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => connect(`wss://127.0.0.1:${port}/ws/${i}`, { session })));
      const servers = new Map<string, Seen>();
      for (let i = 0; i < 52; i++) {
        const s = await seen.shift();
        servers.set(s.path, s);
        assert.is(s.httpVersion, '2.0');
      }
      // The stalled one: its reader never reads, so HTTP/2 flow control stops its sender only.
      // Its 16-message readable buffer fills, the stream is paused, and the window runs out.
      for (let i = 0; i < 96; i++) stalled.write(Buffer.alloc(64 * 1024));
      // The reset one: a message cut off mid-way by RST_STREAM(CANCEL) from our side.
      reset.write(Buffer.alloc(300 * 1024));
      setImmediate(() => reset.destroy());
      const messages = (i: number): Array<string | Buffer> => [`m${i}`, Buffer.alloc(64 * 1024, i), `n${i}`];
      await Promise.all(many.map((ws, i) => echo(ws, messages(i))));
      const resetInfo = await servers.get('/ws/reset')!.ws.closeInfo;
      assert.is(resetInfo.code, 1006);
      assert.is(servers.get('/ws/stall')!.ws.readyState, 'open');
      assert.ok(stalled.writableLength > 1024 * 1024, `the stalled sender is held back (${stalled.writableLength} bytes queued)`);
      for (const ws of many) ws.close();
      const infos = await Promise.all(many.map((ws) => ws.closeInfo));
      assert.ok(infos.every((info) => info.wasClean));
      assert.not.ok(session.destroyed);
      stalled.destroy();
    } finally {
      session.close();
    }
  });
});

muxSuite.run();

const attachSuite = suite('http2: attach()');

async function withAppServer(
  make: () => AnyServer,
  body: (port: number, seen: AsyncQueue<Seen>) => Promise<void>,
): Promise<void> {
  const server = make();
  const seen = new AsyncQueue<Seen>();
  attach(server, echoHandler(seen));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await withTimeout(body((server.address() as AddressInfo).port, seen), DEADLINE);
  } finally {
    await withTimeout(shutdown(server, { timeout: 500 }), 5000, 'shutdown');
  }
}

attachSuite('an app server with a compat "request" listener: CONNECTs reach the handler, not a 405 (nodejs/node#36977)', async () => {
  await withAppServer(
    () => {
      const server = createSecureServer({ ...cert, allowHTTP1: true, settings: { enableConnectProtocol: true } });
      server.on('request', (_request: Http2ServerRequest | IncomingMessage, response) => response.end('app'));
      return server;
    },
    async (port, seen) => {
      const ws = await connect(`wss://127.0.0.1:${port}/ws`, { http2: 'require', tls });
      assert.is((await seen.shift()).httpVersion, '2.0');
      await echo(ws, ['through compat']);
      const old = await connect(`wss://127.0.0.1:${port}/ws`, { tls });
      assert.is((await seen.shift()).httpVersion, '1.1');
      ws.close();
      old.close();
      await Promise.all([ws.closeInfo, old.closeInfo]);
    },
  );
});

attachSuite('without the attach, the same compat server answers CONNECT with 405 (the quirk itself)', async () => {
  const server = createH2cServer({ settings: { enableConnectProtocol: true } });
  server.on('request', (_request, response) => response.end('app'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const error = await withTimeout(connect(`ws://127.0.0.1:${port}/ws`, { http2: 'require' }).catch((e: unknown) => e), DEADLINE);
    assert.ok(error instanceof ConnectError);
    assert.is(error.status, 405);
  } finally {
    server.close();
  }
});

attachSuite('an app server using only the "stream" API (no compat) also gets its CONNECTs answered', async () => {
  await withAppServer(
    () => {
      const server = createH2cServer({ settings: { enableConnectProtocol: true } });
      server.on('stream', (stream, headers) => {
        if (headers[':protocol'] !== undefined) return; // the app leaves WebSockets to prise
        stream.respond({ ':status': 200 });
        stream.end('app');
      });
      return server;
    },
    async (port, seen) => {
      const ws = await connect(`ws://127.0.0.1:${port}/ws`, { http2: 'require' });
      assert.is((await seen.shift()).httpVersion, '2.0');
      await echo(ws, ['through streams']);
      ws.close();
      await ws.closeInfo;
    },
  );
});

attachSuite.run();

const peerSuite = suite('http2: undici');

peerSuite('undici 7 WebSocket with Agent({ allowH2: true }) over RFC 8441; we end its stream (RST NO_ERROR after END_STREAM)', async () => {
  await withHttp2Server({ tls: true }, async (port, seen) => {
    const agent = new Agent({ allowH2: true, connect: { ca: cert.cert } });
    try {
      const ws = new UndiciWebSocket(`wss://127.0.0.1:${port}/ws`, { dispatcher: agent } as never);
      ws.binaryType = 'arraybuffer';
      const messages = new AsyncQueue<unknown>();
      ws.addEventListener('message', (event) => messages.push(event.data));
      const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
        ws.addEventListener('close', (event) => resolve({ code: event.code, wasClean: event.wasClean })),
      );
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('undici websocket failed')));
      });
      const server = await seen.shift();
      assert.is(server.httpVersion, '2.0');
      ws.send('from undici');
      assert.is(await messages.shift(), 'from undici');
      ws.send(new Uint8Array(70_000).fill(3));
      const binary = (await messages.shift()) as ArrayBuffer;
      assert.is(binary.byteLength, 70_000);
      ws.close(1000, 'bye');
      const info: CloseInfo = await server.ws.closeInfo;
      assert.equal([info.code, info.wasClean], [1000, true]);
      assert.equal(await closed, { code: 1000, wasClean: true });
    } finally {
      await agent.close().catch(() => {});
    }
  });
});

peerSuite.run();

// ---------------------------------------------------------------------------------------------
// Protocol violations: the same frames, the same close codes, over TCP and over an HTTP/2 stream.

interface Violation {
  readonly name: string;
  readonly frames: FrameSpec[];
  readonly code: number;
}

const violations: Violation[] = [
  { name: 'unmasked frame', frames: [{ opcode: Op.Text, payload: 'x', masked: false }], code: 1002 },
  { name: 'reserved opcode', frames: [{ opcode: 0x3, payload: 'x' }], code: 1002 },
  { name: 'reserved bits', frames: [{ opcode: Op.Text, payload: 'x', rsv: 2 }], code: 1002 },
  { name: 'fragmented ping', frames: [{ opcode: Op.Ping, payload: 'x', fin: false }], code: 1002 },
  { name: 'invalid utf-8', frames: [{ opcode: Op.Text, payload: Buffer.from([0xff, 0xfe]) }], code: 1007 },
  { name: 'continuation without a message', frames: [{ opcode: Op.Continuation, payload: 'x' }], code: 1002 },
  { name: 'message over maxPayload', frames: [{ opcode: Op.Binary, payload: Buffer.alloc(5 * 1024 * 1024) }], code: 1009 },
  { name: 'close code 1005 on the wire', frames: [{ opcode: Op.Close, payload: closePayload(1005) }], code: 1002 },
];

/** The close code of the first close frame in unmasked server bytes, or null. */
function closeCodeIn(bytes: Buffer): number | null {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) ((length = bytes.readUInt16BE(at + 2)), (header = 4));
    else if (length === 127) ((length = Number(bytes.readBigUInt64BE(at + 2))), (header = 10));
    if (opcode === Op.Close) return length >= 2 ? bytes.readUInt16BE(at + header) : 1005;
    at += header + length;
  }
  return null;
}

async function violateOverHttp2(session: ClientHttp2Session, port: number, violation: Violation): Promise<{ code: number | null; rst: number }> {
  const stream: ClientHttp2Stream = session.request(
    { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/ws', ':authority': `127.0.0.1:${port}`, 'sec-websocket-version': '13' },
    { endStream: false },
  );
  stream.on('error', () => {});
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(stream, 'response');
  for (const spec of violation.frames) stream.write(frame(spec));
  await until(() => closeCodeIn(Buffer.concat(chunks)) !== null || stream.closed, 'a close frame', DEADLINE);
  stream.close();
  await once(stream, 'close').catch(() => {});
  return { code: closeCodeIn(Buffer.concat(chunks)), rst: stream.rstCode ?? -1 };
}

const violationSuite = suite('http2: protocol violations, both transports');

violationSuite('each violation gets the same close code over TCP and over an HTTP/2 stream', async () => {
  const tcpSeen = new AsyncQueue<Seen>();
  const tcpServer = await serve(echoHandler(tcpSeen) as (request: IncomingMessage) => ReturnType<Http2Handler>, { port: 0 });
  const tcpPort = (tcpServer.address() as AddressInfo).port;
  await withHttp2Server({ tls: true }, async (port, seen) => {
    const session = await openSession(`wss://127.0.0.1:${port}`, { tls });
    try {
      for (const violation of violations) {
        const raw = await RawClient.open(tcpPort, { path: '/ws' });
        for (const spec of violation.frames) raw.send(spec);
        const { close } = await raw.readUntilClose();
        raw.destroy();
        const overTcp = close?.code ?? null;
        const overHttp2 = await violateOverHttp2(session, port, violation);
        assert.is(overTcp, violation.code, `${violation.name} over tcp`);
        assert.is(overHttp2.code, violation.code, `${violation.name} over http/2`);
        // Both servers' Websockets report it the same way.
        const a = await tcpSeen.shift();
        const b = await seen.shift();
        const [infoA, infoB] = await Promise.all([a.ws.closeInfo, b.ws.closeInfo]);
        assert.is(infoA.code, violation.code);
        assert.is(infoB.code, violation.code);
      }
      assert.not.ok(session.destroyed, 'violations end streams, not the session');
    } finally {
      session.close();
    }
  }).finally(() => shutdown(tcpServer, { timeout: 500 }));
});

violationSuite.run();

const shutdownSuite = suite('http2: shutdown');

shutdownSuite('shutdown(): 1001 to each WebSocket on both versions, then GOAWAY; new CONNECTs refused', async () => {
  const seen = new AsyncQueue<Seen>();
  const server = await serve(echoHandler(seen), { http2: true, tls: cert, port: 0 });
  const port = (server.address() as AddressInfo).port;
  const session = await openSession(`wss://127.0.0.1:${port}`, { tls });
  try {
    const a = await connect(`wss://127.0.0.1:${port}/ws`, { session });
    const b = await connect(`wss://127.0.0.1:${port}/ws`, { session });
    const c = await connect(`wss://127.0.0.1:${port}/ws`, { tls }); // HTTP/1.1
    for (const ws of [a, b, c]) ws.resume();
    await seen.shift(), await seen.shift(), await seen.shift();
    const goaway = once(session, 'goaway');
    const infos = await withTimeout(shutdown(server, { timeout: 2000 }), DEADLINE);
    assert.equal(infos.map((info) => info.code), [1001, 1001, 1001]);
    for (const ws of [a, b, c]) assert.is((await ws.closeInfo).code, 1001);
    const [code] = await withTimeout(goaway, DEADLINE);
    assert.is(code, h2.NGHTTP2_NO_ERROR);
  } finally {
    session.destroy();
    if (server.listening) server.close();
  }
});

shutdownSuite.run();

const timeoutSuite = suite('http2: handshake timeout');

timeoutSuite('a connection that opens no stream within handshakeTimeout is dropped', async () => {
  const server = await serve(echoHandler(new AsyncQueue<Seen>()), { http2: true, port: 0, handshakeTimeout: 300 });
  try {
    const socket = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => {});
    // The client preface and an empty SETTINGS frame, then silence.
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from('000000040000000000', 'hex')]));
    socket.resume();
    await withTimeout(once(socket, 'close'), DEADLINE, 'the silent connection dropped');
  } finally {
    await shutdown(server, { timeout: 500 });
  }
});

timeoutSuite.run();

const closingSuite = suite('http2: how streams end');

function rawConnect(session: ClientHttp2Session, port: number, path: string): ClientHttp2Stream {
  const stream = session.request(
    { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': path, ':authority': `127.0.0.1:${port}`, 'sec-websocket-version': '13' },
    { endStream: false },
  );
  stream.on('error', () => {});
  return stream;
}

closingSuite('a clean close from a peer that never sends END_STREAM (like undici): RST_STREAM(NO_ERROR) after the grace', async () => {
  await withHttp2Server({ tls: false }, async (port, seen) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    try {
      const stream = rawConnect(session, port, '/ws');
      await once(stream, 'response');
      const server = await seen.shift();
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.write(frame({ opcode: Op.Close, payload: closePayload(1000, 'done') })); // and no END_STREAM
      await once(stream, 'close');
      assert.is(stream.rstCode, h2.NGHTTP2_NO_ERROR);
      assert.is(closeCodeIn(Buffer.concat(chunks)), 1000, 'the close was echoed first');
      const info = await server.ws.closeInfo;
      assert.equal([info.code, info.wasClean], [1000, true]);
    } finally {
      session.close();
    }
  });
});

closingSuite('a dropped Websocket resets its stream with RST_STREAM(CANCEL); the session lives on', async () => {
  await withHttp2Server({ tls: false }, async (port, seen) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    try {
      const stream = rawConnect(session, port, '/ws/drop');
      stream.resume();
      await once(stream, 'close');
      assert.is(stream.rstCode, h2.NGHTTP2_CANCEL);
      assert.is((await (await seen.shift()).ws.closeInfo).code, 1006);
      const ws = await connect(`ws://127.0.0.1:${port}/ws`, { http2: 'require' });
      await echo(ws, ['still fine']);
      ws.close();
      await ws.closeInfo;
    } finally {
      session.close();
    }
  });
});

closingSuite.run();
