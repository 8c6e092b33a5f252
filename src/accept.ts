// accept(): the session-closure form of start(). The handler returns the 101 and hands prise the
// code to run on the Websocket; the server completes the handshake and runs it. Whatever that
// code throws or rejects with closes its own connection with 1011 and goes to the server's
// onError hook, so it can never become an unhandled rejection.
//
//   return accept(request, null, async (ws) => {
//     for await (const message of ws) ws.write(message);
//   });

import { report, type ErrorListener } from './report.js';
import type { Request, Response } from './protocol/response.js';
import { begin, type Session, type StartOptions } from './start.js';
import { failInternally, type Websocket } from './websocket.js';

/**
 * Accepts a WebSocket opening handshake like start(), with the same checks and the same
 * WebsocketError for a request to refuse, and returns the 101 to return from the handler. Once
 * serve(), attach() or upgrade() has sent it, `session` runs on the Websocket.
 */
export function accept(
  request: Request,
  subprotocol: string | null | undefined,
  session: Session,
  options: StartOptions = {},
): Response {
  if (typeof session !== 'function') {
    throw new TypeError(`accept() needs a session function as its third argument, got ${String(session)}`);
  }
  return begin(request, subprotocol, options, session).response;
}

/**
 * Runs a session on its Websocket. An exception or a rejection closes the connection with 1011
 * (RFC 6455 §7.4.1: "encountered an unexpected condition"), with the error in closeInfo, and is
 * reported to `onError`. A connection already closing finishes its closing handshake (bounded by
 * closeTimeout): cutting it would lose the close frames and what was written before them.
 */
export function runSession<R extends Request>(ws: Websocket, session: Session, request: R, onError: ErrorListener<R>): void {
  const fail = (error: unknown): void => {
    ws[failInternally](error);
    report(onError, error, request);
  };
  let result: unknown;
  try {
    result = session(ws);
  } catch (error) {
    return fail(error);
  }
  if (isThenable(result)) result.then(undefined, fail);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
