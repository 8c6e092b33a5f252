// The page the browser tests load: its script uses the browser's own WebSocket against the server
// that served it. Each case is an async function of `window.cases` that opens /ws?case=<name>,
// does its exchange, checks what it can in the page and returns a small JSON summary (8 MiB of
// echo is compared here, not shipped back over DevTools).

const script = String.raw`
'use strict';

/** Opens /ws?case=name; messages queue up until next() takes them. */
function open(name, protocols) {
  return new Promise(function (resolve, reject) {
    // window.deflate: ask the server to accept the permessage-deflate Chromium always offers.
    const query = '/ws?case=' + name + (window.deflate ? '&deflate=1' : '');
    const ws = new WebSocket('ws://' + location.host + query, protocols);
    ws.binaryType = 'arraybuffer';
    const queue = [];
    const waiting = [];
    ws.onmessage = function (event) {
      const waiter = waiting.shift();
      if (waiter) waiter(event.data); else queue.push(event.data);
    };
    const closed = new Promise(function (done) {
      ws.onclose = function (event) { done({ code: event.code, reason: event.reason, wasClean: event.wasClean }); };
    });
    ws.onopen = function () {
      resolve({
        ws: ws,
        closed: closed,
        next: function () {
          if (queue.length > 0) return Promise.resolve(queue.shift());
          return new Promise(function (r) { waiting.push(r); });
        },
      });
    };
    ws.onerror = function () { reject(new Error('websocket error in case ' + name)); };
  });
}

/** size bytes that do not repeat with a short period. */
function bytes(size, seed) {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function utf8Length(text) { return new TextEncoder().encode(text).length; }

window.cases = {
  negotiate: async function () {
    const c = await open('negotiate', ['chat.v3', 'chat.v2', 'chat.v1']);
    const result = { protocol: c.ws.protocol, extensions: c.ws.extensions };
    c.ws.close();
    await c.closed;
    return result;
  },

  text: async function () {
    // 4-byte characters (emoji, U+1D11E) around every frame-length boundary, shifted by 0-3
    // ASCII bytes so a character straddles each one.
    const texts = ['', 'hello', 'h\u00e9llo w\u00f6rld \u20ac', '\u{1F600}', 'a\u{1F600}b\u{1D11E}c'];
    const counts = [31, 32, 16383, 16384, 262144];
    for (const count of counts) for (const pad of ['', 'x', 'xx', 'xxx']) texts.push(pad + '\u{1F600}'.repeat(count));
    const c = await open('text');
    for (const text of texts) c.ws.send(text);
    const results = [];
    for (const text of texts) {
      const echo = await c.next();
      results.push({ bytes: utf8Length(text), ok: echo === text });
    }
    c.ws.close(1000);
    await c.closed;
    return results;
  },

  binary: async function () {
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 8 << 20];
    const c = await open('binary');
    for (const size of sizes) c.ws.send(bytes(size, size + 3));
    const results = [];
    for (const size of sizes) {
      const echo = new Uint8Array(await c.next());
      results.push({ size: size, received: echo.length, ok: sameBytes(echo, bytes(size, size + 3)) });
    }
    c.ws.close(1000);
    await c.closed;
    return results;
  },

  ordered: async function () {
    const count = 1000;
    const c = await open('ordered');
    for (let i = 0; i < count; i++) {
      // Every fifth message is binary, so text and binary must interleave in order too.
      if (i % 5 === 0) c.ws.send(new Uint32Array([i]));
      else c.ws.send('message ' + i);
    }
    let firstWrong = -1;
    for (let i = 0; i < count; i++) {
      const echo = await c.next();
      const ok = i % 5 === 0
        ? echo instanceof ArrayBuffer && new Uint32Array(echo)[0] === i
        : echo === 'message ' + i;
      if (!ok && firstWrong === -1) firstWrong = i;
    }
    c.ws.close(1000);
    await c.closed;
    return { count: count, firstWrong: firstWrong };
  },

  clientClose: async function () {
    const c = await open('client-close');
    c.ws.close(4000, 'bye from the browser \u{1F44B}');
    return await c.closed;
  },

  serverClose: async function () {
    const c = await open('server-close');
    return await c.closed;
  },

  ping: async function () {
    const c = await open('ping');
    // The server pings, the browser answers by itself, and the server then says so.
    const said = await c.next();
    c.ws.close(1000);
    await c.closed;
    return said;
  },
};
window.ready = true;
`;

export const PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>prise browser test</title>
<script>${script}</script>
`;
