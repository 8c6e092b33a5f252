// prise-ws --listen … --broadcast with three CLI clients: each message reaches the two others,
// never its sender, and the log counts messages in and out per connection.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliServer, startCli } from './helpers/cli.js';

const test = suite('cli --broadcast');

test('three clients: every message goes to the two others, not back to its sender', async () => {
  const server = await cliServer(['--broadcast']);
  const [a, b, c] = [startCli([server.url]), startCli([server.url]), startCli([server.url])];
  try {
    await server.waitFor(/(#\d open[^]*){3}/);
    a.write('from a\n');
    await b.waitFor(/from a\n/, 10_000, 'stdout');
    await c.waitFor(/from a\n/, 10_000, 'stdout');
    b.write('from b\n');
    await a.waitFor(/from b\n/, 10_000, 'stdout');
    await c.waitFor(/from b\n/, 10_000, 'stdout');
    c.write('from c\n');
    await a.waitFor(/from c\n/, 10_000, 'stdout');
    await b.waitFor(/from c\n/, 10_000, 'stdout');
    for (const client of [a, b, c]) client.end();
    for (const client of [a, b, c]) assert.is((await client.exited).code, 0, client.stderr());
    assert.is(a.stdout().toString(), 'from b\nfrom c\n');
    assert.is(b.stdout().toString(), 'from a\nfrom c\n');
    assert.is(c.stdout().toString(), 'from a\nfrom b\n');
    await server.waitFor(/(close .* in=1 out=2 code=1000[^]*){3}/);
  } finally {
    for (const client of [a, b, c]) client.kill();
    await server.stop();
  }
});

test.run();
