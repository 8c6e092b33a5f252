// The client's half of the opening handshake, without sockets: URLs, request headers, every way
// a server's 101 can be wrong (RFC 6455 §4.1), and where redirects may lead.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkProtocols,
  checkServerHandshake,
  handshakeKey,
  isRedirect,
  parseUrl,
  redirectTarget,
  requestHeaders,
  unexpectedStatus,
  type HandshakeResponse,
} from '../src/protocol/client-handshake.js';
import { ConnectError } from '../src/protocol/errors.js';

const test = suite('client-handshake');

// RFC 6455 §1.3's worked example.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function response(headers: Record<string, string | undefined>, statusCode = 101): HandshakeResponse {
  return {
    statusCode,
    statusMessage: statusCode === 101 ? 'Switching Protocols' : 'Not Found',
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': ACCEPT, ...headers },
  };
}

/** Runs `fn`, expecting a ConnectError with `code`; returns it for more checks. */
function rejects(fn: () => unknown, code: string): ConnectError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ConnectError);
    assert.is((error as ConnectError).code, code);
    assert.is((error as ConnectError).name, 'ConnectError');
    return error as ConnectError;
  }
  throw new Error(`expected ConnectError ${code}, nothing was thrown`);
}

test('a valid 101 without a subprotocol', () => {
  assert.equal(checkServerHandshake(response({}), KEY, []), { protocol: null, deflate: null });
});

test('header values are compared case-insensitively where the RFC says so', () => {
  const res = response({ upgrade: 'WebSocket', connection: 'keep-alive, UPGRADE' });
  assert.equal(checkServerHandshake(res, KEY, []), { protocol: null, deflate: null });
});

test('the subprotocol the server chose from the offer', () => {
  const res = response({ 'sec-websocket-protocol': 'chat.v2' });
  assert.equal(checkServerHandshake(res, KEY, ['chat.v3', 'chat.v2']), { protocol: 'chat.v2', deflate: null });
});

test('no subprotocol chosen from an offer is allowed (RFC 6455 §4.1 item 6)', () => {
  assert.equal(checkServerHandshake(response({}), KEY, ['chat']), { protocol: null, deflate: null });
});

test('a status other than 101 names the status', () => {
  const error = rejects(() => checkServerHandshake(response({}, 404), KEY, []), 'ERR_WS_UNEXPECTED_STATUS');
  assert.is(error.status, 404);
  assert.match(error.message, '404 Not Found');
});

test('a missing or wrong upgrade header', () => {
  let error = rejects(() => checkServerHandshake(response({ upgrade: undefined }), KEY, []), 'ERR_WS_MISSING_HEADER');
  assert.match(error.message, 'no upgrade header');
  assert.is(error.status, 101);
  assert.is(error.headers?.['sec-websocket-accept'], response({}).headers['sec-websocket-accept'], 'the 101 headers come along');
  error = rejects(() => checkServerHandshake(response({ upgrade: 'h2c' }), KEY, []), 'ERR_WS_MISSING_HEADER');
  assert.match(error.message, 'upgrade: h2c');
  // A list is not "websocket" (§4.1 item 2 asks for that exact value).
  rejects(() => checkServerHandshake(response({ upgrade: 'websocket, h2c' }), KEY, []), 'ERR_WS_MISSING_HEADER');
});

test('a missing or wrong connection header', () => {
  rejects(() => checkServerHandshake(response({ connection: undefined }), KEY, []), 'ERR_WS_MISSING_HEADER');
  const error = rejects(() => checkServerHandshake(response({ connection: 'keep-alive' }), KEY, []), 'ERR_WS_MISSING_HEADER');
  assert.match(error.message, 'connection: keep-alive');
});

test('a missing accept', () => {
  const error = rejects(
    () => checkServerHandshake(response({ 'sec-websocket-accept': undefined }), KEY, []),
    'ERR_WS_MISSING_HEADER',
  );
  assert.match(error.message, 'sec-websocket-accept');
});

test('an accept that is not the hash of our key', () => {
  rejects(() => checkServerHandshake(response({}), 'x3JJHMbDL1EzLkh9GBhXDw==', []), 'ERR_WS_BAD_ACCEPT');
  rejects(() => checkServerHandshake(response({ 'sec-websocket-accept': KEY }), KEY, []), 'ERR_WS_BAD_ACCEPT');
  // Node joins a repeated header with ", ": two accepts are not one.
  rejects(
    () => checkServerHandshake(response({ 'sec-websocket-accept': `${ACCEPT}, ${ACCEPT}` }), KEY, []),
    'ERR_WS_BAD_ACCEPT',
  );
});

test('a subprotocol that was not offered', () => {
  let error = rejects(
    () => checkServerHandshake(response({ 'sec-websocket-protocol': 'chat.v1' }), KEY, ['chat.v2']),
    'ERR_WS_BAD_PROTOCOL',
  );
  assert.match(error.message, '"chat.v1"');
  assert.match(error.message, 'offered chat.v2');
  error = rejects(() => checkServerHandshake(response({ 'sec-websocket-protocol': 'chat' }), KEY, []), 'ERR_WS_BAD_PROTOCOL');
  assert.match(error.message, 'none was offered');
  // Two of the offered ones at once is not one of them.
  rejects(
    () => checkServerHandshake(response({ 'sec-websocket-protocol': 'a, b' }), KEY, ['a', 'b']),
    'ERR_WS_BAD_PROTOCOL',
  );
  rejects(() => checkServerHandshake(response({ 'sec-websocket-protocol': '' }), KEY, ['a']), 'ERR_WS_BAD_PROTOCOL');
});

test('an extension the client never offered', () => {
  const error = rejects(
    () => checkServerHandshake(response({ 'sec-websocket-extensions': 'permessage-deflate' }), KEY, []),
    'ERR_WS_BAD_EXTENSION',
  );
  assert.match(error.message, 'permessage-deflate');
  // An empty list uses nothing.
  assert.equal(checkServerHandshake(response({ 'sec-websocket-extensions': '' }), KEY, []), { protocol: null, deflate: null });
});

test('permessage-deflate: an agreed answer comes back as parameters, a bad one is refused', () => {
  const answer = 'permessage-deflate; server_no_context_takeover; client_max_window_bits=12';
  assert.equal(checkServerHandshake(response({ 'sec-websocket-extensions': answer }), KEY, [], {}), {
    protocol: null,
    deflate: { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 12 },
  });
  assert.equal(checkServerHandshake(response({}), KEY, [], {}), { protocol: null, deflate: null }, 'declined');
  const error = rejects(
    () => checkServerHandshake(response({ 'sec-websocket-extensions': 'permessage-deflate; foo' }), KEY, [], {}),
    'ERR_WS_BAD_EXTENSION',
  );
  assert.match(error.message, 'foo');
});

test('header arrays (as Node gives some repeats) are read joined', () => {
  const res: HandshakeResponse = {
    statusCode: 101,
    headers: { upgrade: 'websocket', connection: ['keep-alive', 'upgrade'], 'sec-websocket-accept': ACCEPT },
  };
  assert.equal(checkServerHandshake(res, KEY, []), { protocol: null, deflate: null });
});

test('handshakeKey is base64 of 16 fresh random bytes', () => {
  const a = handshakeKey();
  const b = handshakeKey();
  assert.is(a.length, 24);
  assert.is(Buffer.from(a, 'base64').length, 16);
  assert.is(Buffer.from(a, 'base64').toString('base64'), a);
  assert.is.not(a, b);
});

test('requestHeaders: the handshake headers, the caller first, origin and protocols', () => {
  const headers = requestHeaders(KEY, ['a', 'b'], { headers: { 'X-Token': 't', origin: 'http://old' }, origin: 'http://new' });
  assert.equal(headers, {
    'X-Token': 't',
    Origin: 'http://new',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': 'a, b',
  });
  assert.not.ok('Sec-WebSocket-Protocol' in requestHeaders(KEY, []));
  assert.is(requestHeaders(KEY, [], { headers: { Origin: 'http://kept' } })['Origin'], 'http://kept');
});

test('requestHeaders refuses headers the handshake sets itself', () => {
  for (const name of ['Upgrade', 'connection', 'Sec-WebSocket-Key', 'sec-websocket-version', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions']) {
    assert.throws(() => requestHeaders(KEY, [], { headers: { [name]: 'x' } }), (error: Error) => error instanceof TypeError && error.message.includes(name));
  }
});

test('checkProtocols wants distinct tokens', () => {
  checkProtocols([]);
  checkProtocols(['chat.v2', 'chat.v1', 'x-y_z~']);
  assert.throws(() => checkProtocols(['a', 'a']), /offered twice/);
  assert.throws(() => checkProtocols(['']), TypeError);
  assert.throws(() => checkProtocols(['a b']), TypeError);
  assert.throws(() => checkProtocols(['a,b']), TypeError);
});

test('parseUrl takes ws: and wss: without a fragment', () => {
  assert.is(parseUrl('ws://127.0.0.1:8080/chat?room=1').href, 'ws://127.0.0.1:8080/chat?room=1');
  assert.is(parseUrl(new URL('wss://example.com')).href, 'wss://example.com/');
  assert.is(parseUrl('WS://[::1]:9/').hostname, '[::1]');
  for (const url of ['file:///x', 'ftp://x/', 'example.com', '', 'ws://x/#frag', 'ws://x/#', 'http://x/#frag']) {
    rejects(() => parseUrl(url), 'ERR_WS_INVALID_URL');
  }
});

test('parseUrl reads http: as ws: and https: as wss:, keeping an explicit port', () => {
  assert.is(parseUrl('http://127.0.0.1:8080/chat?room=1').href, 'ws://127.0.0.1:8080/chat?room=1');
  assert.is(parseUrl(new URL('https://example.com/')).href, 'wss://example.com/');
  assert.is(parseUrl('HTTPS://example.com:8443').href, 'wss://example.com:8443/');
  assert.is(parseUrl('http://example.com:443/').port, '443');
  assert.is(parseUrl('https://[::1]/').href, 'wss://[::1]/');
});

test('unexpectedStatus carries the status, the headers and the body, and quotes the body', () => {
  const headers = { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] };
  const error = unexpectedStatus({ statusCode: 400, statusMessage: 'Bad Request', headers }, 'offer chat.v2\nor else\n');
  assert.is(error.code, 'ERR_WS_UNEXPECTED_STATUS');
  assert.is(error.status, 400);
  assert.equal(error.headers, headers);
  assert.is(error.body, 'offer chat.v2\nor else\n');
  // The body's start, JSON-quoted: the server's newlines stay out of the log line.
  assert.is(error.message, 'server answered 400 Bad Request instead of 101 switching protocols: "offer chat.v2\\nor else"');
  const long = unexpectedStatus({ statusCode: 503, headers: {} }, 'x'.repeat(10_000));
  assert.ok(long.message.length < 300, 'a long body is quoted in part');
  assert.is(long.body?.length, 10_000);
  const empty = unexpectedStatus({ statusCode: 404, headers: {} }, '');
  assert.is(empty.message, 'server answered 404 instead of 101 switching protocols');
  assert.is(empty.body, '');
});

test('isRedirect: the statuses with a Location to follow', () => {
  for (const status of [301, 302, 303, 307, 308]) assert.ok(isRedirect(status), String(status));
  for (const status of [undefined, 101, 200, 300, 304, 305, 400]) assert.not.ok(isRedirect(status), String(status));
});

test('redirectTarget: relative locations, http(s) read as ws(s), ws to wss', () => {
  const from = new URL('ws://127.0.0.1:8080/a/b?x=1');
  assert.is(redirectTarget(from, 302, 'c', 0, 5).href, 'ws://127.0.0.1:8080/a/c');
  assert.is(redirectTarget(from, 301, '/d?y', 0, 5).href, 'ws://127.0.0.1:8080/d?y');
  assert.is(redirectTarget(from, 307, 'http://other:81/e', 0, 5).href, 'ws://other:81/e');
  assert.is(redirectTarget(from, 308, 'wss://secure/f#frag', 4, 5).href, 'wss://secure/f');
  assert.is(redirectTarget(from, 308, 'https://secure/', 0, 5).href, 'wss://secure/');
  assert.is(redirectTarget(new URL('wss://a/'), 302, '//b/', 0, 1).href, 'wss://b/');
});

test('redirectTarget refuses when off, too many, downgrades and other schemes', () => {
  const plain = new URL('ws://127.0.0.1/');
  const secure = new URL('wss://127.0.0.1/');
  let error = rejects(() => redirectTarget(plain, 302, '/next', 0, 0), 'ERR_WS_REDIRECT');
  assert.is(error.status, 302);
  assert.match(error.message, '/next');
  assert.match(error.message, 'followRedirects is off');
  error = rejects(() => redirectTarget(plain, 301, '/again', 3, 3), 'ERR_WS_REDIRECT');
  assert.match(error.message, 'too many redirects');
  error = rejects(() => redirectTarget(secure, 302, 'ws://127.0.0.1/', 0, 5), 'ERR_WS_REDIRECT');
  assert.match(error.message, 'from wss: to ws:');
  rejects(() => redirectTarget(secure, 302, 'http://127.0.0.1/', 0, 5), 'ERR_WS_REDIRECT');
  rejects(() => redirectTarget(plain, 302, 'ftp://127.0.0.1/', 0, 5), 'ERR_WS_REDIRECT');
  rejects(() => redirectTarget(plain, 302, 'http://[bad', 0, 5), 'ERR_WS_REDIRECT');
});

test.run();
