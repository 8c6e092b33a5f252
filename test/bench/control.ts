// The control line between run.ts and a benchmark server, over the server's stdin and stdout.
// The server prints `ready {"port":…}` once listening; run.ts may then send `mem` or `mem gc`
// (each answered by a `mem {…}` line with process.memoryUsage(), after a full gc for `mem gc`),
// and `exit`. The server also exits when its stdin ends, so it never outlives run.ts.

import { createInterface } from 'node:readline';

/** What a server program does with each message: echo it, or send it to every other client. */
export type Mode = 'echo' | 'broadcast';

/** The mode run.ts asked for (the first argument). */
export function modeFromArgs(): Mode {
  const mode = process.argv[2] ?? 'echo';
  if (mode !== 'echo' && mode !== 'broadcast') throw new Error(`unknown mode ${mode}`);
  return mode;
}

/** Says the server is listening, then answers commands until stdin ends. */
export function ready(port: number, details: Record<string, unknown> = {}): void {
  process.stdout.write(`ready ${JSON.stringify({ port, pid: process.pid, ...details })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'exit') process.exit(0);
    if (command === 'mem' || command === 'mem gc') {
      // --expose-gc is passed by run.ts; without it the figure is simply taken as is.
      if (command === 'mem gc') (globalThis as { gc?: () => void }).gc?.();
      process.stdout.write(`mem ${JSON.stringify(process.memoryUsage())}\n`);
    }
  });
  lines.on('close', () => process.exit(0));
}
