// --exec: each connection runs a command line with /bin/sh -c (websocketd-style). Messages go to
// its stdin, one per line (raw with --binary); its stdout lines (reads, with --binary) come back
// as messages; its stderr is logged with the connection id. When the process exits the
// WebSocket closes with 1000, or 1011 if it failed; when the WebSocket closes the process gets
// SIGTERM, then SIGKILL after a grace period. It runs in a process group of its own, so the
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

  // Messages to stdin; a full pipe pauses the Websocket (and TCP behind it).
  let stdinFull = false;
  child.stdin.on('error', () => {}); // EPIPE: the process exited without reading everything
  ws.on('data', (message: string | Buffer) => {
    counts.in++;
    if (!child.stdin.writable) return;
    const bytes = typeof message === 'string' ? Buffer.from(message) : message;
    const room = child.stdin.write(binary ? bytes : Buffer.concat([bytes, NEWLINE]));
    if (!room && !stdinFull) {
      stdinFull = true;
      ws.pause();
      child.stdin.once('drain', () => {
        stdinFull = false;
        ws.resume();
      });
    }
  });
  ws.on('end', () => child.stdin.end()); // the peer closed: EOF

  // stdout to messages; a full Websocket pauses the pipe.
  let wsFull = false;
  const send = (data: string | Buffer): void => {
    if (ws.readyState !== 'open') return;
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
