// permessage-deflate acceptance ignored server_max_window_bits=15 (RFC 7692 §7.1.2.1: the answer must carry it), refused 8-bit windows it can keep, and the client compressed past a window it had promised.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { constants, createInflateRaw, deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { MessageDeflate } from '../../src/deflate.js';
import { acceptDeflateAnswer, negotiateDeflate, parseExtensions, type DeflateOptions } from '../../src/protocol/extensions.js';
import { withTimeout } from '../helpers/deadline.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

const test = suite('regression: RFC 7692 §7.1 parameter rules');

const NO_TAKEOVER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
const KEEP = { serverNoContextTakeover: false, clientNoContextTakeover: false };

/** Server side: [offer, our settings, answer (null: declined), our window, the client's window]. */
const server: Array<[string, DeflateOptions, string | null, number?, number?]> = [
  // server_max_window_bits in the offer: the answer names it, same or smaller, 15 included.
  ['permessage-deflate; server_max_window_bits=15', {}, `${NO_TAKEOVER}; server_max_window_bits=15`, 15, 15],
  ['permessage-deflate; server_max_window_bits=15; client_no_context_takeover', KEEP, 'permessage-deflate; client_no_context_takeover; server_max_window_bits=15', 15, 15],
  ['permessage-deflate; server_max_window_bits=12', KEEP, 'permessage-deflate; server_max_window_bits=12', 12, 15],
  ['permessage-deflate; server_max_window_bits=12', { ...KEEP, serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10', 10, 15],
  ['permessage-deflate; server_max_window_bits=9', { ...KEEP, serverMaxWindowBits: 12 }, 'permessage-deflate; server_max_window_bits=9', 9, 15],
  // 8 bits: accepted; zlib's 9-bit deflate keeps within it (checked below).
  ['permessage-deflate; server_max_window_bits=8', KEEP, 'permessage-deflate; server_max_window_bits=8', 8, 15],
  // Unasked, we name our own window only when it is below 15.
  ['permessage-deflate', { ...KEEP, serverMaxWindowBits: 11 }, 'permessage-deflate; server_max_window_bits=11', 11, 15],
  ['permessage-deflate', { ...KEEP, serverMaxWindowBits: 15 }, 'permessage-deflate', 15, 15],
  // client_max_window_bits: absent, the answer must not name it, whatever we would like.
  ['permessage-deflate', { ...KEEP, clientMaxWindowBits: 10 }, 'permessage-deflate', 15, 15],
  // without a value: we may pick any window.
  ['permessage-deflate; client_max_window_bits', KEEP, 'permessage-deflate', 15, 15],
  ['permessage-deflate; client_max_window_bits', { ...KEEP, clientMaxWindowBits: 8 }, 'permessage-deflate; client_max_window_bits=8', 15, 8],
  // with a value: the client keeps within it; we answer at most that.
  ['permessage-deflate; client_max_window_bits=10', KEEP, 'permessage-deflate; client_max_window_bits=10', 15, 10],
  ['permessage-deflate; client_max_window_bits=10', { ...KEEP, clientMaxWindowBits: 12 }, 'permessage-deflate; client_max_window_bits=10', 15, 10],
  ['permessage-deflate; client_max_window_bits=12', { ...KEEP, clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9', 15, 9],
  // Values the offer may not carry: declined.
  ['permessage-deflate; server_max_window_bits=7', {}, null],
  ['permessage-deflate; server_max_window_bits=16', {}, null],
  ['permessage-deflate; server_max_window_bits', {}, null],
  ['permessage-deflate; client_max_window_bits=0', {}, null],
  ['permessage-deflate; client_max_window_bits=08', {}, null],
  ['permessage-deflate; server_no_context_takeover=yes', {}, null],
  // Duplicate parameters: declined.
  ['permessage-deflate; server_max_window_bits=10; server_max_window_bits=10', {}, null],
  ['permessage-deflate; client_max_window_bits; client_max_window_bits=9', {}, null],
  ['permessage-deflate; client_no_context_takeover; client_no_context_takeover', {}, null],
  // Several offers in one header: the first we can accept, in the client's order.
  ['permessage-deflate; server_max_window_bits=10; foo, permessage-deflate; server_max_window_bits=12, permessage-deflate', KEEP, 'permessage-deflate; server_max_window_bits=12', 12, 15],
  ['x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=11', KEEP, 'permessage-deflate; client_max_window_bits=11', 15, 11],
  ['permessage-deflate; bad, permessage-deflate; server_max_window_bits=99', {}, null],
];

test('server: the answer to each offer', () => {
  for (const [offer, options, answer, serverBits, clientBits] of server) {
    const result = negotiateDeflate(parseExtensions(offer), options);
    assert.is(result?.header ?? null, answer, offer);
    if (result !== null) {
      assert.is(result.params.serverMaxWindowBits, serverBits, `${offer}: our window`);
      assert.is(result.params.clientMaxWindowBits, clientBits, `${offer}: the client's window`);
    }
  }
});

/** Client side: [our offer's settings, the answer, the client window we compress with (null: refused)]. */
const client: Array<[DeflateOptions, string, number | null]> = [
  [{}, 'permessage-deflate', 15],
  [{}, 'permessage-deflate; client_max_window_bits=8', 8],
  [{}, 'permessage-deflate; server_max_window_bits=8', 15],
  // We promised 10: without an answer, we keep to it.
  [{ clientMaxWindowBits: 10 }, 'permessage-deflate', 10],
  [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=9', 9],
  [{ clientMaxWindowBits: 8 }, 'permessage-deflate; client_max_window_bits=8', 8],
  [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=11', null],
  [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10', 15],
  [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=9', 15],
  [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=11', null],
  [{ serverMaxWindowBits: 10 }, 'permessage-deflate', null],
  [{}, 'permessage-deflate; client_max_window_bits', null],
  [{}, 'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10', null],
  [{}, 'permessage-deflate; client_max_window_bits=7', null],
  [{}, 'permessage-deflate, permessage-deflate', null],
  [{ serverNoContextTakeover: true }, 'permessage-deflate', null],
];

test('client: each answer is taken or refused', () => {
  for (const [options, answer, window] of client) {
    if (window === null) assert.throws(() => acceptDeflateAnswer(answer, options), TypeError, answer);
    else assert.is(acceptDeflateAnswer(answer, options)?.clientMaxWindowBits, window, `${JSON.stringify(options)} ${answer}`);
  }
});

/** Inflates `data` as a peer with a window of `bits` would, piece by piece, so the window matters. */
function inflateStreamed(data: Buffer, bits: number): Promise<Buffer | Error> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw({ windowBits: bits });
    const out: Buffer[] = [];
    inflate.on('data', (chunk: Buffer) => out.push(chunk));
    inflate.on('error', resolve);
    let at = 0;
    const step = (): void => {
      if (at >= data.length) return resolve(Buffer.concat(out));
      inflate.write(data.subarray(at, (at += 16)));
      inflate.flush(constants.Z_SYNC_FLUSH, step);
    };
    step();
  });
}

test('8 bits: what we compress for an 8-bit agreement inflates with a 256-byte window', async () => {
  const block = randomBytes(300);
  const text = Buffer.concat(Array.from({ length: 30 }, () => block));
  // The check can fail: a 10-bit window reaches 300 bytes back, which a 256-byte one cannot read.
  assert.instance(await inflateStreamed(deflateRawSync(text, { windowBits: 10 }), 8), Error);
  const deflate = new MessageDeflate({ ...KEEP, serverMaxWindowBits: 8, clientMaxWindowBits: 15 }, 'server', { threshold: 0 });
  try {
    const compressed = await deflate.compress(text);
    const inflated = await inflateStreamed(Buffer.concat([compressed, Buffer.from([0, 0, 0xff, 0xff])]), 8);
    assert.ok(Buffer.isBuffer(inflated) && inflated.equals(text));
  } finally {
    deflate.close();
  }
});

test('a ws client offering server_max_window_bits=15 gets it back, and compressed messages flow', async () => {
  const variants: Array<[WebSocket.PerMessageDeflateOptions, string]> = [
    [{ serverMaxWindowBits: 15, threshold: 0 }, `${NO_TAKEOVER}; server_max_window_bits=15`],
    [{ serverMaxWindowBits: 15, clientNoContextTakeover: true, threshold: 0 }, `${NO_TAKEOVER}; server_max_window_bits=15`],
    [{ serverMaxWindowBits: 8, threshold: 0 }, `${NO_TAKEOVER}; server_max_window_bits=8`],
    [{ clientMaxWindowBits: 8, threshold: 0 }, `${NO_TAKEOVER}; client_max_window_bits=8`],
  ];
  for (const [perMessageDeflate, answer] of variants) {
    await withServer(
      startWebsocketServer({ deflate: { threshold: 0 }, onAccept: (ws) => void ws.pipe(ws) }),
      async ({ port }) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate });
        let header: string | undefined;
        socket.on('upgrade', (response: IncomingMessage) => (header = response.headers['sec-websocket-extensions']));
        try {
          await withTimeout(once(socket, 'open'), 2000, 'open');
          assert.is(header, answer);
          assert.is(socket.extensions, 'permessage-deflate');
          const text = 'the same words, again and again; '.repeat(200);
          socket.send(text);
          const [data] = (await withTimeout(once(socket, 'message'), 2000, 'echo')) as [Buffer];
          assert.is(data.toString(), text);
        } finally {
          socket.terminate();
        }
      },
    );
  }
});

test.run();
