// Interoperability: the `ws` package as a client against our server, over real sockets.
// Subprotocols, text and binary at the frame-length boundaries, fragments, close codes and
// reasons both ways, pings both ways, and a refused oversized message.

import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Websocket } from 'prise-ws';
import {
  AsyncQueue,
  startWebsocketServer,
  withServer,
  type WebsocketServerOptions,
} from './helpers/server.js';

const test = suite('interop');

const MiB = 1024 * 1024;
const SIZES = [0, 125, 126, 127, 65535, 65536, 16 * MiB];

interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** A `ws` client, open, with its messages queued and its errors recorded. */
interface Client {
  readonly socket: WebSocket;
  readonly messages: AsyncQueue<Received>;
  readonly errors: Error[];
  /** Resolves with the code and reason of the 'close' event. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function connect(port: number, protocols: string[] = []): Promise<Client> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, protocols);
  const messages = new AsyncQueue<Received>();
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  socket.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(socket, 'open');
  return { socket, messages, errors, closed };
}

function echoServer(options: WebsocketServerOptions = {}): ReturnType<typeof startWebsocketServer> {
  return startWebsocketServer({ ...options, onAccept: (ws) => void ws.pipe(ws) });
}

function textOf(length: number): string {
  const unit = 'pack my box with five dozen liquor jugs, 0123456789 ';
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

test('subprotocol: the server picks from what ws offered, both sides agree', async () => {
  const preference = ['chat.v3', 'chat.v2', 'chat.v1'];
  const choose = (offered: string[]): string | null => preference.find((p) => offered.includes(p)) ?? null;
  await withServer(echoServer({ choose }), async (server) => {
    const client = await connect(server.port, ['chat.v1', 'chat.v2']);
    const { ws } = await server.accepted();
    assert.is(client.socket.protocol, 'chat.v2');
    assert.is(ws.protocol, 'chat.v2');

    const plain = await connect(server.port);
    assert.is(plain.socket.protocol, '');
    assert.is((await server.accepted()).ws.protocol, null);
    client.socket.close();
    plain.socket.close();
    await Promise.all([client.closed, plain.closed]);
    assert.equal([...client.errors, ...plain.errors], []);
  });
});

test(`echo to ws: text and binary at ${SIZES.join(', ')} bytes`, async () => {
  await withServer(
    echoServer(),
    async ({ port }) => {
      const client = await connect(port);
      for (const size of SIZES) {
        const text = textOf(size);
        client.socket.send(text);
        const textEcho = await client.messages.shift();
        assert.not.ok(textEcho.isBinary, `text at ${size}`);
        assert.ok(textEcho.data.toString() === text, `text payload at ${size}`);

        const bytes = randomBytes(size);
        client.socket.send(bytes);
        const binaryEcho = await client.messages.shift();
        assert.ok(binaryEcho.isBinary, `binary at ${size}`);
        assert.ok(binaryEcho.data.equals(bytes), `binary payload at ${size}`);
      }
      const emoji = 'naïve 🎉 你好 𝄞';
      client.socket.send(emoji);
      assert.is((await client.messages.shift()).data.toString(), emoji);
      client.socket.close(1000);
      assert.is((await client.closed).code, 1000);
      assert.equal(client.errors, []);
    },
    20_000,
  );
});

test('a message ws sends in fragments arrives whole, in order with the rest', async () => {
  await withServer(echoServer(), async ({ port }) => {
    const client = await connect(port);
    client.socket.send('frag', { fin: false });
    client.socket.send('men', { fin: false });
    client.socket.send('ted', { fin: true });
    for (let i = 0; i < 100; i++) client.socket.send(`message ${i}`);
    assert.is((await client.messages.shift()).data.toString(), 'fragmented');
    for (let i = 0; i < 100; i++) assert.is((await client.messages.shift()).data.toString(), `message ${i}`);
    client.socket.close();
    await client.closed;
  });
});

test('ws closes with 4000 "bye": the server sees it clean, ws gets the code back', async () => {
  await withServer(echoServer(), async (server) => {
    const client = await connect(server.port);
    const { ws } = await server.accepted();
    client.socket.close(4000, 'bye');
    const closed = await client.closed;
    assert.is(closed.code, 4000);
    assert.equal(await ws.closeInfo, { code: 4000, reason: 'bye', wasClean: true });
    assert.equal(client.errors, []);
  });
});

test('the server closes with 4001 "x": ws sees the code and reason, the server sees it clean', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const client = await connect(server.port);
    const { ws } = await server.accepted();
    ws.close(4001, 'x');
    assert.equal(await client.closed, { code: 4001, reason: 'x' });
    const info = await ws.closeInfo;
    assert.is(info.code, 4001);
    assert.is(info.wasClean, true);
    assert.equal(client.errors, []);
  });
});

test('the server ends after its messages: ws gets them all, then 1000', async () => {
  const send = (ws: Websocket): void => {
    ws.write('one');
    ws.write(Buffer.alloc(MiB, 7));
    ws.end('two');
  };
  await withServer(startWebsocketServer({ onAccept: send }), async ({ port }) => {
    const client = await connect(port);
    assert.is((await client.messages.shift()).data.toString(), 'one');
    assert.is((await client.messages.shift()).data.length, MiB);
    assert.is((await client.messages.shift()).data.toString(), 'two');
    assert.is((await client.closed).code, 1000);
  });
});

test('pings both ways: ws gets our ping and answers it, we answer ws\'s', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const client = await connect(server.port);
    const { ws } = await server.accepted();

    const pong = once(client.socket, 'pong');
    client.socket.ping('from ws');
    assert.is(String((await pong)[0]), 'from ws');

    const clientPing = once(client.socket, 'ping');
    const serverPong = once(ws, 'pong');
    ws.ping('from prise');
    assert.is(String((await clientPing)[0]), 'from prise');
    assert.is(String((await serverPong)[0]), 'from prise');
    client.socket.close();
    await client.closed;
  });
});

test('a message over maxPayload from ws is refused with 1009', async () => {
  await withServer(echoServer({ maxPayload: 1024 }), async (server) => {
    const client = await connect(server.port);
    const { ws } = await server.accepted();
    client.socket.send(Buffer.alloc(1024));
    assert.is((await client.messages.shift()).data.length, 1024);
    client.socket.send(Buffer.alloc(1025));
    assert.is((await client.closed).code, 1009);
    const info = await ws.closeInfo;
    assert.is(info.code, 1009);
    assert.is(info.wasClean, false);
  });
});

test.run();
