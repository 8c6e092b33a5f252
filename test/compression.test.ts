// permessage-deflate (RFC 7692) over real sockets, server side: start({ deflate }) against the
// `ws` package (negotiation variants, echo of every size), and against a raw client that builds
// RSV1 frames by hand (fragments, control frames in between, every error and its close code,
// the decompression bomb, and which messages the server compresses).

import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { StartOptions } from 'prise-ws';
import { zeroBomb } from './helpers/deflate-bomb.js';
import { fromHex, hex, pattern } from './helpers/hex.js';
import { Op, RawClient, frame as frameBytes, type ServerFrame } from './helpers/raw-client.js';
import { AsyncQueue, startWebsocketServer, withServer, type WebsocketServerOptions } from './helpers/server.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RSV1 = 4;
const SYNC = { finishFlush: constants.Z_SYNC_FLUSH };
/** What start({ deflate: true }) answers to a plain offer. */
const DEFAULT_ANSWER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
/** Agreement that keeps context both ways, and compresses everything. */
const TAKEOVER = { serverNoContextTakeover: false, clientNoContextTakeover: false, threshold: 0 } as const;

// ---------------------------------------------------------------------------------------------
// Helpers

/** A payload as a permessage-deflate sender puts it in an RSV1 frame (sync flush, tail off). */
function deflate(data: Uint8Array | string, dictionary?: Buffer): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const out = deflateRawSync(bytes, dictionary === undefined ? SYNC : { ...SYNC, dictionary });
  return out.subarray(0, -4);
}

/** Inflates a compressed payload from the server, with the window it kept (if any). */
function inflate(payload: Buffer, dictionary?: Buffer): Buffer {
  const input = Buffer.concat([payload, fromHex('0000ffff')]);
  return inflateRawSync(input, dictionary === undefined ? SYNC : { ...SYNC, dictionary });
}

function textOf(length: number): string {
  const unit = 'pack my box with five dozen liquor jugs, 0123456789 ';
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

interface Received {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** A `ws` client, open, with the server's Sec-WebSocket-Extensions answer. */
interface Client {
  readonly socket: WebSocket;
  /** The Sec-WebSocket-Extensions header of the 101, or undefined when there was none. */
  readonly answer: string | undefined;
  readonly messages: AsyncQueue<Received>;
  readonly errors: Error[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function connect(port: number, perMessageDeflate: WebSocket.ClientOptions['perMessageDeflate'] = true): Promise<Client> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate });
  const messages = new AsyncQueue<Received>();
  const errors: Error[] = [];
  let answer: string | undefined;
  socket.on('upgrade', (response: IncomingMessage) => (answer = response.headers['sec-websocket-extensions']));
  socket.on('error', (error) => errors.push(error));
  socket.on('message', (data, isBinary) => messages.push({ data: data as Buffer, isBinary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(socket, 'open');
  return { socket, answer, messages, errors, closed };
}

function echoServer(options: WebsocketServerOptions = {}): ReturnType<typeof startWebsocketServer> {
  return startWebsocketServer({ ...options, onAccept: (ws) => void ws.pipe(ws) });
}

/** Sends text and binary of each size, checks each echo, and returns how many payload bytes went each way. */
async function echoEach(client: Client, sizes: readonly number[], rounds = 1): Promise<number> {
  let total = 0;
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const text = textOf(size);
      client.socket.send(text);
      const echoedText = await client.messages.shift();
      assert.is(echoedText.isBinary, false, `text ${size}`);
      assert.ok(echoedText.data.toString() === text, `text ${size} echoed intact`);
      const binary = size % 2 === 0 ? Buffer.from(text) : pattern(size, size);
      client.socket.send(binary);
      const echoedBinary = await client.messages.shift();
      assert.is(echoedBinary.isBinary, true, `binary ${size}`);
      assert.ok(echoedBinary.data.equals(binary), `binary ${size} echoed intact`);
      total += 2 * size;
    }
  }
  return total;
}

async function closeClean(client: Client): Promise<void> {
  client.socket.close(1000, 'done');
  // The server echoes the code and the reason (RFC 6455 §5.5.1), as ws does.
  assert.equal(await client.closed, { code: 1000, reason: 'done' });
  assert.equal(client.errors, []);
}

/** A raw client that offered `offer` (permessage-deflate by default) and got a 101. */
function rawOpen(port: number, offer: string | null = 'permessage-deflate'): Promise<RawClient> {
  return RawClient.open(port, offer === null ? {} : { headers: { 'Sec-WebSocket-Extensions': offer } });
}

/** Reads frames until the close; returns the close frame's code and reason. */
async function closeOf(client: RawClient): Promise<{ code: number | null; reason: string; frames: ServerFrame[] }> {
  const { frames, close } = await client.readUntilClose();
  assert.ok(close !== null, 'the server sent a close frame');
  return { code: close.code, reason: close.reason, frames };
}

/** The next frame, which must be there. */
async function next(client: RawClient): Promise<ServerFrame> {
  const frame = await client.nextFrame();
  assert.ok(frame !== null, 'a frame before the connection ended');
  return frame;
}

/** The next frame's text, inflated if it came compressed (without context takeover). */
async function textFrom(client: RawClient): Promise<string> {
  const frame = await next(client);
  return (frame.rsv === RSV1 ? inflate(frame.payload) : frame.payload).toString();
}

/** Text a compressor likes, but not so repetitive that one message says it all. */
function jsonLines(length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) text += `{"id":${i},"name":"user ${(i * 7919) % 997}","score":${(i * 104729) % 1000}}\n`;
  return text.slice(0, length);
}

/** Memory after a collection, when --expose-gc allows one. */
function memory(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

// ---------------------------------------------------------------------------------------------

const negotiation = suite('compression: ws client, negotiation and echo');

const SIZES = [0, 1, 125, 126, 1023, 1024, 1025, 65535, 65536, MiB];

negotiation('ws defaults against deflate: true; echo 0 bytes to 16 MiB, text and binary', async () => {
  let accepted: { bytesRead: number } | null = null;
  await withServer(
    echoServer({ deflate: true }),
    async (server) => {
      const client = await connect(server.port);
      const { request } = await server.accepted();
      accepted = request.socket;
      assert.is(client.answer, DEFAULT_ANSWER);
      assert.is(client.socket.extensions, 'permessage-deflate');
      const sent = await echoEach(client, [...SIZES, 16 * MiB]);
      // The text (and even-sized binary) is all compressible: the wire carried far less.
      assert.ok(accepted.bytesRead < sent / 4, `${accepted.bytesRead} bytes read for ${sent} bytes of payload`);
      await closeClean(client);
    },
    60_000,
  );
});

/** [what ws offers, what the server accepts, the answer expected (undefined: declined)] */
const VARIANTS: Array<[WebSocket.PerMessageDeflateOptions | true, StartOptions['deflate'], string | undefined]> = [
  [{ threshold: 0 }, { threshold: 0 }, DEFAULT_ANSWER],
  [true, TAKEOVER, 'permessage-deflate'],
  [{ threshold: 0, serverNoContextTakeover: true }, TAKEOVER, 'permessage-deflate; server_no_context_takeover'],
  [{ threshold: 0, clientNoContextTakeover: true }, TAKEOVER, 'permessage-deflate; client_no_context_takeover'],
  [{ threshold: 0, clientMaxWindowBits: 10 }, TAKEOVER, 'permessage-deflate; client_max_window_bits=10'],
  [{ threshold: 0, clientMaxWindowBits: 8 }, TAKEOVER, 'permessage-deflate; client_max_window_bits=8'],
  [{ threshold: 0 }, { ...TAKEOVER, clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9'],
  [{ threshold: 0, serverMaxWindowBits: 9 }, TAKEOVER, 'permessage-deflate; server_max_window_bits=9'],
  [{ threshold: 0 }, { ...TAKEOVER, serverMaxWindowBits: 12 }, 'permessage-deflate; server_max_window_bits=12'],
  [{ threshold: 0, serverMaxWindowBits: 11 }, { threshold: 0 }, `${DEFAULT_ANSWER}; server_max_window_bits=11`],
  // zlib compresses with 9 bits, which never reaches back past 250 bytes (see negotiateDeflate).
  [{ threshold: 0, serverMaxWindowBits: 8 }, TAKEOVER, 'permessage-deflate; server_max_window_bits=8'],
  [{ threshold: 0 }, { threshold: 0, level: 1, memLevel: 1 }, DEFAULT_ANSWER],
];

for (const [offer, accept, answer] of VARIANTS) {
  negotiation(`ws ${JSON.stringify(offer)} with deflate ${JSON.stringify(accept)}: ${answer ?? 'declined'}`, async () => {
    await withServer(
      echoServer({ deflate: accept }),
      async (server) => {
        const client = await connect(server.port, offer);
        assert.is(client.answer, answer);
        assert.is(client.socket.extensions, answer === undefined ? '' : 'permessage-deflate');
        // Twice: with context takeover the second round leans on the first.
        await echoEach(client, SIZES, 2);
        await closeClean(client);
      },
      30_000,
    );
  });
}

negotiation('a server with deflate off answers without Sec-WebSocket-Extensions; ws works', async () => {
  for (const deflate of [undefined, false] as const) {
    await withServer(echoServer(deflate === undefined ? {} : { deflate }), async (server) => {
      const client = await connect(server.port);
      assert.is(client.answer, undefined);
      assert.is(client.socket.extensions, '');
      await echoEach(client, [0, 125, 2000, 70_000]);
      await closeClean(client);
      const raw = await rawOpen(server.port);
      assert.is(raw.response!.headers['sec-websocket-extensions'], undefined);
      raw.destroy();
    });
  }
});

negotiation('a client that offers nothing gets nothing, and plain frames', async () => {
  await withServer(echoServer({ deflate: { threshold: 0 } }), async (server) => {
    const client = await connect(server.port, false);
    assert.is(client.answer, undefined);
    await echoEach(client, [0, 2000]);
    await closeClean(client);
    const raw = await rawOpen(server.port, null);
    assert.is(raw.response!.headers['sec-websocket-extensions'], undefined);
    raw.sendText(textOf(3000));
    const frame = await next(raw);
    assert.is(frame.rsv, 0, 'no compression without an agreement');
    assert.is(frame.payload.toString(), textOf(3000));
    raw.destroy();
  });
});

negotiation('fifty ws clients echoing compressed messages at once all get their own data back', async () => {
  await withServer(
    echoServer({ deflate: TAKEOVER }),
    async (server) => {
      const clients = await Promise.all(Array.from({ length: 50 }, () => connect(server.port, { threshold: 0 })));
      await Promise.all(
        clients.map(async (client, i) => {
          const messages = Array.from({ length: 6 }, (_, j) => `${i}:${j}:` + textOf(1000 + 7919 * ((i + j) % 9)));
          for (const message of messages) client.socket.send(message);
          for (const message of messages) assert.is((await client.messages.shift()).data.toString(), message);
        }),
      );
      await Promise.all(clients.map(closeClean));
    },
    30_000,
  );
});

// ---------------------------------------------------------------------------------------------

const frames = suite('compression: raw frames');

frames('a compressed message fragmented over many frames reassembles', async () => {
  await withServer(echoServer({ deflate: { threshold: 0 } }), async (server) => {
    const client = await rawOpen(server.port);
    assert.is(client.response!.headers['sec-websocket-extensions'], DEFAULT_ANSWER);
    const text = textOf(5000);
    const payload = deflate(text);
    // RFC 7692 §6.1: RSV1 on the first frame only; the payload is cut anywhere.
    const cuts = [0, 1, 2, 10, 50, payload.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      client.send({
        opcode: i === 0 ? Op.Text : Op.Continuation,
        rsv: i === 0 ? RSV1 : 0,
        fin: i + 2 === cuts.length,
        payload: payload.subarray(cuts[i], cuts[i + 1]),
      });
    }
    const echo = await next(client);
    assert.equal([echo.opcode, echo.fin, echo.rsv], [Op.Text, true, RSV1]);
    assert.is(inflate(echo.payload).toString(), text);
    // One byte per frame, binary this time, with empty frames mixed in.
    const binary = pattern(3000, 5);
    const bytes = deflate(binary);
    client.send({ opcode: Op.Binary, rsv: RSV1, fin: false, payload: '' });
    for (let i = 0; i < bytes.length; i++) {
      client.send({ opcode: Op.Continuation, fin: false, payload: bytes.subarray(i, i + 1) });
    }
    client.send({ opcode: Op.Continuation, fin: true, payload: '' });
    const echoBinary = await next(client);
    assert.equal([echoBinary.opcode, echoBinary.rsv], [Op.Binary, RSV1]);
    assert.ok(inflate(echoBinary.payload).equals(binary));
    client.sendClose(1000);
    assert.is((await closeOf(client)).code, 1000);
  });
});

frames('control frames between compressed fragments are answered at once; the message comes whole', async () => {
  await withServer(echoServer({ deflate: { threshold: 0 } }), async (server) => {
    const client = await rawOpen(server.port);
    const text = textOf(4000);
    const payload = deflate(text);
    const half = payload.length >> 1;
    client.send({ opcode: Op.Text, rsv: RSV1, fin: false, payload: payload.subarray(0, half) });
    client.sendPing('between');
    client.sendPong('unasked');
    client.send({ opcode: Op.Continuation, fin: true, payload: payload.subarray(half) });
    const pong = await next(client);
    assert.equal([pong.opcode, pong.rsv, pong.payload.toString()], [Op.Pong, 0, 'between']);
    const echo = await next(client);
    assert.equal([echo.opcode, echo.rsv], [Op.Text, RSV1]);
    assert.is(inflate(echo.payload).toString(), text);
    client.sendClose(1000);
    assert.is((await closeOf(client)).code, 1000);
  });
});

frames('empty compressed messages: the single 00 byte, and no payload at all', async () => {
  await withServer(echoServer({ deflate: { threshold: 0 } }), async (server) => {
    const client = await rawOpen(server.port);
    client.send({ opcode: Op.Text, rsv: RSV1, payload: fromHex('00') });
    client.send({ opcode: Op.Binary, rsv: RSV1, payload: '' });
    client.send({ opcode: Op.Text, rsv: RSV1, fin: false, payload: '' });
    client.send({ opcode: Op.Continuation, payload: '' });
    for (const opcode of [Op.Text, Op.Binary, Op.Text]) {
      const echo = await next(client);
      // With threshold 0 even an empty message goes compressed: 00 (RFC 7692 §7.2.3.6).
      assert.equal([echo.opcode, echo.rsv, hex(echo.payload)], [opcode, RSV1, '00']);
    }
    client.sendClose(1000);
    assert.is((await closeOf(client)).code, 1000);
  });
});

frames('compressed and plain messages mix on one connection, in order', async () => {
  await withServer(echoServer({ deflate: { threshold: 0 } }), async (server) => {
    const client = await rawOpen(server.port);
    const texts = Array.from({ length: 10 }, (_, i) => `${i} ` + textOf(100 * i));
    for (const [i, text] of texts.entries()) {
      if (i % 2 === 0) client.send({ opcode: Op.Text, rsv: RSV1, payload: deflate(text) });
      else client.sendText(text);
    }
    for (const text of texts) assert.is(inflate((await next(client)).payload).toString(), text);
    client.sendClose(1000);
    assert.is((await closeOf(client)).code, 1000);
  });
});

frames('a message ending its DEFLATE stream (BFINAL, RFC 7692 §7.2.3.4) spoils nothing after it', async () => {
  // The example of RFC 7692 §7.2.3.4: "Hello" in a final block. Pooled inflate streams are
  // shared by every connection; one ended by BFINAL must not be handed to the next.
  // Short echoes stay under the default threshold, so they come back plain.
  for (const deflateOption of [true, { serverNoContextTakeover: false, clientNoContextTakeover: false }]) {
    await withServer(echoServer({ deflate: deflateOption }), async (server) => {
      const a = await rawOpen(server.port);
      const b = await rawOpen(server.port);
      for (let i = 0; i < 10; i++) {
        a.send({ opcode: Op.Text, rsv: RSV1, payload: fromHex('f3 48 cd c9 c9 07 00 00') });
        assert.is(await textFrom(a), 'Hello', `a, BFINAL ${i}`);
        a.send({ opcode: Op.Text, rsv: RSV1, payload: deflate(`a ${i}`) });
        assert.is(await textFrom(a), `a ${i}`);
        b.send({ opcode: Op.Text, rsv: RSV1, payload: deflate(`b ${i}`) });
        assert.is(await textFrom(b), `b ${i}`);
      }
      for (const client of [a, b]) {
        client.sendClose(1000);
        assert.is((await closeOf(client)).code, 1000);
      }
    });
  }
});

frames('with client context takeover, a message may lean on the one before', async () => {
  await withServer(echoServer({ deflate: TAKEOVER }), async (server) => {
    const client = await rawOpen(server.port, 'permessage-deflate; client_max_window_bits');
    assert.is(client.response!.headers['sec-websocket-extensions'], 'permessage-deflate');
    const first = textOf(3000);
    const second = first.toUpperCase() + first;
    client.send({ opcode: Op.Text, rsv: RSV1, payload: deflate(first) });
    // Compressed against the window the first message left: only a server that kept it can read it.
    const payload = deflate(second, Buffer.from(first));
    assert.ok(payload.length < deflate(second).length, 'the window helps');
    client.send({ opcode: Op.Text, rsv: RSV1, payload });
    let window = Buffer.alloc(0);
    for (const text of [first, second]) {
      const echo = await next(client);
      assert.is(echo.rsv, RSV1);
      // The server keeps its window too: each echo inflates against what came before it.
      const inflated = inflate(echo.payload, window.length === 0 ? undefined : window);
      assert.is(inflated.toString(), text);
      window = Buffer.concat([window, inflated]).subarray(-32 * KiB);
    }
    client.sendClose(1000);
    assert.is((await closeOf(client)).code, 1000);
  });
});

// ---------------------------------------------------------------------------------------------

const errors = suite('compression: errors and their close codes');

/** Opens a raw client, sends `frames`, and returns the server's close frame. */
async function refusal(
  options: WebsocketServerOptions,
  frames: (client: RawClient) => void,
  offer: string | null = 'permessage-deflate',
): Promise<{ code: number | null; reason: string; frames: ServerFrame[] }> {
  let result: { code: number | null; reason: string; frames: ServerFrame[] } | null = null;
  await withServer(echoServer(options), async (server) => {
    const client = await rawOpen(server.port, offer);
    frames(client);
    result = await closeOf(client);
    await client.ended;
  });
  return result!;
}

errors('RSV1 on a continuation frame: 1002', async () => {
  const payload = deflate(textOf(200));
  const { code, reason } = await refusal({ deflate: true }, (client) => {
    client.send({ opcode: Op.Text, rsv: RSV1, fin: false, payload: payload.subarray(0, 10) });
    client.send({ opcode: Op.Continuation, rsv: RSV1, payload: payload.subarray(10) });
  });
  assert.is(code, 1002);
  assert.match(reason, /continuation/);
  // Also when the message began uncompressed.
  const plain = await refusal({ deflate: true }, (client) => {
    client.send({ opcode: Op.Text, fin: false, payload: 'abc' });
    client.send({ opcode: Op.Continuation, rsv: RSV1, payload: 'def' });
  });
  assert.is(plain.code, 1002);
});

for (const [name, opcode] of [['ping', Op.Ping], ['pong', Op.Pong], ['close', Op.Close]] as const) {
  errors(`RSV1 on a ${name} frame: 1002`, async () => {
    const payload = opcode === Op.Close ? fromHex('03e8') : Buffer.from('x');
    const { code, frames } = await refusal({ deflate: true }, (client) => client.send({ opcode, rsv: RSV1, payload }));
    assert.is(code, 1002);
    assert.equal(frames, [], 'no pong, nothing else');
  });
}

errors('RSV1 when permessage-deflate was not negotiated: 1002', async () => {
  const payload = deflate('hello');
  // The server would have, but the client did not offer it.
  const notOffered = await refusal({ deflate: true }, (client) => client.send({ opcode: Op.Text, rsv: RSV1, payload }), null);
  assert.is(notOffered.code, 1002);
  // The client offered it, the server declined.
  const declined = await refusal({}, (client) => client.send({ opcode: Op.Text, rsv: RSV1, payload }));
  assert.is(declined.code, 1002);
  // RSV2 and RSV3 mean nothing even with deflate.
  for (const rsv of [2, 1, RSV1 | 2]) {
    const other = await refusal({ deflate: true }, (client) => client.send({ opcode: Op.Text, rsv, payload }));
    assert.is(other.code, 1002, `rsv ${rsv}`);
  }
});

errors('invalid compressed data: 1007', async () => {
  const dictionary = Buffer.from('a preset dictionary the server never saw');
  const tooFarBack = hex(deflate(dictionary, dictionary)); // matches reach before the message
  // A reserved block type; a stored block whose NLEN is not ~LEN; a distance past the start.
  for (const bytes of ['ff ff ff', '00 05 00 00 00', tooFarBack]) {
    const { code, reason } = await refusal({ deflate: true }, (client) => client.send({ opcode: Op.Binary, rsv: RSV1, payload: fromHex(bytes) }));
    assert.is(code, 1007, bytes);
    assert.match(reason, /compressed/);
  }
  // Invalid in the second fragment, after a good first one.
  const good = deflate(textOf(500));
  const late = await refusal({ deflate: true }, (client) => {
    client.send({ opcode: Op.Text, rsv: RSV1, fin: false, payload: good });
    client.send({ opcode: Op.Continuation, payload: fromHex('12 34 56 78') });
  });
  assert.is(late.code, 1007);
});

errors('invalid UTF-8 in a compressed text message: 1007', async () => {
  const cases: Array<[string, Buffer]> = [
    ['a bad byte', Buffer.concat([Buffer.from(textOf(3000)), fromHex('ff'), Buffer.from('tail')])],
    ['a character cut off at the end', Buffer.concat([Buffer.from(textOf(3000)), fromHex('e2 82')])],
    ['a surrogate', fromHex('ed a0 80')],
  ];
  for (const [what, bytes] of cases) {
    const { code } = await refusal({ deflate: true }, (client) => client.send({ opcode: Op.Text, rsv: RSV1, payload: deflate(bytes) }));
    assert.is(code, 1007, what);
  }
  // The same bytes as binary are fine.
  await withServer(echoServer({ deflate: true }), async (server) => {
    const client = await rawOpen(server.port);
    client.send({ opcode: Op.Binary, rsv: RSV1, payload: deflate(fromHex('ff e2 82')) });
    const echo = await next(client);
    assert.equal([echo.opcode, hex(echo.payload)], [Op.Binary, 'ffe282']);
    client.destroy();
  });
});

errors('a compressed message that inflates past maxPayload: 1009 while inflating, memory flat', async () => {
  const bomb = zeroBomb(1024); // ~1 MB on the wire, 1 GiB inflated
  await withServer(
    echoServer({ deflate: true, maxPayload: MiB }),
    async (server) => {
      const before = memory();
      const client = await rawOpen(server.port);
      client.send({ opcode: Op.Binary, rsv: RSV1, payload: bomb });
      const { code, reason, frames } = await closeOf(client);
      const after = memory();
      assert.is(code, 1009);
      assert.match(reason, /inflated/);
      assert.equal(frames, []);
      await client.ended;
      // Loose: a server that inflated it all would have grown by a gigabyte; the bomb is 1 MB.
      assert.ok(after.rss - before.rss < 128 * MiB, `rss grew by ${after.rss - before.rss}`);
      assert.ok(after.arrayBuffers - before.arrayBuffers < 128 * MiB, `arrayBuffers grew by ${after.arrayBuffers - before.arrayBuffers}`);

      // Fragmented, the limit holds across fragments; and the server still serves others.
      const fragmented = await rawOpen(server.port);
      const third = Math.ceil(bomb.length / 3);
      for (let i = 0; i < 3; i++) {
        fragmented.send({ opcode: i === 0 ? Op.Binary : Op.Continuation, rsv: i === 0 ? RSV1 : 0, fin: i === 2, payload: bomb.subarray(i * third, (i + 1) * third) });
      }
      assert.is((await closeOf(fragmented)).code, 1009);
      const healthy = await rawOpen(server.port);
      healthy.send({ opcode: Op.Binary, rsv: RSV1, payload: deflate(Buffer.alloc(MiB)) });
      const echo = await next(healthy);
      assert.ok(inflate(echo.payload).equals(Buffer.alloc(MiB)), 'exactly maxPayload inflated is fine');
      healthy.destroy();
    },
    30_000,
  );
});

errors('a compressed message longer than the allowance on the wire: 1009 at the header', async () => {
  // maxPayload 1 MiB: the compressed allowance is that plus zlib's worst-case growth (deflateBound).
  const limit = MiB + MiB / 8 + MiB / 256 + MiB / 512 + 64;
  const header = await refusal({ deflate: true, maxPayload: MiB }, (client) => {
    // Only the header: the server must refuse without waiting for (or buffering) the payload.
    client.send({ opcode: Op.Binary, rsv: RSV1, length: limit + 1, payload: '' });
  });
  assert.is(header.code, 1009);
  // Across fragments: the second header takes the message past the allowance.
  const first = deflate(pattern(700 * KiB, 9)); // incompressible: ~700 KiB on the wire
  const fragments = await refusal({ deflate: true, maxPayload: MiB }, (client) => {
    client.send({ opcode: Op.Binary, rsv: RSV1, fin: false, payload: first });
    client.send({ opcode: Op.Continuation, length: limit - first.length + 1, payload: '' });
  });
  assert.is(fragments.code, 1009);
  assert.match(fragments.reason, /compressed/);
  // An uncompressed message on a compressing connection has the plain limit.
  const plain = await refusal({ deflate: true, maxPayload: MiB }, (client) => {
    client.send({ opcode: Op.Binary, length: MiB + 1, payload: '' });
  });
  assert.is(plain.code, 1009);
});

errors('incompressible data of exactly maxPayload is accepted, whatever zlib settings the peer used', async () => {
  // Deflate makes such data grow: by 0.03% with zlib's defaults, by 4% in the 128-byte stored
  // blocks of memLevel 1, by 12.5% with a small window, fixed Huffman codes and bytes >= 144.
  const random = pattern(MiB, 11);
  const high = Buffer.from(random.map((byte) => 144 + (byte % 112)));
  const cases: Array<[string, Buffer, object]> = [
    ['zlib defaults', random, {}],
    ['memLevel 1', random, { memLevel: 1 }],
    ['10-bit window', random, { windowBits: 10 }],
    ['9-bit window, memLevel 4, Z_FIXED, high bytes', high, { windowBits: 9, memLevel: 4, level: 1, strategy: constants.Z_FIXED }],
  ];
  await withServer(
    echoServer({ deflate: { clientMaxWindowBits: 9 }, maxPayload: MiB }),
    async (server) => {
      const client = await rawOpen(server.port, 'permessage-deflate; client_max_window_bits');
      for (const [what, data, options] of cases) {
        const payload = deflateRawSync(data, { ...SYNC, ...options }).subarray(0, -4);
        assert.ok(payload.length > MiB, `${what}: grew to ${payload.length}`);
        client.send({ opcode: Op.Binary, rsv: RSV1, payload });
        assert.ok(inflate((await next(client)).payload).equals(data), what);
      }
      client.destroy();
      // ws with the small window the server asked for.
      const ws = await connect(server.port); // ws offers client_max_window_bits by default
      assert.is(ws.answer, `${DEFAULT_ANSWER}; client_max_window_bits=9`);
      ws.socket.send(random);
      assert.ok((await ws.messages.shift()).data.equals(random));
      await closeClean(ws);
    },
    20_000,
  );
});

// ---------------------------------------------------------------------------------------------

const sending = suite('compression: what the server compresses');

sending('under the threshold goes plain (RSV1 clear), at or over it compressed (RSV1 set)', async () => {
  for (const threshold of [undefined, 100, 0]) {
    const cut = threshold ?? 1024;
    const messages: Array<string | Buffer> = [
      textOf(Math.max(cut - 1, 0)),
      textOf(cut),
      textOf(cut + 1),
      Buffer.from(textOf(Math.max(cut - 1, 0))),
      Buffer.from(textOf(cut)),
      // The threshold counts bytes, not characters: 'é' is two bytes of UTF-8.
      'é'.repeat(Math.ceil(cut / 2)),
    ];
    const deflateOption = threshold === undefined ? true : { threshold };
    await withServer(
      startWebsocketServer({ deflate: deflateOption, onAccept: (ws) => messages.forEach((message) => ws.write(message)) }),
      async (server) => {
        const client = await rawOpen(server.port);
        for (const message of messages) {
          const frame = await next(client);
          const bytes = Buffer.from(message);
          const compressed = bytes.length >= cut;
          assert.is(frame.opcode, typeof message === 'string' ? Op.Text : Op.Binary);
          assert.is(frame.rsv, compressed ? RSV1 : 0, `${bytes.length} bytes with threshold ${cut}`);
          assert.ok((compressed ? inflate(frame.payload) : frame.payload).equals(bytes));
        }
        client.destroy();
      },
    );
  }
});

sending('server messages with context takeover get smaller as the window fills', async () => {
  const message = jsonLines(4000);
  await withServer(
    startWebsocketServer({ deflate: TAKEOVER, onAccept: (ws) => [1, 2, 3].forEach(() => ws.write(message)) }),
    async (server) => {
      const client = await rawOpen(server.port, 'permessage-deflate');
      assert.is(client.response!.headers['sec-websocket-extensions'], 'permessage-deflate');
      const first = await next(client);
      const second = await next(client);
      const third = await next(client);
      assert.is(inflate(first.payload).toString(), message);
      assert.is(inflate(second.payload, Buffer.from(message)).toString(), message);
      assert.is(inflate(third.payload, Buffer.from(message + message).subarray(-32 * KiB)).toString(), message);
      assert.ok(second.payload.length < first.payload.length / 4, `${second.payload.length} vs ${first.payload.length}`);
      client.destroy();
    },
  );
});

sending('with server_no_context_takeover each message stands alone', async () => {
  const message = textOf(2000);
  await withServer(
    startWebsocketServer({ deflate: true, onAccept: (ws) => [1, 2].forEach(() => ws.write(message)) }),
    async (server) => {
      const client = await rawOpen(server.port);
      const first = await next(client);
      const second = await next(client);
      assert.is(hex(second.payload), hex(first.payload));
      assert.is(inflate(second.payload).toString(), message);
      client.destroy();
    },
  );
});

sending('many writes at once go out in order, each its own compressed message', async () => {
  const messages = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? Buffer.from(textOf(2000 + i)) : `${i} ` + textOf(1500 + i)));
  await withServer(
    startWebsocketServer({ deflate: TAKEOVER, onAccept: (ws) => messages.forEach((message) => ws.write(message)) }),
    async (server) => {
      const client = await rawOpen(server.port);
      let window = Buffer.alloc(0);
      for (const message of messages) {
        const frame = await next(client);
        assert.equal([frame.opcode, frame.rsv, frame.fin], [typeof message === 'string' ? Op.Text : Op.Binary, RSV1, true]);
        const inflated = inflate(frame.payload, window.length === 0 ? undefined : window);
        assert.ok(inflated.equals(Buffer.from(message)));
        window = Buffer.concat([window, inflated]).subarray(-32 * KiB);
      }
      client.destroy();
    },
  );
});

sending('close() right after a compressed write: the message goes out first, then the close', async () => {
  const message = jsonLines(50_000);
  await withServer(
    startWebsocketServer({
      deflate: true,
      onAccept: (ws) => {
        ws.write(message);
        ws.write(Buffer.from(message));
        ws.close(1000, 'bye');
        ws.write('dropped: after close()');
      },
    }),
    async (server) => {
      const client = await rawOpen(server.port);
      const { code, reason, frames } = await closeOf(client);
      assert.equal([code, reason], [1000, 'bye']);
      assert.equal(frames.map((frame) => [frame.opcode, frame.rsv]), [[Op.Text, RSV1], [Op.Binary, RSV1]]);
      for (const frame of frames) assert.is(inflate(frame.payload).toString(), message);
      client.destroy();
    },
  );
});

const lifecycle = suite('compression: the connection around a compressed message');

lifecycle('a compressed message and a close in one packet: the message is read, then the close', async () => {
  await withServer(startWebsocketServer({ deflate: true }), async (server) => {
    const client = await rawOpen(server.port);
    const { ws } = await server.accepted();
    const received: Array<string | Buffer> = [];
    ws.on('data', (data: string | Buffer) => received.push(data));
    const text = jsonLines(20_000);
    const close = Buffer.concat([frameBytes({ opcode: Op.Text, rsv: RSV1, payload: deflate(text) }), frameBytes({ opcode: Op.Close, payload: fromHex('03e8') })]);
    client.write(close);
    assert.is((await closeOf(client)).code, 1000);
    const info = await ws.closeInfo;
    assert.equal([info.code, info.wasClean], [1000, true]);
    assert.equal(received, [text]);
  });
});

lifecycle('the peer vanishing in the middle of a compressed message or a bomb harms nothing', async () => {
  await withServer(
    startWebsocketServer({ deflate: true, maxPayload: MiB }),
    async (server) => {
      const half = await rawOpen(server.port);
      const { ws: first } = await server.accepted();
      const payload = deflate(jsonLines(100_000));
      half.send({ opcode: Op.Text, rsv: RSV1, fin: false, payload: payload.subarray(0, 1000) });
      half.send({ opcode: Op.Continuation, fin: true, length: payload.length - 1000, payload: payload.subarray(1000, 2000) });
      half.destroy();
      assert.is((await first.closeInfo).code, 1006);

      const bomber = await rawOpen(server.port);
      const { ws: second } = await server.accepted();
      bomber.send({ opcode: Op.Binary, rsv: RSV1, payload: zeroBomb(1024) });
      bomber.destroy();
      const info = await second.closeInfo;
      assert.ok(info.code === 1009 || info.code === 1006, `closed with ${info.code}`);

      // The server (and the shared zlib pool) still works.
      const healthy = await rawOpen(server.port);
      healthy.send({ opcode: Op.Text, rsv: RSV1, payload: deflate('still here') });
      const { ws: third } = await server.accepted();
      const [data] = (await once(third, 'data')) as [string];
      assert.is(data, 'still here');
      healthy.destroy();
    },
    10_000,
  );
});

negotiation.run();
frames.run();
errors.run();
sending.run();
lifecycle.run();
