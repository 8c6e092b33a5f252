// Headless Chromium for the browser tests: launched with its DevTools endpoint on a free port,
// in a throwaway profile, as the leader of its own process group. stop() ends exactly what
// launch() started: that group (the browser and the helpers it forked), by the browser's PID.
//
//   const browser = await launchChromium();
//   try { const cdp = await Cdp.open(browser.devtoolsUrl); ... } finally { await browser.stop(); }

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The Debian package's launcher; CHROMIUM=/path overrides it. */
export const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface Chromium {
  readonly pid: number;
  /** ws://127.0.0.1:<port>/devtools/browser/<id> */
  readonly devtoolsUrl: string;
  /** Resolves with the exit code (or signal) once the browser process has exited. */
  readonly exited: Promise<number | string | null>;
  /** The last few KiB of its stderr, for failure messages. */
  stderr(): string;
  /** Waits up to `graceMs` for the browser to exit by itself, then kills its process group. */
  stop(graceMs?: number): Promise<void>;
}

const STDERR_KEPT = 8 * 1024;

export async function launchChromium(startupMs = 30_000, extraArgs: readonly string[] = []): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'prise-chromium-'));
  // prettier-ignore
  const child = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-crash-reporter', '--disable-breakpad',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', ...extraArgs, 'about:blank',
  ], {
    // Its own process group, so stop() can end the helpers it forks along with it.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    // Crash reports and caches go to the throwaway profile too, not to ~/.config or ~/.cache.
    env: { ...process.env, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
  });
  const pid = child.pid;
  let stderr = '';
  let done = false;
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal);
    });
    child.once('error', (error) => {
      done = true;
      stderr += `\nspawn failed: ${error.message}`;
      resolve(null);
    });
  });
  // Keep draining stderr: a full pipe would block the browser.
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEPT);
  });

  const killGroup = (): void => {
    if (done || pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  // Should the test process die first, the browser must not outlive it.
  process.once('exit', killGroup);

  const stop = async (graceMs = 5000): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    killGroup();
    await exited;
    process.off('exit', killGroup);
    rmSync(profile, { recursive: true, force: true });
  };

  try {
    const devtoolsUrl = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`chromium printed no devtools url within ${startupMs} ms`)), startupMs);
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString();
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
        if (match === null) return;
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(match[1]!);
      };
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited (${code}) before listening`));
      });
    });
    return { pid: pid!, devtoolsUrl, exited, stderr: () => stderr, stop };
  } catch (error) {
    await stop(0);
    throw new Error(`${(error as Error).message}\n--- chromium stderr ---\n${stderr}`);
  }
}
