// A Websocket is a stream: here each text message goes through a Transform that upper-cases it
// and back to the client, with stream.pipeline handling backpressure and teardown.

import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serve, start, type Websocket } from 'prise-ws';

function shout(): Transform {
  return new Transform({
    objectMode: true,
    transform(message: string | Buffer, _encoding, callback) {
      callback(null, typeof message === 'string' ? message.toUpperCase() : message);
    },
  });
}

async function session(ws: Websocket): Promise<void> {
  // Ends when the client closes; a slow client slows the pipeline instead of filling memory.
  await pipeline(ws, shout(), ws).catch(() => {});
  const { code } = await ws.closeInfo;
  console.log(`client left with code ${code}`);
}

const server = await serve(
  (request) => {
    const { response, websocket } = start(request, null);
    websocket.then(session);
    return response;
  },
  { port: Number(process.env.PORT ?? 8080) },
);

console.log(`shouting server on ws://127.0.0.1:${server.port}/`);
