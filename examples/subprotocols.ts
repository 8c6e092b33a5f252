// Choosing a subprotocol: the handler sees the client's list, in its order, and picks one.
// A client that offers none of ours gets a 400 that says so.

import { requestedProtocols, serve, start, WebsocketError, type Websocket } from 'prise-ws';

/** The protocols we speak, best first. */
const supported = ['chat.v2', 'chat.v1'];

async function chat(ws: Websocket): Promise<void> {
  for await (const message of ws) {
    // v2 clients get JSON, v1 clients plain text.
    ws.write(ws.protocol === 'chat.v2' ? JSON.stringify({ echo: message }) : `echo: ${message}`);
  }
}

const server = await serve(
  (request) => {
    const offered = requestedProtocols(request);
    const chosen = supported.find((protocol) => offered.includes(protocol));
    if (chosen === undefined) {
      return { status: 400, body: `offer one of: ${supported.join(', ')}\n` };
    }
    try {
      const { response, websocket } = start(request, chosen);
      websocket.then(chat);
      return response;
    } catch (error) {
      // Not a valid WebSocket handshake: answer with the ready-made 400 / 426.
      if (error instanceof WebsocketError) return error.response;
      throw error;
    }
  },
  { port: Number(process.env.PORT ?? 8080) },
);

console.log(`subprotocol server on ws://127.0.0.1:${server.port}/ (speaks ${supported.join(', ')})`);
