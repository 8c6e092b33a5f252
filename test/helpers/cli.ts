// Runs the real prise-ws command line (node dist/src/cli/main.js) as a child process, as a user
// would. Every child has a deadline and is killed by its PID when it passes, or when the test
// process exits first; output is collected as it comes.
//
//   const server = await cliServer(['--echo']);          // --listen 127.0.0.1:0, reads the URL
//   const result = await runCli([server.url], { input: 'hi\n' });
//   assert.is(result.stdout.toString(), 'hi\n');
//   await server.stop();

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): Buffer;
  stderr(): string;
  /** Resolves with the exit; rejects (after killing the child) if it has not exited by the deadline. */
  readonly exited: Promise<Exit>;
  /** Waits until `pattern` appears in stderr (or stdout with `where`), within `ms`. */
  waitFor(pattern: RegExp, ms?: number, where?: 'stderr' | 'stdout'): Promise<RegExpExecArray>;
  /** Writes to the child's stdin. */
  write(data: string | Buffer): void;
  /** Ends the child's stdin. */
  end(): void;
  /** SIGKILLs the child if it still runs. */
  kill(): void;
}

export interface StartOptions {
  /** ms before the child is killed and `exited` rejects (default 20 s). */
  deadline?: number;
  env?: Record<string, string>;
  cwd?: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts prise-ws with `args`; stdin stays open until end(). */
export function startCli(args: readonly string[], options: StartOptions = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  live.add(child);
  const out: Buffer[] = [];
  let err = '';
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((listener) => listener());
  child.stdout!.on('data', (chunk: Buffer) => (out.push(chunk), notify()));
  child.stderr!.on('data', (chunk: Buffer) => ((err += chunk.toString()), notify()));
  child.stdin!.on('error', () => {}); // the child may exit before reading all of it
  const deadline = options.deadline ?? 20_000;
  const exited = new Promise<Exit>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`prise-ws ${args.join(' ')} still running after ${deadline} ms; stderr:\n${err}`));
    }, deadline);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      notify();
      resolve({ code, signal });
    });
  });
  exited.catch(() => {}); // observed by whoever awaits it
  const stdout = (): Buffer => Buffer.concat(out);
  return {
    child,
    pid: child.pid!,
    stdout,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 10_000, where = 'stderr') {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(where === 'stderr' ? err : stdout().toString());
          if (match !== null) return done(() => resolve(match));
          if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`prise-ws exited before ${pattern} appeared; stderr:\n${err}\nstdout:\n${stdout()}`)));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${ms} ms; stderr:\n${err}\nstdout:\n${stdout()}`))),
          ms,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    write(data) {
      child.stdin!.write(data);
    },
    end() {
      child.stdin!.end();
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface Result extends Exit {
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs prise-ws to its end with `input` on stdin (then EOF, unless `input` is null). */
export async function runCli(args: readonly string[], options: StartOptions & { input?: string | Buffer | null } = {}): Promise<Result> {
  const running = startCli(args, options);
  if (options.input !== null) running.child.stdin!.end(options.input ?? '');
  const exit = await running.exited;
  return { ...exit, stdout: running.stdout(), stderr: running.stderr() };
}

export interface CliServer extends Running {
  /** The ws:// or wss:// URL the server printed. */
  readonly url: string;
  readonly port: number;
  /** Ctrl-C, then waits for the exit (SIGKILL if it does not come). */
  stop(): Promise<Exit>;
}

/** Starts `prise-ws --listen 127.0.0.1:0 ...args` and waits for the address it prints. */
export async function cliServer(args: readonly string[], options: StartOptions = {}): Promise<CliServer> {
  const running = startCli(['--listen', '127.0.0.1:0', ...args], { deadline: 60_000, ...options });
  let match: RegExpExecArray;
  try {
    match = await running.waitFor(/listening on ((wss?):\/\/127\.0\.0\.1:(\d+)\/\S*)/);
  } catch (error) {
    running.kill();
    throw error;
  }
  return {
    ...running,
    url: match[1]!,
    port: Number(match[3]),
    async stop() {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGINT');
      const timer = setTimeout(() => running.kill(), 10_000);
      try {
        return await running.exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until no process of group `pgid` is left. */
export async function waitGone(pgid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still alive`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

