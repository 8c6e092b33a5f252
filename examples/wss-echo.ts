// An echo server over TLS (wss://). It needs a key and a certificate; for a local try, make a
// throwaway self-signed pair and trust it in the client (tls: { ca } for connect()):
//   openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
//     -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost
//   TLS_KEY=key.pem TLS_CERT=cert.pem node dist/examples/wss-echo.js

import { readFileSync } from 'node:fs';
import { serve, start } from 'prise-ws';

const server = await serve(
  (request) => {
    if (request.headers.upgrade === undefined) return { status: 200, body: 'wss echo: connect with a websocket\n' };
    const { response, websocket } = start(request, null);
    websocket.then((ws) => ws.pipe(ws));
    return response;
  },
  {
    port: Number(process.env.PORT ?? 8443),
    // node:https options: the same server answers https:// requests and wss:// upgrades.
    tls: {
      key: readFileSync(process.env.TLS_KEY ?? 'key.pem'),
      cert: readFileSync(process.env.TLS_CERT ?? 'cert.pem'),
    },
  },
);

console.log(`wss echo server on wss://127.0.0.1:${server.port}/`);
