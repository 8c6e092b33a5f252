// A client: connect, send text and bytes, read the echoes, close. Point it at any echo server:
//   PORT=8080 node dist/examples/echo.js & URL=ws://127.0.0.1:8080/ node dist/examples/client.js

import { ConnectError, connect } from 'prise-ws';

const url = process.env.URL ?? `ws://127.0.0.1:${process.env.PORT ?? 8080}/`;

try {
  // Offered best first; the server may pick one of them, or none (ws.protocol is then null).
  const ws = await connect(url, { protocols: ['chat.v2', 'chat.v1'], handshakeTimeout: 5000 });
  console.log(`connected to ${url} (subprotocol: ${ws.protocol ?? 'none'})`);
  ws.write('hello'); // a string is a text message
  ws.write(Buffer.from([1, 2, 3])); // bytes are a binary message
  let count = 0;
  for await (const message of ws) {
    console.log('received', typeof message === 'string' ? JSON.stringify(message) : message);
    if (++count === 2) ws.close(1000, 'done'); // the loop ends once the server has answered
  }
  const { code, wasClean } = await ws.closeInfo;
  console.log(`closed with ${code}${wasClean ? '' : ' (not cleanly)'}`);
} catch (error) {
  // Every handshake failure is a ConnectError with a stable code (and the status, if any).
  if (!(error instanceof ConnectError)) throw error;
  console.error(`${error.code}: ${error.message}`);
  process.exitCode = 1;
}
