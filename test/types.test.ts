// The types users see: what reading yields, what writing takes, typed listeners. The
// `@ts-expect-error` lines are checked by the build itself (tsc fails if one of them compiles);
// the runtime half runs over a real socket.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { Websocket, type CloseInfo } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { startWebsocketServer, withServer } from './helpers/server.js';

/** Never called: only compiled. Each line says what the types allow or refuse. */
export async function compileOnly(ws: Websocket): Promise<void> {
  for await (const message of ws) {
    const m: string | Buffer = message;
    void m;
  }
  ws.on('data', (message) => {
    const m: string | Buffer = message;
    void m;
  });
  ws.on('message', (data, isBinary) => void [data.length, isBinary === true]);
  ws.on('ping', (payload) => void payload.readUInt8(0));
  ws.on('pong', (payload) => void payload.byteLength);
  ws.on('error', (error) => void error.message);
  ws.on('close', () => {});
  const read: string | Buffer | null = ws.read();
  void read;
  ws.write('text');
  ws.write(Buffer.from('bytes'));
  ws.write(new Uint16Array(2));
  ws.write(new ArrayBuffer(4));
  ws.write(new DataView(new ArrayBuffer(4)));
  ws.end('bye');
  Websocket.broadcast([ws], new Float32Array(1));
  // @ts-expect-error a number is not a message
  ws.write(42);
  // @ts-expect-error nor is a plain object
  ws.write({ a: 1 });
  // @ts-expect-error nor in end()
  ws.end(42);
  // @ts-expect-error nor in broadcast()
  Websocket.broadcast([ws], { a: 1 });
  const info: CloseInfo = await ws.closeInfo;
  void info.code;
}

test('write() refuses what is not a message with a TypeError naming it', async () => {
  await withServer(startWebsocketServer(), async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      await once(client, 'open');
      const { ws } = await server.accepted();
      assert.throws(() => ws.write(42 as never), (error: Error) => error instanceof TypeError && /not a number \(42\)/.test(error.message));
      assert.throws(() => ws.write({} as never), (error: Error) => error instanceof TypeError && /an object \(Object\)/.test(error.message));
      assert.throws(() => Websocket.broadcast([ws], null as never), TypeError);
      client.close();
      await ws.closeInfo;
    }, 5000);
  });
});

test('typed arrays, DataView and ArrayBuffer go out as binary; message events as in ws', async () => {
  const server = startWebsocketServer({
    onAccept: (ws) => {
      ws.on('message', (data, isBinary) => ws.write(`${isBinary ? 'binary' : 'text'} ${data.length}`));
      ws.write(new Uint16Array([1, 2]));
      ws.write(new ArrayBuffer(3));
      ws.write(new DataView(new ArrayBuffer(8), 2, 5));
    },
  });
  await withServer(server, async (server) => {
    await withTimeout(async () => {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      const received: string[] = [];
      client.on('message', (data: Buffer, isBinary) => received.push(isBinary ? `binary ${data.length}` : data.toString()));
      await once(client, 'open');
      client.send('hello');
      client.send(Buffer.from('four'));
      while (received.length < 5) await once(client, 'message');
      assert.equal(received, ['binary 4', 'binary 3', 'binary 5', 'text 5', 'binary 4']);
      client.close();
      await once(client, 'close');
    }, 5000);
  });
});

test.run();
