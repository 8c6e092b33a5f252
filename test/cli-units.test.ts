// The pure parts of the command line, without a process: argument parsing, the stdin splitter,
// message formatting and the static file path check.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientUrl, headersOf, listenAddress, parseCommandLine, UsageError } from '../src/cli/args.js';
import { formatMessage, hexPreview, jsonLine, parseHex } from '../src/cli/format.js';
import { Splitter } from '../src/cli/split.js';
import { safeRelativePath } from '../src/cli/static.js';

const test = suite('cli units');
const isUsage = (error: unknown): boolean => error instanceof UsageError;

test('Splitter: lines across chunks, \\r\\n, a last line without newline', () => {
  const lines = new Splitter('line');
  assert.equal(lines.push(Buffer.from('ab')).map(String), []);
  assert.equal(lines.push(Buffer.from('c\r\nd\n\nef')).map(String), ['abc', 'd', '']);
  assert.is(String(lines.end()), 'ef');
  assert.is(lines.end(), null);
  const nul = new Splitter('nul');
  assert.equal(nul.push(Buffer.from('a\r\0b\0')).map(String), ['a\r', 'b']);
  assert.is(nul.end(), null);
});

test('listenAddress and clientUrl', () => {
  assert.equal(listenAddress('8080'), { host: '127.0.0.1', port: 8080 });
  assert.equal(listenAddress(':0'), { host: '127.0.0.1', port: 0 });
  assert.equal(listenAddress('0.0.0.0:1'), { host: '0.0.0.0', port: 1 });
  assert.equal(listenAddress('[::1]:9'), { host: '::1', port: 9 });
  for (const bad of ['', 'x', '1:2:x', '70000', '-1', '1.5']) assert.throws(() => listenAddress(bad), isUsage, bad);
  assert.is(clientUrl('localhost:1/x'), 'ws://localhost:1/x');
  assert.is(clientUrl('https://a/'), 'wss://a/');
  assert.is(clientUrl('wss://a/'), 'wss://a/');
});

test('headersOf: repeated names are joined, bad lines refused', () => {
  assert.equal(headersOf(['A: 1', 'a-b:2 ', 'A: 3']), { A: '1, 3', 'a-b': '2' });
  assert.throws(() => headersOf(['no colon']), isUsage);
  assert.throws(() => headersOf([': value']), isUsage);
  assert.throws(() => headersOf(['bad name: v']), isUsage);
});

test('parseCommandLine: defaults and mode choice', () => {
  const client = parseCommandLine(['--ping-interval', '0.5', '-p', 'a', '-p', 'b', 'host:1']);
  assert.is(client.mode, 'client');
  if (client.mode !== 'client') return;
  assert.is(client.pingInterval, 500);
  assert.equal(client.protocols, ['a', 'b']);
  assert.is(client.connectTimeout, 10_000);
  const server = parseCommandLine(['-l', '9000', '--exec', 'cat', '--max-connections', '3']);
  assert.is(server.mode, 'server');
  if (server.mode !== 'server') return;
  assert.is(server.serverMode, 'exec');
  assert.is(server.maxConnections, 3);
  assert.is(server.killGrace, 3000);
  assert.throws(() => parseCommandLine(['-l', '1', '-p', 'not a token']), isUsage);
  assert.throws(() => parseCommandLine(['--jsonl', '--binary', 'x']), isUsage);
  assert.is(parseCommandLine(['--help', 'anything']).mode, 'help');
});

test('formatMessage: text lines, raw binary on a pipe, hex on a TTY, NUL endings, JSON lines', () => {
  const pipe = { tty: false, jsonl: false, nul: false };
  assert.is(formatMessage('hi', pipe), 'hi\n');
  assert.is((formatMessage(Buffer.from([1, 2]), pipe) as Buffer).toString('hex'), '0102');
  assert.is(formatMessage(Buffer.from([1, 2]), { ...pipe, tty: true }), '[binary 2 bytes] 01 02\n');
  assert.is((formatMessage(Buffer.from([1]), { ...pipe, nul: true }) as Buffer).toString('hex'), '0100');
  assert.is(formatMessage('{ "a" : [1] }', { ...pipe, jsonl: true }), '{"a":[1]}\n');
  assert.is(jsonLine('{"a":1}', true), '{\n  "a": 1\n}');
  assert.is(jsonLine('not json', false), '"not json"');
  assert.is(jsonLine(Buffer.from('hi'), false), '{"binary":"aGk="}');
  assert.is(hexPreview(Buffer.alloc(0)), '[binary 0 bytes]');
  assert.is(hexPreview(Buffer.alloc(33)), `[binary 33 bytes] ${'00 '.repeat(31)}00 … (1 more)`);
  assert.is(parseHex('01 02ff').toString('hex'), '0102ff');
  assert.throws(() => parseHex('0g'));
  assert.throws(() => parseHex('012'));
});

test('safeRelativePath refuses every way out of the directory', () => {
  assert.is(safeRelativePath('/'), '');
  assert.is(safeRelativePath('/a/./b%20c.txt?x=/../y'), 'a/b c.txt');
  for (const bad of ['/../x', '/a/../../x', '/%2e%2e/x', '/a%2f..%2f..%2fx', '/..%5cx', '/a\\b', '/%00', '/%zz', 'relative', '/..']) {
    assert.is(safeRelativePath(bad), null, bad);
  }
});

test.run();
