// The server half of the soak test (see soak.ts): a prise echo server in a child process, on
// 127.0.0.1 with a free port. It tells its parent the port over IPC, then answers each
// { type: 'sample' } with its memory (after a full GC when run with --expose-gc) and how many
// Websockets are open. It exits when the parent goes away.

import { serve, start, type Websocket } from 'prise-ws';

export interface Sample {
  readonly type: 'sample';
  readonly id: number;
  readonly memory: NodeJS.MemoryUsage;
  /** Websockets whose TCP connection has not closed yet. */
  readonly open: number;
  /** Websockets accepted so far, and those that ended uncleanly (a lost peer, a timeout...). */
  readonly accepted: number;
  readonly unclean: number;
  /** Whether the heap was collected before measuring (the server runs with --expose-gc). */
  readonly collected: boolean;
}

export interface Listening {
  readonly type: 'listening';
  readonly port: number;
}

if (process.send === undefined) throw new Error('run me from soak.js: I need an IPC channel');
const send = process.send.bind(process);

const open = new Set<Websocket>();
let accepted = 0;
let unclean = 0;

const server = await serve(
  (request) => {
    const { response, websocket } = start(request, null);
    void websocket.then((ws) => {
      accepted++;
      open.add(ws);
      ws.pipe(ws);
      void ws.closeInfo.then((info) => {
        open.delete(ws);
        if (!info.wasClean) unclean++;
      });
    });
    return response;
  },
  { port: 0, host: '127.0.0.1' },
);

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: { type: string; id: number }) => {
  if (message.type !== 'sample') return;
  // Twice: the first pass may only finish off what weak references and finalizers let go.
  gc?.();
  gc?.();
  const sample: Sample = {
    type: 'sample',
    id: message.id,
    memory: process.memoryUsage(),
    open: open.size,
    accepted,
    unclean,
    collected: gc !== undefined,
  };
  send(sample);
});
// The parent is gone (or done): nothing to serve any more.
process.on('disconnect', () => process.exit(0));

const { port } = server.address() as { port: number };
send({ type: 'listening', port } satisfies Listening);
