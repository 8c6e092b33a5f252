// The RFC 8441 handshake, both sides, without sockets: the server's check of an extended
// CONNECT (src/http2/handshake.ts, through start()), the HTTP/2 header block of a response
// (src/http2/headers.ts), and the client's request and check (src/http2/client-handshake.ts).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConnectError, WebsocketError } from '../src/protocol/errors.js';
import { checkConnectResponse, connectHeaders } from '../src/http2/client-handshake.js';
import { checkExtendedConnect, connectAccepted, isHttp2Request } from '../src/http2/handshake.js';
import { http2Headers } from '../src/http2/headers.js';
import type { Request } from '../src/protocol/response.js';
import { start } from '../src/start.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** An extended CONNECT as node:http2's compat Http2ServerRequest holds it (Chromium's shape: no key). */
function connectRequest(headers: Request['headers'] = {}, method = 'CONNECT'): Request {
  return {
    method,
    url: '/chat',
    httpVersion: '2.0',
    headers: {
      ':method': method,
      ':protocol': 'websocket',
      ':scheme': 'https',
      ':path': '/chat',
      ':authority': 'server.example.com',
      'sec-websocket-version': '13',
      origin: 'https://server.example.com',
      ...headers,
    },
  };
}

function refusal(fn: () => unknown): WebsocketError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WebsocketError, String(error));
    return error;
  }
  throw new Error('expected a refusal');
}

const server = suite('http2 handshake: server');

server('an extended CONNECT without a key is accepted with a 200 and no accept header', () => {
  assert.ok(isHttp2Request(connectRequest()));
  assert.equal(checkExtendedConnect(connectRequest(), null), { accept: null, protocol: null });
  const { response } = start(connectRequest(), null);
  assert.is(response.status, 200);
  assert.equal(response.headers, {});
});

server('a key sent anyway (undici) gets its Sec-WebSocket-Accept', () => {
  const { response } = start(connectRequest({ 'sec-websocket-key': KEY }), null);
  assert.equal(response.headers, { 'sec-websocket-accept': ACCEPT });
});

server('subprotocol and permessage-deflate are negotiated as over HTTP/1.1', () => {
  const request = connectRequest({
    'sec-websocket-protocol': 'chat.v1, chat.v2',
    'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
  });
  const { response } = start(request, 'chat.v2', { deflate: true });
  assert.is(response.status, 200);
  assert.is(response.headers!['sec-websocket-protocol'], 'chat.v2');
  assert.match(String(response.headers!['Sec-WebSocket-Extensions']), /^permessage-deflate/);
  assert.is(refusal(() => start(connectRequest(), 'chat.v2')).response.status, 400);
});

server('a plain GET over HTTP/2, or another :protocol, is a 400 (no 426: HTTP/2 has no Upgrade)', () => {
  const get = connectRequest({ ':protocol': undefined }, 'GET');
  const error = refusal(() => start(get, null));
  assert.is(error.response.status, 400);
  assert.is(error.response.headers!['Upgrade'], undefined);
  assert.is(refusal(() => start(connectRequest({ ':protocol': undefined }), null)).response.status, 400);
  assert.is(refusal(() => start(connectRequest({ ':protocol': 'connect-udp' }), null)).response.status, 400);
});

server('missing :scheme, :path or :authority is a 400 (RFC 8441 §4)', () => {
  for (const name of [':scheme', ':path', ':authority']) {
    const error = refusal(() => start(connectRequest({ [name]: undefined }), null));
    assert.is(error.response.status, 400, name);
    assert.match(error.message, name);
  }
});

server('a wrong version gets the same 426 as over HTTP/1.1, naming version 13', () => {
  const error = refusal(() => start(connectRequest({ 'sec-websocket-version': '8' }), null));
  assert.is(error.kind, 'unsupported-version');
  assert.is(error.response.status, 426);
  assert.is(error.response.headers!['Sec-WebSocket-Version'], '13');
  assert.is(refusal(() => start(connectRequest({ 'sec-websocket-version': undefined }), null)).response.status, 426);
});

server('a request carrying Sec-WebSocket-Accept, or two keys, is a 400', () => {
  assert.is(refusal(() => start(connectRequest({ 'sec-websocket-accept': ACCEPT }), null)).response.status, 400);
  assert.is(refusal(() => start(connectRequest({ 'sec-websocket-key': [KEY, KEY] }), null)).response.status, 400);
});

server('an HTTP/1.1 request still goes through the RFC 6455 checks', () => {
  const http1: Request = { method: 'GET', httpVersion: '1.1', headers: { host: 'h', upgrade: 'websocket', connection: 'upgrade', 'sec-websocket-version': '13' } };
  assert.not.ok(isHttp2Request(http1));
  assert.match(refusal(() => start(http1, null)).message, 'sec-websocket-key');
});

server('HTTP/2 response headers: lowercase, no connection-specific fields, content-length for known bodies', () => {
  assert.equal(connectAccepted({ accept: null, protocol: 'chat' }), { status: 200, headers: { 'sec-websocket-protocol': 'chat' } });
  const headers = http2Headers(426, { Upgrade: 'websocket', Connection: 'close', 'Sec-WebSocket-Version': '13', 'X-N': 3 }, 'héllo');
  assert.equal(headers, { ':status': 426, 'sec-websocket-version': '13', 'x-n': '3', 'content-length': '6' });
});

server.run();

const client = suite('http2 handshake: client');

client('connectHeaders: the RFC 8441 pseudo-headers, no key, no Upgrade/Connection', () => {
  const headers = connectHeaders(new URL('wss://example.com:8443/chat?room=1'), ['chat'], { origin: 'https://example.com', headers: { 'X-Token': 't' } });
  assert.equal(headers, {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': '/chat?room=1',
    ':authority': 'example.com:8443',
    'x-token': 't',
    origin: 'https://example.com',
    'sec-websocket-version': '13',
    'sec-websocket-protocol': 'chat',
  });
  assert.is(connectHeaders(new URL('ws://h/'), [])[':scheme'], 'http');
  assert.throws(() => connectHeaders(new URL('ws://h/'), [], { headers: { Upgrade: 'x' } }), /set by connect/);
});

client('checkConnectResponse: 200 accepts; other statuses and unoffered subprotocols are ConnectErrors', () => {
  assert.equal(checkConnectResponse({ statusCode: 200, headers: { 'sec-websocket-protocol': 'chat' } }, ['chat']), { protocol: 'chat', deflate: null });
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof ConnectError);
      return error.code;
    }
    return 'none';
  };
  assert.is(codeOf(() => checkConnectResponse({ statusCode: 405, headers: {} }, [])), 'ERR_WS_UNEXPECTED_STATUS');
  assert.is(codeOf(() => checkConnectResponse({ statusCode: 200, headers: { 'sec-websocket-protocol': 'x' } }, ['chat'])), 'ERR_WS_BAD_PROTOCOL');
  assert.is(codeOf(() => checkConnectResponse({ statusCode: 200, headers: { 'sec-websocket-extensions': 'permessage-deflate' } }, [])), 'ERR_WS_BAD_EXTENSION');
});

client.run();
