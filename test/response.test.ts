import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkResponse } from '../src/protocol/response.js';

const check = suite('checkResponse');

check('responses a handler may return pass as they are', () => {
  for (const response of [
    { status: 200 },
    { status: 204, body: null },
    { status: 200, headers: { 'X-A': '1' }, body: 'text' },
    { status: 200, body: new Uint8Array([1]) },
    { status: 200, body: Readable.from(['a']) },
    { status: 101, headers: {} },
  ]) {
    assert.is(checkResponse(response), response);
  }
});

check('anything else is a TypeError saying what is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /the handler returned no response/],
    [null, /the handler returned no response/],
    ['ok', /returned a string/],
    [{}, /status undefined/],
    [{ status: 99 }, /status 99/],
    [{ status: 200.5 }, /status 200.5/],
    [{ status: 200, headers: 'x' }, /headers "x"/],
    [{ status: 200, body: { a: 1 } }, /body of type plain object/],
    [{ status: 200, body: ['a'] }, /body of type array/],
    [{ status: 200, body: 42 }, /body of type number/],
  ];
  for (const [value, says] of cases) assert.throws(() => checkResponse(value), (error: Error) => error instanceof TypeError && says.test(error.message), String(says));
});

check.run();
