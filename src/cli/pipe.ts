// The client over pipes and files: stdin becomes messages (lines, or binary reads, or NUL-cut
// pieces), incoming messages go to stdout. Backpressure holds both ways: a full socket stops
// reading stdin, a full stdout stops reading the socket. EOF closes with 1000 (unless
// --no-close), and so does Ctrl-C; --once sends one message and closes after the first reply.

import type { CloseInfo, Websocket } from '../websocket.js';
import type { ClientConfig } from './args.js';
import { formatMessage, jsonError } from './format.js';
import { warn } from './log.js';
import { startPinger } from './pinger.js';
import { Splitter } from './split.js';

export async function runPipe(ws: Websocket, config: ClientConfig): Promise<CloseInfo> {
  const out = process.stdout;
  const format = { tty: out.isTTY === true, jsonl: config.jsonl, nul: config.nul };
  let received = 0;
  let printing = true;
  out.on('error', () => {
    // stdout went away (`| head -1`): nobody reads any more, so say goodbye.
    printing = false;
    ws.resume(); // it may wait for a 'drain' that will never come
    if (ws.readyState === 'open') ws.close(1000);
  });
  ws.on('data', (message: string | Buffer) => {
    if (!printing || (config.once && received > 0)) return;
    received++;
    const room = out.write(formatMessage(message, format));
    if (config.once) return ws.close(1000);
    if (!room) {
      ws.pause();
      out.once('drain', () => ws.resume());
    }
  });
  // Ctrl-C closes with 1000 and waits for the close to complete; a second one exits at once.
  const interrupt = (): void => {
    if (ws.readyState !== 'open') process.exit(130);
    ws.close(1000);
  };
  process.on('SIGINT', interrupt);
  const onRtt = config.printPingRtt ? (ms: number) => warn(`pong after ${ms.toFixed(2)} ms`) : null;
  const pinger = startPinger(ws, config.pingInterval, onRtt);
  void sendInput(ws, config).catch((error: Error) => {
    warn(`reading stdin: ${error.message}`);
    if (ws.readyState === 'open') ws.close(1000);
  });
  const info = await ws.closeInfo;
  pinger.stop();
  await allRead(ws);
  process.off('SIGINT', interrupt);
  return info;
}

/**
 * Resolves once every message has been handed out: closeInfo can come first while messages
 * still wait in the stream (stdout was full) or in zlib (permessage-deflate).
 */
export function allRead(ws: Websocket): Promise<void> {
  if (ws.readableEnded || ws.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('end', resolve);
    ws.once('close', resolve);
  });
}

/** Sends stdin as messages until EOF, the first message with --once, or the connection closing. */
async function sendInput(ws: Websocket, config: ClientConfig): Promise<void> {
  const splitter = config.binary && !config.nul ? null : new Splitter(config.nul ? 'nul' : 'line');
  let line = 0;
  /** Sends one piece; false once no more should be read. */
  const send = async (piece: Buffer): Promise<boolean> => {
    if (ws.readyState !== 'open') return false;
    line++;
    let data: string | Buffer = piece;
    if (!config.binary) {
      data = piece.toString('utf8');
      if (config.jsonl) {
        if (data.trim() === '') return true;
        const error = jsonError(data);
        if (error !== null) {
          warn(`line ${line} is not JSON, not sent: ${error}`);
          return true;
        }
      }
    }
    const room = ws.write(data);
    if (config.once) return false;
    if (!room) await drained(ws);
    return true;
  };
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    for (const piece of splitter === null ? [chunk] : splitter.push(chunk)) {
      if (!(await send(piece))) return; // leaving the loop lets go of stdin
    }
  }
  const rest = splitter?.end() ?? null;
  if (rest !== null && !(await send(rest))) return;
  if (!config.once && !config.noClose && ws.readyState === 'open') ws.end();
}

/** Resolves on 'drain', or once the connection is gone (no drain will come). */
function drained(ws: Websocket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      ws.off('drain', done);
      resolve();
    };
    ws.on('drain', done);
    void ws.closeInfo.then(done);
  });
}
