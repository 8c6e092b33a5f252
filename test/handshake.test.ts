import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebsocketError, type HandshakeErrorKind } from '../src/protocol/errors.js';
import { acceptKey, checkHandshake, requestedProtocols, switchingProtocols } from '../src/protocol/handshake.js';
import type { Request } from '../src/protocol/response.js';

// RFC 6455 §1.3's sample key and the Sec-WebSocket-Accept it must produce.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

type Headers = Request['headers'];

/** A valid handshake as Node's IncomingMessage would hold it, with `headers` merged over it. */
function request(headers: Headers = {}, rest: Omit<Request, 'headers'> = {}): Request {
  return {
    method: 'GET',
    url: '/chat',
    httpVersion: '1.1',
    ...rest,
    headers: {
      host: 'server.example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': KEY,
      'sec-websocket-version': '13',
      ...headers,
    },
  };
}

/** Runs `fn`, which must refuse the handshake, and checks the error and its ready-made response. */
function refused(fn: () => unknown, kind: HandshakeErrorKind, status: 400 | 426): WebsocketError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof WebsocketError, `expected a WebsocketError, got ${String(error)}`);
  assert.is(error.name, 'WebsocketError');
  assert.is(error.kind, kind);
  assert.is(error.code, 'ERR_WS_' + kind.toUpperCase().replaceAll('-', '_'));
  assert.is(error.response.status, status);
  const headers = error.response.headers ?? {};
  assert.is(headers['Content-Type'], 'text/plain; charset=utf-8');
  assert.is(error.response.body, error.message + '\n');
  if (status === 426) {
    assert.is(headers['Sec-WebSocket-Version'], '13');
    assert.is(headers['Upgrade'], 'websocket');
    assert.is(headers['Connection'], 'Upgrade');
  } else {
    assert.is(headers['Sec-WebSocket-Version'], undefined);
    assert.is(headers['Upgrade'], undefined);
  }
  return error;
}

const accept = suite('acceptKey');

accept('matches the sample in RFC 6455 §1.3', () => {
  assert.is(acceptKey(KEY), ACCEPT);
});

accept('hashes the key as given, without trimming or decoding it', () => {
  assert.is(acceptKey('x3JJHMbDL1EzLkh9GBhXDw=='), 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
  assert.is.not(acceptKey(' ' + KEY), ACCEPT);
});

accept.run();

const check = suite('checkHandshake');

check('accepts a valid request and returns the accept key', () => {
  assert.equal(checkHandshake(request(), null), { accept: ACCEPT, protocol: null });
});

check('accepts a valid request carrying rawHeaders, as IncomingMessage does', () => {
  const raw = ['Host', 'server.example.com', 'Upgrade', 'websocket', 'Connection', 'Upgrade',
    'Sec-WebSocket-Key', KEY, 'Sec-WebSocket-Version', '13'];
  assert.equal(checkHandshake(request({}, { rawHeaders: raw }), null), { accept: ACCEPT, protocol: null });
});

check('refuses methods other than GET with 400', () => {
  for (const method of ['POST', 'HEAD', 'get', 'CONNECT']) {
    refused(() => checkHandshake(request({}, { method }), null), 'invalid-request', 400);
  }
});

check('refuses HTTP/1.0 with 400, accepts HTTP/1.1', () => {
  refused(() => checkHandshake(request({}, { httpVersion: '1.0' }), null), 'invalid-request', 400);
  refused(() => checkHandshake(request({}, { httpVersion: '0.9' }), null), 'invalid-request', 400);
  assert.is(checkHandshake(request({}, { httpVersion: '1.1' }), null).accept, ACCEPT);
});

check('refuses a missing or empty Host with 400', () => {
  refused(() => checkHandshake(request({ host: undefined }), null), 'invalid-request', 400);
  refused(() => checkHandshake(request({ host: '' }), null), 'invalid-request', 400);
  refused(() => checkHandshake(request({ host: '  ' }), null), 'invalid-request', 400);
});

check('refuses a request with a body with 400', () => {
  refused(() => checkHandshake(request({ 'content-length': '5' }), null), 'invalid-request', 400);
  refused(() => checkHandshake(request({ 'transfer-encoding': 'chunked' }), null), 'invalid-request', 400);
  refused(() => checkHandshake(request({ 'transfer-encoding': ['chunked'] }), null), 'invalid-request', 400);
});

check('accepts Content-Length: 0', () => {
  assert.is(checkHandshake(request({ 'content-length': '0' }), null).accept, ACCEPT);
});

check('accepts an Upgrade list with other tokens, in any case', () => {
  for (const upgrade of ['websocket, foo/2', 'foo/2, websocket', 'WebSocket', 'WEBSOCKET', ' websocket ']) {
    assert.is(checkHandshake(request({ upgrade }), null).accept, ACCEPT, upgrade);
  }
});

check('accepts Connection as a comma list or as a repeated header', () => {
  for (const connection of ['keep-alive, Upgrade', 'upgrade', 'Upgrade,keep-alive', ['keep-alive', 'Upgrade']]) {
    assert.is(checkHandshake(request({ connection }), null).accept, ACCEPT, String(connection));
  }
});

check('refuses a Connection header without the upgrade token with 400', () => {
  for (const connection of [undefined, 'keep-alive', 'upgrades', 'keep-alive upgrade', ['keep-alive', 'close']]) {
    refused(() => checkHandshake(request({ connection }), null), 'invalid-request', 400);
  }
});

check('answers a request that is not a websocket upgrade with 426 naming websocket', () => {
  for (const upgrade of [undefined, 'h2c', 'websockets', '']) {
    const error = refused(() => checkHandshake(request({ upgrade }), null), 'invalid-request', 426);
    assert.is(error.response.headers?.['Upgrade'], 'websocket');
  }
});

check('answers an unsupported or missing version with 426 and Sec-WebSocket-Version: 13', () => {
  for (const version of ['8', '12', '14', '', undefined, ['13', '8']]) {
    refused(() => checkHandshake(request({ 'sec-websocket-version': version }), null), 'unsupported-version', 426);
  }
});

check('refuses a missing, malformed or repeated Sec-WebSocket-Key with 400', () => {
  const bad = [
    undefined,
    '',
    'dGhlIHNhbXBsZSBub25jZQ', // no padding
    'dGhlIHNhbXBsZSBub25jZQ=', // one pad
    'dGhlIHNhbXBsZSBub25jZQ===',
    'dGhlIHNhbXBsZSBub25jZQ!!', // not padding
    'dGhlIHNhbXBsZSBub25j*Q==', // not base64
    'dGhlIHNhbXBsZSBub25jZR==', // non-zero bits in the padding
    'dGhlIHNhbXBsZSBub25jZSBtb3JlIQ==', // base64 of 20 bytes
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', // 52 chars
    [KEY, KEY], // two headers
    `${KEY}, ${KEY}`, // two headers as Node joins them
  ];
  for (const key of bad) {
    refused(() => checkHandshake(request({ 'sec-websocket-key': key }), null), 'invalid-request', 400);
  }
});

check('refuses a key that rawHeaders lists twice, even when headers holds one', () => {
  const raw = ['Host', 'a', 'Sec-WebSocket-Key', KEY, 'sec-websocket-key', KEY];
  refused(() => checkHandshake(request({}, { rawHeaders: raw }), null), 'invalid-request', 400);
});

check('accepts a key with surrounding white space and hashes it trimmed', () => {
  assert.is(checkHandshake(request({ 'sec-websocket-key': ` ${KEY}\t` }), null).accept, ACCEPT);
});

check('returns the chosen subprotocol when the client offered it', () => {
  const offered = request({ 'sec-websocket-protocol': 'chat, superchat' });
  assert.equal(checkHandshake(offered, 'superchat'), { accept: ACCEPT, protocol: 'superchat' });
  assert.equal(checkHandshake(offered, 'chat'), { accept: ACCEPT, protocol: 'chat' });
  assert.equal(checkHandshake(offered, null), { accept: ACCEPT, protocol: null });
});

check('refuses a subprotocol the client did not offer', () => {
  refused(() => checkHandshake(request(), 'chat'), 'wrong-subprotocol', 400);
  refused(() => checkHandshake(request({ 'sec-websocket-protocol': 'chat' }), 'superchat'), 'wrong-subprotocol', 400);
  refused(() => checkHandshake(request({ 'sec-websocket-protocol': 'chat' }), 'Chat'), 'wrong-subprotocol', 400);
});

check('refuses duplicate or non-token offered protocols with 400', () => {
  for (const offered of ['chat, chat', 'chat, superchat, chat', 'a b', 'chat, v1/json', 'chat, "x"', 'chat, é']) {
    refused(() => checkHandshake(request({ 'sec-websocket-protocol': offered }), null), 'invalid-request', 400);
  }
  const repeated = request({ 'sec-websocket-protocol': ['chat', 'chat'] });
  refused(() => checkHandshake(repeated, 'chat'), 'invalid-request', 400);
});

check('throws a TypeError for a subprotocol argument that is not a token', () => {
  for (const protocol of ['', 'a b', 'v1/json', 'chat,superchat', 'é', '"chat"']) {
    assert.throws(() => checkHandshake(request({ 'sec-websocket-protocol': protocol }), protocol),
      (e: unknown) => e instanceof TypeError && !(e instanceof WebsocketError));
  }
});

check('checks the subprotocol argument before the request', () => {
  // A programming error shows up even on a request that would be refused anyway.
  assert.throws(() => checkHandshake(request({}, { method: 'POST' }), 'a b'), (e: unknown) => e instanceof TypeError);
});

check('every refusal is a WebsocketError and an Error', () => {
  const error = refused(() => checkHandshake(request({ host: undefined }), null), 'invalid-request', 400);
  assert.instance(error, Error);
  assert.ok(error.message.length > 0);
});

check.run();

const protocols = suite('requestedProtocols');

protocols('is empty without the header', () => {
  assert.equal(requestedProtocols(request()), []);
});

protocols('keeps the client order and trims optional white space', () => {
  assert.equal(requestedProtocols(request({ 'sec-websocket-protocol': 'b,  a ,\tc' })), ['b', 'a', 'c']);
});

protocols('ignores empty list elements', () => {
  const offered = request({ 'sec-websocket-protocol': 'a, , b,' });
  assert.equal(requestedProtocols(offered), ['a', 'b']);
  assert.equal(requestedProtocols(request({ 'sec-websocket-protocol': ', ,,' })), []);
  assert.equal(checkHandshake(offered, 'b'), { accept: ACCEPT, protocol: 'b' });
});

protocols('joins repeated headers in order', () => {
  assert.equal(requestedProtocols(request({ 'sec-websocket-protocol': ['x, y', 'z'] })), ['x', 'y', 'z']);
});

protocols('never throws, even for lists checkHandshake refuses', () => {
  assert.equal(requestedProtocols(request({ 'sec-websocket-protocol': 'a b, a b' })), ['a b', 'a b']);
});

protocols.run();

const response = suite('switchingProtocols');

response('builds the 101 without a protocol header when none was chosen', () => {
  assert.equal(switchingProtocols(checkHandshake(request(), null)), {
    status: 101,
    headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Accept': ACCEPT },
  });
});

response('names the chosen protocol', () => {
  const handshake = checkHandshake(request({ 'sec-websocket-protocol': 'chat, superchat' }), 'chat');
  assert.equal(switchingProtocols(handshake), {
    status: 101,
    headers: {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Accept': ACCEPT,
      'Sec-WebSocket-Protocol': 'chat',
    },
  });
});

response.run();

// Headers are attacker-controlled; parsing must stay linear however they are built. These only
// check that a huge header is answered properly: a quadratic parser shows up as a hung test.
const hostile = suite('checkHandshake with hostile headers');

const MB = 1024 * 1024;

hostile('a megabyte of commas and spaces in Upgrade', () => {
  refused(() => checkHandshake(request({ upgrade: ', '.repeat(MB / 2) }), null), 'invalid-request', 426);
  const upgrade = ' ,'.repeat(MB / 2) + 'websocket';
  assert.is(checkHandshake(request({ upgrade }), null).accept, ACCEPT);
});

hostile('a megabyte of commas and spaces in Connection', () => {
  refused(() => checkHandshake(request({ connection: ',  '.repeat(MB / 3) }), null), 'invalid-request', 400);
  assert.is(checkHandshake(request({ connection: ', '.repeat(MB / 2) + 'upgrade' }), null).accept, ACCEPT);
});

hostile('a megabyte of spaces in Sec-WebSocket-Key and Sec-WebSocket-Version', () => {
  refused(() => checkHandshake(request({ 'sec-websocket-key': ' '.repeat(MB) }), null), 'invalid-request', 400);
  const version = ' '.repeat(MB) + '13 ';
  assert.is(checkHandshake(request({ 'sec-websocket-version': version }), null).accept, ACCEPT);
});

hostile('a megabyte of empty elements in Sec-WebSocket-Protocol', () => {
  const offered = request({ 'sec-websocket-protocol': ' , ,'.repeat(MB / 4) + 'chat' });
  assert.equal(requestedProtocols(offered), ['chat']);
  assert.equal(checkHandshake(offered, 'chat').protocol, 'chat');
});

hostile('a megabyte of distinct protocol tokens', () => {
  const names: string[] = [];
  for (let i = 0, size = 0; size < MB; i++) {
    names.push('p' + i.toString(36));
    size += names[names.length - 1]!.length + 1;
  }
  const offered = request({ 'sec-websocket-protocol': names.join(',') });
  assert.is(requestedProtocols(offered).length, names.length);
  assert.equal(checkHandshake(offered, names[names.length - 1]!).protocol, names[names.length - 1]);
  // The same list with its last name repeated at the end: the duplicate is found.
  const repeated = request({ 'sec-websocket-protocol': names.join(',') + ',' + names[names.length - 1] });
  refused(() => checkHandshake(repeated, null), 'invalid-request', 400);
});

hostile('a megabyte of repeated Connection values', () => {
  const connection = new Array<string>(MB / 8).fill('a,b,c,d');
  refused(() => checkHandshake(request({ connection }), null), 'invalid-request', 400);
  assert.is(checkHandshake(request({ connection: [...connection, 'upgrade'] }), null).accept, ACCEPT);
});

hostile.run();
