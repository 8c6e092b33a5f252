import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { MessageDeflate, ZLIB_CONCURRENCY, type CompressionOptions } from '../src/deflate.js';
import type { DeflateParams } from '../src/protocol/extensions.js';
import { zeroBomb } from './helpers/deflate-bomb.js';
import { fromHex, hex, pattern } from './helpers/hex.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TAIL = '0000ffff';
/** A sync flush at the end: compressed messages never end their DEFLATE stream. */
const SYNC = constants.Z_SYNC_FLUSH;

function params(contextTakeover: boolean, serverBits = 15, clientBits = 15): DeflateParams {
  return {
    serverNoContextTakeover: !contextTakeover,
    clientNoContextTakeover: !contextTakeover,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}

/** Both ends of one connection: what the server compresses, the client inflates, and back. */
function pair(agreed: DeflateParams, options: CompressionOptions = {}): { server: MessageDeflate; client: MessageDeflate } {
  return { server: new MessageDeflate(agreed, 'server', options), client: new MessageDeflate(agreed, 'client', options) };
}

/** Inflates one message fed in pieces of `pieceSize` bytes, and returns all it produced. */
async function inflateMessage(md: MessageDeflate, data: Buffer, pieceSize = data.length): Promise<Buffer> {
  const out: Buffer[] = [];
  const collect = (chunk: Buffer): boolean => (out.push(chunk), true);
  if (data.length === 0) await md.inflate(data, true, collect);
  for (let at = 0; at < data.length; at += pieceSize) {
    const end = at + pieceSize >= data.length;
    await md.inflate(data.subarray(at, at + pieceSize), end, collect);
  }
  return Buffer.concat(out);
}

/** Text a compressor likes: JSON lines with counters, `length` bytes of it. */
function compressible(length: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const line = `{"id":${i},"name":"user ${i % 977}","tags":["alpha","beta"],"score":${(i * 7919) % 1000}}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/** Bytes that do not compress: deflate stores them, growing them a little. */
function incompressible(length: number): Buffer {
  return pattern(length, length + 7);
}

/** Resident and ArrayBuffer memory now, after a collection if --expose-gc made one possible. */
function memory(): { rss: number; arrayBuffers: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, arrayBuffers } = process.memoryUsage();
  return { rss, arrayBuffers };
}

// ---------------------------------------------------------------------------------------------

const roundTrip = suite('deflate: round trips');

const SIZES = [0, 1, 125, KiB, 64 * KiB, MiB];
const KINDS = { compressible, incompressible } as const;
/** [context takeover, window bits]: both ends of the window range, and the middle. */
const CONFIGS: Array<[boolean, number]> = [
  [false, 15],
  [false, 12],
  [false, 9],
  [true, 15],
  [true, 12],
  [true, 9],
];

for (const [takeover, bits] of CONFIGS) {
  roundTrip(`${takeover ? 'context takeover' : 'no context takeover'}, ${bits}-bit windows: every size both ways, twice`, async () => {
    const { server, client } = pair(params(takeover, bits, bits));
    try {
      for (const [kind, make] of Object.entries(KINDS)) {
        for (const size of SIZES) {
          const data = make(size);
          // Twice, so that with context takeover the second message leans on the first.
          for (let round = 0; round < 2; round++) {
            const down = await server.compress(data);
            assert.ok((await inflateMessage(client, down)).equals(data), `${kind} ${size} server to client, round ${round}`);
            const up = await client.compress(data);
            assert.ok((await inflateMessage(server, up)).equals(data), `${kind} ${size} client to server, round ${round}`);
          }
        }
      }
    } finally {
      server.close();
      client.close();
    }
  });
}

for (const [takeover, bits] of [[true, 15], [false, 9]] as const) {
  roundTrip(`16 MiB, compressible and not, ${takeover ? 'context takeover' : 'no context takeover'}, ${bits}-bit windows`, async () => {
    const { server, client } = pair(params(takeover, bits, bits));
    try {
      for (const [kind, make] of Object.entries(KINDS)) {
        const data = make(16 * MiB);
        const down = await server.compress(data);
        if (kind === 'compressible') assert.ok(down.length < data.length / 4, `compressed to ${down.length}`);
        // Stored blocks cost 5 bytes each; small windows flush them more often (RFC 1951 §3.2.4).
        else assert.ok(down.length < data.length * 1.01, `incompressible data grows only a little: ${down.length}`);
        assert.ok((await inflateMessage(client, down, 64 * KiB)).equals(data), `${kind} server to client`);
        const up = await client.compress(data);
        assert.ok((await inflateMessage(server, up, 64 * KiB)).equals(data), `${kind} client to server`);
      }
    } finally {
      server.close();
      client.close();
    }
  });
}

roundTrip('the window bits agreed bound how far back the compressor looks', async () => {
  // 4 KiB of noise, twice: only a window wider than 4 KiB can find the repeat.
  const noise = pattern(4 * KiB, 3);
  const data = Buffer.concat([noise, noise]);
  for (const bits of [9, 12, 15]) {
    const { server, client } = pair(params(false, bits, bits));
    try {
      for (const [who, md] of [['server', server], ['client', client]] as const) {
        const out = await md.compress(data);
        // An inflater with exactly the agreed window must cope (RFC 7692 §7.1.2).
        const back = inflateRawSync(Buffer.concat([out, fromHex(TAIL)]), { windowBits: bits, finishFlush: SYNC });
        assert.ok(back.equals(data), `${who} with ${bits} bits`);
        if (bits >= 13) assert.ok(out.length < 6 * KiB, `${who} with ${bits} bits found the repeat: ${out.length}`);
        else assert.ok(out.length > 8 * KiB, `${who} with ${bits} bits cannot see 4 KiB back: ${out.length}`);
      }
    } finally {
      server.close();
      client.close();
    }
  }
});

roundTrip('compression options reach zlib: level 0 stores, level 9 matches the reference', async () => {
  const data = compressible(16 * KiB);
  const stored = new MessageDeflate(params(false), 'server', { level: 0 });
  const best = new MessageDeflate(params(false), 'server', { level: 9, memLevel: 9 });
  try {
    assert.ok((await stored.compress(data)).length > data.length, 'level 0 only stores');
    const reference = deflateRawSync(data, { level: 9, memLevel: 9, finishFlush: constants.Z_SYNC_FLUSH });
    assert.is(hex(await best.compress(data)), hex(reference.subarray(0, -4)));
  } finally {
    stored.close();
    best.close();
  }
});

// ---------------------------------------------------------------------------------------------

const context = suite('deflate: context takeover');

context('with context takeover the second identical message leans on the first', async () => {
  const { server, client } = pair(params(true));
  try {
    const data = incompressible(2 * KiB); // nothing to find inside it: any gain is the window's
    for (const [who, tx, rx] of [['server', server, client], ['client', client, server]] as const) {
      const first = await tx.compress(data);
      const second = await tx.compress(data);
      assert.ok(first.length > data.length, `${who}: the first is stored (${first.length})`);
      assert.ok(second.length < 64, `${who}: the second is one back-reference (${second.length})`);
      assert.ok((await inflateMessage(rx, first)).equals(data));
      // Only an inflater that kept the first message's window can make sense of the second.
      assert.ok((await inflateMessage(rx, second)).equals(data), `${who}: the peer kept its window`);
    }
  } finally {
    server.close();
    client.close();
  }
});

context('without it every message starts afresh: same input, same bytes', async () => {
  const { server, client } = pair(params(false));
  try {
    const data = incompressible(2 * KiB);
    for (const md of [server, client]) {
      const first = await md.compress(data);
      const second = await md.compress(data);
      assert.is(hex(second), hex(first));
      // And each one inflates alone, with a fresh inflater.
      assert.ok(inflateRawSync(Buffer.concat([second, fromHex(TAIL)]), { finishFlush: SYNC }).equals(data));
    }
  } finally {
    server.close();
    client.close();
  }
});

context('each direction follows its own parameter', async () => {
  // server_no_context_takeover only: the server starts afresh, the client keeps its window.
  const agreed = { ...params(true), serverNoContextTakeover: true };
  const { server, client } = pair(agreed);
  try {
    const data = incompressible(2 * KiB);
    const s1 = await server.compress(data);
    const s2 = await server.compress(data);
    const c1 = await client.compress(data);
    const c2 = await client.compress(data);
    assert.is(hex(s2), hex(s1), 'server: no context');
    assert.ok(c2.length < c1.length / 10, 'client: context');
    assert.ok((await inflateMessage(server, c1)).equals(data));
    assert.ok((await inflateMessage(server, c2)).equals(data));
    assert.ok((await inflateMessage(client, s1)).equals(data));
    assert.ok((await inflateMessage(client, s2)).equals(data));
  } finally {
    server.close();
    client.close();
  }
});

// ---------------------------------------------------------------------------------------------

const wire = suite('deflate: bytes on the wire');

wire('an empty message compresses to a single 00 byte (RFC 7692 §7.2.3.6)', async () => {
  for (const takeover of [false, true]) {
    const { server, client } = pair(params(takeover));
    try {
      assert.is(hex(await server.compress(Buffer.alloc(0))), '00', 'first message');
      await server.compress(compressible(300));
      // Right after another flush zlib has nothing to write; it must still be 00.
      assert.is(hex(await server.compress(Buffer.alloc(0))), '00', 'after a message');
      assert.is(hex(await server.compress(Buffer.alloc(0))), '00', 'after an empty message');
      assert.is(hex(await client.compress(Buffer.alloc(0))), '00', 'client');
      for (const payload of ['00', '']) {
        assert.is(hex(await inflateMessage(client, fromHex(payload))), '', `inflating '${payload}'`);
      }
    } finally {
      server.close();
      client.close();
    }
  }
});

wire('the 00 00 ff ff tail of the sync flush is stripped, nothing else (RFC 7692 §7.2.1)', async () => {
  const md = new MessageDeflate(params(false), 'server');
  try {
    for (const data of [Buffer.from('Hello'), compressible(5000), incompressible(70_000)]) {
      const reference = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
      assert.is(hex(reference.subarray(-4)), TAIL);
      assert.is(hex(await md.compress(data)), hex(reference.subarray(0, -4)));
    }
    // RFC 7692 §7.2.3.1, "Hello" with a fixed-Huffman block.
    assert.is(hex(await md.compress(Buffer.from('Hello'))), 'f248cdc9c90700');
  } finally {
    md.close();
  }
});

wire('the RFC 7692 §7.2.3 examples inflate', async () => {
  const md = new MessageDeflate(params(false), 'client');
  try {
    const examples: Array<[string, string]> = [
      ['f2 48 cd c9 c9 07 00', 'Hello'], // §7.2.3.1
      ['00 05 00 fa ff 48 65 6c 6c 6f 00', 'Hello'], // §7.2.3.3, a stored block
      ['f3 48 cd c9 c9 07 00 00', 'Hello'], // §7.2.3.4, BFINAL set
      ['f2 48 05 00 00 00 ff ff ca c9 c9 07 00', 'Hello'], // §7.2.3.5, two blocks
    ];
    for (const [bytes, text] of examples) {
      assert.is((await inflateMessage(md, fromHex(bytes))).toString(), text, bytes);
    }
  } finally {
    md.close();
  }
});

wire('a message that ends its DEFLATE stream (BFINAL) does not spoil the next one', async () => {
  // RFC 7692 §7.2.3.4 lets a sender end each message with BFINAL. zlib then ends the stream:
  // it must be replaced, neither kept for the next message nor returned to the shared pool.
  for (const takeover of [false, true]) {
    const md = new MessageDeflate(params(takeover), 'server');
    const other = new MessageDeflate(params(false), 'server');
    try {
      const final = deflateRawSync(Buffer.from('final block'));
      const synced = (text: string): Buffer => deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
      for (let i = 0; i < ZLIB_CONCURRENCY + 2; i++) {
        assert.is((await inflateMessage(md, final)).toString(), 'final block', `BFINAL message ${i}`);
        assert.is((await inflateMessage(md, synced(`after ${i}`))).toString(), `after ${i}`);
        // Another connection draws from the same pool.
        assert.is((await inflateMessage(other, synced(`other ${i}`))).toString(), `other ${i}`);
      }
      // BFINAL in the first piece, the tail alone in the last one.
      const out: Buffer[] = [];
      await md.inflate(final, false, (chunk) => (out.push(chunk), true));
      await md.inflate(Buffer.alloc(0), true, (chunk) => (out.push(chunk), true));
      assert.is(Buffer.concat(out).toString(), 'final block');
      assert.is((await inflateMessage(md, synced('and then'))).toString(), 'and then');
    } finally {
      md.close();
      other.close();
    }
  }
});

// ---------------------------------------------------------------------------------------------

const pieces = suite('deflate: inflating in pieces');

pieces('a message fed one byte at a time, or in odd pieces, inflates the same', async () => {
  for (const takeover of [false, true]) {
    const { server, client } = pair(params(takeover));
    try {
      const small = compressible(8 * KiB);
      const small1 = await server.compress(small);
      assert.ok((await inflateMessage(client, small1, 1)).equals(small), 'one byte at a time');
      const big = Buffer.concat([compressible(512 * KiB), incompressible(512 * KiB)]);
      for (const size of [997, 4096, 65_537]) {
        const out = await server.compress(big);
        assert.ok((await inflateMessage(client, out, size)).equals(big), `pieces of ${size}`);
      }
    } finally {
      server.close();
      client.close();
    }
  }
});

pieces('empty pieces, and the tail alone in an empty last piece', async () => {
  const { server, client } = pair(params(true));
  try {
    const data = compressible(10 * KiB);
    const out = await server.compress(data);
    const got: Buffer[] = [];
    const collect = (chunk: Buffer): boolean => (got.push(chunk), true);
    await client.inflate(Buffer.alloc(0), false, collect);
    await client.inflate(out.subarray(0, 100), false, collect);
    await client.inflate(Buffer.alloc(0), false, collect);
    await client.inflate(out.subarray(100), false, collect);
    await client.inflate(Buffer.alloc(0), true, collect);
    assert.ok(Buffer.concat(got).equals(data));
    // The context is intact for the next message.
    assert.ok((await inflateMessage(client, await server.compress(data))).equals(data));
  } finally {
    server.close();
    client.close();
  }
});

pieces('output comes out as it is made, not all at the end', async () => {
  const md = new MessageDeflate(params(false), 'client');
  try {
    const data = compressible(4 * MiB);
    const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const sizes: number[] = [];
    await md.inflate(out, true, (chunk) => (sizes.push(chunk.length), true));
    assert.is(sizes.reduce((a, b) => a + b, 0), data.length);
    assert.ok(sizes.length >= 64, `${sizes.length} chunks`);
    assert.ok(Math.max(...sizes) <= 64 * KiB, `largest chunk ${Math.max(...sizes)}`);
  } finally {
    md.close();
  }
});

// ---------------------------------------------------------------------------------------------

const hostile = suite('deflate: hostile input');

hostile('a decompression bomb stops once output passes the limit, in flat memory', async () => {
  const bomb = zeroBomb(1024); // ~1 MB that would inflate to 1 GiB
  assert.ok(bomb.length < 1.1 * MiB, `bomb of ${bomb.length} bytes`);
  const md = new MessageDeflate(params(true), 'server');
  try {
    const before = memory();
    let produced = 0;
    let calls = 0;
    let refusedAt = -1;
    await md.inflate(bomb, true, (chunk) => {
      calls++;
      if (refusedAt !== -1) return false;
      produced += chunk.length;
      if (produced <= MiB) return true;
      refusedAt = calls;
      return false;
    });
    const after = memory();
    assert.ok(produced > MiB && produced <= MiB + 64 * KiB, `${produced} bytes produced`);
    assert.is(calls, refusedAt, 'no output after the refusal');
    assert.ok(after.rss - before.rss < 64 * MiB, `rss grew by ${after.rss - before.rss}`);
    assert.ok(after.arrayBuffers - before.arrayBuffers < 64 * MiB, `arrayBuffers grew by ${after.arrayBuffers - before.arrayBuffers}`);
    // The stopped stream was thrown away; the next message gets a fresh one.
    const ok = deflateRawSync(Buffer.from('after the bomb'), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
    assert.is((await inflateMessage(md, ok)).toString(), 'after the bomb');
  } finally {
    md.close();
  }
});

hostile('the same bomb, allowed to run, streams its 1 GiB through in flat memory', async () => {
  // Shows the bomb is real, and that inflate never holds its output.
  const md = new MessageDeflate(params(false), 'server');
  try {
    const bomb = zeroBomb(1024);
    const before = memory();
    let produced = 0;
    let nonZero = 0;
    await md.inflate(bomb, true, (chunk) => {
      produced += chunk.length;
      if (chunk[0] !== 0 || chunk[chunk.length - 1] !== 0) nonZero++;
      return true;
    });
    const after = memory();
    assert.is(produced, 1024 * MiB);
    assert.is(nonZero, 0);
    // Loose: the output chunks are garbage the collector may not have reached yet. Holding the
    // output would take a gigabyte.
    assert.ok(after.rss - before.rss < 256 * MiB, `rss grew by ${after.rss - before.rss}`);
  } finally {
    md.close();
  }
});

hostile('invalid deflate data rejects, and the next message still inflates', async () => {
  for (const takeover of [false, true]) {
    const md = new MessageDeflate(params(takeover), 'server');
    try {
      const good = deflateRawSync(Buffer.from('good'), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
      const invalid = [
        'ff ff ff', // BTYPE 11 is reserved
        '01 05 00 00 00', // a stored block whose NLEN is not the complement of LEN
        'fc ff ff ff ff ff', // a dynamic block with impossible code lengths
      ];
      for (const bytes of invalid) {
        await md.inflate(fromHex(bytes), true, () => true).then(
          () => assert.unreachable(`${bytes} should not inflate`),
          (error: Error) => assert.instance(error, Error),
        );
        assert.is((await inflateMessage(md, good)).toString(), 'good', `after ${bytes}`);
      }
      // Bad data in a later piece of a message. `good` stops inside the header of the empty
      // stored block its sync flush began, so the next bytes are that block's LEN and NLEN.
      await md.inflate(good, false, () => true);
      await md.inflate(fromHex('12 34 56 78'), true, () => true).then(
        () => assert.unreachable('a bad second piece should not inflate'),
        (error: Error) => assert.instance(error, Error),
      );
      assert.is((await inflateMessage(md, good)).toString(), 'good', 'after a bad piece');
    } finally {
      md.close();
    }
  }
});

hostile('a distance past the start of the window is invalid data', async () => {
  // Compressed against a preset dictionary the inflater never had: its matches reach back
  // before the message began.
  const dictionary = Buffer.from('a dictionary the receiver never saw');
  const bytes = deflateRawSync(dictionary, { dictionary, finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
  const md = new MessageDeflate(params(false), 'server');
  try {
    await md.inflate(bytes, true, () => true).then(
      () => assert.unreachable('should not inflate'),
      (error: Error) => assert.match(error.message, /distance/),
    );
  } finally {
    md.close();
  }
});

// ---------------------------------------------------------------------------------------------

const limiter = suite('deflate: many jobs at once');

limiter('hundreds of connections compressing at once all finish, each result correct', async () => {
  const connections = Array.from({ length: 200 }, (_, i) => new MessageDeflate(params(i % 2 === 0, 15 - (i % 7)), 'server'));
  try {
    const messages = connections.map((_, i) => compressible(KiB + i * 97));
    const results = await Promise.all(connections.map((md, i) => md.compress(messages[i]!)));
    for (let i = 0; i < results.length; i++) {
      const back = inflateRawSync(Buffer.concat([results[i]!, fromHex(TAIL)]), { finishFlush: SYNC });
      assert.ok(back.equals(messages[i]!), `connection ${i}`);
    }
  } finally {
    for (const md of connections) md.close();
  }
});

limiter('one connection, many messages queued at once: each compressed in order, context intact', async () => {
  for (const takeover of [true, false]) {
    const { server, client } = pair(params(takeover));
    try {
      const messages = Array.from({ length: 4 * ZLIB_CONCURRENCY + 3 }, (_, i) => Buffer.from(`message ${i} `.repeat(40 + i)));
      // Not awaited one by one: they all queue at once, as they would behind a busy limiter.
      const compressed = await Promise.all(messages.map((message) => server.compress(message)));
      for (let i = 0; i < messages.length; i++) {
        assert.is((await inflateMessage(client, compressed[i]!)).toString(), messages[i]!.toString(), `message ${i}`);
      }
      // And pieces of inflates queued at once come out in order.
      const got: Buffer[] = [];
      const collect = (chunk: Buffer): boolean => (got.push(chunk), true);
      const up = await Promise.all(messages.map((message) => client.compress(message)));
      await Promise.all(up.flatMap((bytes) => [server.inflate(bytes.subarray(0, 5), false, collect), server.inflate(bytes.subarray(5), true, collect)]));
      assert.is(Buffer.concat(got).toString(), messages.map(String).join(''));
    } finally {
      server.close();
      client.close();
    }
  }
});

limiter('compress after close rejects instead of keeping a stream alive', async () => {
  const md = new MessageDeflate(params(true), 'server');
  await md.compress(Buffer.from('one'));
  md.close();
  await md.compress(Buffer.from('two')).then(
    () => assert.unreachable('closed'),
    (error: Error) => assert.match(error.message, /closed/),
  );
});

roundTrip.run();
context.run();
wire.run();
pieces.run();
hostile.run();
limiter.run();
