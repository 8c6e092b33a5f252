// Telling the application's onError hook about a failure of its own code (a handler that threw
// or returned something that is not a response, a session that threw), in a way that cannot take
// the process down: a hook that throws, or returns a promise that rejects, is logged and ignored.

import type { Request } from './protocol/response.js';

/** The onError option of serve(), attach() and upgrade(). */
export type ErrorListener<R extends Request = Request> = (error: unknown, request: R) => void;

/** Calls `onError`; whatever it throws or rejects with goes to console.error, never further. */
export function report<R extends Request>(onError: ErrorListener<R>, error: unknown, request: R): void {
  const hookFailed = (hookError: unknown): void => {
    console.error(`prise: the onError hook threw while reporting this error for ${request.method} ${request.url}:`, error);
    console.error('prise: what the onError hook threw:', hookError);
  };
  try {
    const result: unknown = onError(error, request);
    // An async hook returns a promise: its rejection is ours to catch.
    if (result instanceof Promise) result.catch(hookFailed);
  } catch (hookError) {
    hookFailed(hookError);
  }
}

/** The default hook. */
export function logError(error: unknown, request: Request): void {
  console.error(`prise: handler failed for ${request.method} ${request.url}:`, error);
}
