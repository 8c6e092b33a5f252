// The Websocket's timeouts and limits over real sockets, against a raw client that misbehaves on
// purpose: peers that never finish the closing handshake, silent peers and heartbeats, messages
// in too many fragments, ping floods from a peer that never reads, a peer that never reads what
// it is sent, and application listeners that throw. Every limit is injected small (a few hundred
// ms at most); the deadlines only keep a broken test from hanging, they never measure speed.

import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { ProtocolError, start, type StartOptions, type Websocket } from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import { Op, RawClient, frame, type ServerFrame } from './helpers/raw-client.js';
import { AsyncQueue, startServer, withServer, type TestServer } from './helpers/server.js';

const test = suite('limits');

const MiB = 1024 * 1024;

/** A server-side Websocket, the socket under it, and its 'error' events (there must be none). */
interface Peer {
  readonly ws: Websocket;
  readonly socket: Socket;
  readonly errors: unknown[];
  /** Resolves when the server's TCP socket has closed. */
  readonly socketClosed: Promise<void>;
}

interface LimitedServer extends TestServer {
  accepted(): Promise<Peer>;
}

/** Accepts every handshake with start(request, null, limits); `onAccept` decides what each does. */
async function limitedServer(limits: StartOptions, onAccept?: (ws: Websocket) => void): Promise<LimitedServer> {
  const queue = new AsyncQueue<Peer>();
  const server = await startServer((request) => {
    const { response, websocket } = start(request, null, limits);
    const socket = request.socket;
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    void websocket.then((ws) => {
      const peer: Peer = { ws, socket, errors: [], socketClosed };
      ws.on('error', (error) => peer.errors.push(error));
      onAccept?.(ws);
      queue.push(peer);
    });
    return response;
  });
  return { ...server, accepted: () => queue.shift() };
}

const echo = (ws: Websocket): void => void ws.pipe(ws);

/** Whether `promise` settles within `ms` (for things that must NOT happen in a window). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

/** Reads the next frame, which must be there. */
async function next(client: RawClient): Promise<ServerFrame> {
  const received = await client.nextFrame();
  assert.ok(received !== null, 'the connection ended before the next frame');
  return received;
}

/** A fixed masking key: building 100,000s of frames need not cost a random call each. */
const KEY = Buffer.from([0x12, 0x34, 0x56, 0x78]);

/** One message, one frame per piece: the first Text or Binary, then continuations. */
function fragmented(opcode: number, pieces: Buffer[]): Buffer {
  return Buffer.concat(
    pieces.map((payload, i) =>
      frame({ opcode: i === 0 ? opcode : Op.Continuation, payload, fin: i === pieces.length - 1, key: KEY }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// closeTimeout

test('close(): a peer that never answers the close frame is dropped after closeTimeout', async () => {
  await withServer(limitedServer({ closeTimeout: 200 }), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    peer.ws.close(4000, 'bye');
    const { frames, close } = await client.readUntilClose();
    assert.equal(frames, []);
    assert.is(close?.code, 4000);
    // The client stays silent and keeps TCP open: only the timeout can end this.
    await withTimeout(client.closed, 3000, 'the server dropping a peer that never answered');
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.is(info.wasClean, false);
    assert.match(info.error?.message ?? '', 'closing handshake not finished within 200 ms');
    await peer.socketClosed;
    assert.equal(peer.errors, []);
  });
});

// After the close frames crossed (or a protocol error), the server ends TCP at once; a peer
// that never ends its side must not keep the server's socket half-open forever.
const halfOpen = {
  'the peer closes first': {
    async run(client: RawClient): Promise<void> {
      client.sendClose(4000, 'done');
      const { close } = await client.readUntilClose();
      assert.is(close?.code, 4000, 'the echo');
    },
    info: { code: 4000, reason: 'done', wasClean: true },
  },
  'the server closes first': {
    async run(client: RawClient, ws: Websocket): Promise<void> {
      ws.close(4001, 'server done');
      const { close } = await client.readUntilClose();
      assert.is(close?.code, 4001);
      client.sendClose(4001);
    },
    info: { code: 4001, reason: '', wasClean: true },
  },
  'the peer broke the protocol': {
    async run(client: RawClient): Promise<void> {
      client.send({ opcode: Op.Text, payload: 'not masked', masked: false });
      const { close } = await client.readUntilClose();
      assert.is(close?.code, 1002);
    },
    info: { code: 1002, wasClean: false },
  },
};

for (const [name, scenario] of Object.entries(halfOpen)) {
  test(`${name}, then never ends TCP: the server's socket still closes after closeTimeout`, async () => {
    await withServer(limitedServer({ closeTimeout: 200 }), async (server) => {
      const client = await RawClient.open(server.port);
      // Do not answer the server's FIN with ours: the connection stays half-open.
      client.socket.allowHalfOpen = true;
      const peer = await server.accepted();
      await scenario.run(client, peer.ws);
      await withTimeout(client.ended, 3000, 'the server ending its side of TCP');
      await withTimeout(peer.socketClosed, 3000, 'the server closing a half-open socket');
      assert.not.ok(client.socket.writableEnded, 'the client never ended its side');
      const info = await peer.ws.closeInfo;
      assert.is(info.code, scenario.info.code);
      assert.is(info.wasClean, scenario.info.wasClean);
      if ('reason' in scenario.info) assert.is(info.reason, scenario.info.reason);
      if (scenario.info.wasClean) assert.is(info.error, undefined);
      else assert.instance(info.error, ProtocolError);
      assert.equal(peer.errors, []);
      client.destroy();
    });
  });
}

test('close() behind writes a peer never reads, while it keeps pinging: dropped after closeTimeout', async () => {
  await withServer(limitedServer({ closeTimeout: 200, pingInterval: 0 }), async (server) => {
    const client = await RawClient.open(server.port);
    client.pause(); // never reads what the server writes
    const peer = await server.accepted();
    peer.ws.resume();
    peer.ws.write(Buffer.alloc(8 * MiB));
    peer.ws.close(1000, 'done');
    // Signs of life that are not reading: they must not keep the closing open.
    const pinger = setInterval(() => client.sendPing('alive'), 50);
    try {
      await withTimeout(peer.ws.closeInfo, 5000, 'the server dropping a peer that does not read its close');
    } finally {
      clearInterval(pinger);
      client.destroy();
    }
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.match(info.error?.message ?? '', 'closing handshake not finished within 200 ms');
  });
});

// ---------------------------------------------------------------------------------------------
// Heartbeat

test('heartbeat: a silent peer that does not answer the ping is dropped with 1006', async () => {
  await withServer(limitedServer({ pingInterval: 100, pingTimeout: 100 }), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    const ping = await next(client);
    assert.is(ping.opcode, Op.Ping);
    assert.is(await client.nextFrame(), null, 'no close frame: the peer is presumed gone');
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.is(info.wasClean, false);
    assert.match(info.error?.message ?? '', 'no answer to a ping within 100 ms');
    assert.equal(peer.errors, []);
  });
});

test('heartbeat: a peer that answers pings (the ws client does) stays connected', async () => {
  await withServer(limitedServer({ pingInterval: 100, pingTimeout: 100 }, echo), async (server) => {
    const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    try {
      await once(client, 'open');
      const peer = await server.accepted();
      let pings = 0;
      client.on('ping', () => pings++);
      // Several rounds of ping and pong, with nothing else said in between.
      await until(() => pings >= 5, 'five pings', 4000);
      assert.is(peer.ws.readyState, 'open');
      const reply = once(client, 'message');
      client.send('still here');
      assert.is(String((await reply)[0]), 'still here');
      const closed = once(client, 'close');
      client.close(1000);
      assert.is((await closed)[0], 1000);
      assert.equal(await peer.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
    } finally {
      client.terminate();
    }
  });
});

test('heartbeat: a peer is not dropped while our own reader is behind, only once it catches up', async () => {
  await withServer(limitedServer({ pingInterval: 100, pingTimeout: 100 }), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    // Nobody reads on the server: 40 messages fill the reader (16) and pause the socket. The
    // peer then goes silent and would not answer a ping.
    for (let i = 0; i < 40; i++) client.sendText(`m${i}`);
    await until(() => peer.ws.readableLength === peer.ws.readableHighWaterMark, 'the reader to fill up');
    // Many heartbeat periods: a pong could be sitting unread behind the messages, so no drop.
    assert.not.ok(await settlesWithin(peer.ws.closeInfo, 600), 'dropped while our reader was behind');
    assert.is(peer.ws.readyState, 'open');
    const messages: unknown[] = [];
    peer.ws.on('data', (message) => messages.push(message));
    await until(() => messages.length === 40, 'the 40 messages');
    // Caught up, and the peer is still silent: now it gets pinged, and dropped.
    assert.is((await next(client)).opcode, Op.Ping);
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.match(info.error?.message ?? '', 'ping');
  });
});

test('heartbeat: pingInterval 0 sends no pings at all', async () => {
  await withServer(limitedServer({ pingInterval: 0, pingTimeout: 50 }), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    // Silent for many would-be intervals; then the first frame we get must be the close echo.
    await sleep(500);
    client.sendClose(1000);
    const first = await next(client);
    assert.is(first.opcode, Op.Close);
    assert.equal(await peer.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
  });
});

test('heartbeat: once our close frame is out, closeTimeout decides, not a ping never sent', async () => {
  await withServer(limitedServer({ pingInterval: 50, pingTimeout: 50, closeTimeout: 300 }), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    peer.ws.close(1000);
    // The peer reads but never answers: no ping may follow the close frame.
    assert.is((await next(client)).opcode, Op.Close);
    assert.is(await client.nextFrame(), null);
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1006);
    assert.match(info.error?.message ?? '', 'closing handshake not finished within 300 ms');
  });
});

// ---------------------------------------------------------------------------------------------
// maxFragments

test('maxFragments 10: a message in 10 fragments is accepted, one in 11 fails with 1008', async () => {
  await withServer(limitedServer({ maxFragments: 10 }, echo), async (server) => {
    const client = await RawClient.open(server.port);
    const peer = await server.accepted();
    const letters = [...'abcdefghijk'].map((c) => Buffer.from(c));
    client.write(fragmented(Op.Text, letters.slice(0, 10)));
    const whole = await next(client);
    assert.is(whole.payload.toString(), 'abcdefghij');
    client.write(fragmented(Op.Text, letters));
    const { frames, close } = await client.readUntilClose();
    assert.equal(frames, []);
    assert.is(close?.code, 1008);
    assert.is(close?.reason, 'message in more than 10 fragments');
    const info = await peer.ws.closeInfo;
    assert.is(info.code, 1008);
    assert.instance(info.error, ProtocolError);
    assert.is((info.error as ProtocolError).code, 'ERR_WS_TOO_MANY_FRAGMENTS');
    assert.equal(peer.errors, []);
  });
});

test('100,000 one-byte fragments are accepted by default and reassembled, without bookkeeping', async () => {
  const count = 100_000;
  const payload = Buffer.alloc(count);
  for (let i = 0; i < count; i++) payload[i] = i % 251;
  const pieces = Array.from({ length: count }, (_, i) => payload.subarray(i, i + 1));
  const wire = fragmented(Op.Binary, pieces);
  let grewBy = -1;
  let before = 0;
  const server = limitedServer({}, (ws) => {
    ws.on('data', (message: Buffer) => {
      // Measured while the reassembled message is still live: what the 100,000 frames cost.
      grewBy = process.memoryUsage().heapUsed - before;
      ws.write(message);
    });
  });
  await withServer(
    server,
    async (server) => {
      const client = await RawClient.open(server.port);
      const peer = await server.accepted();
      before = process.memoryUsage().heapUsed;
      client.write(wire);
      const back = await next(client);
      assert.is(back.opcode, Op.Binary);
      assert.ok(back.payload.equals(payload), 'the message came back whole');
      // Loose on purpose (GC timing): per-fragment objects would cost ~10 MB and more.
      assert.ok(grewBy < 50 * MiB, `heap grew by ${grewBy} bytes`);
      client.sendClose(1000);
      await client.readUntilClose();
      assert.equal(await peer.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
    },
    20_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Ping flood, and a peer that does not read

test('a ping flood from a peer that never reads: pongs are coalesced, the server buffers little', async () => {
  const count = 200_000;
  const payloadOf = (i: number): Buffer => {
    const payload = Buffer.alloc(125, 0x61);
    payload.writeUInt32BE(i);
    return payload;
  };
  await withServer(
    limitedServer({}),
    async (server) => {
      const client = await RawClient.open(server.port);
      client.pause();
      const peer = await server.accepted();
      // Sampled after every ping is handled (its pong written or held back) and every drain.
      let peakWritable = 0;
      let pings = 0;
      const sample = (): void => void (peakWritable = Math.max(peakWritable, peer.socket.writableLength));
      peer.ws.on('ping', () => {
        pings++;
        sample();
      });
      peer.socket.on('drain', sample);
      let sent = 0;
      for (let start = 0; start < count; start += 1000) {
        const batch: Buffer[] = [];
        for (let i = start; i < start + 1000; i++) batch.push(frame({ opcode: Op.Ping, payload: payloadOf(i), key: KEY }));
        const bytes = Buffer.concat(batch);
        sent += bytes.length;
        client.write(bytes);
      }
      await until(() => peer.socket.bytesRead >= sent, 'the server to read every ping', 30_000);
      assert.is(pings, count);
      assert.ok(peakWritable < MiB, `server socket buffered up to ${peakWritable} bytes`);

      // Reading again: the pong for the latest ping comes last (RFC 6455 §5.5.3).
      client.resume();
      let pongs = 0;
      let last = -1;
      while (last !== count - 1) {
        const pong = await next(client);
        assert.is(pong.opcode, Op.Pong);
        assert.is(pong.payload.length, 125);
        const index = pong.payload.readUInt32BE(0);
        assert.ok(index > last, 'pongs answer pings in order');
        last = index;
        pongs++;
      }
      assert.ok(pongs <= count);
      client.sendClose(1000);
      const { frames, close } = await client.readUntilClose();
      assert.equal(frames, [], 'nothing after the last pong');
      assert.is(close?.code, 1000);
      assert.equal(await peer.ws.closeInfo, { code: 1000, reason: '', wasClean: true });
      assert.equal(peer.errors, []);
    },
    30_000,
  );
});

test('maxBufferedAmount: a peer that never reads is dropped once 4 MiB are queued for it', async () => {
  await withServer(
    limitedServer({ maxBufferedAmount: 4 * MiB }),
    async (server) => {
      const client = await RawClient.open(server.port);
      client.pause();
      const peer = await server.accepted();
      let closed = false;
      void peer.ws.closeInfo.then(() => (closed = true));
      // An application that ignores write()'s false, one message per turn of the event loop.
      const message = Buffer.alloc(MiB, 0x62);
      let writes = 0;
      let peak = 0;
      while (!closed && writes < 256) {
        peer.ws.write(message);
        writes++;
        // writableLength holds every queued byte once: the socket holds the write in flight,
        // which writableLength still counts until it has gone out.
        if (!peer.socket.destroyed) peak = Math.max(peak, peer.ws.writableLength);
        await nextTurn();
      }
      assert.ok(closed, `still open after ${writes} MiB written`);
      // Kernel buffers on both ends take some, the Websocket and its socket at most 4 MiB + one message.
      assert.ok(peak <= 5 * MiB + 64, `queued up to ${peak} bytes`);
      assert.ok(writes < 64, `${writes} MiB written before the drop`);
      const info = await peer.ws.closeInfo;
      assert.is(info.code, 1006);
      assert.is(info.wasClean, false);
      assert.match(info.error?.message ?? '', 'outgoing queue over 4194304 bytes');
      assert.ok(peer.socket.destroyed);
      client.resume();
      await withTimeout(client.closed, 5000, 'the client seeing the connection end');
      assert.equal(peer.errors, []);
    },
    20_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Listener exceptions

/** Runs `body` while recording uncaught exceptions (which must not happen) instead of crashing. */
async function catchingUncaught(body: (uncaught: unknown[]) => Promise<void>): Promise<void> {
  const uncaught: unknown[] = [];
  const record = (error: unknown): void => void uncaught.push(error);
  process.on('uncaughtException', record);
  try {
    await body(uncaught);
    // A deferred throw would land in a later turn.
    await sleep(20);
    assert.equal(uncaught, [], 'no uncaught exception');
  } finally {
    process.off('uncaughtException', record);
  }
}

/** Sends one text message and expects it back. */
async function assertEchoes(client: RawClient, text: string): Promise<void> {
  client.sendText(text);
  const back = await next(client);
  assert.is(back.opcode, Op.Text);
  assert.is(back.payload.toString(), text);
}

/** The failing client gets 1011, answers it, and the other one keeps echoing. */
async function assertOnlyThatOneFails(failing: RawClient, failingPeer: Peer, other: RawClient, boom: Error): Promise<void> {
  const { close } = await failing.readUntilClose();
  assert.is(close?.code, 1011);
  assert.is(close?.reason, 'internal error');
  await assertEchoes(other, 'still here');
  failing.sendClose(1011);
  const info = await failingPeer.ws.closeInfo;
  assert.is(info.code, 1011);
  assert.is(info.error, boom);
  await assertEchoes(other, 'and here');
  assert.equal(failingPeer.errors, []);
}

test('a \'data\' listener that throws closes that connection with 1011; others go on', async () => {
  const boom = new Error('boom');
  const server = limitedServer({}, (ws) => {
    ws.on('data', (message: string) => {
      if (message === 'boom') throw boom;
      ws.write(message);
    });
  });
  await catchingUncaught(() =>
    withServer(server, async (server) => {
      const a = await RawClient.open(server.port);
      const peerA = await server.accepted();
      const b = await RawClient.open(server.port);
      await server.accepted();
      await assertEchoes(a, 'hi');
      await assertEchoes(b, 'hi');
      a.sendText('boom');
      a.sendText('never read'); // after the failure: dropped, not handed to the listener
      await assertOnlyThatOneFails(a, peerA, b, boom);
    }),
  );
});

test('a \'data\' listener that throws on messages buffered while paused: same, 1011', async () => {
  const boom = new Error('boom, later');
  const seen: string[] = [];
  await catchingUncaught(() =>
    withServer(limitedServer({}), async (server) => {
      const a = await RawClient.open(server.port);
      const peerA = await server.accepted();
      const b = await RawClient.open(server.port);
      const peerB = await server.accepted();
      peerB.ws.pipe(peerB.ws);
      // The messages wait in the reader; the listener gets them later, from the stream itself.
      a.sendText('one');
      a.sendText('boom');
      a.sendText('three');
      await until(() => peerA.ws.readableLength === 3, 'three buffered messages');
      peerA.ws.on('data', (message: string) => {
        seen.push(message);
        if (message === 'boom') throw boom;
      });
      await assertOnlyThatOneFails(a, peerA, b, boom);
      assert.equal(seen, ['one', 'boom']);
    }),
  );
});

for (const event of ['ping', 'pong'] as const) {
  test(`a '${event}' listener that throws closes that connection with 1011; others go on`, async () => {
    const boom = new Error(`${event} listener failed`);
    const server = limitedServer({}, (ws) => {
      ws.on(event, () => {
        throw boom;
      });
      ws.pipe(ws);
    });
    await catchingUncaught(() =>
      withServer(server, async (server) => {
        const a = await RawClient.open(server.port);
        const peerA = await server.accepted();
        const b = await RawClient.open(server.port);
        await server.accepted();
        if (event === 'ping') a.sendPing('x');
        else a.sendPong('x');
        await assertOnlyThatOneFails(a, peerA, b, boom);
      }),
    );
  });
}

test.run();
