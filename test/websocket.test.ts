// The Websocket over a real socket, driven by a raw client that can misbehave: echo at the
// frame-length boundaries, fragmentation, every protocol violation and the close code it earns,
// both closing handshakes, dropped connections, pings, and backpressure in both directions.
// Each test has a deadline and closes its server in `finally` (see withServer).

import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError, type CloseInfo, type Websocket } from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import {
  Op,
  RawClient,
  closePayload,
  frame,
  type FrameSpec,
  type ServerFrame,
} from './helpers/raw-client.js';
import {
  AsyncQueue,
  startWebsocketServer,
  withServer,
  type WebsocketServer,
  type WebsocketServerOptions,
} from './helpers/server.js';

const test = suite('websocket');

const MiB = 1024 * 1024;
const SIZES = [0, 125, 126, 127, 65535, 65536, 16 * MiB];

/** Exactly `length` bytes of ASCII text. */
function textOf(length: number): string {
  const unit = 'the quick brown fox jumps over the lazy dog 0123456789 ';
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** A server-side Websocket with everything it did recorded. */
interface Observed {
  readonly ws: Websocket;
  /** 'error' events: there must never be any. */
  readonly errors: unknown[];
  readonly pings: Buffer[];
  readonly pongs: Buffer[];
  /** Resolves with the Websocket's 'close' event (it was destroyed). */
  readonly closeEvent: Promise<void>;
}

interface ObservedServer extends WebsocketServer {
  observed(): Promise<Observed>;
}

/** A WebSocket server whose connections are observed; `onAccept` decides what they do. */
async function observedServer(options: WebsocketServerOptions = {}): Promise<ObservedServer> {
  const queue = new AsyncQueue<Observed>();
  const server = await startWebsocketServer({
    ...options,
    onAccept(ws, request) {
      const observed: Observed = {
        ws,
        errors: [],
        pings: [],
        pongs: [],
        closeEvent: new Promise((resolve) => ws.once('close', () => resolve())),
      };
      ws.on('error', (error) => observed.errors.push(error));
      ws.on('ping', (data: Buffer) => observed.pings.push(Buffer.from(data)));
      ws.on('pong', (data: Buffer) => observed.pongs.push(Buffer.from(data)));
      options.onAccept?.(ws, request);
      queue.push(observed);
    },
  });
  return { ...server, observed: () => queue.shift() };
}

const pipeEcho = (ws: Websocket): void => void ws.pipe(ws);

const forAwaitEcho = (ws: Websocket): void => {
  void (async () => {
    for await (const message of ws) ws.write(message as string | Buffer);
  })();
};

/** Reads the next frame and checks it is one whole, unmasked, unreserved frame. */
async function nextMessage(client: RawClient): Promise<ServerFrame> {
  const next = await client.nextFrame();
  assert.ok(next !== null, 'connection ended before a message');
  assert.ok(next.fin, 'server messages come in one frame');
  assert.is(next.rsv, 0);
  assert.not.ok(next.masked, 'a server must not mask');
  return next;
}

/** Asks the client to close (code 1000) and waits for the whole handshake. */
async function closeCleanly(client: RawClient): Promise<void> {
  client.sendClose(1000);
  const { close } = await client.readUntilClose();
  assert.is(close?.code, 1000);
  await client.closed;
}

// ---------------------------------------------------------------------------------------------
// Echo

for (const [mode, echo] of [
  ['pipe', pipeEcho],
  ['for await', forAwaitEcho],
] as const) {
  test(`echo (${mode}): text and binary at ${SIZES.join(', ')} bytes`, async () => {
    // Text comes back as text and binary as binary only if the server read a string and a
    // Buffer respectively: writing a string sends text, writing bytes sends binary.
    const server = observedServer({ onAccept: echo });
    await withServer(
      server,
      async (server) => {
        const client = await RawClient.open(server.port);
        const observed = await server.observed();
        for (const size of SIZES) {
          const text = textOf(size);
          client.sendText(text);
          const textEcho = await nextMessage(client);
          assert.is(textEcho.opcode, Op.Text, `text opcode at ${size}`);
          assert.is(textEcho.payload.length, size);
          assert.ok(textEcho.payload.toString('latin1') === text, `text payload at ${size}`);

          const bytes = randomBytes(size);
          client.sendBinary(bytes);
          const binaryEcho = await nextMessage(client);
          assert.is(binaryEcho.opcode, Op.Binary, `binary opcode at ${size}`);
          assert.ok(binaryEcho.payload.equals(bytes), `binary payload at ${size}`);
        }
        await closeCleanly(client);
        assert.equal(await observed.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
        await observed.closeEvent;
        assert.equal(observed.errors, []);
      },
      20_000,
    );
  });
}

test('echo: multi-byte UTF-8 and emoji, whole and split inside characters', async () => {
  const text = 'héllo wörld · 你好 · 🎉👍🏽 · 𝄞 · \u{10FFFF} · \0';
  await withServer(observedServer({ onAccept: pipeEcho }), async ({ port }) => {
    const client = await RawClient.open(port);
    client.sendText(text);
    assert.is((await nextMessage(client)).payload.toString('utf8'), text);

    // One byte per fragment: every character is cut, most of them more than once.
    const bytes = Buffer.from(text);
    const fragments = [...bytes].map((byte, i) =>
      frame({
        opcode: i === 0 ? Op.Text : Op.Continuation,
        fin: i === bytes.length - 1,
        payload: new Uint8Array([byte]),
      }),
    );
    client.write(Buffer.concat(fragments));
    const echo = await nextMessage(client);
    assert.is(echo.opcode, Op.Text);
    assert.is(echo.payload.toString('utf8'), text);
    await closeCleanly(client);
  });
});

test('a 4 MiB message in 65,536 fragments of 64 bytes comes back whole', async () => {
  await withServer(
    observedServer({ onAccept: pipeEcho }),
    async ({ port }) => {
      const client = await RawClient.open(port);
      const message = randomBytes(4 * MiB);
      const count = message.length / 64;
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        frames.push(
          frame({
            opcode: i === 0 ? Op.Binary : Op.Continuation,
            fin: i === count - 1,
            payload: message.subarray(i * 64, (i + 1) * 64),
          }),
        );
      }
      assert.is(frames.length, 65_536);
      client.write(Buffer.concat(frames));
      const echo = await nextMessage(client);
      assert.is(echo.opcode, Op.Binary);
      assert.ok(echo.payload.equals(message));
      await closeCleanly(client);
    },
    20_000,
  );
});

test('pings between fragments are answered, and the message is reassembled', async () => {
  await withServer(observedServer({ onAccept: pipeEcho }), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    client.write(
      Buffer.concat([
        frame({ opcode: Op.Text, fin: false, payload: 'frag' }),
        frame({ opcode: Op.Ping, payload: 'first' }),
        frame({ opcode: Op.Continuation, fin: false, payload: 'men' }),
        frame({ opcode: Op.Ping, payload: 'second' }),
        frame({ opcode: Op.Pong, payload: 'unsolicited' }),
        frame({ opcode: Op.Continuation, fin: true, payload: 'ted' }),
      ]),
    );
    const received: ServerFrame[] = [];
    for (let i = 0; i < 3; i++) received.push(await nextMessage(client));
    assert.equal(
      received.filter((f) => f.opcode === Op.Pong).map((f) => f.payload.toString()),
      ['first', 'second'],
    );
    assert.equal(
      received.filter((f) => f.opcode === Op.Text).map((f) => f.payload.toString()),
      ['fragmented'],
    );
    assert.equal(observed.pings.map(String), ['first', 'second']);
    assert.equal(observed.pongs.map(String), ['unsolicited']);
    await closeCleanly(client);
  });
});

// ---------------------------------------------------------------------------------------------
// Protocol violations: the server closes with the right code, without an 'error' event

interface Violation {
  name: string;
  /** Everything the client sends after the handshake. */
  bytes: () => Buffer;
  code: number;
  maxPayload?: number;
}

const text = (payload: string | Uint8Array, more: Partial<FrameSpec> = {}): Buffer =>
  frame({ opcode: Op.Text, payload, ...more });

const violations: Violation[] = [
  { name: 'RSV1 set', bytes: () => text('x', { rsv: 4 }), code: 1002 },
  { name: 'RSV2 set', bytes: () => text('x', { rsv: 2 }), code: 1002 },
  { name: 'RSV3 set', bytes: () => text('x', { rsv: 1 }), code: 1002 },
  { name: 'RSV1 on a ping', bytes: () => frame({ opcode: Op.Ping, rsv: 4 }), code: 1002 },
  { name: 'reserved data opcode 3', bytes: () => frame({ opcode: 0x3, payload: 'x' }), code: 1002 },
  { name: 'reserved data opcode 7', bytes: () => frame({ opcode: 0x7 }), code: 1002 },
  { name: 'reserved control opcode 0xB', bytes: () => frame({ opcode: 0xb }), code: 1002 },
  { name: 'reserved control opcode 0xF', bytes: () => frame({ opcode: 0xf, payload: 'x' }), code: 1002 },
  { name: 'an unmasked text frame', bytes: () => text('x', { masked: false }), code: 1002 },
  { name: 'an unmasked close frame', bytes: () => frame({ opcode: Op.Close, masked: false }), code: 1002 },
  { name: 'a fragmented ping', bytes: () => frame({ opcode: Op.Ping, fin: false, payload: 'x' }), code: 1002 },
  { name: 'a fragmented close', bytes: () => frame({ opcode: Op.Close, fin: false }), code: 1002 },
  { name: 'a 126-byte ping', bytes: () => frame({ opcode: Op.Ping, payload: Buffer.alloc(126) }), code: 1002 },
  {
    name: 'a close frame with a 126-byte payload',
    bytes: () => frame({ opcode: Op.Close, payload: closePayload(1000, 'x'.repeat(124)) }),
    code: 1002,
  },
  {
    name: 'a ping whose header claims 64 KiB',
    bytes: () => frame({ opcode: Op.Ping, length: 65536 }),
    code: 1002,
  },
  { name: 'a continuation without a message', bytes: () => frame({ opcode: Op.Continuation, payload: 'x' }), code: 1002 },
  {
    name: 'a final continuation without a message',
    bytes: () => Buffer.concat([text('done'), frame({ opcode: Op.Continuation, payload: 'x' })]),
    code: 1002,
  },
  {
    name: 'a new text frame in the middle of a message',
    bytes: () => Buffer.concat([text('a', { fin: false }), text('b')]),
    code: 1002,
  },
  {
    name: 'a new binary frame in the middle of a text message',
    bytes: () => Buffer.concat([text('a', { fin: false }), frame({ opcode: Op.Binary, payload: 'b' })]),
    code: 1002,
  },
  { name: 'a 16-bit length under 126', bytes: () => text('short', { lengthBytes: 2 }), code: 1002 },
  { name: 'a 64-bit length under 65536', bytes: () => text('short', { lengthBytes: 8 }), code: 1002 },
  {
    name: 'a 64-bit length with its top bit set',
    bytes: () => frame({ opcode: Op.Binary, length: 2 ** 63 }),
    code: 1002,
  },
  { name: 'a 1-byte close payload', bytes: () => frame({ opcode: Op.Close, payload: new Uint8Array([0x03]) }), code: 1002 },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((closeCode) => ({
    name: `close code ${closeCode}`,
    bytes: () => frame({ opcode: Op.Close, payload: closePayload(closeCode) }),
    code: 1002,
  })),
  { name: 'invalid UTF-8 (0xFF) in a text message', bytes: () => text(Buffer.from([0x61, 0xff, 0x62])), code: 1007 },
  { name: 'an overlong encoding in a text message', bytes: () => text(Buffer.from([0xc0, 0xaf])), code: 1007 },
  { name: 'a UTF-16 surrogate in a text message', bytes: () => text(Buffer.from([0xed, 0xa0, 0x80])), code: 1007 },
  { name: 'a code point above U+10FFFF', bytes: () => text(Buffer.from([0xf4, 0x90, 0x80, 0x80])), code: 1007 },
  { name: 'a text message ending mid-character', bytes: () => text(Buffer.from([0x61, 0xe2, 0x82])), code: 1007 },
  {
    name: 'a fragmented text message ending mid-character',
    bytes: () =>
      Buffer.concat([
        text(Buffer.from([0x61, 0xe2]), { fin: false }),
        frame({ opcode: Op.Continuation, payload: new Uint8Array([0x82]) }),
      ]),
    code: 1007,
  },
  {
    name: 'invalid UTF-8 in a close reason',
    bytes: () => frame({ opcode: Op.Close, payload: closePayload(1000, Buffer.from([0x6f, 0x6b, 0xff])) }),
    code: 1007,
  },
  // Fail fast: the final fragment never comes; the first one already cannot be UTF-8.
  {
    name: 'an invalid byte in the first fragment of an unfinished text message',
    bytes: () => text(Buffer.from([0x61, 0x62, 0xff]), { fin: false }),
    code: 1007,
  },
  {
    name: 'an impossible sequence start at the end of an unfinished text fragment',
    bytes: () => text(Buffer.from([0x61, 0xf5]), { fin: false }),
    code: 1007,
  },
  // Too big: only the header is sent, so the server must refuse before any payload arrives.
  { name: 'the header of a 1 GiB message', bytes: () => frame({ opcode: Op.Binary, length: 2 ** 30 }), code: 1009 },
  { name: 'the header of a 16 MiB + 1 message', bytes: () => text('', { length: 16 * MiB + 1 }), code: 1009 },
  {
    name: 'fragments adding up to more than maxPayload',
    bytes: () =>
      Buffer.concat([
        frame({ opcode: Op.Binary, fin: false, payload: Buffer.alloc(600) }),
        frame({ opcode: Op.Continuation, length: 600 }),
      ]),
    code: 1009,
    maxPayload: 1000,
  },
  {
    name: 'a message of maxPayload + 1 bytes',
    bytes: () => text('', { length: 1001 }),
    code: 1009,
    maxPayload: 1000,
  },
];

for (const violation of violations) {
  test(`${violation.name} -> close ${violation.code}, no 'error' event`, async () => {
    const options = violation.maxPayload === undefined ? {} : { maxPayload: violation.maxPayload };
    await withServer(observedServer({ ...options, onAccept: (ws) => void ws.resume() }), async (server) => {
      const client = await RawClient.open(server.port);
      const observed = await server.observed();
      client.write(violation.bytes());

      const { frames, close } = await client.readUntilClose();
      assert.equal(frames, [], 'nothing but the close frame');
      assert.ok(close !== null, 'a close frame before the connection ended');
      assert.is(close.code, violation.code);
      assert.ok(close.reason.length > 0, 'the close frame says why');
      // The server closes TCP itself, without waiting for our close frame.
      await client.ended;

      const info = await observed.ws.closeInfo;
      assert.is(info.code, violation.code);
      assert.is(info.wasClean, false);
      assert.instance(info.error, ProtocolError);
      assert.is((info.error as ProtocolError).closeCode, violation.code);
      await observed.closeEvent;
      assert.is(observed.ws.readyState, 'closed');
      assert.equal(observed.errors, []);
    });
  });
}

test('exactly maxPayload bytes is still accepted', async () => {
  await withServer(observedServer({ maxPayload: 1000, onAccept: pipeEcho }), async ({ port }) => {
    const client = await RawClient.open(port);
    client.write(
      Buffer.concat([
        frame({ opcode: Op.Text, fin: false, payload: textOf(600) }),
        frame({ opcode: Op.Continuation, payload: textOf(400) }),
      ]),
    );
    assert.is((await nextMessage(client)).payload.length, 1000);
    client.sendBinary(Buffer.alloc(1000));
    assert.is((await nextMessage(client)).payload.length, 1000);
    await closeCleanly(client);
  });
});

test('messages before a violation are delivered; nothing after it is read', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const { ws } = await server.observed();
    client.write(Buffer.concat([text('one'), text('two'), text('x', { rsv: 2 }), text('three')]));
    const { close } = await client.readUntilClose();
    assert.is(close?.code, 1002);
    const messages: unknown[] = [];
    for await (const message of ws) messages.push(message);
    assert.equal(messages, ['one', 'two']);
    assert.is((await ws.closeInfo).code, 1002);
  });
});

// ---------------------------------------------------------------------------------------------
// Closing handshakes

test('the client closes with 4000 "bye": echoed, clean, and the server ends TCP itself', async () => {
  await withServer(observedServer({ onAccept: pipeEcho }), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    client.sendText('last words');
    client.sendClose(4000, 'bye');
    const { frames, close } = await client.readUntilClose();
    assert.equal(
      frames.map((f) => f.payload.toString()),
      ['last words'],
    );
    assert.is(close?.code, 4000);
    assert.not.ok(close?.masked);
    // We never end our side; the server must, and well before its 5 s closing timeout.
    await withTimeout(client.ended, 2000, 'the server ending TCP after echoing the close');

    const info = await observed.ws.closeInfo;
    assert.equal(info, { code: 4000, reason: 'bye', wasClean: true });
    assert.is(observed.ws.readyState, 'closed');
    await observed.closeEvent;
    assert.equal(observed.errors, []);
  });
});

test('a close frame without a code reads as 1005 and is echoed without one', async () => {
  await withServer(observedServer({ onAccept: pipeEcho }), async (server) => {
    const client = await RawClient.open(server.port);
    const { ws } = await server.observed();
    client.sendClose();
    const { close } = await client.readUntilClose();
    assert.ok(close !== null);
    assert.is(close.payload.length, 0);
    await client.ended;
    assert.equal(await ws.closeInfo, { code: 1005, reason: '', wasClean: true });
  });
});

test('the server closes with close(4001, "x"): the client gets it, replies, and it is clean', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    const { ws } = observed;
    assert.is(ws.readyState, 'open');
    ws.close(4001, 'x');
    const { frames, close } = await client.readUntilClose();
    assert.equal(frames, []);
    assert.is(close?.code, 4001);
    assert.is(close?.reason, 'x');
    assert.is(ws.readyState, 'closing');
    client.sendClose(4001);
    const after = await client.nextFrame();
    assert.is(after, null, 'nothing after the close frame');
    await client.closed;

    const info = await ws.closeInfo;
    assert.equal(info, { code: 4001, reason: '', wasClean: true });
    assert.is(ws.readyState, 'closed');
    ws.resume();
    await observed.closeEvent;
    assert.equal(observed.errors, []);
  });
});

test('close() checks its arguments', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const { ws } = await server.observed();
    assert.throws(() => ws.close(1005), RangeError);
    assert.throws(() => ws.close(1006), RangeError);
    assert.throws(() => ws.close(999), RangeError);
    assert.throws(() => ws.close(1000, 'é'.repeat(62)), RangeError); // 124 bytes
    ws.close(1000, 'é'.repeat(61) + 'e'); // 123 bytes: fits
    const { close } = await client.readUntilClose();
    assert.is(close?.code, 1000);
    assert.is(Buffer.byteLength(close?.reason ?? ''), 123);
  });
});

test('end() sends close 1000 only after every pending write has gone out', async () => {
  const big = randomBytes(8 * MiB);
  await withServer(
    observedServer(),
    async (server) => {
      const client = await RawClient.open(server.port);
      // Not reading yet, so the big write stays pending when end() is called.
      client.pause();
      const { ws } = await server.observed();
      ws.write('one');
      ws.write(big);
      ws.write('two');
      ws.write(Buffer.from('three'));
      ws.end();
      assert.ok(ws.writableLength > 0, 'writes were still pending at end()');
      client.resume();
      const { frames, close } = await client.readUntilClose();
      assert.equal(
        frames.map((f) => [f.opcode, f.payload.length]),
        [
          [Op.Text, 3],
          [Op.Binary, big.length],
          [Op.Text, 3],
          [Op.Binary, 5],
        ],
      );
      assert.ok(frames[1]!.payload.equals(big));
      assert.is(close?.code, 1000);
      assert.is(close?.reason, '');
      client.sendClose(1000);
      assert.equal(await ws.closeInfo, { code: 1000, reason: '', wasClean: true });
    },
    10_000,
  );
});

// Readers that are done once the peer has closed: the usual for-await loop, or an echo pipe.
const consumers = {
  'a for-await loop': async (ws: Websocket): Promise<void> => {
    for await (const message of ws) void message;
  },
  'an echo pipe': async (ws: Websocket): Promise<void> => {
    // The pipe ends our writable side once the readable one ends. Its 'end' waits for the
    // pending write to drain (the pipe paused for it), so wait for the close frame instead.
    ws.pipe(ws);
    await until(() => ws.readyState === 'closing', 'the close frame');
  },
};

for (const [consumer, consume] of Object.entries(consumers)) {
  test(`the close echo is not cut off by a write in progress when ${consumer} ends`, async () => {
    const big = randomBytes(8 * MiB);
    const done = new AsyncQueue<void>();
    const server = observedServer({
      onAccept(ws) {
        ws.write(big);
        void consume(ws).then(() => done.push());
      },
    });
    await withServer(
      server,
      async (server) => {
        const client = await RawClient.open(server.port);
        client.pause();
        const observed = await server.observed();
        client.sendClose(1000);
        // The reader has seen the close while most of `big` still waits in the server's buffers.
        await done.shift();
        client.resume();
        const { frames, close } = await client.readUntilClose();
        assert.is(frames.length, 1);
        assert.ok(frames[0]!.payload.equals(big));
        assert.is(close?.code, 1000);
        assert.equal(await observed.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
        await observed.closeEvent;
        assert.equal(observed.errors, []);
      },
      10_000,
    );
  });
}

test('a peer that drops TCP without a close frame: 1006, unclean, messages still readable', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    observed.ws.pause(); // a reader, not reading yet
    client.sendText('a');
    client.sendBinary(Buffer.from('b'));
    client.sendText('c');
    client.end();
    const info: CloseInfo = await observed.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.is(info.wasClean, false);
    assert.is(observed.ws.readyState, 'closed');
    // The reader has not read yet: the messages wait for it.
    const messages: unknown[] = [];
    for await (const message of observed.ws) messages.push(message);
    assert.equal(messages, ['a', Buffer.from('b'), 'c']);
    await observed.closeEvent;
    assert.equal(observed.errors, []);
  });
});

test('a peer that resets the connection: 1006 with the socket error, no \'error\' event', async () => {
  await withServer(observedServer({ onAccept: (ws) => void ws.resume() }), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    client.sendText('a');
    client.socket.resetAndDestroy();
    const info = await observed.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.is(info.wasClean, false);
    await observed.closeEvent;
    assert.equal(observed.errors, []);
  });
});

test('the server destroying its Websocket drops the connection: 1006 on both sides', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    observed.ws.destroy();
    assert.is(await client.nextFrame(), null);
    const info = await observed.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.is(info.wasClean, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Pings

test('ping() sends a ping, and the peer\'s pong comes back as a \'pong\' event', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    const pong = once(observed.ws, 'pong');
    observed.ws.ping('are you there?');
    const ping = await nextMessage(client);
    assert.is(ping.opcode, Op.Ping);
    assert.is(ping.payload.toString(), 'are you there?');
    client.sendPong(ping.payload);
    const [data] = (await pong) as [Buffer];
    assert.is(data.toString(), 'are you there?');

    observed.ws.ping(new Uint8Array([1, 2, 3]));
    assert.is((await nextMessage(client)).payload.toString('hex'), '010203');
    observed.ws.ping();
    assert.is((await nextMessage(client)).payload.length, 0);
    assert.throws(() => observed.ws.ping(Buffer.alloc(126)), RangeError);
    await closeCleanly(client);
  });
});

test('pings are answered with a pong carrying the identical payload', async () => {
  await withServer(observedServer(), async (server) => {
    const client = await RawClient.open(server.port);
    const observed = await server.observed();
    for (const payload of [Buffer.alloc(0), Buffer.from('ping!'), randomBytes(125)]) {
      client.sendPing(payload);
      const pong = await nextMessage(client);
      assert.is(pong.opcode, Op.Pong);
      assert.is(pong.payload.toString('hex'), payload.toString('hex'));
    }
    assert.is(observed.pings.length, 3);
    await closeCleanly(client);
  });
});

// ---------------------------------------------------------------------------------------------
// Backpressure

test('write() returns false while the client does not read, and \'drain\' follows once it does', async () => {
  await withServer(
    observedServer(),
    async (server) => {
      const client = await RawClient.open(server.port);
      client.pause();
      const { ws } = await server.observed();
      const message = randomBytes(1024);
      let written = 0;
      // Each write is below the high-water mark, so only a real backlog can make write() say no.
      while (ws.write(message)) {
        written++;
        if (written > 256 * 1024) assert.unreachable('write() never returned false');
      }
      written++;
      assert.ok(ws.writableNeedDrain);
      assert.ok(ws.writableLength >= ws.writableHighWaterMark);
      const drained = once(ws, 'drain');
      client.resume();
      await drained;
      let received = 0;
      while (received < written) {
        const next = await nextMessage(client);
        assert.ok(next.payload.equals(message));
        received++;
      }
      await closeCleanly(client);
    },
    10_000,
  );
});

test('a client that keeps sending to a reader that never reads: the server stops reading', async () => {
  let serverSocket!: Socket;
  const server = observedServer({
    onAccept: (_ws, request) => (serverSocket = request.socket),
  });
  await withServer(
    server,
    async (server) => {
      const client = await RawClient.open(server.port);
      const { ws } = await server.observed();
      // Far more than the kernel's buffers can hold on both ends of a loopback connection.
      const message = frame({ opcode: Op.Binary, payload: randomBytes(4096) });
      const count = (48 * MiB) / 4096;
      let accepted = true;
      for (let i = 0; i < count; i++) accepted = client.write(message) && accepted;
      assert.not.ok(accepted, 'the client socket pushed back');
      const sent = count * message.length;

      // Wait until the server is stuck: its reader is full and its socket no longer reads.
      let lastRead = -1;
      await until(() => {
        const stuck =
          ws.readableLength >= ws.readableHighWaterMark &&
          serverSocket.isPaused() &&
          serverSocket.bytesRead === lastRead;
        lastRead = serverSocket.bytesRead;
        if (client.socket.writableLength === 0) assert.unreachable('the server read everything');
        return stuck;
      }, 'the server to stop reading');
      assert.is(ws.readableLength, 16);
      assert.is(ws.readableHighWaterMark, 16);
      assert.ok(serverSocket.bytesRead < sent / 2, `server read ${serverSocket.bytesRead} of ${sent} bytes`);
      assert.ok(client.socket.writableLength > 0);

      // Once the reader reads, everything arrives.
      let received = 0;
      ws.on('data', () => received++);
      await until(() => received === count, 'every message', 20_000);
      await closeCleanly(client);
    },
    30_000,
  );
});

test.run();
