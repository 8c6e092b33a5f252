// A server process for the multi-process Topics tests (run with node, not imported): Topics on
// redisBroker with the client named by CLIENT ('ioredis' or 'node-redis') on REDIS_URL.
//
//   ws://…/?topic=T   subscribes to T; every message the client sends is published to T,
//                     leaving the sender out
//   GET /stats        { pid, rss, stats, subscribers } as JSON
//
// It logs `listening on http://127.0.0.1:PORT/` once ready.

import { redisBroker, serve, start, Topics, type Websocket } from 'prise-ws';
import { connectPair, type ClientName } from './redis-clients.js';

const pair = await connectPair((process.env.CLIENT ?? 'ioredis') as ClientName, process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const topics = new Topics({ broker: redisBroker({ publisher: pair.publisher, subscriber: pair.subscriber, prefix: 'test:' }) });

async function member(ws: Websocket, topic: string): Promise<void> {
  topics.subscribe(ws, topic);
  for await (const message of ws) void topics.publish(topic, message as string | Buffer, { except: ws });
}

const server = await serve(
  (request) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const topic = url.searchParams.get('topic');
    if (topic !== null) {
      const { response, websocket } = start(request, null, { pingInterval: 0 });
      void websocket.then((ws) => member(ws, topic));
      return response;
    }
    if (url.pathname === '/stats') {
      const body = { pid: process.pid, rss: process.memoryUsage().rss, stats: topics.stats, errors: pair.errors.length };
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    }
    return { status: 404, body: 'not found\n' };
  },
  { port: Number(process.env.PORT ?? 0) },
);
console.log(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}/`);
process.once('SIGTERM', () => process.exit(0));
