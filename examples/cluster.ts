// Topics on every core: node:cluster forks one worker per core, all on the same port, and
// Redis (REDIS_URL, default redis://127.0.0.1:6379) carries each message to the other workers.
// ws://…/?topic=T subscribes to T; whatever a client sends goes to everyone else on T.
// The handler is the one-process code unchanged: only the Topics gets a broker.

import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Redis } from 'ioredis';
import { redisBroker, serve, start, Topics, type Websocket } from 'prise-ws';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const workers = Number(process.env.WORKERS ?? availableParallelism());

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let listening = 0;
  cluster.on('message', (_worker, port: number) => {
    if (++listening === workers) console.log(`${workers} workers on ws://127.0.0.1:${port}/?topic=news (Redis ${url})`);
  });
  cluster.on('exit', (worker, code) => console.log(`worker ${worker.process.pid} exited (${code})`));
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const publisher = new Redis(url);
  const subscriber = publisher.duplicate();
  for (const client of [publisher, subscriber]) client.on('error', (e) => console.error('redis:', e.message));
  const topics = new Topics({ broker: redisBroker({ publisher, subscriber }) });

  async function member(ws: Websocket, topic: string): Promise<void> {
    topics.subscribe(ws, topic);
    for await (const message of ws) void topics.publish(topic, message as string | Buffer, { except: ws });
  }

  const server = await serve(
    (request) => {
      const topic = new URL(request.url ?? '/', 'http://x').searchParams.get('topic');
      if (topic === null) return { status: 404, body: 'connect to /?topic=NAME\n' };
      const { response, websocket } = start(request, null);
      void websocket.then((ws) => member(ws, topic));
      return response;
    },
    { port: Number(process.env.PORT ?? 8080) },
  );
  process.send!((server.address() as { port: number }).port);
}
