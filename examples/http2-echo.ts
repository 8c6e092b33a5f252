// An echo server for WebSockets over HTTP/2 (RFC 8441) and HTTP/1.1 on one TLS port. A browser
// that loaded a page from this origin over h2 opens its wss: WebSockets on the same connection;
// other clients upgrade over HTTP/1.1 as usual. Key and certificate as in wss-echo.ts:
//   TLS_KEY=key.pem TLS_CERT=cert.pem node dist/examples/http2-echo.js

import { readFileSync } from 'node:fs';
import { serve, start } from 'prise-ws';

const server = await serve(
  (request) => {
    // An extended CONNECT over HTTP/2 (httpVersion '2.0'), or an upgrade over HTTP/1.1.
    if (request.method !== 'CONNECT' && request.headers.upgrade === undefined) {
      return { status: 200, body: `echo over http/${request.httpVersion}: connect with a websocket\n` };
    }
    const { response, websocket } = start(request, null);
    websocket.then((ws) => ws.pipe(ws));
    return response;
  },
  {
    http2: true,
    port: Number(process.env.PORT ?? 8443),
    tls: {
      key: readFileSync(process.env.TLS_KEY ?? 'key.pem'),
      cert: readFileSync(process.env.TLS_CERT ?? 'cert.pem'),
    },
  },
);

console.log(`http/2 + http/1.1 echo server on wss://127.0.0.1:${server.port}/`);
