// Seeded fuzzing over real sockets: many connections complete a valid handshake, then send
// random bytes and mutated frames in random pieces. The server must never crash or emit
// 'error', must close every one of those sockets, and must still echo for a polite client.
// Same seed, same inputs: a failure prints its seed so it can be replayed (FUZZ_SEED=...).

import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { serve, start, type CloseInfo, type Websocket } from 'prise-ws';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CONNECTIONS = 64;
const DEADLINE = 20_000;

/** mulberry32: a small, well-mixed 32-bit PRNG; plenty for choosing mutations. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function frame(rand: () => number): Buffer {
  const opcodes = [0, 1, 2, 8, 9, 10, 3, 11];
  const opcode = opcodes[Math.floor(rand() * opcodes.length)]!;
  const length = [0, 1, 5, 125, 126, 300, 65536][Math.floor(rand() * 7)]!;
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = rand() < 0.9 ? 0x61 + (i % 26) : Math.floor(rand() * 256);
  const lengthField = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthField + 4);
  header[0] = (rand() < 0.8 ? 0x80 : 0) | opcode;
  header[1] = 0x80 | (lengthField === 0 ? length : lengthField === 2 ? 126 : 127);
  if (lengthField === 2) header.writeUInt16BE(length, 2);
  if (lengthField === 8) header.writeUInt32BE(length, 6);
  for (let i = 0; i < 4; i++) header[2 + lengthField + i] = Math.floor(rand() * 256);
  const key = header.subarray(2 + lengthField);
  for (let i = 0; i < length; i++) payload[i]! ^= key[i & 3]!;
  return Buffer.concat([header, payload]);
}

/** A few valid-looking frames, then mutations: bit flips, cuts, random bytes, repeats. */
function garbage(rand: () => number): Buffer {
  const parts: Buffer[] = [];
  const count = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < count; i++) parts.push(frame(rand));
  let bytes = Buffer.concat(parts);
  const mutations = Math.floor(rand() * 4);
  for (let m = 0; m < mutations; m++) {
    const choice = rand();
    const at = Math.floor(rand() * bytes.length);
    if (choice < 0.4) bytes[at]! ^= 1 << Math.floor(rand() * 8);
    else if (choice < 0.6) bytes = bytes.subarray(0, at);
    else if (choice < 0.8) {
      const noise = Buffer.alloc(1 + Math.floor(rand() * 32));
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rand() * 256);
      bytes = Buffer.concat([bytes.subarray(0, at), noise, bytes.subarray(at)]);
    } else bytes = Buffer.concat([bytes, bytes.subarray(at)]);
  }
  return bytes;
}

function deadline<T>(promise: Promise<T>, what: string, ms = DEADLINE): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (seed ${SEED})`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const HANDSHAKE =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Handshakes, then throws garbage in random pieces; resolves once the server closed the socket. */
async function attack(port: number, rand: () => number): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => {}); // the server may reset us; that is its right
  socket.on('data', () => {}); // read (and drop) whatever the server answers
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  const bytes = garbage(rand);
  // Half the time the bytes ride in the same write as the handshake (they arrive as `head`).
  if (rand() < 0.5) socket.write(Buffer.concat([Buffer.from(HANDSHAKE), bytes]));
  else {
    socket.write(HANDSHAKE);
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + Math.floor(rand() * 512);
      socket.write(bytes.subarray(at, at + size));
      at += size;
    }
  }
  // A peer that stops talking: end our side so a frame left half-sent cannot hold the socket.
  socket.end();
  await closed;
}

const fuzz = suite('fuzz');

fuzz(`${CONNECTIONS} connections of mutated frames never crash the server or leak sockets (seed ${SEED})`, async () => {
  const infos: Promise<CloseInfo>[] = [];
  const errors: unknown[] = [];
  const server: Server = await serve(
    (request) => {
      const { response, websocket } = start(request, null, { maxPayload: 64 * 1024 });
      websocket.then((ws: Websocket) => {
        ws.on('error', (error) => errors.push(error));
        infos.push(ws.closeInfo);
        ws.pipe(ws);
      });
      return response;
    },
    { port: 0, onError: (error) => errors.push(error) },
  );
  const { port } = server.address() as { port: number };
  const rand = random(SEED);
  try {
    await deadline(Promise.all(Array.from({ length: CONNECTIONS }, () => attack(port, random(Math.floor(rand() * 2 ** 32))))), 'attacks');
    const closeInfos = await deadline(Promise.all(infos), 'server-side close infos');
    assert.is(closeInfos.length, CONNECTIONS);
    assert.equal(errors, []);
    for (const info of closeInfos) assert.ok(info.code >= 1000 && info.code <= 4999, `close code ${info.code}`);
    const open = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    assert.is(open, 0, 'sockets left open');

    // A polite client still gets its echo.
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await deadline(once(client, 'open'), 'polite open');
    client.send('still here');
    const [reply] = await deadline(once(client, 'message'), 'polite echo');
    assert.is(String(reply), 'still here');
    client.close();
    await deadline(once(client, 'close'), 'polite close');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

fuzz.run();
