// accept(): the session closure. Over real sockets with serve(), attach() and upgrade(): the
// session runs on the Websocket; a throw or a rejection closes that connection with 1011 and
// reaches onError, never an unhandled rejection; refusals are the WebsocketErrors of start().
import { once } from 'node:events';
import { createServer } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { accept, attach, upgrade, WebsocketError, type Session } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { AsyncQueue, listen, startServer, withServer, type TestServer } from './helpers/server.js';

const test = suite('accept');

const echo: Session = async (ws) => {
  for await (const message of ws) ws.write(message);
};

/** A session per path: echo, throw at once, reject later. */
function sessionFor(url: string | undefined): Session {
  if (url === '/throw') return () => { throw new Error('session threw'); };
  if (url === '/reject') {
    return async (ws) => {
      const [message] = await once(ws, 'data');
      if (message === 'boom') throw new Error('session rejected');
    };
  }
  if (url === '/throw-in-loop') {
    return async (ws) => {
      for await (const message of ws) if (message === 'boom') throw new Error('thrown in the loop');
    };
  }
  return echo;
}

async function open(port: number, path: string): Promise<{ socket: WebSocket; closed: Promise<[number, string]> }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  socket.on('error', () => {});
  const closed = new Promise<[number, string]>((resolve) => socket.on('close', (code, reason) => resolve([code, reason.toString()])));
  await withTimeout(once(socket, 'open'), 2000, 'open');
  return { socket, closed };
}

async function exercise(server: TestServer, errors: AsyncQueue<unknown>): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const a = await open(server.port, '/echo');
    a.socket.send('hello');
    const [data] = (await withTimeout(once(a.socket, 'message'), 2000, 'echo')) as [Buffer];
    assert.is(data.toString(), 'hello');
    a.socket.close(1000);
    assert.equal((await withTimeout(a.closed, 2000, 'close'))[0], 1000);

    const b = await open(server.port, '/throw');
    assert.equal(await withTimeout(b.closed, 2000, 'close'), [1011, 'internal error']);
    assert.is(((await withTimeout(errors.shift(), 2000, 'onError')) as Error).message, 'session threw');

    const c = await open(server.port, '/reject');
    c.socket.send('boom');
    assert.equal(await withTimeout(c.closed, 2000, 'close'), [1011, 'internal error']);
    assert.is(((await withTimeout(errors.shift(), 2000, 'onError')) as Error).message, 'session rejected');

    // A throw out of a for-await loop: the Websocket closes with 1011 itself; onError hears it.
    const d = await open(server.port, '/throw-in-loop');
    d.socket.send('fine');
    d.socket.send('boom');
    assert.equal(await withTimeout(d.closed, 2000, 'close'), [1011, 'internal error']);
    assert.is(((await withTimeout(errors.shift(), 2000, 'onError')) as Error).message, 'thrown in the loop');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.equal(unhandled, []);
}

test('serve(): the session runs; its failures close with 1011 and reach onError', async () => {
  const errors = new AsyncQueue<unknown>();
  const server = startServer((request) => accept(request, null, sessionFor(request.url)), {
    onError: (error) => errors.push(error),
  });
  await withServer(server, (s) => exercise(s, errors));
});

test('attach(): the same', async () => {
  const errors = new AsyncQueue<unknown>();
  const app = createServer((_request, response) => response.end());
  attach(app, (request) => accept(request, null, sessionFor(request.url)), { onError: (error) => errors.push(error) });
  await withServer(listen(app), (s) => exercise(s, errors));
});

test('upgrade(): options.session is accept()\'s closure', async () => {
  const errors = new AsyncQueue<unknown>();
  const app = createServer((_request, response) => response.end());
  app.on('upgrade', (request, socket, head) => {
    void upgrade(request, socket, head, null, { session: sessionFor(request.url), onError: (error) => errors.push(error) });
  });
  await withServer(listen(app), (s) => exercise(s, errors));
});

test('refusals throw the WebsocketError start() throws; a missing session is a TypeError', () => {
  const request = { method: 'GET', httpVersion: '1.1', headers: { host: 'x', upgrade: 'websocket', connection: 'upgrade' } };
  assert.throws(() => accept(request, null, echo), (error: unknown) => error instanceof WebsocketError && error.response.status === 400);
  assert.throws(() => accept(request, null, undefined as never), TypeError);
});

test.run();
