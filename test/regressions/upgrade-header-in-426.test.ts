// A version-mismatch 426 (Sec-WebSocket-Version: 8, 14 or none) used to carry no Upgrade header, which RFC 7231 §6.5.15 requires.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebsocketError } from 'prise-ws';
import { checkHandshake } from '../../src/protocol/handshake.js';
import { RawClient } from '../helpers/raw-client.js';
import { startWebsocketServer, withServer } from '../helpers/server.js';

const test = suite('regression: every 426 carries Upgrade: websocket');

const request = (version: string | undefined) => ({
  method: 'GET',
  httpVersion: '1.1',
  headers: {
    host: 'example.test',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...(version === undefined ? {} : { 'sec-websocket-version': version }),
  },
});

test('the version-mismatch 426, without sockets', () => {
  for (const version of ['8', '14', undefined]) {
    let error: unknown;
    try {
      checkHandshake(request(version), null);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof WebsocketError);
    assert.is(error.response.status, 426);
    assert.is(error.response.headers?.['Upgrade'], 'websocket', `version ${version}`);
    assert.is(error.response.headers?.['Sec-WebSocket-Version'], '13');
  }
});

test('the version-mismatch 426, over a socket', async () => {
  await withServer(startWebsocketServer(), async ({ port }) => {
    const client = await RawClient.connect(port);
    client.handshake({ headers: { 'Sec-WebSocket-Version': '8' } });
    const response = await client.readResponse();
    assert.is(response.status, 426);
    assert.is(response.headers['upgrade'], 'websocket');
    assert.is(response.headers['sec-websocket-version'], '13');
    assert.match(response.headers['connection']!, /close/);
    client.destroy();
  });
});

test.run();
