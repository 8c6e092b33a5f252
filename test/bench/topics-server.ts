// A fan-out server for the topics benchmark (topics-bench.ts), one kind per process:
//   prise        Topics in memory          ws-loop   a for loop over `ws` clients
//   socketio     Socket.IO rooms in memory  prise-redis / socketio-redis: the same on REDIS_URL
// Every client that connects joins the one topic "bench". Commands on stdin, one a line:
//   burst K        publish K messages as fast as the event loop allows, then print "done"
//   rate K MS      publish K messages MS ms apart, then print "done"
//   mark / cpu     start counting CPU time / print "cpu <µs of CPU used since mark>"
// Each message is 64 bytes of text: "|<publish time in ms, 3 decimals>|" and padding.

import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { Server as SocketIo } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { WebSocketServer } from 'ws';
import { redisBroker, serve, start, Topics } from 'prise-ws';

const kind = process.argv[2] ?? 'prise';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = (): number => performance.timeOrigin + performance.now();
const message = (): string => `|${now().toFixed(3)}|`.padEnd(64, '.');

async function redisPair(): Promise<[Redis, Redis]> {
  const publisher = new Redis(redisUrl);
  const subscriber = publisher.duplicate();
  await Promise.all([publisher, subscriber].map((c) => new Promise((resolve) => c.once('ready', resolve))));
  return [publisher, subscriber];
}

let publish: () => void;
let port: number;
let count = () => 0;

if (kind === 'prise' || kind === 'prise-redis') {
  const broker = kind === 'prise-redis' ? await redisPair().then(([publisher, subscriber]) => redisBroker({ publisher, subscriber })) : undefined;
  const topics = new Topics(broker === undefined ? {} : { broker });
  const server = await serve((request) => {
    const { response, websocket } = start(request, null, { pingInterval: 0 });
    void websocket.then((ws) => {
      ws.resume();
      topics.subscribe(ws, 'bench');
    });
    return response;
  }, { port: 0 });
  port = (server.address() as { port: number }).port;
  publish = () => void topics.publish('bench', message());
  count = () => topics.subscriberCount('bench');
} else if (kind === 'ws-loop') {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  port = (wss.address() as { port: number }).port;
  publish = () => {
    const data = message();
    for (const client of wss.clients) client.send(data);
  };
  count = () => wss.clients.size;
} else {
  const http = createServer();
  const io = new SocketIo(http, { transports: ['websocket'], pingInterval: 600_000, pingTimeout: 600_000 });
  if (kind === 'socketio-redis') {
    const [publisher, subscriber] = await redisPair();
    io.adapter(createAdapter(publisher, subscriber));
  }
  let joined = 0;
  io.on('connection', (socket) => {
    void socket.join('bench');
    joined++;
    socket.once('disconnect', () => joined--);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as { port: number }).port;
  publish = () => void io.to('bench').emit('m', message());
  count = () => joined;
}

let mark = process.cpuUsage();
console.log(`ready ${port}`);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, k, ms] = line.split(' ');
  if (command === 'count') return console.log(`count ${count()}`);
  if (command === 'mark') return void (mark = process.cpuUsage());
  if (command === 'cpu') {
    const used = process.cpuUsage(mark);
    return console.log(`cpu ${used.user + used.system}`);
  }
  let left = Number(k);
  const next = (): void => {
    publish();
    if (--left === 0) return void console.log('done');
    if (command === 'burst') setImmediate(next);
    else setTimeout(next, Number(ms));
  };
  next();
});
process.stdin.once('end', () => process.exit(0));
