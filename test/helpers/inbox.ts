// Reading a Websocket message by message in tests. `for await` would destroy the stream when
// the loop breaks; an inbox keeps listening, so a test can take a few messages, then close.
//
//   const messages = inbox(ws);
//   ws.write('hi');
//   assert.is(await messages.next(), 'hi');

import type { Websocket } from 'prise-ws';

export interface Inbox {
  /** The next message, in order; rejects if the stream ends (or fails) before one arrives. */
  next(): Promise<string | Buffer>;
  /** The next `count` messages. */
  take(count: number): Promise<Array<string | Buffer>>;
}

export function inbox(ws: Websocket): Inbox {
  const messages: Array<string | Buffer> = [];
  const waiting: Array<{ resolve: (m: string | Buffer) => void; reject: (e: Error) => void }> = [];
  let ended: Error | null = null;
  ws.on('data', (message: string | Buffer) => {
    const waiter = waiting.shift();
    if (waiter === undefined) messages.push(message);
    else waiter.resolve(message);
  });
  const finish = (error: Error): void => {
    ended ??= error;
    for (const waiter of waiting.splice(0)) waiter.reject(ended);
  };
  ws.on('end', () => finish(new Error('the websocket ended before the next message')));
  ws.on('error', (error: Error) => finish(error));
  const next = (): Promise<string | Buffer> => {
    if (messages.length > 0) return Promise.resolve(messages.shift()!);
    if (ended !== null) return Promise.reject(ended);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  return {
    next,
    async take(count) {
      const out: Array<string | Buffer> = [];
      while (out.length < count) out.push(await next());
      return out;
    },
  };
}
