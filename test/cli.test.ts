// The prise-ws command line, run as a child process in every case: the client piped to a CLI
// server in echo mode, --once, every exit code, --jsonl, -0, a 10 MB binary round trip, pings,
// TLS, and the server's options (--path, --protocol, --origin, --max-connections, --serve-dir,
// Ctrl-C shutdown). --exec, --broadcast and the TTY mode have files of their own.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer } from 'ws';
import { cliServer, runCli, startCli, waitGone } from './helpers/cli.js';
import { httpGet } from './helpers/http-get.js';
import { selfSignedCertificate } from './helpers/tls-cert.js';

const test = suite('cli');

test('a client piped to an echo server: each line comes back as a line, EOF closes with 1000 (exit 0)', async () => {
  const server = await cliServer(['--echo']);
  try {
    const result = await runCli([server.url], { input: 'hello\nwörld 🌍\r\n\nlast line without newline' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), 'hello\nwörld 🌍\n\nlast line without newline\n');
    const log = await server.waitFor(/#1 close (\S+) protocol=- duration=\S+ in=4 out=4 code=1000/);
    assert.match(log[1]!, /^127\.0\.0\.1:\d+$/);
    assert.match(server.stderr(), /#1 open 127\.0\.0\.1:\d+ path=\/ protocol=- http=1\.1/);
  } finally {
    await server.stop();
  }
});

test('Ctrl-C on a piped client closes with 1000 and exits 0', async () => {
  const server = await cliServer(['--echo']);
  const client = startCli(['--no-close', server.url]);
  try {
    client.write('x\n');
    await client.waitFor(/x\n/, 10_000, 'stdout');
    client.child.kill('SIGINT');
    assert.is((await client.exited).code, 0, client.stderr());
    await server.waitFor(/#1 close .* code=1000/);
  } finally {
    client.kill();
    await server.stop();
  }
});

test('stdout closing early (| head -1) closes with 1000 and exits 0', async () => {
  const server = await cliServer(['--exec', 'yes tick']);
  const client = startCli(['--no-close', server.url]);
  try {
    client.end();
    await client.waitFor(/tick\n/, 10_000, 'stdout');
    client.child.stdout!.destroy(); // the reader goes away: the next writes get EPIPE
    assert.is((await client.exited).code, 0, client.stderr());
    await server.waitFor(/#1 close .* code=1000/);
  } finally {
    client.kill();
    await server.stop();
  }
});

test('a URL without a scheme means ws://, and http:// means ws://', async () => {
  const server = await cliServer([]);
  try {
    const bare = await runCli([`127.0.0.1:${server.port}`], { input: 'a\n' });
    assert.is(bare.stdout.toString(), 'a\n');
    const http = await runCli([`http://127.0.0.1:${server.port}/`], { input: 'b\n' });
    assert.is(http.stdout.toString(), 'b\n');
  } finally {
    await server.stop();
  }
});

test('--once sends the first line only, prints the first reply and exits 0', async () => {
  const server = await cliServer(['--echo']);
  try {
    const client = startCli(['--once', server.url]);
    client.write('first\nsecond\n'); // stdin stays open: --once must not wait for EOF
    const exit = await client.exited;
    assert.is(exit.code, 0, client.stderr());
    assert.is(client.stdout().toString(), 'first\n');
    await server.waitFor(/#1 close .* in=1 out=1 code=1000/);
  } finally {
    await server.stop();
  }
});

test('--once with an empty stdin prints the first message the server sends', async () => {
  const server = await cliServer(['--exec', 'echo greeting; sleep 5']);
  try {
    const result = await runCli(['--once', server.url], { input: '' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), 'greeting\n');
  } finally {
    await server.stop();
  }
});

test('exit code 1: connection refused, with the reason', async () => {
  const server = await cliServer([]);
  const port = server.port;
  await server.stop(); // nothing listens there now
  const result = await runCli([`ws://127.0.0.1:${port}/`]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/);
});

test('exit code 1: a refused handshake prints the status and the body', async () => {
  const server = await cliServer(['--path', '/ws']);
  try {
    const result = await runCli([server.url.replace('/ws', '/elsewhere')]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /404/);
    assert.match(result.stderr, /404 Not Found.*"not found"/); // with the body the server sent
  } finally {
    await server.stop();
  }
});

test('exit code 1: TLS failure (an untrusted certificate), with the reason', async () => {
  const { dir, args } = tlsFiles();
  const server = await cliServer(args);
  try {
    const result = await runCli([server.url]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /cannot connect to wss:.*(self[- ]signed|certificate)/i);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit code 2: usage errors', async () => {
  const cases: string[][] = [
    [],
    ['--no-such-option', 'ws://127.0.0.1:1/'],
    ['ws://a/', 'ws://b/'],
    ['--listen', 'nonsense'],
    ['--listen', '0', '--once'],
    ['--exec', 'cat', 'ws://127.0.0.1:1/'],
    ['--listen', '0', '--echo', '--broadcast'],
    ['-H', 'no colon here', 'ws://127.0.0.1:1/'],
    ['--ping-interval', 'soon', 'ws://127.0.0.1:1/'],
    ['--print-ping-rtt', 'ws://127.0.0.1:1/'],
    ['-0', 'ws://127.0.0.1:1/'],
    ['ftp://127.0.0.1/'],
    ['--ca', '/no/such/file.pem', 'wss://127.0.0.1:1/'],
    ['--listen', '0', '--tls-key', '/no/such/key.pem'],
    ['--listen', '0', '--serve-dir', '/no/such/dir'],
    ['--listen', '0', '--path', 'no-slash'],
    ['--listen', '0', '--origin', 'not an origin'],
  ];
  for (const args of cases) {
    const result = await runCli(args);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^prise-ws: .*--help/m, args.join(' '));
  }
});

test('exit code 3: the server closes with 1011; the code and reason go to stderr', async () => {
  const server = await cliServer(['--exec', 'echo bye; exit 7']);
  try {
    const result = await runCli(['--no-close', server.url], { input: '' });
    assert.is(result.code, 3);
    assert.is(result.stdout.toString(), 'bye\n');
    assert.match(result.stderr, /closed abnormally: 1011 exit code 7/);
  } finally {
    await server.stop();
  }
});

test('exit code 3: the connection drops without a closing handshake (1006)', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.terminate());
  try {
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const result = await runCli([`ws://127.0.0.1:${port}/`], { input: null, deadline: 10_000 });
    assert.is(result.code, 3);
    assert.match(result.stderr, /closed abnormally: 1006/);
  } finally {
    wss.close();
  }
});

test('exit code 0: a close frame without a code (1005) from the server', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.close());
  try {
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const result = await runCli([`ws://127.0.0.1:${port}/`], { input: null, deadline: 10_000 });
    assert.is(result.code, 0, result.stderr);
  } finally {
    wss.close();
  }
});

test('--jsonl: JSON input is checked, output is compact JSON per line', async () => {
  const server = await cliServer(['--echo']);
  try {
    const result = await runCli(['--jsonl', server.url], { input: '{"a": 1,\n{"a": [1, 2]}\n\n"s"\n' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), '{"a":[1,2]}\n"s"\n');
    assert.match(result.stderr, /line 1 is not JSON, not sent/);
  } finally {
    await server.stop();
  }
  // Text that is not JSON comes out as a JSON string, so the output stays valid JSON lines.
  const exec = await cliServer(['--exec', `echo 'plain text'; echo '{ "x" : 2 }'`]);
  try {
    const result = await runCli(['--jsonl', '--no-close', exec.url], { input: '' });
    assert.is(result.stdout.toString(), '"plain text"\n{"x":2}\n');
    for (const line of result.stdout.toString().trim().split('\n')) JSON.parse(line);
  } finally {
    await exec.stop();
  }
});

test('--binary: 10 MB of random bytes through stdin and back out of stdout, byte-identical', async () => {
  const server = await cliServer(['--echo', '--quiet']);
  try {
    const data = randomBytes(10 * 1024 * 1024);
    const result = await runCli(['--binary', server.url], { input: data, deadline: 60_000 });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.length, data.length);
    assert.ok(result.stdout.equals(data), 'the bytes differ');
  } finally {
    await server.stop();
  }
});

test('-0: binary messages cut at NUL, each echoed one followed by NUL', async () => {
  const server = await cliServer(['--echo']);
  try {
    const input = Buffer.from('one\0two\0\0three');
    const result = await runCli(['--binary', '-0', server.url], { input });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString('hex'), Buffer.from('one\0two\0\0three\0').toString('hex'));
    await server.waitFor(/#1 close .* in=4 out=4/);
  } finally {
    await server.stop();
  }
});

test('--ping-interval with --print-ping-rtt against a ws server that answers pongs', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  let pings = 0;
  wss.on('connection', (ws) => ws.on('ping', () => pings++));
  try {
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const client = startCli(['--ping-interval', '0.05', '--print-ping-rtt', `ws://127.0.0.1:${port}/`]);
    await client.waitFor(/(pong after \d+\.\d+ ms\n[^]*){3}/);
    client.end();
    const exit = await client.exited;
    assert.is(exit.code, 0, client.stderr());
    assert.ok(pings >= 3, `ws saw ${pings} pings`);
  } finally {
    wss.close();
  }
});

test('TLS: --tls-key/--tls-cert server, client with --ca, and with --insecure', async () => {
  const { dir, args, certFile } = tlsFiles();
  const server = await cliServer(args);
  try {
    assert.match(server.url, /^wss:\/\//);
    const trusted = await runCli(['--ca', certFile, server.url], { input: 'over tls\n' });
    assert.is(trusted.code, 0, trusted.stderr);
    assert.is(trusted.stdout.toString(), 'over tls\n');
    const insecure = await runCli(['--insecure', server.url.replace('127.0.0.1', 'localhost')], { input: 'k\n' });
    assert.is(insecure.code, 0, insecure.stderr);
    assert.is(insecure.stdout.toString(), 'k\n');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--http2: a TLS server speaking HTTP/2 and HTTP/1.1 on one port; --http2 clients use RFC 8441', async () => {
  const { dir, args, certFile } = tlsFiles();
  const server = await cliServer(['--http2', ...args]);
  const plain = await cliServer([]);
  try {
    const h2 = await runCli(['--http2', '--ca', certFile, server.url], { input: 'over h2\n' });
    assert.is(h2.code, 0, h2.stderr);
    assert.is(h2.stdout.toString(), 'over h2\n');
    await server.waitFor(/#1 open .* http=2\.0/);
    const h1 = await runCli(['--ca', certFile, server.url], { input: 'over h1\n' });
    assert.is(h1.stdout.toString(), 'over h1\n');
    await server.waitFor(/#2 open .* http=1\.1/);
    const refused = await runCli(['--http2', plain.url]); // no HTTP/2 there, and no fallback
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /cannot connect/);
  } finally {
    await server.stop();
    await plain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--protocol: the server picks the first of its own the client offers, in the client order', async () => {
  const server = await cliServer(['--exec', 'echo "$WEBSOCKET_PROTOCOL"', '-p', 'chat.v1', '-p', 'chat.v2']);
  try {
    const both = await runCli(['-p', 'chat.v2', '-p', 'chat.v1', server.url], { input: null });
    assert.is(both.stdout.toString(), 'chat.v2\n');
    const none = await runCli(['-p', 'other', server.url], { input: null });
    assert.is(none.stdout.toString(), '\n');
    assert.is(none.code, 0, none.stderr);
  } finally {
    await server.stop();
  }
});

test('-H and --origin reach the server; --origin on the server is an allow-list (403 for others)', async () => {
  const server = await cliServer(['--origin', 'https://good.example', '--exec', 'echo "$REQUEST_URI"']);
  try {
    const good = await runCli(['--origin', 'https://good.example', '-H', 'X-Test: 1', server.url + 'q?x=1'], { input: null });
    assert.is(good.code, 0, good.stderr);
    assert.is(good.stdout.toString(), '/q?x=1\n');
    const bad = await runCli(['--origin', 'https://evil.example', server.url], { input: null });
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /403/);
    const none = await runCli([server.url], { input: null }); // not a browser: no Origin at all
    assert.is(none.code, 0, none.stderr);
  } finally {
    await server.stop();
  }
});

test('--deflate on both sides: messages pass compressed', async () => {
  const server = await cliServer(['--deflate']);
  try {
    // EOF right after the line: the server's close reply waits for the echo still in zlib.
    const line = 'compressible '.repeat(500);
    const result = await runCli(['--deflate', server.url], { input: line + '\n' });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout.toString(), line + '\n');
  } finally {
    await server.stop();
  }
});

test('--max-connections: one more gets 503 (exit 1), and a slot frees up when one closes', async () => {
  const server = await cliServer(['--max-connections', '1']);
  const first = startCli([server.url]);
  try {
    first.write('hold\n');
    await first.waitFor(/hold/, 10_000, 'stdout');
    const second = await runCli([server.url]);
    assert.is(second.code, 1);
    assert.match(second.stderr, /503/);
    first.end();
    assert.is((await first.exited).code, 0);
    await server.waitFor(/#1 close/);
    const third = await runCli([server.url], { input: 'again\n' });
    assert.is(third.stdout.toString(), 'again\n');
  } finally {
    first.kill();
    await server.stop();
  }
});

test('--serve-dir serves files beside --path, and nothing outside the directory', async () => {
  const root = mkdtempSync(join(tmpdir(), 'prise-cli-static-'));
  const dir = join(root, 'public');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<h1>home</h1>');
  writeFileSync(join(dir, 'sub', 'a b.txt'), 'spaced');
  writeFileSync(join(root, 'secret.txt'), 'do not serve');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
  const server = await cliServer(['--serve-dir', dir, '--path', '/ws']);
  try {
    const home = await httpGet(server.port, '/');
    assert.is(home.status, 200);
    assert.is(home.body.toString(), '<h1>home</h1>');
    assert.is(home.headers['content-type'], 'text/html; charset=utf-8');
    const spaced = await httpGet(server.port, '/sub/a%20b.txt?cache=1');
    assert.is(spaced.body.toString(), 'spaced');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/link.txt', '/%00', '/%zz', '/missing']) {
      const answer = await httpGet(server.port, path);
      assert.ok(answer.status === 404 || answer.status === 400, `${path}: ${answer.status}`);
      assert.not.match(answer.body.toString(), /do not serve/, path);
    }
    const ws = await runCli([server.url], { input: 'ws still here\n' });
    assert.is(ws.stdout.toString(), 'ws still here\n');
    assert.match(server.url, /\/ws$/);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('without --serve-dir, a plain HTTP request gets 426', async () => {
  const server = await cliServer([]);
  try {
    const answer = await httpGet(server.port, '/');
    assert.is(answer.status, 426);
  } finally {
    await server.stop();
  }
});

test('Ctrl-C: clients get 1001 (they exit 3), the server exits 0; a second Ctrl-C exits at once', async () => {
  const server = await cliServer(['--echo']);
  const client = startCli([server.url]);
  client.write('x\n');
  await client.waitFor(/x/, 10_000, 'stdout');
  const exit = await server.stop();
  assert.is(exit.code, 0, server.stderr());
  assert.match(server.stderr(), /#1 close .* code=1001/);
  const clientExit = await client.exited;
  assert.is(clientExit.code, 3);
  assert.match(client.stderr(), /closed abnormally: 1001 server shutting down/);

  // A process that ignores SIGTERM holds the graceful shutdown for --kill-grace: the second
  // Ctrl-C does not wait, and takes the process group along.
  const stubborn = await cliServer(['--exec', 'echo $$; trap "" TERM; while :; do sleep 0.05; done', '--kill-grace', '30']);
  const held = startCli(['--no-close', stubborn.url]);
  try {
    const pid = Number((await held.waitFor(/^(\d+)\n/, 10_000, 'stdout'))[1]);
    stubborn.child.kill('SIGINT');
    await stubborn.waitFor(/shutting down/);
    await held.exited;
    stubborn.child.kill('SIGINT');
    const second = await stubborn.exited;
    assert.is(second.code, 130);
    await waitGone(pid);
  } finally {
    held.kill();
    stubborn.kill();
  }
});

test('--help documents every option, each with an example', async () => {
  const result = await runCli(['--help']);
  assert.is(result.code, 0);
  const help = result.stdout.toString();
  const options = [
    '--header', '--protocol', '--origin', '--insecure', '--ca', '--deflate', '--binary', '--null', '--once', '--no-close',
    '--ping-interval', '--print-ping-rtt', '--jsonl', '--connect-timeout', '--http2', '--listen', '--echo', '--broadcast', '--exec',
    '--kill-grace', '--max-connections', '--serve-dir', '--path', '--tls-key', '--tls-cert', '--quiet', '--shutdown-timeout',
    '--help', '--version',
  ];
  for (const option of options) {
    assert.ok(help.includes(option), `${option} missing from --help`);
    // An example line using the option, or its short form, follows its description.
    const short = /-(\w), /.exec(help.slice(help.lastIndexOf('\n', help.indexOf(option + ' ')), help.indexOf(option + ' ')))?.[1];
    const examples = help.split('\n').filter((line) => /^\s{30,}(printf|echo|prise-ws)/.test(line));
    assert.ok(
      examples.some((line) => line.includes(option) || (short !== undefined && new RegExp(`\\s-${short}(\\s|$)`).test(line))) ||
        ['--tls-key', '--help', '--version'].includes(option),
      `no example for ${option}`,
    );
  }
  assert.match(help, /Exit codes: 0 closed cleanly/);
  assert.is((await runCli(['-h'])).stdout.toString(), help);
});

function tlsFiles(): { dir: string; args: string[]; certFile: string } {
  const { key, cert } = selfSignedCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'prise-cli-tls-'));
  writeFileSync(join(dir, 'key.pem'), key);
  writeFileSync(join(dir, 'cert.pem'), cert);
  return { dir, args: ['--tls-key', join(dir, 'key.pem'), '--tls-cert', join(dir, 'cert.pem')], certFile: join(dir, 'cert.pem') };
}

test.run();
