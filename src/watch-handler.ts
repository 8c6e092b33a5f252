// The watch on a handler that called start() for an upgrade request: the 101 goes out only once
// the handler returns, so a handler that awaits its websocket promise waits forever. After the
// handshake timeout it is failed with an error naming that mistake (the server answers 500).

import type { IncomingMessage } from 'node:http';
import { pendingSince } from './start.js';

/** `result`, or a rejection once a start() for `request` has waited `timeout` ms for it. */
export function watched<T>(result: T | Promise<T>, request: IncomingMessage, timeout: number): Promise<T> {
  if (!(result instanceof Promise)) return Promise.resolve(result);
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout;
    const check = (): void => {
      if (request.socket.destroyed) return; // nobody left to answer (shutdown cut it off)
      const since = pendingSince(request);
      const wait = since === null ? timeout : since + timeout - Date.now();
      if (wait > 0) return void (timer = setTimeout(check, wait));
      reject(
        new Error(
          `the handler for ${request.method} ${request.url} called start() and has not returned its response ` +
            `${timeout} ms later: the handler awaited the websocket promise? That promise resolves only once the ` +
            '101 has been sent, after the handler returns. Return the response first and use websocket.then(...), ' +
            'or use accept()',
        ),
      );
    };
    timer = setTimeout(check, timeout);
    result.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}
