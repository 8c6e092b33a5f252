import { PassThrough, Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageIterator } from '../src/message-iterator.js';

const test = suite('message-iterator');

function objects(): PassThrough {
  return new PassThrough({ objectMode: true, autoDestroy: false });
}

async function collect(iterator: AsyncIterableIterator<string | Buffer>): Promise<unknown[]> {
  const seen: unknown[] = [];
  for await (const item of iterator) seen.push(item);
  return seen;
}

test('yields what the stream delivers, in order, then is done when it ends', async () => {
  const stream = objects();
  const iterator = new MessageIterator(stream, () => assert.unreachable('not left early'));
  const done = collect(iterator);
  stream.write('a');
  setImmediate(() => {
    stream.write('b');
    stream.end('c');
  });
  assert.equal(await done, ['a', 'b', 'c']);
  assert.is(stream.listenerCount('readable'), 0, 'its listeners are gone');
});

test('leaving early calls onLeave once and removes the listeners; the stream stays usable', async () => {
  const stream = objects();
  let left = 0;
  const iterator = new MessageIterator(stream, () => left++);
  stream.write('a');
  stream.write('b');
  for await (const item of iterator) {
    assert.is(item, 'a');
    break;
  }
  assert.is(left, 1);
  await iterator.return();
  assert.is(left, 1);
  assert.is(stream.listenerCount('end') + stream.listenerCount('close') + stream.listenerCount('readable'), 0);
  assert.not.ok(stream.destroyed);
  assert.equal(await iterator.next(), { value: undefined, done: true });
});

test("the stream's error is thrown; a close before the end is a premature close", async () => {
  const failing = objects();
  const failed = collect(new MessageIterator(failing, () => {}));
  failing.destroy(new Error('boom'));
  await failed.then(() => assert.unreachable('should throw'), (error: Error) => assert.is(error.message, 'boom'));

  const closing = objects();
  const closed = collect(new MessageIterator(closing, () => {}));
  closing.destroy();
  await closed.then(() => assert.unreachable('should throw'), (error: NodeJS.ErrnoException) => assert.is(error.code, 'ERR_STREAM_PREMATURE_CLOSE'));
});

test('concurrent next() calls each get the next item', async () => {
  const stream = objects();
  const iterator = new MessageIterator(stream, () => {});
  const first = iterator.next();
  const second = iterator.next();
  stream.write('a');
  stream.write('b');
  const results = await Promise.all([first, second]);
  assert.equal(results.map((r) => r.value).sort(), ['a', 'b']);
  stream.end();
  assert.equal(await iterator.next(), { value: undefined, done: true });
});

test('on a stream already ended, done at once', async () => {
  const stream = Readable.from([], { objectMode: true });
  await collect(stream as never);
  assert.equal(await new MessageIterator(stream, () => {}).next(), { value: undefined, done: true });
});

test.run();
