// --exec: each connection runs a command line with /bin/sh -c (websocketd-style). Messages go to
// its stdin, one per line (raw with --binary); its stdout lines (reads, with --binary) come back
// as messages; its stderr is logged with the connection id. When the process exits the
// WebSocket closes with 1000, or 1011 if it failed; when the WebSocket closes the process gets
// SIGTERM, then SIGKILL after a grace period. A peer's close gives the process EOF first, and is
// answered once it has exited, so a client that sends and closes at once still gets its answers. It runs in a process group of its own, so the
// signals reach what the shell started too.

import { spawn } from 'node:child_process';
import type { Websocket } from '../websocket.js';
import type { Counts } from './connection-log.js';
import { Splitter } from './split.js';

export interface ExecOptions {
  readonly command: string;
  readonly binary: boolean;
  /** ms between SIGTERM and SIGKILL. */
  readonly killGrace: number;
  /** Added to the process's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly counts: Counts;
  /** Logs a line about this connection. */
  readonly log: (text: string) => void;
}

/** Runs the command for `ws`; resolves once the process and its pipes are gone. */
export function runExec(ws: Websocket, options: ExecOptions): Promise<void> {
  const { counts, log, binary } = options;
  const child = spawn('/bin/sh', ['-c', options.command], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, ...options.env },
  });
  if (child.pid !== undefined) trackGroup(child.pid);
  let done = false;
  let killTimer: NodeJS.Timeout | null = null;
  const signal = (name: NodeJS.Signals): void => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, name); // the whole group
    } catch {
      child.kill(name);
    }
  };

  // Messages to stdin, read from the Websocket only while the pipe has room (TCP slows the peer
  // down meanwhile). Read with read(), never past the last message: the peer's close is answered
  // once we read to the end of the stream, and holding that read lets the process get EOF and
  // still answer the last messages. Its exit releases it (bounded by the closeTimeout).
  let stdinFull = false;
  let holding = false;
  child.stdin.on('error', () => {}); // EPIPE: the process exited without reading everything
  const pump = (): void => {
    while (!stdinFull && !holding && ws.readableLength > 0) {
      const message = ws.read(1) as string | Buffer | null; // read(1): never ends the stream itself
      if (message === null) break;
      counts.in++;
      if (!child.stdin.writable) continue;
      const bytes = typeof message === 'string' ? Buffer.from(message) : message;
      if (!child.stdin.write(binary ? bytes : Buffer.concat([bytes, NEWLINE]))) {
        stdinFull = true;
        child.stdin.once('drain', () => {
          stdinFull = false;
          pump();
        });
      }
    }
    if (stdinFull || holding) return;
    if (ws.readyState === 'closing' && !done) {
      holding = true; // the close frame is in: the process gets EOF, and may still answer
      child.stdin.end();
      // A process that does not end on EOF holds the close no longer than this (the peer
      // waits for our answer only so long: 5 s by default).
      holdTimer = setTimeout(release, Math.min(options.killGrace, MAX_HOLD));
    } else ws.read(); // nothing buffered: asks for more, or lets 'end' come
  };
  let holdTimer: NodeJS.Timeout | null = null;
  const release = (): void => {
    if (!holding) return;
    holding = false;
    if (holdTimer !== null) clearTimeout(holdTimer);
    ws.read(); // to the end of the stream: the close answer may go now
  };
  ws.on('readable', pump);
  ws.on('end', () => child.stdin.end()); // the peer closed: EOF

  // stdout to messages; a full Websocket pauses the pipe.
  let wsFull = false;
  const send = (data: string | Buffer): void => {
    if (ws.writableEnded || ws.readyState === 'closed') return; // the peer's close may be in: answers still go
    counts.out++;
    if (!ws.write(data) && !wsFull) {
      wsFull = true;
      child.stdout.pause();
      ws.once('drain', () => {
        wsFull = false;
        child.stdout.resume();
      });
    }
  };
  const lines = binary ? null : new Splitter('line');
  child.stdout.on('data', (chunk: Buffer) => {
    if (lines === null) send(chunk);
    else for (const line of lines.push(chunk)) send(line.toString('utf8'));
  });
  child.stdout.on('end', () => {
    const rest = lines?.end() ?? null;
    if (rest !== null) send(rest.toString('utf8'));
  });

  const errors = new Splitter('line');
  child.stderr.on('data', (chunk: Buffer) => {
    for (const line of errors.push(chunk)) log(`stderr: ${line.toString('utf8')}`);
  });
  child.stderr.on('end', () => {
    const rest = errors.end();
    if (rest !== null) log(`stderr: ${rest.toString('utf8')}`);
  });

  const gone = new Promise<void>((resolve) => {
    child.on('error', (error) => {
      // Only spawn failures get here (/bin/sh missing, too many processes): no 'close' follows.
      log(`cannot run ${options.command}: ${error.message}`);
      if (child.pid === undefined) {
        done = true;
        if (ws.readyState === 'open') ws.close(1011, 'cannot run command');
        resolve();
      }
    });
    child.on('close', (code, signalName) => {
      done = true;
      release();
      if (child.pid !== undefined) running.delete(child.pid);
      if (killTimer !== null) clearTimeout(killTimer);
      if (ws.readyState === 'open') {
        if (code === 0) ws.close(1000);
        else ws.close(1011, code === null ? `killed by ${signalName}` : `exit code ${code}`);
      }
      if (code !== 0) log(code === null ? `process killed by ${signalName}` : `process exited with ${code}`);
      resolve();
    });
  });

  void ws.closeInfo.then(() => {
    if (done) return;
    child.stdin.end();
    child.stdout.resume(); // nobody takes its output any more: let it drain, so 'close' can come
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), options.killGrace);
  });
  return gone;
}

const NEWLINE = Buffer.from('\n');
/** Longest wait, in ms, for a process to exit after the peer's close before answering it. */
const MAX_HOLD = 2000;

/** Process groups still running: an exiting prise-ws (a second Ctrl-C) takes them along. */
const running = new Set<number>();
let hooked = false;

function trackGroup(pid: number): void {
  running.add(pid);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const group of running) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}
