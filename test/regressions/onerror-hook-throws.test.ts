// An onError hook that threw became an unhandled rejection that killed the server.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../helpers/deadline.js';
import { httpGet } from '../helpers/http-get.js';
import { startServer, withServer } from '../helpers/server.js';
import { captureConsoleError } from '../helpers/console.js';

const test = suite('regression: a throwing onError hook is contained');

test('the request gets its 500, the process goes on, the hook failure is logged', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const logged = captureConsoleError();
  try {
    for (const onError of [
      () => {
        throw new Error('hook broke');
      },
      async () => {
        throw new Error('async hook broke');
      },
    ]) {
      await withServer(
        startServer(
          (request) => {
            if (request.url === '/fail') throw new Error('handler broke');
            return { status: 200, body: 'fine\n' };
          },
          { onError },
        ),
        async ({ port }) => {
          assert.is((await httpGet(port, '/fail')).status, 500);
          assert.is((await httpGet(port, '/')).status, 200, 'still serving');
          await withTimeout(new Promise((resolve) => setTimeout(resolve, 20)), 1000);
        },
      );
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    logged.restore();
  }
  assert.equal(unhandled, []);
  assert.match(logged.text(), /onError hook threw/);
  assert.match(logged.text(), /hook broke/);
  assert.match(logged.text(), /async hook broke/);
});

test.run();
