// The demo chat (examples/demo.ts, run as its own process) in Chromium, driven over CDP: two
// pages in one room see each other's messages and each other in "Here now", a page in another
// room sees neither, and after the server restarts every page reconnects by itself.
// CHAT_SCREENSHOTS=dir saves a desktop and a phone-sized screenshot there, to look at.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { withTimeout } from '../helpers/deadline.js';
import { Cdp } from './cdp.js';
import { CHROMIUM, chromiumAvailable, launchChromium, type Chromium } from './chromium.js';

const DEADLINE = 30_000;
const DEMO = fileURLToPath(new URL('../../examples/demo.js', import.meta.url));

function startDemo(port = 0): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  return withTimeout(
    new Promise((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
        if (match !== null) resolve({ child, port: Number(match[1]) });
      });
      child.once('exit', (code) => reject(new Error(`demo exited (${code}): ${output}`)));
    }),
    10_000,
    'the demo to listen',
  );
}

async function stopDemo(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await withTimeout(exited, 5000, 'the demo to exit');
}

interface Page {
  readonly sessionId: string;
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy. */
  until(expression: string, what: string): Promise<void>;
}

async function openPage(cdp: Cdp, url: string, width: number, height: number, mobile: boolean): Promise<Page> {
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
  await cdp.send('Page.enable', {}, sessionId);
  await cdp.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile }, sessionId);
  const loaded = cdp.event('Page.loadEventFired', sessionId);
  await cdp.send('Page.navigate', { url }, sessionId);
  await withTimeout(loaded, DEADLINE, `loading ${url}`);
  const evaluate = async <T>(expression: string): Promise<T> => {
    const reply = await cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
    if (reply['exceptionDetails'] !== undefined) throw new Error(`${expression}: ${JSON.stringify(reply['exceptionDetails'])}`);
    return (reply['result'] as { value: T }).value;
  };
  return {
    sessionId,
    evaluate,
    async until(expression, what) {
      const deadline = Date.now() + DEADLINE;
      while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
        if (Date.now() > deadline) throw new Error(`waiting in the page for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

const say = (text: string) => `(() => { document.getElementById('text').value = ${JSON.stringify(text)}; document.getElementById('say').requestSubmit(); })()`;
const LOG = `[...document.querySelectorAll('#log li')].map((li) => li.textContent).join('\\n')`;
const PEOPLE = `[...document.querySelectorAll('#people li')].map((li) => li.textContent).sort().join(',')`;
const CONNECTED = `document.getElementById('state').textContent.startsWith('connected')`;

const test = suite('chat');
const available = chromiumAvailable();
const it = available ? test : test.skip;
if (!available) console.log(`\n  chat browser test skipped: ${CHROMIUM} not found (apt-get install chromium)\n`);

it('two pages in a room chat, a page in another room hears nothing, all reconnect after a restart', async () => {
  let demo = await startDemo();
  let browser: Chromium | null = null;
  try {
    browser = await launchChromium();
    const cdp = await Cdp.open(browser.devtoolsUrl);
    const base = `http://127.0.0.1:${demo.port}/`;
    const ann = await openPage(cdp, `${base}?room=garden&name=Ann`, 1100, 720, false);
    await ann.until(CONNECTED, 'Ann connected');
    const bob = await openPage(cdp, `${base}?room=garden&name=Bob`, 390, 760, true);
    const cat = await openPage(cdp, `${base}?room=attic&name=Cat`, 800, 600, false);
    for (const page of [bob, cat]) await page.until(CONNECTED, 'connected');
    await ann.until(`${PEOPLE} === 'Ann (you),Bob'`, 'Ann to see Bob here');
    await bob.until(`${PEOPLE} === 'Ann,Bob (you)'`, 'Bob to see Ann here');
    await ann.evaluate(say('hello Bob 👋'));
    await bob.until(`${LOG}.includes('Annhello Bob 👋')`, "Ann's message at Bob");
    await bob.evaluate(say('hi Ann, nice <b>garden</b>'));
    await ann.until(`${LOG}.includes('Bobhi Ann, nice <b>garden</b>')`, "Bob's message at Ann");
    await cat.evaluate(say('anyone in the attic?'));
    await cat.until(`${LOG}.includes('anyone in the attic?')`, 'Cat hears herself');
    // Cat's room is another topic: nothing crossed either way.
    assert.not.match(await cat.evaluate<string>(LOG), 'Bob');
    assert.not.match(await cat.evaluate<string>(LOG), 'hello Bob');
    assert.not.match(await ann.evaluate<string>(LOG), 'attic');
    assert.is(await cat.evaluate<string>(PEOPLE), 'Cat (you)');

    const dir = process.env['CHAT_SCREENSHOTS'];
    if (dir !== undefined) {
      for (const [name, page] of [['desktop', ann], ['phone', bob]] as const) {
        await cdp.send('Page.bringToFront', {}, page.sessionId); // a background tab renders no frames
        const { data } = (await cdp.send('Page.captureScreenshot', { format: 'png' }, page.sessionId)) as { data: string };
        writeFileSync(join(dir, `chat-${name}.png`), Buffer.from(data, 'base64'));
      }
    }

    // The server goes away and comes back on the same port: the pages reconnect by themselves.
    const port = demo.port;
    await stopDemo(demo.child);
    await ann.until(`!(${CONNECTED})`, 'Ann to notice');
    demo = await startDemo(port);
    for (const page of [ann, bob, cat]) await page.until(CONNECTED, 'reconnected');
    await ann.until(`${PEOPLE} === 'Ann (you),Bob'`, 'Ann to see Bob again');
    await bob.evaluate(say('back again'));
    await ann.until(`${LOG}.includes('Bobback again')`, 'a message after the restart');
    await cdp.close();
  } finally {
    await browser?.stop(0);
    await stopDemo(demo.child);
  }
});

test.run();
