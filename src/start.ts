// start(): the request-level entry point. It checks the handshake and returns the 101 response
// together with a promise of the Websocket. Nothing happens on the network here: the response
// carries a handover that the server (serve, attach, upgrade) completes once it has written the
// 101 on the request's socket, which is when the promise resolves.

import type { Duplex } from 'node:stream';
import { WebsocketError } from './errors.js';
import { checkHandshake, switchingProtocols } from './handshake.js';
import type { Request, Response } from './response.js';
import type { CompressionOptions } from './deflate.js';
import { negotiateDeflate, parseExtensions, type DeflateOptions, type DeflateParams } from './extensions.js';
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
}

export interface Started {
  /** The 101 Switching Protocols response: return it from the handler. */
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
}

const handoverKey = Symbol('prise.handover');
/** Pending handovers by request, so a server can reject them if the handler answers otherwise. */
const pendingByRequest = new WeakMap<Request, Set<Handover>>();

/**
 * Accepts a WebSocket opening handshake (RFC 6455 §4.2). `subprotocol` must be one of
 * `requestedProtocols(request)`, or null for none. Throws a WebsocketError whose `response` is
 * the 400 or 426 to send when the request is not an acceptable handshake.
 */
export function start(request: Request, subprotocol: string | null, options: StartOptions = {}): Started {
  const { deflate = false, ...limits } = options;
  checkLimits(limits);
  const handshake = checkHandshake(request, subprotocol);
  const settings: DeflateSettings | null = deflate === false ? null : deflate === true ? {} : deflate;
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
  const response = switchingProtocols(handshake);
  if (negotiated !== null) response.headers!['Sec-WebSocket-Extensions'] = negotiated.header;
  Object.defineProperty(response, handoverKey, { value: handover, enumerable: false });
  return { response, websocket };
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

/** Rejects every pending start() for `request` except `keep`: it was answered another way. */
export function abandonHandovers(request: Request, status: number, keep: Handover | null = null): void {
  const pending = pendingByRequest.get(request);
  if (pending === undefined) return;
  for (const handover of [...pending]) {
    if (handover === keep) continue;
    handover.abandon(
      new WebsocketError('not-upgraded', `the request was answered with status ${status}, not upgraded`, {
        status,
      }),
    );
  }
}
