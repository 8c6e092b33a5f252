// Topics in one process, over real sockets: who gets a message (subscribers, not the sender,
// not twice), text and binary kept apart, closed Websockets leaving, the broker following local
// subscriber counts, and a subscriber that never reads while 50 MB go through its topic.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, Topics, type Broker, type Websocket } from 'prise-ws';
import { until, withTimeout } from './helpers/deadline.js';
import { inbox, type Inbox } from './helpers/inbox.js';
import { RawClient } from './helpers/raw-client.js';
import { startWebsocketServer, withServer, type WebsocketServer } from './helpers/server.js';

const test = suite('topics');

interface Peer {
  /** The server side, to subscribe. */
  readonly ws: Websocket;
  /** The client side, to read from. */
  readonly client: Websocket;
  readonly inbox: Inbox;
}

async function peers(server: WebsocketServer, count: number): Promise<Peer[]> {
  const out: Peer[] = [];
  for (let i = 0; i < count; i++) {
    const client = await connect(`ws://127.0.0.1:${server.port}/`);
    const { ws } = await server.accepted();
    ws.resume();
    out.push({ ws, client, inbox: inbox(client) });
  }
  return out;
}

/** A broker that records what Topics asks of it and lets the test play the other processes. */
function recordingBroker() {
  const calls: string[] = [];
  const published: Buffer[] = [];
  let receive: ((topic: string, message: Buffer) => void) | null = null;
  const broker: Broker = {
    start: (r) => void (receive = r),
    subscribe: (topic) => void calls.push(`subscribe ${topic}`),
    unsubscribe: (topic) => void calls.push(`unsubscribe ${topic}`),
    publish: async (_topic, message) => (published.push(message), true),
    close: async () => void calls.push('close'),
  };
  return { broker, calls, published, deliver: (topic: string, message: Buffer) => receive!(topic, message) };
}

test('a message reaches every subscriber of its topic once, but not the sender or other topics', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const [a, b, c, d] = await peers(server, 4);
    const topics = new Topics();
    for (const peer of [a!, b!, c!]) topics.subscribe(peer.ws, 'room');
    topics.subscribe(b!.ws, 'room'); // twice: still one copy
    topics.subscribe(d!.ws, 'other');
    assert.is(topics.subscriberCount('room'), 3);
    assert.is(topics.publish('room', 'hi ✓', { except: a!.ws }), undefined);
    topics.publish('other', 'for d');
    topics.publish('room', 'to all');
    assert.equal(await b!.inbox.take(2), ['hi ✓', 'to all']);
    assert.equal(await c!.inbox.take(2), ['hi ✓', 'to all']);
    assert.equal(await a!.inbox.take(1), ['to all']);
    assert.equal(await d!.inbox.take(1), ['for d']);
    assert.equal(topics.stats.delivered, 6);
    for (const peer of [a!, b!, c!, d!]) peer.client.close();
  }, 10_000);
});

test('text stays text and binary stays binary, bytes intact', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const [a] = await peers(server, 1);
    const topics = new Topics();
    topics.subscribe(a!.ws, 't');
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    topics.publish('t', bytes);
    topics.publish('t', new Uint8Array([1, 2, 3]));
    topics.publish('t', '\u{1F600}');
    topics.publish('t', '');
    const [first, second, third, fourth] = await a!.inbox.take(4);
    assert.ok(Buffer.isBuffer(first) && first.equals(bytes));
    assert.ok(Buffer.isBuffer(second) && second.equals(Buffer.from([1, 2, 3])));
    assert.is(third, '\u{1F600}');
    assert.is(fourth, '');
    a!.client.close();
  }, 10_000);
});

test('unsubscribe stops delivery; a closed Websocket leaves every topic by itself', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const [a, b] = await peers(server, 2);
    const topics = new Topics();
    topics.subscribe(a!.ws, 'x');
    topics.subscribe(b!.ws, 'x');
    topics.subscribe(b!.ws, 'y');
    topics.unsubscribe(a!.ws, 'x');
    topics.unsubscribe(a!.ws, 'x'); // not a subscriber any more: a no-op
    topics.unsubscribe(a!.ws, 'never');
    assert.equal(topics.topicsOf(b!.ws).sort(), ['x', 'y']);
    topics.publish('x', 'only b');
    a!.client.write('marker');
    assert.equal(await b!.inbox.take(1), ['only b']);
    b!.client.close();
    await withTimeout(b!.ws.closeInfo, 5000, 'b closed');
    await until(() => topics.subscriberCount('x') === 0 && topics.subscriberCount('y') === 0, 'b left its topics');
    assert.equal(topics.topicsOf(b!.ws), []);
    topics.subscribe(b!.ws, 'x'); // closed: not added (it would never leave)
    assert.is(topics.subscriberCount('x'), 0);
    topics.publish('x', 'nobody');
    a!.client.close();
  }, 10_000);
});

test('the broker subscribes on the first local subscriber and unsubscribes after the last', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    const [a, b] = await peers(server, 2);
    const { broker, calls, published, deliver } = recordingBroker();
    const topics = new Topics({ broker });
    topics.subscribe(a!.ws, 'room');
    topics.subscribe(b!.ws, 'room');
    topics.unsubscribe(a!.ws, 'room');
    assert.equal(calls, ['subscribe room']);
    await topics.publish('room', 'from here');
    // Our own message coming back from the broker is not delivered a second time.
    deliver('room', published[0]!);
    // Another process's message (another origin) is.
    const theirs = (sequence: number, text: string) => {
      const header = Buffer.alloc(15, 7);
      header[0] = 0x01;
      header.writeUIntBE(sequence, 9, 6);
      return Buffer.concat([header, Buffer.from(text)]);
    };
    deliver('room', theirs(5, 'from there'));
    deliver('room', theirs(5, 'from there, again')); // a client re-sent it: refused
    deliver('room', theirs(4, 'older')); // overtaken: refused
    deliver('room', theirs(6, 'next'));
    deliver('room', Buffer.from([0x01, 1, 2])); // not an envelope
    assert.equal(await b!.inbox.take(3), ['from here', 'from there', 'next']);
    b!.client.close();
    await until(() => calls.length === 2, 'the broker unsubscribes');
    assert.equal(calls, ['subscribe room', 'unsubscribe room']);
    assert.equal({ ...topics.stats, delivered: 0 }, { published: 1, received: 2, delivered: 0, skipped: 0, dropped: 0, lost: 0, malformed: 1, repeated: 2 });
    await topics.close();
    assert.equal(calls.at(-1), 'close');
    assert.throws(() => topics.publish('room', 'late'), /closed/);
    a!.client.close();
  }, 10_000);
});

test('a lost message (the broker could not send it) is counted, and publish resolves anyway', async () => {
  const { broker } = recordingBroker();
  broker.publish = async () => false;
  const topics = new Topics({ broker });
  await topics.publish('t', 'gone');
  assert.is(topics.stats.lost, 1);
});

test('misuse is refused at the call', () => {
  const topics = new Topics();
  assert.throws(() => topics.subscribe({} as Websocket, 't'), /expected a Websocket/);
  assert.throws(() => topics.publish('t', 42 as unknown as string), /string \(text\) or a Uint8Array/);
  assert.throws(() => new Topics({ slowSubscriber: 'wait' as 'skip' }), /'skip' or 'drop'/);
  assert.throws(() => new Topics({ slowSubscriberLimit: -1 }), /slowSubscriberLimit/);
  const { broker } = recordingBroker();
  new Topics({ broker });
  broker.start = () => {
    throw new Error('this broker serves another Topics already');
  };
  assert.throws(() => new Topics({ broker }), /another Topics/);
});

/** A client that completes the handshake and then never reads a byte. */
async function neverReads(server: WebsocketServer): Promise<{ raw: RawClient; ws: Websocket }> {
  const raw = await RawClient.open(server.port);
  raw.socket.pause();
  const { ws } = await server.accepted();
  ws.resume();
  return { raw, ws };
}

const MESSAGE = 64 * 1024;
const TOTAL = 50 * 1024 * 1024;

for (const policy of ['skip', 'drop'] as const) {
  test(`a subscriber that never reads while 50 MB go through: ${policy}ped, memory bounded, the others keep pace`, async () => {
    await withServer(startWebsocketServer(), async (server) => {
      const [fast] = await peers(server, 1);
      const slow = await neverReads(server);
      const topics = new Topics({ slowSubscriber: policy });
      topics.subscribe(fast!.ws, 'feed');
      topics.subscribe(slow.ws, 'feed');
      const payload = Buffer.alloc(MESSAGE, 0xab);
      let peak = 0;
      let received = 0;
      fast!.client.on('data', () => received++);
      for (let sent = 0; sent < TOTAL / MESSAGE; sent++) {
        payload.writeUInt32BE(sent, 0);
        topics.publish('feed', payload);
        peak = Math.max(peak, slow.ws.writableLength);
        // Paced by the fast reader (a window of 8 messages): it must never fall behind.
        if (sent - received >= 8) await until(() => sent - received < 8, 'the fast reader', 10_000);
      }
      await until(() => received === TOTAL / MESSAGE, 'every message at the fast reader', 10_000);
      const stats = topics.stats;
      // Bounded: at most the limit plus one message ever waits for the slow one.
      assert.ok(peak <= 1024 * 1024 + MESSAGE + 16 * 1024, `queued for the slow subscriber: ${peak}`);
      if (policy === 'skip') {
        assert.ok(stats.skipped > 0 && stats.skipped < TOTAL / MESSAGE, `skipped ${stats.skipped}`);
        assert.is(slow.ws.readyState, 'open');
        assert.is(topics.subscriberCount('feed'), 2);
      } else {
        assert.is(stats.dropped, 1);
        await withTimeout(slow.ws.closeInfo, 5000, 'the slow one dropped');
        await until(() => topics.subscriberCount('feed') === 1, 'the dropped one left');
      }
      slow.raw.destroy();
      fast!.client.close();
    }, 30_000);
  });
}

test.run();
