// Who may open a WebSocket from a browser: the Origin allow-list of start() and accept(), as
// pure functions. A browser sends the page's origin with every WebSocket request (RFC 6455
// §4.1 item 8, §10.2) and lets any page connect anywhere, cookies included, so without a check a
// malicious page can use a visitor's session (cross-site WebSocket hijacking).
//
// A request without an Origin comes from a program, not a browser, and is allowed by a list:
// such a client can send any Origin it likes, so the header proves nothing about it, and only
// authentication (a cookie, a token) stops it. A function sees `undefined` and decides itself.

import { WebsocketError } from './errors.js';
import type { Request } from './response.js';

/** Allowed origins: exact ones ('https://example.com'), patterns, or a function that decides. */
export type Origins = ReadonlyArray<string | RegExp> | ((origin: string | undefined) => boolean);

/**
 * Longest Origin compared with a list. A serialized origin (scheme, host of at most 253
 * characters, port) is far shorter; a longer one matches nothing, so a pattern never runs on a
 * client's long header.
 */
export const MAX_ORIGIN_LENGTH = 1024;

/** Throws a TypeError for an `origins` option that is not a list of origins or a function. */
export function checkOrigins(origins: unknown): void {
  if (typeof origins === 'function') return;
  if (!Array.isArray(origins)) {
    throw new TypeError(`origins must be an array of strings and RegExps, or a function, got ${String(origins)}`);
  }
  for (const entry of origins as unknown[]) {
    if (entry instanceof RegExp) continue;
    if (typeof entry !== 'string' || !isOrigin(entry)) {
      throw new TypeError(
        `origins entry ${JSON.stringify(entry)} is not an origin such as "https://example.com" (scheme, host, port; no path)`,
      );
    }
  }
}

/** Whether a request with this Origin (undefined: none) may connect. */
export function originAllowed(origin: string | undefined, origins: Origins): boolean {
  if (typeof origins === 'function') return origins(origin) === true;
  if (origin === undefined) return true;
  if (origin.length > MAX_ORIGIN_LENGTH) return false;
  const lower = origin.toLowerCase();
  for (const entry of origins) {
    if (typeof entry === 'string' ? entry.toLowerCase() === lower : testPattern(entry, origin)) return true;
  }
  return false;
}

/** Throws the 403 WebsocketError (kind 'forbidden-origin') unless the request's Origin is allowed. */
export function checkOrigin(request: Request, origins: Origins): void {
  const value = request.headers['origin'];
  // Repeated Origin headers are joined, and so match no origin.
  const origin = value === undefined || value === '' ? undefined : typeof value === 'string' ? value : value.join(', ');
  if (originAllowed(origin, origins)) return;
  const message = origin === undefined ? 'a request without origin is not allowed' : `origin ${origin} is not allowed`;
  throw new WebsocketError('forbidden-origin', message, {
    status: 403,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    body: message + '\n',
  });
}

/** A RegExp with the g or y flag keeps state between tests; start each from the beginning. */
function testPattern(pattern: RegExp, origin: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(origin);
}

/** `null` (opaque origins) or scheme://host[:port], nothing after it. */
function isOrigin(entry: string): boolean {
  if (entry === 'null') return true;
  const separator = entry.indexOf('://');
  if (separator <= 0) return false;
  const authority = entry.slice(separator + 3);
  return authority !== '' && !authority.includes('/') && !authority.includes('?') && !authority.includes('#');
}
