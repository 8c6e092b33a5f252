// The interactive client on a real terminal: prise-ws runs inside a tmux pane (a private tmux
// server, `tmux -L <unique>`, killed afterwards), driven with send-keys and read back with
// capture-pane. Covers the prompt, /binary (hex preview), /ping, a message arriving while a
// line is half typed (printed above it; the typed line survives), history, and /close.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, cliServer, startCli } from './helpers/cli.js';

const test = suite('cli tty');
const TMUX = '/usr/bin/tmux';
const socket = `prise-cli-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync(TMUX, ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', 'cli');
}

async function until(what: string, check: (text: string) => boolean, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = screen();
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`screen never showed ${what}:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (!existsSync(TMUX)) {
  console.log('cli tty: skipped, no /usr/bin/tmux (the line handling is covered without a TTY in cli.test)');
} else {
  test('prompt, /binary, /ping, a message above a half-typed line, history, /close', async () => {
    const server = await cliServer(['--broadcast']);
    const other = startCli([server.url]);
    try {
      // The shell prints the exit code and keeps the pane open to read it.
      const command = `${process.execPath} ${CLI} ${server.url}; echo "EXIT=$?"; sleep 30`;
      tmux('new-session', '-d', '-s', 'cli', '-x', '200', '-y', '30', command);
      await until('the prompt', (text) => /connected; \/help for commands\n>/.test(text));
      await server.waitFor(/(#\d open[^]*){2}/);

      tmux('send-keys', '-t', 'cli', 'hello from the tty', 'Enter');
      await other.waitFor(/hello from the tty\n/, 10_000, 'stdout');

      other.write('text from the other\n');
      await until('a text message', (text) => text.includes('< text from the other'));

      // /binary sends from the tty; the other client, on a pipe, prints the raw bytes.
      tmux('send-keys', '-t', 'cli', '/binary 01 02 ff', 'Enter');
      await other.waitFor(/\x01\x02/, 10_000, 'stdout');
      assert.ok(other.stdout().includes(Buffer.from([1, 2, 0xff])));

      tmux('send-keys', '-t', 'cli', '/ping', 'Enter');
      await until('a pong', (text) => /pong after \d+\.\d+ ms/.test(text));

      // Half a line typed, then a message arrives: it goes above, the typed text stays.
      tmux('send-keys', '-t', 'cli', '-l', 'half typed');
      await until('the typed text', (text) => /> half typed\s*$/.test(text));
      other.write('while you type\n');
      const shown = await until('the message above the prompt', (text) => /< while you type\n> half typed\s*$/.test(text));
      assert.ok(shown.indexOf('< while you type') < shown.lastIndexOf('> half typed'));
      tmux('send-keys', '-t', 'cli', ' and finished', 'Enter');
      await other.waitFor(/half typed and finished\n/, 10_000, 'stdout');

      // History: Up brings the last line back.
      tmux('send-keys', '-t', 'cli', 'Up');
      await until('the recalled line', (text) => /> half typed and finished\s*$/.test(text));
      tmux('send-keys', '-t', 'cli', 'C-u');

      tmux('send-keys', '-t', 'cli', '/close 4001 done here', 'Enter');
      const end = await until('the exit code', (text) => /EXIT=\d+/.test(text));
      assert.match(end, /closed: 4001 done here/);
      assert.match(end, /EXIT=3/); // 4001 is not a clean close
      await server.waitFor(/close .* code=4001/);
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      other.kill();
      await server.stop();
    }
  });

  test('binary messages on a TTY print as a hex preview with their length', async () => {
    const server = await cliServer(['--broadcast']);
    const other = startCli(['--binary', server.url]);
    try {
      tmux('new-session', '-d', '-s', 'cli', '-x', '200', '-y', '30', `${process.execPath} ${CLI} ${server.url}; sleep 30`);
      await until('the prompt', (text) => /connected/.test(text));
      await server.waitFor(/(#\d open[^]*){2}/);
      other.write(Buffer.alloc(40, 0xab));
      const text = await until('the preview', (t) => t.includes('[binary 40 bytes]'));
      assert.match(text, /< \[binary 40 bytes\] (ab ){31}ab … \(8 more\)/);
      tmux('send-keys', '-t', 'cli', 'C-d');
      await server.waitFor(/(close .* code=1000[^]*){1}/);
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      other.kill();
      await server.stop();
    }
  });
}

test.run();
