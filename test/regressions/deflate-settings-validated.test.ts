// Compression settings were never checked: level 10 silently dropped every compressed message, clientMaxWindowBits 7 gave an answer ws rejects, and connect() with clientMaxWindowBits 8 offered 8 and then refused the server's agreement.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, start } from 'prise-ws';
import { startWebsocketServer, withServer } from '../helpers/server.js';

const test = suite('regression: deflate settings are validated');

const request = {
  method: 'GET',
  httpVersion: '1.1',
  headers: {
    host: 'example.test',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
    'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
  },
};

/** [settings, the error class, the option its message must name] */
const bad: Array<[Record<string, unknown>, typeof RangeError | typeof TypeError, string]> = [
  [{ level: 10 }, RangeError, 'deflate.level'],
  [{ level: 1.5 }, RangeError, 'deflate.level'],
  [{ memLevel: 0 }, RangeError, 'deflate.memLevel'],
  [{ memLevel: 10 }, RangeError, 'deflate.memLevel'],
  [{ threshold: -1 }, RangeError, 'deflate.threshold'],
  [{ threshold: '1k' }, RangeError, 'deflate.threshold'],
  [{ serverMaxWindowBits: 16 }, RangeError, 'deflate.serverMaxWindowBits'],
  [{ serverMaxWindowBits: 7 }, RangeError, 'deflate.serverMaxWindowBits'],
  [{ clientMaxWindowBits: 7 }, RangeError, 'deflate.clientMaxWindowBits'],
  [{ clientMaxWindowBits: 12.5 }, RangeError, 'deflate.clientMaxWindowBits'],
  [{ serverNoContextTakeover: 'yes' }, TypeError, 'deflate.serverNoContextTakeover'],
  [{ windowBits: 10 }, TypeError, 'deflate.windowBits'],
];

test('start() throws at the call, naming the setting', () => {
  for (const [settings, type, name] of bad) {
    assert.throws(() => start(request, null, { deflate: settings }), (error: Error) => error instanceof type && error.message.includes(name), name);
  }
  assert.throws(() => start(request, null, { deflate: 'on' as never }), TypeError);
});

test('connect() rejects at the call, naming the setting', async () => {
  for (const [settings, type, name] of bad) {
    const error = await connect('ws://127.0.0.1:1/', { deflate: settings }).then(() => null, (e: Error) => e);
    assert.ok(error instanceof type && error.message.includes(name), `${name}: ${String(error)}`);
  }
});

test('the edges are accepted: level 0 to 9 and -1, memLevel 1 to 9, windows 8 to 15', () => {
  for (const settings of [{ level: 0 }, { level: 9 }, { level: -1 }, { memLevel: 1 }, { memLevel: 9 }, { threshold: 0 }, { threshold: Infinity }, { serverMaxWindowBits: 8 }, { clientMaxWindowBits: 8 }, { serverMaxWindowBits: 15 }]) {
    start(request, null, { deflate: settings });
  }
});

test('connect() with clientMaxWindowBits 8 takes the agreement it asked for, and messages flow', async () => {
  await withServer(
    startWebsocketServer({ deflate: { threshold: 0, clientMaxWindowBits: 8 }, onAccept: (ws) => void ws.pipe(ws) }),
    async ({ port }) => {
      const ws = await connect(`ws://127.0.0.1:${port}/`, { deflate: { clientMaxWindowBits: 8, threshold: 0 } });
      const text = 'abcdefghij'.repeat(400);
      ws.write(text);
      for await (const message of ws) {
        assert.is(message, text);
        break;
      }
      ws.destroy();
    },
  );
});

test.run();
