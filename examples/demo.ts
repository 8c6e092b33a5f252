// The demo: a multi-room chat on Topics. GET / is the page; it opens /ws?room=R&name=N
// (subprotocol "chat") and speaks JSON. One process needs no setup; with
// REDIS_URL=redis://127.0.0.1:6379, instances on several ports share their rooms.

import { randomUUID } from 'node:crypto';
import { redisBroker, serve, start, Topics, type Websocket } from 'prise-ws';
import { demoPage } from './demo-page.js';

async function broker(url: string | undefined) {
  if (url === undefined) return {};
  const { createClient } = await import('redis'); // node-redis; ioredis works the same way
  const publisher = createClient({ url });
  const subscriber = publisher.duplicate();
  for (const client of [publisher, subscriber]) client.on('error', (e: Error) => console.error('redis:', e.message));
  await Promise.all([publisher.connect(), subscriber.connect()]);
  return { broker: redisBroker({ publisher, subscriber, prefix: 'demo:' }) };
}

const topics = new Topics(await broker(process.env.REDIS_URL));
const clip = (text: unknown, max: number) => String(text ?? '').trim().slice(0, max);

async function chat(ws: Websocket, room: string, name: string): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const topic = `room:${room}`;
  const send = (message: object, except?: Websocket) => topics.publish(topic, JSON.stringify({ ...message, id, name, at: Date.now() }), except ? { except } : {});
  ws.write(JSON.stringify({ type: 'welcome', id, room, name, instance: server.port }));
  topics.subscribe(ws, topic);
  void send({ type: 'join' });
  for await (const raw of ws) {
    let message: { type?: string; text?: unknown };
    try {
      message = JSON.parse(String(raw));
    } catch {
      continue; // not JSON: ignored
    }
    if (message.type === 'say' && clip(message.text, 1000) !== '') void send({ type: 'say', text: clip(message.text, 1000) });
    if (message.type === 'here') void send({ type: 'here' }, ws); // answering someone's join
  }
  void send({ type: 'leave' });
}

const server = await serve(
  (request) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/ws') {
      const room = clip(url.searchParams.get('room'), 32).toLowerCase().replace(/[^a-z0-9-]/g, '') || 'lobby';
      const name = clip(url.searchParams.get('name'), 24) || 'guest';
      // Browsers offer permessage-deflate; accept it (with no per-connection zlib memory).
      const { response, websocket } = start(request, 'chat', { deflate: true });
      websocket.then((ws) => chat(ws, room, name));
      return response;
    }
    if (url.pathname === '/') {
      return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: demoPage };
    }
    return { status: 404, body: 'not found\n' };
  },
  { port: Number(process.env.PORT ?? 8080) },
);

console.log(`demo on ${server.url} (open it in a browser)${process.env.REDIS_URL ? ', rooms shared through Redis' : ''}`);
