import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_PAYLOAD, Opcode } from '../src/protocol/constants.js';
import { Connection, State, type ConnectionEvent, type Role } from '../src/protocol/connection.js';
import { FrameDecoder } from '../src/protocol/decoder.js';
import { encodeFrame } from '../src/protocol/encoder.js';
import { feedings } from './helpers/feed.js';
import { fromHex, hex, pattern } from './helpers/hex.js';

const MiB = 1024 * 1024;
const ROLES = ['server', 'client'] as const;

function peerOf(role: Role): Role {
  return role === 'server' ? 'client' : 'server';
}

/** One frame as a side with `sender`'s role puts it on the wire (a client masks). */
function frame(sender: Role, opcode: number, payload: string | Uint8Array = '', fin = true): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat(encodeFrame(opcode, bytes, { masked: sender === 'client', fin }));
}

/** A close frame's payload: the code, then the reason bytes. */
function closeBody(code: number, reason: string | Uint8Array = ''): Buffer {
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code);
  return Buffer.concat([body, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

/** An event as one comparable string. */
function describe(event: ConnectionEvent): string {
  switch (event.type) {
    case 'message':
      return typeof event.data === 'string' ? `text ${event.data}` : `binary ${hex(event.data)}`;
    case 'ping':
    case 'pong':
      return `${event.type} ${hex(event.data)}`;
    case 'close':
      return `close ${event.code} ${event.reason}`;
    case 'error':
      return `error ${event.error.code} ${event.error.closeCode}`;
    case 'compressed':
      return `compressed ${hex(event.data)}${event.end ? ' end' : ''}`;
  }
}

function drain(conn: Connection): string[] {
  const events: string[] = [];
  for (let event = conn.next(); event !== null; event = conn.next()) events.push(describe(event));
  return events;
}

/** The frames `conn` queued, decoded as its peer would read them, as comparable strings. */
function written(conn: Connection): string[] {
  const decoder = new FrameDecoder({ role: peerOf(conn.role), maxPayload: 64 * MiB });
  for (const chunk of output(conn)) decoder.push(Buffer.from(chunk));
  const frames: string[] = [];
  let parts: Buffer[] = [];
  for (let piece = decoder.next(); piece !== null; piece = decoder.next()) {
    parts.push(piece.payload);
    if (!piece.last) continue;
    const payload = Buffer.concat(parts);
    parts = [];
    if (piece.opcode === Opcode.Close && payload.length === 0) frames.push('close');
    else if (piece.opcode === Opcode.Close) {
      frames.push(`close ${payload.readUInt16BE(0)} ${payload.subarray(2).toString()}`);
    } else {
      const name = piece.opcode === Opcode.Ping ? 'ping' : piece.opcode === Opcode.Pong ? 'pong' : piece.opcode;
      frames.push(`${name} ${hex(payload)}`);
    }
  }
  assert.is(decoder.buffered, 0);
  return frames;
}

/** Everything `conn` has to write, in the order the shell writes it: output, then the pong. */
function output(conn: Connection): Buffer[] {
  const chunks = conn.takeOutput();
  const pong = conn.takePong();
  return pong === null ? chunks : [...chunks, pong];
}

/** Pushes `from`'s queued output into `to` and returns the events it causes. */
function deliver(from: Connection, to: Connection): string[] {
  for (const chunk of output(from)) to.push(Buffer.from(chunk));
  return drain(to);
}

interface Expectation {
  /** The events, in order. */
  events: string[];
  /** The frames the receiver queues in reply, decoded. */
  output?: string[];
  maxPayload?: number;
}

/**
 * Feeds `bytes` to a fresh `role` Connection the three ways (whole, byte by byte, with trailing
 * bytes) and checks the events and replies each time. Returns, for the byte-by-byte feeding,
 * how many bytes had been pushed when each event came out.
 */
function expectReceived(role: Role, bytes: Uint8Array, expected: Expectation): number[] {
  let arrivals: number[] = [];
  for (const feeding of feedings(bytes, role)) {
    const conn = new Connection({ role, maxPayload: expected.maxPayload ?? DEFAULT_MAX_PAYLOAD });
    const events: string[] = [];
    const at: number[] = [];
    let pushed = 0;
    for (const chunk of feeding.chunks) {
      conn.push(chunk);
      pushed += chunk.length;
      for (const event of drain(conn)) {
        events.push(event);
        at.push(pushed);
      }
    }
    const where = `${role}, ${feeding.name}`;
    assert.equal(events, expected.events, where);
    assert.equal(written(conn), expected.output ?? [], `${where}: replies`);
    const failed = events.some((event) => event.startsWith('error') || event.startsWith('close'));
    // After the connection stops reading, later bytes are not even buffered.
    if (!failed) assert.is(conn.bufferedInput, feeding.trailing, `${where}: bytes left unread`);
    if (feeding.name === 'bytewise') arrivals = at;
  }
  return arrivals;
}

/** A client and a server wired back to back in memory. */
function pair(maxPayload = DEFAULT_MAX_PAYLOAD): { client: Connection; server: Connection } {
  return {
    client: new Connection({ role: 'client', maxPayload }),
    server: new Connection({ role: 'server', maxPayload }),
  };
}

const messages = suite('connection: messages');

for (const role of ROLES) {
  const sender = peerOf(role);

  messages(`text and binary messages to a ${role}`, () => {
    const bytes = Buffer.concat([
      frame(sender, Opcode.Text, 'Hello, wörld 😀'),
      frame(sender, Opcode.Binary, pattern(300)),
      frame(sender, Opcode.Text, ''),
      frame(sender, Opcode.Binary, ''),
      frame(sender, Opcode.Binary, pattern(70000)),
    ]);
    expectReceived(role, bytes, {
      events: [
        'text Hello, wörld 😀',
        `binary ${hex(pattern(300))}`,
        'text ',
        'binary ',
        `binary ${hex(pattern(70000))}`,
      ],
    });
  });

  messages(`a fragmented message with pings between its fragments, to a ${role}`, () => {
    const bytes = Buffer.concat([
      frame(sender, Opcode.Text, 'Hel', false),
      frame(sender, Opcode.Ping, 'p1'),
      frame(sender, Opcode.Continuation, 'lo, ', false),
      frame(sender, Opcode.Ping, ''),
      frame(sender, Opcode.Pong, 'unsolicited'),
      frame(sender, Opcode.Continuation, 'wörld', true),
    ]);
    expectReceived(role, bytes, {
      events: [
        `ping ${hex(Buffer.from('p1'))}`,
        'ping ',
        `pong ${hex(Buffer.from('unsolicited'))}`,
        'text Hello, wörld',
      ],
      // Both pings were read before anything was written: only the latest is answered.
      output: ['pong '],
    });
  });

  messages(`a fragmented binary message, empty fragments included, to a ${role}`, () => {
    const data = pattern(1000);
    const bytes = Buffer.concat([
      frame(sender, Opcode.Binary, '', false),
      frame(sender, Opcode.Continuation, data.subarray(0, 10), false),
      frame(sender, Opcode.Continuation, '', false),
      frame(sender, Opcode.Continuation, data.subarray(10), false),
      frame(sender, Opcode.Continuation, '', true),
    ]);
    expectReceived(role, bytes, { events: [`binary ${hex(data)}`] });
  });

  messages(`characters split across fragments, to a ${role}`, () => {
    const text = Buffer.from('a😀é€b');
    // 61 f0 | 9f 98 | 80 c3 | a9 e2 82 | ac 62: every cut lands inside a character.
    const cuts = [0, 2, 4, 6, 9, text.length];
    const pieces = cuts.slice(1).map((end, i) => text.subarray(cuts[i], end));
    const bytes = Buffer.concat(pieces.map((piece, i) =>
      frame(sender, i === 0 ? Opcode.Text : Opcode.Continuation, piece, i === pieces.length - 1)));
    expectReceived(role, bytes, { events: ['text a😀é€b'] });
  });

  messages(`pongs answer pings in order, to a ${role}`, () => {
    const { client, server } = pair();
    const [receiver, other] = role === 'server' ? [server, client] : [client, server];
    other.ping(fromHex('01'));
    assert.equal(deliver(other, receiver), ['ping 01']);
    assert.equal(deliver(receiver, other), ['pong 01']);
    other.ping(fromHex('0202'));
    assert.equal(deliver(other, receiver), ['ping 0202']);
    assert.equal(deliver(receiver, other), ['pong 0202']);
  });

  messages(`several pings before a write get one pong, for the latest (RFC 6455 §5.5.3), to a ${role}`, () => {
    const { client, server } = pair();
    const [receiver, other] = role === 'server' ? [server, client] : [client, server];
    for (let i = 1; i <= 1000; i++) other.ping(Buffer.from([i & 0xff, i >> 8]));
    assert.is(deliver(other, receiver).length, 1000);
    assert.equal(deliver(receiver, other), ['pong e803']);
    assert.is(receiver.takePong(), null);
  });
}

messages('a whole binary message reaches the user as a view, not a copy', () => {
  const chunk = frame('server', Opcode.Binary, pattern(5000));
  const client = new Connection({ role: 'client', maxPayload: MiB });
  client.push(chunk);
  const event = client.next();
  assert.ok(event?.type === 'message' && Buffer.isBuffer(event.data));
  assert.ok(event.data.buffer === chunk.buffer);
});

messages('a client masks what it queues, a server does not', () => {
  const { client, server } = pair();
  client.ping(fromHex('aabb'));
  server.ping(fromHex('aabb'));
  assert.is(hex(client.takeOutput()).slice(0, 4), '8982');
  assert.is(hex(server.takeOutput()), '8902aabb');
});

messages.run();

const large = suite('connection: large messages');

large('4 MiB as 65,536 fragments of 64 bytes', () => {
  const data = pattern(4 * MiB, 5);
  const frames: Buffer[] = [];
  for (let i = 0, at = 0; at < data.length; i++, at += 64) {
    const last = at + 64 === data.length;
    frames.push(frame('client', i === 0 ? Opcode.Binary : Opcode.Continuation, data.subarray(at, at + 64), last));
  }
  const bytes = Buffer.concat(frames);
  const server = new Connection({ role: 'server', maxPayload: 4 * MiB });
  const events: ConnectionEvent[] = [];
  for (let at = 0; at < bytes.length; at += 65000) {
    server.push(bytes.subarray(at, at + 65000));
    for (let event = server.next(); event !== null; event = server.next()) events.push(event);
  }
  assert.is(events.length, 1);
  const event = events[0]!;
  assert.ok(event.type === 'message' && Buffer.isBuffer(event.data));
  assert.is(event.data.length, data.length);
  assert.ok(event.data.equals(data), 'reassembled in order');
  assert.is(server.bufferedInput, 0);
});

large('4 MiB of text as 65,536 fragments, checked as it arrives', () => {
  const data = Buffer.from('€'.repeat((4 * MiB) / 3) + 'a');
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += 64) {
    const opcode = at === 0 ? Opcode.Text : Opcode.Continuation;
    frames.push(frame('server', opcode, data.subarray(at, at + 64), at + 64 >= data.length));
  }
  const client = new Connection({ role: 'client', maxPayload: DEFAULT_MAX_PAYLOAD });
  client.push(Buffer.concat(frames));
  const event = client.next();
  assert.ok(event?.type === 'message' && typeof event.data === 'string');
  assert.ok(event.data === data.toString(), 'reassembled in order');
});

large('a 16 MiB message with the default maxPayload', () => {
  assert.is(DEFAULT_MAX_PAYLOAD, 16 * MiB);
  const data = pattern(DEFAULT_MAX_PAYLOAD, 11);
  const bytes = frame('client', Opcode.Binary, data);
  const server = new Connection({ role: 'server', maxPayload: DEFAULT_MAX_PAYLOAD });
  let event: ConnectionEvent | null = null;
  for (let at = 0; at < bytes.length; at += MiB) {
    server.push(bytes.subarray(at, at + MiB));
    const next = server.next();
    if (next !== null) event = next;
  }
  assert.ok(event?.type === 'message' && Buffer.isBuffer(event.data));
  assert.ok(event.data.equals(data));
});

large('a byte over 16 MiB fails with 1009 at the header', () => {
  const header = fromHex('82 ff 0000000001000001 00000000');
  expectReceived('server', header, {
    events: ['error ERR_WS_MESSAGE_TOO_BIG 1009'],
    output: [`close 1009 message longer than ${DEFAULT_MAX_PAYLOAD} bytes`],
  });
});

large.run();

const errors = suite('connection: protocol errors');

for (const role of ROLES) {
  const sender = peerOf(role);

  errors(`a continuation without a message to continue, to a ${role}`, () => {
    expectReceived(role, frame(sender, Opcode.Continuation, 'x'), {
      events: ['error ERR_WS_UNEXPECTED_CONTINUATION 1002'],
      output: ['close 1002 continuation frame without a message to continue'],
    });
    const afterWhole = Buffer.concat([
      frame(sender, Opcode.Text, 'a'),
      frame(sender, Opcode.Continuation, 'b', false),
    ]);
    expectReceived(role, afterWhole, {
      events: ['text a', 'error ERR_WS_UNEXPECTED_CONTINUATION 1002'],
      output: ['close 1002 continuation frame without a message to continue'],
    });
  });

  errors(`a new message while one is fragmented, to a ${role}`, () => {
    for (const opcode of [Opcode.Text, Opcode.Binary]) {
      const bytes = Buffer.concat([frame(sender, Opcode.Text, 'a', false), frame(sender, opcode, 'b')]);
      expectReceived(role, bytes, {
        events: ['error ERR_WS_EXPECTED_CONTINUATION 1002'],
        output: ['close 1002 new message before the last one finished'],
      });
    }
  });

  errors(`a message over maxPayload across fragments fails at the header, to a ${role}`, () => {
    const header = role === 'server' ? 6 : 2;
    const first = frame(sender, Opcode.Binary, pattern(60), false);
    // Only the second fragment's header: 60 + 41 > 100, known before its payload arrives.
    const second = frame(sender, Opcode.Continuation, pattern(41)).subarray(0, header);
    const at = expectReceived(role, Buffer.concat([first, second]), {
      events: ['error ERR_WS_MESSAGE_TOO_BIG 1009'],
      output: ['close 1009 message longer than 100 bytes'],
      maxPayload: 100,
    });
    assert.equal(at, [first.length + header]);
    // Exactly maxPayload is fine.
    const exact = Buffer.concat([first, frame(sender, Opcode.Continuation, pattern(40))]);
    const whole = Buffer.concat([pattern(60), pattern(40)]);
    expectReceived(role, exact, { events: [`binary ${hex(whole)}`], maxPayload: 100 });
  });

  errors(`a single frame over maxPayload fails at its header, to a ${role}`, () => {
    const header = role === 'server' ? 8 : 4;
    const bytes = frame(sender, Opcode.Text, 'x'.repeat(200)).subarray(0, header);
    const at = expectReceived(role, bytes, {
      events: ['error ERR_WS_MESSAGE_TOO_BIG 1009'],
      output: ['close 1009 message longer than 100 bytes'],
      maxPayload: 100,
    });
    assert.equal(at, [header]);
  });

  errors(`invalid utf-8 fails at the fragment holding it, before the final one, to a ${role}`, () => {
    const start = frame(sender, Opcode.Text, 'abc', false);
    const bad = frame(sender, Opcode.Continuation, fromHex('64 ff 65'), false);
    const end = frame(sender, Opcode.Continuation, 'xyz', true);
    const at = expectReceived(role, Buffer.concat([start, bad, end]), {
      events: ['error ERR_WS_INVALID_UTF8 1007'],
      output: ['close 1007 invalid utf-8 in text message'],
    });
    // Byte by byte: the error comes with the 0xff itself (second of three payload bytes).
    assert.equal(at, [start.length + bad.length - 1]);
    assert.ok(at[0]! < start.length + bad.length + end.length);
    // Whole fragments: the error comes as soon as the bad fragment is pushed.
    const conn = new Connection({ role, maxPayload: MiB });
    conn.push(start);
    assert.equal(drain(conn), []);
    conn.push(bad);
    assert.equal(drain(conn), ['error ERR_WS_INVALID_UTF8 1007']);
  });

  errors(`invalid utf-8 in a single text frame, to a ${role}`, () => {
    for (const payload of ['ff', 'c0 80', 'ed a0 80', 'f4 90 80 80', '61 e2 82']) {
      expectReceived(role, frame(sender, Opcode.Text, fromHex(payload)), {
        events: ['error ERR_WS_INVALID_UTF8 1007'],
        output: ['close 1007 invalid utf-8 in text message'],
      });
    }
  });

  errors(`a character cut off by the final fragment, to a ${role}`, () => {
    const bytes = Buffer.concat([
      frame(sender, Opcode.Text, 'ab', false),
      frame(sender, Opcode.Continuation, fromHex('f0 9f 98'), true),
    ]);
    expectReceived(role, bytes, {
      events: ['error ERR_WS_INVALID_UTF8 1007'],
      output: ['close 1007 invalid utf-8 in text message'],
    });
  });

  errors(`binary messages are not checked for utf-8, to a ${role}`, () => {
    expectReceived(role, frame(sender, Opcode.Binary, fromHex('ff c0 80')), { events: ['binary ffc080'] });
  });

  errors(`invalid utf-8 in a close reason, to a ${role}`, () => {
    expectReceived(role, frame(sender, Opcode.Close, closeBody(1000, fromHex('ff'))), {
      events: ['error ERR_WS_INVALID_UTF8 1007'],
      output: ['close 1007 invalid utf-8 in close reason'],
    });
  });

  errors(`a close frame with a 1-byte payload, to a ${role}`, () => {
    expectReceived(role, frame(sender, Opcode.Close, fromHex('03')), {
      events: ['error ERR_WS_BAD_CLOSE_FRAME 1002'],
      output: ['close 1002 close frame with a 1-byte payload'],
    });
  });

  errors(`close codes that may not go on the wire, to a ${role}`, () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      expectReceived(role, frame(sender, Opcode.Close, closeBody(code)), {
        events: ['error ERR_WS_BAD_CLOSE_CODE 1002'],
        output: [`close 1002 invalid close code ${code}`],
      });
    }
  });

  errors(`protocol errors from the decoder are reported the same way, to a ${role}`, () => {
    const reserved = frame(sender, Opcode.Text, 'x');
    reserved[0] = 0x83;
    expectReceived(role, reserved, {
      events: ['error ERR_WS_RESERVED_OPCODE 1002'],
      output: ['close 1002 reserved opcode 3'],
    });
    const wrongMask = frame(role, Opcode.Text, 'x');
    expectReceived(role, wrongMask, {
      events: [role === 'server' ? 'error ERR_WS_MASK_EXPECTED 1002' : 'error ERR_WS_MASK_UNEXPECTED 1002'],
      output: [role === 'server' ? 'close 1002 client frame not masked' : 'close 1002 server frame masked'],
    });
  });
}

errors('the close queued for an error carries its close code to the peer', () => {
  const cases: [Buffer, number][] = [
    [frame('client', Opcode.Continuation, 'x'), 1002],
    [frame('client', Opcode.Text, fromHex('ff')), 1007],
    [frame('client', Opcode.Binary, pattern(101)), 1009],
  ];
  for (const [bytes, code] of cases) {
    const { client, server } = pair(100);
    server.push(bytes);
    const event = server.next();
    assert.ok(event?.type === 'error');
    assert.is(event.error.closeCode, code);
    assert.is(server.error, event.error);
    assert.equal(server.sentClose, { code, reason: event.error.message });
    assert.equal(deliver(server, client), [`close ${code} ${event.error.message}`]);
    // The client echoes code and reason; the server, done reading, ignores it.
    client.close(1000, '');
    assert.equal(written(client), [`close ${code} ${event.error.message}`]);
  }
});

errors('an error after our close does not queue a second close', () => {
  const { client, server } = pair();
  server.close(1001, 'going away');
  assert.equal(written(server), ['close 1001 going away']);
  server.push(frame('client', Opcode.Continuation, 'x'));
  assert.equal(drain(server), ['error ERR_WS_UNEXPECTED_CONTINUATION 1002']);
  assert.equal(written(server), []);
  assert.equal(server.sentClose, { code: 1001, reason: 'going away' });
  assert.ok(client.sentClose === null);
});

errors('after an error, next() returns null and pushes are ignored', () => {
  const server = new Connection({ role: 'server', maxPayload: MiB });
  server.push(Buffer.concat([frame('client', Opcode.Continuation, 'x'), frame('client', Opcode.Text, 'later')]));
  assert.equal(drain(server), ['error ERR_WS_UNEXPECTED_CONTINUATION 1002']);
  assert.ok(server.readDone);
  const buffered = server.bufferedInput;
  server.push(frame('client', Opcode.Text, 'more'));
  assert.is(server.bufferedInput, buffered);
  assert.is(server.next(), null);
  assert.is(server.next(), null);
  assert.equal(written(server), ['close 1002 continuation frame without a message to continue']);
});

errors.run();

const closing = suite('connection: closing handshake');

for (const role of ROLES) {
  const sender = peerOf(role);

  /** The peer's close arrives: reported at once, answered only when close() is called. */
  const echoes = (bytes: Buffer, event: string, echo: string): void => {
    const conn = new Connection({ role, maxPayload: MiB });
    conn.push(bytes);
    assert.equal(drain(conn), [event]);
    assert.is(conn.state, State.RemoteClosing);
    assert.ok(conn.canSend, 'data may still go out before the answer');
    assert.equal(written(conn), []);
    conn.close(1000, 'ignored'); // the answer repeats the peer's code and reason
    assert.equal(written(conn), [echo]);
    assert.is(conn.state, State.Closed);
    assert.not.ok(conn.canSend);
    assert.is(conn.tcpMayClose, role === 'server');
  };

  closing(`valid close codes are accepted and echoed with their reason, to a ${role}`, () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
      echoes(frame(sender, Opcode.Close, closeBody(code, 'why')), `close ${code} why`, `close ${code} why`);
    }
  });

  closing(`an empty close is reported as 1005 and echoed empty, to a ${role}`, () => {
    echoes(frame(sender, Opcode.Close), 'close 1005 ', 'close');
  });

  closing(`a close reason of 123 bytes, to a ${role}`, () => {
    const reason = '€'.repeat(41);
    echoes(frame(sender, Opcode.Close, closeBody(4000, reason)), `close 4000 ${reason}`, `close 4000 ${reason}`);
  });

  closing(`bytes after the peer's close are not read, to a ${role}`, () => {
    const conn = new Connection({ role, maxPayload: MiB });
    conn.push(Buffer.concat([frame(sender, Opcode.Close, closeBody(1000)), frame(sender, Opcode.Text, 'late')]));
    assert.equal(drain(conn), ['close 1000 ']);
    assert.ok(conn.readDone);
    const buffered = conn.bufferedInput;
    conn.push(frame(sender, Opcode.Text, 'later'));
    assert.is(conn.bufferedInput, buffered);
    assert.is(conn.next(), null);
  });
}

closing('the server closes, the client echoes', () => {
  const { client, server } = pair();
  server.close(1000, 'bye');
  assert.equal(server.sentClose, { code: 1000, reason: 'bye' });
  assert.not.ok(server.readDone, 'still reading until the echo');
  const [wire] = server.takeOutput();
  assert.is(hex(wire!), '880503e8627965');
  server.close(1000, 'again'); // a second close is a no-op
  assert.not.ok(server.hasOutput);

  client.push(wire!);
  assert.equal(drain(client), ['close 1000 bye']);
  assert.equal(client.receivedClose, { code: 1000, reason: 'bye' });

  assert.equal(client.sentClose, null, 'the answer waits for the application');
  client.close(1001, 'ignored');
  assert.equal(client.sentClose, { code: 1000, reason: 'bye' });
  assert.ok(client.readDone);
  assert.not.ok(client.tcpMayClose, 'a client waits for the server to close TCP');

  assert.equal(deliver(client, server), ['close 1000 bye']);
  assert.equal(server.receivedClose, { code: 1000, reason: 'bye' });
  assert.ok(server.tcpMayClose);
  assert.not.ok(server.hasOutput, 'no echo of the echo');
  assert.ok(server.readDone);
  assert.is(server.error, null);
  assert.is(client.error, null);
});

closing('the client closes, the server echoes', () => {
  const { client, server } = pair();
  client.close(4001, 'done');
  assert.equal(deliver(client, server), ['close 4001 done']);
  assert.not.ok(server.hasOutput);
  server.close(1000, 'ignored'); // the echo: the client's code and reason
  assert.is(hex(server.takeOutput()), '88060fa1646f6e65');
  server.close(1000, 'again');
  assert.not.ok(server.hasOutput);
});

closing('both sides close at once', () => {
  const { client, server } = pair();
  client.close(1000, 'c');
  server.close(1001, 's');
  const toServer = client.takeOutput();
  const toClient = server.takeOutput();
  for (const chunk of toServer) server.push(chunk);
  for (const chunk of toClient) client.push(chunk);
  assert.equal(drain(server), ['close 1000 c']);
  assert.equal(drain(client), ['close 1001 s']);
  assert.not.ok(server.hasOutput);
  assert.not.ok(client.hasOutput);
});

closing('the client sends an empty close; the server echoes 8800', () => {
  const server = new Connection({ role: 'server', maxPayload: MiB });
  server.push(frame('client', Opcode.Close));
  assert.equal(drain(server), ['close 1005 ']);
  assert.equal(server.receivedClose, { code: 1005, reason: '' });
  server.close(1000, '');
  assert.is(hex(server.takeOutput()), '8800');
});

closing('after sending a close, pings are reported but not answered, and ping() does nothing', () => {
  const { client, server } = pair();
  server.close(1000, '');
  server.takeOutput();
  client.ping(fromHex('01'));
  assert.equal(deliver(client, server), ['ping 01']);
  assert.not.ok(server.hasOutput);
  server.ping(fromHex('02'));
  assert.not.ok(server.hasOutput);
  // Data still arrives until the peer's close.
  server.push(frame('client', Opcode.Text, 'still here'));
  assert.equal(drain(server), ['text still here']);
});

closing.run();
