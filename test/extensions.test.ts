import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  acceptDeflateAnswer,
  deflateOffer,
  negotiateDeflate,
  parseExtensions,
  type DeflateOptions,
} from '../src/protocol/extensions.js';

const parse = suite('extensions: parsing');

parse('offers, parameters with and without values, quoted values', () => {
  assert.equal(parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10"'), [
    { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
    { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
  ]);
  assert.equal(parseExtensions('  foo ;a=1;b ,, bar'), [
    { name: 'foo', params: [['a', '1'], ['b', true]] },
    { name: 'bar', params: [] },
  ]);
});

parse('a comma or semicolon inside quotes does not split', () => {
  assert.equal(parseExtensions('x; a="b\\"c", y'), [{ name: 'y', params: [] }], 'unescaped value is not a token: x dropped');
  assert.equal(parseExtensions('x; a="1,2"'), [], 'a comma is not a token character');
});

parse('elements that break the grammar are skipped, the rest kept', () => {
  assert.equal(parseExtensions('per message, permessage-deflate'), [{ name: 'permessage-deflate', params: [] }]);
  assert.equal(parseExtensions('permessage-deflate; =1, permessage-deflate; a="'), []);
  assert.equal(parseExtensions(''), []);
});

parse('a huge hostile header is parsed in one pass', () => {
  const hostile = 'permessage-deflate;' + ' a="'.repeat(100_000);
  assert.equal(parseExtensions(hostile), []);
  assert.is(parseExtensions('a,'.repeat(200_000)).length, 200_000);
});

const negotiate = suite('extensions: server negotiation');

/** [offer header, server options, expected answer header or null] */
const table: Array<[string, DeflateOptions, string | null]> = [
  ['permessage-deflate', {}, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
  ['permessage-deflate', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate'],
  // What Chromium and Firefox send.
  ['permessage-deflate; client_max_window_bits', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate'],
  ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10'],
  ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10, serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; client_max_window_bits=10'],
  ['permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 12, serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; client_max_window_bits=9'],
  ['permessage-deflate; server_max_window_bits=10', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; server_max_window_bits=10'],
  ['permessage-deflate', { serverMaxWindowBits: 11, serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; server_max_window_bits=11'],
  ['permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; server_no_context_takeover'],
  ['permessage-deflate; client_no_context_takeover', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; client_no_context_takeover'],
  // Declined offers: unknown, repeated or invalid parameters.
  ['permessage-deflate; foo', {}, null],
  ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, null],
  ['permessage-deflate; server_no_context_takeover=1', {}, null],
  ['permessage-deflate; server_max_window_bits', {}, null],
  ['permessage-deflate; server_max_window_bits=16', {}, null],
  ['permessage-deflate; server_max_window_bits=010', {}, null],
  ['permessage-deflate; client_max_window_bits=7', {}, null],
  ['x-webkit-deflate-frame', {}, null],
  // The first acceptable offer wins; bad ones before it are skipped.
  ['permessage-deflate; foo, permessage-deflate; server_max_window_bits=12, permessage-deflate', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; server_max_window_bits=12'],
  ['permessage-deflate; server_max_window_bits="13"', { serverNoContextTakeover: false, clientNoContextTakeover: false }, 'permessage-deflate; server_max_window_bits=13'],
];

for (const [offer, options, expected] of table) {
  negotiate(`${offer || '(empty)'} with ${JSON.stringify(options)} -> ${expected ?? 'declined'}`, () => {
    const result = negotiateDeflate(parseExtensions(offer), options);
    assert.is(result === null ? null : result.header, expected);
  });
}

negotiate('agreed parameters match the answer', () => {
  const result = negotiateDeflate(parseExtensions('permessage-deflate; client_max_window_bits=11; server_max_window_bits=12'), {});
  assert.equal(result?.params, {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 12,
    clientMaxWindowBits: 11,
  });
});

const client = suite('extensions: client side');

client('the offer names what was asked for', () => {
  assert.is(deflateOffer(), 'permessage-deflate; client_max_window_bits');
  assert.is(
    deflateOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
  );
});

client('answers are accepted or refused', () => {
  assert.is(acceptDeflateAnswer(undefined), null);
  assert.equal(acceptDeflateAnswer('permessage-deflate; server_no_context_takeover; client_max_window_bits=10'), {
    serverNoContextTakeover: true,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 10,
  });
  for (const bad of [
    'foo',
    'permessage-deflate, permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; bar',
    'permessage-deflate; server_max_window_bits=20',
  ]) {
    assert.throws(() => acceptDeflateAnswer(bad), TypeError, bad);
  }
  assert.throws(() => acceptDeflateAnswer('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }), TypeError);
  assert.throws(() => acceptDeflateAnswer('permessage-deflate', { serverNoContextTakeover: true }), TypeError);
});

parse.run();
negotiate.run();
client.run();
