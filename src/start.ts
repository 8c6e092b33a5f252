// start(): the request-level entry point. It checks the handshake and returns the 101 response
// together with a promise of the Websocket. Nothing happens on the network here: the response
// carries a handover that the server (serve, attach, upgrade) completes once it has written the
// 101 on the request's socket, which is when the promise resolves.

import type { Duplex } from 'node:stream';
import { WebsocketError } from './protocol/errors.js';
import { checkHandshake, switchingProtocols, type AcceptedHandshake } from './protocol/handshake.js';
import { checkExtendedConnect, connectAccepted, isHttp2Request } from './http2/handshake.js';
import type { Request, Response } from './protocol/response.js';
import { checkCompressionOptions, type CompressionOptions } from './deflate.js';
import {
  checkDeflateOptions,
  describe,
  negotiateDeflate,
  parseExtensions,
  type DeflateOptions,
  type DeflateParams,
} from './protocol/extensions.js';
import { checkOrigin, checkOrigins, type Origins } from './protocol/origin.js';
import { Websocket, type WebsocketLimits } from './websocket.js';

/** permessage-deflate settings: what to negotiate, and how to compress. */
export interface DeflateSettings extends DeflateOptions, CompressionOptions {}

/** Limits for the Websocket (see WebsocketLimits for each one and its default), and compression. */
export interface StartOptions extends WebsocketLimits {
  /**
   * Accept permessage-deflate when the client offers it (default false). `true` uses the
   * defaults: no context takeover either way, so a connection holds no zlib memory of its own.
   */
  deflate?: boolean | DeflateSettings;
  /**
   * Origins that may connect; a browser request from any other gets 403 (a WebsocketError of
   * kind 'forbidden-origin'). A list allows requests without Origin (programs, not browsers:
   * they could send any Origin anyway); a function is called with undefined for them.
   * Default: every origin.
   */
  origins?: Origins;
}

/** The code accept() runs on the Websocket once the handshake is complete. */
export type Session = (ws: Websocket) => unknown;

export interface Started {
  /** The 101 Switching Protocols response (over HTTP/2, a 200): return it from the handler. */
  readonly response: Response;
  /** Resolves once the server has sent the response and handed over the connection. */
  readonly websocket: Promise<Websocket>;
}

/** What a 101 from start() carries for the server; see `handoverOf`. */
export interface Handover {
  readonly request: Request;
  /** Builds the Websocket on the socket the 101 was written to, and resolves the promise. */
  complete(socket: Duplex, head: Buffer): Websocket;
  /** Rejects the promise: the request got another answer, or none. */
  abandon(reason: WebsocketError): void;
  /** What accept() runs on the Websocket; null for start(), whose caller has the promise. */
  readonly session: Session | null;
  /** Date.now() when start() was called, to tell a handler that never returns its response. */
  readonly startedAt: number;
}

const handoverKey = Symbol('prise.handover');
/** Pending handovers by request, so a server can reject them if the handler answers otherwise. */
const pendingByRequest = new WeakMap<Request, Set<Handover>>();

/**
 * Accepts a WebSocket opening handshake (RFC 6455 §4.2). `subprotocol` must be one of
 * `requestedProtocols(request)`, or null (or undefined) for none. Throws a WebsocketError whose
 * `response` is the 400, 403 or 426 to send when the request is not an acceptable handshake,
 * and a TypeError or RangeError naming an invalid option.
 */
export function start(request: Request, subprotocol: string | null | undefined, options: StartOptions = {}): Started {
  return begin(request, subprotocol, options, null);
}

/** start() for accept(): the handover also carries the session to run. */
export function begin(
  request: Request,
  subprotocol: string | null | undefined,
  options: StartOptions,
  session: Session | null,
): Started {
  const { deflate, origins, ...limits } = options;
  checkLimits(limits);
  const settings = checkDeflateSettings(deflate);
  if (origins !== undefined) checkOrigins(origins);
  // Over HTTP/2 the handshake is an extended CONNECT answered with 200 (RFC 8441).
  const http2 = isHttp2Request(request);
  const handshake = http2 ? checkExtendedConnect(request, subprotocol) : checkHandshake(request, subprotocol);
  if (origins !== undefined) checkOrigin(request, origins);
  const negotiated = settings === null ? null : negotiateDeflate(parseExtensions(extensionsHeader(request)), settings);
  let resolve!: (websocket: Websocket) => void;
  let reject!: (reason: WebsocketError) => void;
  const websocket = new Promise<Websocket>((res, rej) => ((resolve = res), (reject = rej)));
  // A handler that never awaits the promise must not crash the process when it rejects.
  websocket.catch(() => {});
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    pendingByRequest.get(request)?.delete(handover);
    return true;
  };
  const handover: Handover = {
    request,
    session,
    startedAt: Date.now(),
    complete(socket, head) {
      if (!settle()) throw new Error('this response was already used to answer a request');
      const compression: { deflate?: { params: DeflateParams; options: CompressionOptions } } =
        negotiated === null ? {} : { deflate: { params: negotiated.params, options: settings! } };
      const ws = new Websocket(socket, { ...limits, ...compression, role: 'server', protocol: handshake.protocol, head });
      resolve(ws);
      return ws;
    },
    abandon(reason) {
      if (settle()) reject(reason);
    },
  };
  let pending = pendingByRequest.get(request);
  if (pending === undefined) pendingByRequest.set(request, (pending = new Set()));
  pending.add(handover);
  const response = http2 ? connectAccepted(handshake) : switchingProtocols(handshake as AcceptedHandshake);
  if (negotiated !== null) response.headers!['Sec-WebSocket-Extensions'] = negotiated.header;
  Object.defineProperty(response, handoverKey, { value: handover, enumerable: false });
  return { response, websocket };
}

const DEFLATE_SETTINGS = new Set([
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'level',
  'memLevel',
]);

/**
 * The deflate option of start() or connect() as settings (null: off), checked: a TypeError or
 * RangeError names a setting that is unknown or out of range, before any zlib stream exists.
 */
export function checkDeflateSettings(deflate: unknown): DeflateSettings | null {
  if (deflate === undefined || deflate === false) return null;
  if (deflate === true) return {};
  if (typeof deflate !== 'object' || deflate === null || Array.isArray(deflate)) {
    throw new TypeError(`deflate must be true, false or an object of settings, got ${describe(deflate)}`);
  }
  for (const name of Object.keys(deflate)) {
    if (!DEFLATE_SETTINGS.has(name)) {
      throw new TypeError(`deflate.${name} is not a setting (known: ${[...DEFLATE_SETTINGS].join(', ')})`);
    }
  }
  checkDeflateOptions(deflate as DeflateSettings);
  checkCompressionOptions(deflate as DeflateSettings);
  return deflate as DeflateSettings;
}

/** The client's Sec-WebSocket-Extensions, repeated headers joined as one list. */
function extensionsHeader(request: Request): string {
  const value = request.headers['sec-websocket-extensions'];
  return value === undefined ? '' : typeof value === 'string' ? value : value.join(', ');
}

/** Throws a RangeError for a limit that is not a non-negative integer (a programming error). */
export function checkLimits(limits: WebsocketLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
    }
  }
}

/** The handover a 101 response from start() carries, if it is one. */
export function handoverOf(response: Response): Handover | null {
  return (response as { [handoverKey]?: Handover })[handoverKey] ?? null;
}

/** When the oldest start() (not accept()) still waiting for this request was called, or null. */
export function pendingSince(request: Request): number | null {
  let oldest: number | null = null;
  for (const handover of pendingByRequest.get(request) ?? []) {
    if (handover.session === null && (oldest === null || handover.startedAt < oldest)) oldest = handover.startedAt;
  }
  return oldest;
}

/** Rejects every pending start() for `request` except `keep`: it was answered another way. */
export function abandonHandovers(request: Request, status: number, keep: Handover | null = null): void {
  const pending = pendingByRequest.get(request);
  if (pending === undefined) return;
  // Answered by the 101 of another start() for the same request: say so, not "101, not upgraded".
  const message =
    keep !== null
      ? 'start() was called again for this request; the response from another call answered it'
      : `the request was answered with status ${status}, not upgraded`;
  for (const handover of [...pending]) {
    if (handover === keep) continue;
    handover.abandon(new WebsocketError('not-upgraded', message, { status }));
  }
}
