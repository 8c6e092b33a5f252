// attach()'s filter over real sockets: which upgrade requests are prise's, what happens to the
// ones nobody takes, several attach() calls on one server, a filter that throws; and that the
// servers of Express, Fastify and Hono are taken without casts (the compile is the test).

import { serve as honoServe } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectError, attach, connect, start, type AttachableServer, type Handler } from 'prise-ws';
import { withTimeout } from './helpers/deadline.js';
import { inbox } from './helpers/inbox.js';
import { listen, withServer } from './helpers/server.js';

const test = suite('attach');

/** Echoes, after a first message naming who answered. */
function echo(name: string): Handler {
  return (request) => {
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => {
      ws.write(name);
      ws.pipe(ws);
    });
    return response;
  };
}

/** connect() that must be refused: the ConnectError. */
async function refusal(url: string): Promise<ConnectError> {
  try {
    (await connect(url)).destroy();
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
  throw new Error(`${url}: connected, expected a refusal`);
}

test('a request the filter refuses, with no other upgrade listener, gets a 404 instead of a hang', async () => {
  const app = createServer((_request, response) => response.end('app'));
  attach(app, echo('prise'), { filter: (request) => request.url === '/live' });
  await withServer(listen(app), async ({ port }) => {
    const error = await refusal(`ws://127.0.0.1:${port}/elsewhere`);
    assert.is(error.status, 404);
    assert.is(error.body, 'no websocket endpoint here\n');
    const ws = await connect(`ws://127.0.0.1:${port}/live`);
    assert.is(await inbox(ws).next(), 'prise');
    ws.destroy();
  });
});

test('several attach() calls with filters: each takes its own, an unmatched request gets one 404', async () => {
  const app = createServer((_request, response) => response.end('app'));
  attach(app, echo('chat'), { filter: (request) => request.url === '/chat' });
  attach(app, echo('feed'), { filter: (request) => request.url === '/feed' });
  await withServer(listen(app), async ({ port }) => {
    for (const name of ['chat', 'feed']) {
      const ws = await connect(`ws://127.0.0.1:${port}/${name}`);
      const messages = inbox(ws);
      assert.is(await messages.next(), name);
      ws.write('hi');
      assert.is(await messages.next(), 'hi');
      ws.destroy();
    }
    const error = await refusal(`ws://127.0.0.1:${port}/other`);
    assert.is(error.status, 404);
    assert.is(error.body, 'no websocket endpoint here\n', 'one answer, not two written into the socket');
  });
});

test('without a filter every upgrade is prise\'s, even beside another listener', async () => {
  const app = createServer((_request, response) => response.end('app'));
  let otherSaw = 0;
  app.on('upgrade', () => otherSaw++);
  attach(app, (request) => (request.url === '/live' ? echo('prise')(request) : { status: 403, body: 'no\n' }));
  await withServer(listen(app), async ({ port }) => {
    const error = await refusal(`ws://127.0.0.1:${port}/other`);
    assert.is(error.status, 403);
    assert.is(error.body, 'no\n');
    assert.is(otherSaw, 1, 'the other listener is still told (Node calls every listener)');
  });
});

test('a filter that refuses leaves the socket to the other listener, untouched', async () => {
  const app = createServer((_request, response) => response.end('app'));
  attach(app, echo('prise'), { filter: () => false });
  app.on('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    // The other library answers after a while: nothing of prise's may have been written before.
    setTimeout(() => socket.end('HTTP/1.1 418 I\'m a teapot\r\nContent-Length: 6\r\nConnection: close\r\n\r\nteapot'), 50);
  });
  await withServer(listen(app), async ({ port }) => {
    const error = await refusal(`ws://127.0.0.1:${port}/`);
    assert.is(error.status, 418);
    assert.is(error.body, 'teapot');
  });
});

test('a filter that throws is reported to onError and takes nothing', async () => {
  const app = createServer((_request, response) => response.end('app'));
  const reported: unknown[] = [];
  const filter = (): boolean => {
    throw new Error('filter bug');
  };
  attach(app, echo('prise'), { filter, onError: (error) => reported.push(error) });
  await withServer(listen(app), async ({ port }) => {
    const error = await refusal(`ws://127.0.0.1:${port}/`);
    assert.is(error.status, 404);
    assert.is((reported[0] as Error).message, 'filter bug');
  });
});

test('a filter that is not a function is refused at the call', () => {
  const app = createServer();
  const filter = 'not a function' as unknown as () => boolean;
  assert.throws(() => attach(app, echo('prise'), { filter }), (error: Error) => error instanceof TypeError && /filter must be a function/.test(error.message));
  assert.is(app.listenerCount('upgrade'), 0);
});

test('the servers of Express 5, Fastify 5 and Hono type-check as attach() targets, and work', async () => {
  const expressServer = express().listen(0, '127.0.0.1');
  const fastify = Fastify();
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const hono = honoServe({ fetch: new Hono().fetch, port: 0, hostname: '127.0.0.1' });
  const servers: AttachableServer[] = [expressServer, fastify.server, hono];
  try {
    await withTimeout(
      Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve))))),
      5000,
      'listening',
    );
    for (const [name, server] of [['express', expressServer], ['fastify', fastify.server], ['hono', hono]] as const) {
      attach(server, echo(name));
      const { port } = server.address() as { port: number };
      const ws = await withTimeout(connect(`ws://127.0.0.1:${port}/`), 5000, name);
      assert.is(await withTimeout(inbox(ws).next(), 5000, name), name);
      ws.destroy();
    }
  } finally {
    expressServer.closeAllConnections();
    await new Promise((resolve) => expressServer.close(resolve));
    await fastify.close();
    await new Promise((resolve) => hono.close(resolve));
  }
});

test.run();
