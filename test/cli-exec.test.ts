// prise-ws --listen … --exec: a process per connection, spawned by the real CLI. A line-by-line
// cat, a process that exits by itself (0 and non-zero), one that ignores SIGTERM (SIGKILL after
// --kill-grace), stderr in the log, --binary, and the environment it gets.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliServer, runCli, startCli, waitGone } from './helpers/cli.js';

const test = suite('cli --exec');

test('a line-by-line cat: each message is a line in, each line out is a message; closing ends it', async () => {
  const server = await cliServer(['--exec', 'while IFS= read -r line; do printf "%s\\n" "cat: $line"; done']);
  const client = startCli([server.url]);
  try {
    client.write('one\n');
    await client.waitFor(/cat: one\n/, 10_000, 'stdout');
    client.write('two\nthree\n');
    await client.waitFor(/cat: three\n/, 10_000, 'stdout');
    client.end();
    assert.is((await client.exited).code, 0, client.stderr());
    assert.is(client.stdout().toString(), 'cat: one\ncat: two\ncat: three\n');
    await server.waitFor(/#1 close .* in=3 out=3 code=1000/);
  } finally {
    client.kill();
    await server.stop();
  }
});

test('a client that sends and closes at once still gets the answers (the close waits for the process)', async () => {
  const server = await cliServer(['--exec', 'while IFS= read -r line; do sleep 0.1; echo "answer to $line"; done']);
  try {
    const result = await runCli([server.url], { input: 'q1\nq2\n' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), 'answer to q1\nanswer to q2\n');
    await server.waitFor(/#1 close .* in=2 out=2 code=1000/);
    assert.not.match(server.stderr(), /killed/); // it ended on EOF, no signal needed
  } finally {
    await server.stop();
  }
});

test('a process that exits 0 closes with 1000, after all its output; stderr is logged with the id', async () => {
  const server = await cliServer(['--exec', 'echo out1; echo oops >&2; printf "no newline"; exit 0']);
  try {
    const result = await runCli(['--no-close', server.url], { input: '' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), 'out1\nno newline\n');
    await server.waitFor(/#1 stderr: oops/);
    await server.waitFor(/#1 close .* out=2 code=1000/);
  } finally {
    await server.stop();
  }
});

test('a process that exits non-zero closes with 1011 (the client exits 3)', async () => {
  const server = await cliServer(['--exec', 'exit 4']);
  try {
    const result = await runCli(['--no-close', server.url], { input: '' });
    assert.is(result.code, 3);
    assert.match(result.stderr, /1011 exit code 4/);
    await server.waitFor(/#1 process exited with 4/);
  } finally {
    await server.stop();
  }
});

test('a process that ignores SIGTERM is killed with SIGKILL after --kill-grace', async () => {
  const server = await cliServer(['--kill-grace', '0.3', '--exec', 'trap "" TERM; echo $$; while :; do sleep 0.05; done']);
  try {
    const client = startCli([server.url]);
    const pid = Number((await client.waitFor(/^(\d+)\n/, 10_000, 'stdout'))[1]);
    client.end(); // the WebSocket closes: SIGTERM (ignored), then SIGKILL
    assert.is((await client.exited).code, 0, client.stderr());
    await server.waitFor(/#1 process killed by SIGKILL/);
    await waitGone(pid); // the whole group, sleep included
  } finally {
    await server.stop();
  }
});

test('a process that honours SIGTERM ends at once when the client goes', async () => {
  const server = await cliServer(['--kill-grace', '30', '--exec', 'echo ready; exec sleep 60']);
  try {
    const client = startCli([server.url]);
    await client.waitFor(/ready/, 10_000, 'stdout');
    client.end();
    await client.exited;
    await server.waitFor(/#1 process killed by SIGTERM/);
  } finally {
    await server.stop();
  }
});

test('--binary: messages go to stdin raw and stdout reads come back as binary', async () => {
  const server = await cliServer(['--binary', '--exec', 'head -c 6; echo done >&2']);
  try {
    const client = startCli(['--binary', server.url]);
    client.write(Buffer.from([1, 2, 3]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write(Buffer.from([4, 5, 0xff]));
    await server.waitFor(/#1 stderr: done/);
    const exit = await client.exited; // head exits after 6 bytes: 1000
    assert.is(exit.code, 0, client.stderr());
    assert.is(client.stdout().toString('hex'), '0102030405ff');
  } finally {
    await server.stop();
  }
});

test('the process sees REMOTE_ADDR, PATH_INFO, QUERY_STRING', async () => {
  const server = await cliServer(['--exec', 'echo "$REMOTE_ADDR $PATH_INFO $QUERY_STRING $PRISE_WS_ID"']);
  try {
    const result = await runCli(['--no-close', server.url + 'room/1?user=ann'], { input: '' });
    assert.is(result.stdout.toString(), '127.0.0.1 /room/1 user=ann 1\n');
  } finally {
    await server.stop();
  }
});

test('--max-connections bounds the processes running at once', async () => {
  const server = await cliServer(['--max-connections', '2', '--exec', 'echo hi; cat']);
  const clients = [startCli([server.url]), startCli([server.url])];
  try {
    for (const client of clients) await client.waitFor(/hi/, 10_000, 'stdout');
    const third = await runCli([server.url]);
    assert.is(third.code, 1);
    assert.match(third.stderr, /503/);
  } finally {
    for (const client of clients) client.kill();
    await server.stop();
  }
});

test.run();
