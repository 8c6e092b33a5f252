// Negotiating permessage-deflate (RFC 7692) in Sec-WebSocket-Extensions, as pure functions:
// parse the header (RFC 6455 §9.1 grammar, by hand, in linear time), pick the first acceptable
// offer, and write the answer; and, for a client, build the offer and check the server's answer.

import { isToken, trimOws } from './http-syntax.js';

/** One element of a Sec-WebSocket-Extensions list: a name and its parameters, in order. */
export interface ExtensionOffer {
  readonly name: string;
  /** Parameter name and value (`true` for a parameter without one), duplicates kept. */
  readonly params: ReadonlyArray<readonly [string, string | true]>;
}

/** What both sides agreed on for permessage-deflate (RFC 7692 §7.1). */
export interface DeflateParams {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** LZ77 window of the server's compressor, in bits (8 to 15). */
  readonly serverMaxWindowBits: number;
  /** LZ77 window of the client's compressor, in bits (8 to 15). */
  readonly clientMaxWindowBits: number;
}

/** Our side's preferences; every field has a default chosen for small memory per connection. */
export interface DeflateOptions {
  /** Ask that the server's compressor start afresh for each message (default true). */
  serverNoContextTakeover?: boolean;
  /** Ask that the client's compressor start afresh for each message (default true). */
  clientNoContextTakeover?: boolean;
  /** Largest window the server compresses with, 8 to 15 (default 15). */
  serverMaxWindowBits?: number;
  /** Largest window we ask the client to compress with, 8 to 15 (default 15). */
  clientMaxWindowBits?: number;
}

export const DEFLATE = 'permessage-deflate';

/**
 * Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1). Elements that break the grammar are
 * skipped, not fatal: RFC 7692 §5 has the server decline what it cannot accept.
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  for (const element of splitOutsideQuotes(header, 0x2c /* , */)) {
    const parts = splitOutsideQuotes(element, 0x3b /* ; */).map(trimOws);
    const name = parts[0]!;
    if (!isToken(name)) continue;
    const params: Array<[string, string | true]> = [];
    let valid = true;
    for (let i = 1; i < parts.length && valid; i++) {
      const param = parseParam(parts[i]!);
      if (param === null) valid = false;
      else params.push(param);
    }
    if (valid) offers.push({ name, params });
  }
  return offers;
}

/**
 * The server's choice (RFC 7692 §5): the first permessage-deflate offer it can accept, with the
 * Sec-WebSocket-Extensions value to answer with; null declines (answer without the header).
 *
 * The parameter rules of RFC 7692 §7.1, server side:
 * - an offer with an unknown, repeated or invalid parameter is declined (§7.1, "MUST decline");
 * - server_no_context_takeover offered: the answer carries it (§7.1.1.1); we may add it unasked;
 * - client_no_context_takeover: we may add it whether offered or not (§7.1.1.2);
 * - server_max_window_bits=N offered: the answer carries it, with N or less (§7.1.2.1), even
 *   for 15; unasked, we name our own window only when it is below 15;
 * - client_max_window_bits absent: the answer "MUST NOT include" it (§7.1.2.2), so the client
 *   keeps its 15 bits whatever our clientMaxWindowBits; present, with no value or with N: we
 *   answer our limit (at most N) when it is below 15.
 *
 * 8 bits: zlib's raw deflate cannot set up an 8-bit window and uses 9 (Node turns 8 into 9 for
 * DeflateRaw, as ws does). That is still an honest 8-bit window: zlib never matches farther
 * back than the window less 262 bytes (MAX_DIST), 250 bytes for 9 bits, which an inflater with
 * a 256-byte window reads. So we accept 8 and answer 8; the regression test checks the claim.
 */
export function negotiateDeflate(
  offers: readonly ExtensionOffer[],
  options: DeflateOptions = {},
): { params: DeflateParams; header: string } | null {
  const serverLimit = options.serverMaxWindowBits ?? 15;
  const clientLimit = options.clientMaxWindowBits ?? 15;
  for (const offer of offers) {
    if (offer.name !== DEFLATE) continue;
    const offered = readParams(offer, 'offer');
    if (offered === null) continue; // RFC 7692 §7.1: decline an offer with bad parameters
    const clientOffered = offered.clientMaxWindowBits;
    const params: DeflateParams = {
      serverNoContextTakeover: offered.serverNoContextTakeover || (options.serverNoContextTakeover ?? true),
      clientNoContextTakeover: offered.clientNoContextTakeover || (options.clientNoContextTakeover ?? true),
      serverMaxWindowBits: Math.min(offered.serverMaxWindowBits ?? 15, serverLimit),
      // A value in the offer is the client's promise to stay within it (§7.1.2.2).
      clientMaxWindowBits:
        clientOffered === undefined ? 15 : Math.min(clientOffered === true ? 15 : clientOffered, clientLimit),
    };
    let header = DEFLATE;
    if (params.serverNoContextTakeover) header += '; server_no_context_takeover';
    if (params.clientNoContextTakeover) header += '; client_no_context_takeover';
    if (offered.serverMaxWindowBits !== undefined || params.serverMaxWindowBits < 15) {
      header += `; server_max_window_bits=${params.serverMaxWindowBits}`;
    }
    if (clientOffered !== undefined && params.clientMaxWindowBits < 15) {
      header += `; client_max_window_bits=${params.clientMaxWindowBits}`;
    }
    return { params, header };
  }
  return null;
}

/**
 * Throws for settings that are not booleans or windows of 8 to 15 bits, naming the option
 * (RangeError for a number out of range, TypeError for a wrong type).
 */
export function checkDeflateOptions(options: DeflateOptions): void {
  for (const name of ['serverNoContextTakeover', 'clientNoContextTakeover'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TypeError(`deflate.${name} must be a boolean, got ${describe(value)}`);
    }
  }
  for (const name of ['serverMaxWindowBits', 'clientMaxWindowBits'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 8 && value <= 15)) {
      throw new RangeError(`deflate.${name} must be an integer from 8 to 15, got ${describe(value)}`);
    }
  }
}

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The Sec-WebSocket-Extensions value a client offers. */
export function deflateOffer(options: DeflateOptions = {}): string {
  let offer = DEFLATE;
  if (options.serverNoContextTakeover ?? false) offer += '; server_no_context_takeover';
  if (options.clientNoContextTakeover ?? false) offer += '; client_no_context_takeover';
  if (options.serverMaxWindowBits !== undefined) offer += `; server_max_window_bits=${options.serverMaxWindowBits}`;
  // Announce that we can honour a smaller client window, as browsers do.
  offer += options.clientMaxWindowBits === undefined ? '; client_max_window_bits' : `; client_max_window_bits=${options.clientMaxWindowBits}`;
  return offer;
}

/**
 * Checks the server's answer to our offer (made by deflateOffer(options)) and returns what was
 * agreed, or null if the server declined. Throws a TypeError describing an answer we must
 * refuse (RFC 7692 §7.1, client side: "MUST _Fail the WebSocket Connection_"):
 * - an unknown, repeated or invalid parameter, or a second extension;
 * - client_max_window_bits without a value, or above the value we offered (§7.1.2.2);
 * - server_max_window_bits above the value we offered (§7.1.2.1); missing, it means 15 (a server
 *   should name it when we offered it, but 15 is what we can take if we offered 15). Unasked,
 *   any 8 to 15 is fine (the server may shrink its own window);
 * - no server_no_context_takeover when we offered it (§7.1.1.1).
 * Windows of 8 bits are accepted: see negotiateDeflate() for why zlib's 9 keeps within them.
 */
export function acceptDeflateAnswer(header: string | undefined, options: DeflateOptions = {}): DeflateParams | null {
  if (header === undefined || trimOws(header) === '') return null;
  const answers = parseExtensions(header);
  if (answers.length !== 1 || answers[0]!.name !== DEFLATE || splitOutsideQuotes(header, 0x2c).length !== 1) {
    throw new TypeError(`server answered extensions we did not offer: ${header}`);
  }
  const answer = readParams(answers[0]!, 'answer');
  if (answer === null) throw new TypeError(`invalid permessage-deflate answer: ${header}`);
  const clientBits = answer.clientMaxWindowBits;
  if (clientBits === true) throw new TypeError('client_max_window_bits in an answer needs a value');
  // An answer without it says 15 bits: refused unless we allowed 15.
  if (options.serverMaxWindowBits !== undefined && (answer.serverMaxWindowBits ?? 15) > options.serverMaxWindowBits) {
    throw new TypeError('server_max_window_bits larger than offered');
  }
  if (options.clientMaxWindowBits !== undefined && clientBits !== undefined && clientBits > options.clientMaxWindowBits) {
    throw new TypeError('client_max_window_bits larger than offered');
  }
  if (options.serverNoContextTakeover === true && !answer.serverNoContextTakeover) {
    throw new TypeError('server_no_context_takeover was asked for but not agreed');
  }
  return {
    serverNoContextTakeover: answer.serverNoContextTakeover,
    clientNoContextTakeover: answer.clientNoContextTakeover || (options.clientNoContextTakeover ?? false),
    serverMaxWindowBits: answer.serverMaxWindowBits ?? 15,
    // Without an answer, the window we offered still binds us: we told the server we keep to it.
    clientMaxWindowBits: clientBits ?? options.clientMaxWindowBits ?? 15,
  };
}

interface ReadParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits?: number;
  /** `true`: named without a value (allowed in an offer only). */
  clientMaxWindowBits?: number | true;
}

/** The permessage-deflate parameters of one element, or null if any is unknown, repeated or bad. */
function readParams(offer: ExtensionOffer, kind: 'offer' | 'answer'): ReadParams | null {
  const read: ReadParams = { serverNoContextTakeover: false, clientNoContextTakeover: false };
  const seen = new Set<string>();
  for (const [name, value] of offer.params) {
    if (seen.has(name)) return null;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return null;
        if (name === 'server_no_context_takeover') read.serverNoContextTakeover = true;
        else read.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = windowBits(value);
        if (bits === null) return null;
        read.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        if (value === true && kind === 'offer') read.clientMaxWindowBits = true;
        else {
          const bits = windowBits(value);
          if (bits === null) return null;
          read.clientMaxWindowBits = bits;
        }
        break;
      }
      default:
        return null;
    }
  }
  return read;
}

/** RFC 7692 §7.1.2: a decimal integer from 8 to 15, without leading zeros. */
function windowBits(value: string | true): number | null {
  if (value === true) return null;
  if (value.length === 1 && (value === '8' || value === '9')) return Number(value);
  if (value.length === 2 && value[0] === '1' && value.charCodeAt(1) >= 0x30 && value.charCodeAt(1) <= 0x35) {
    return Number(value);
  }
  return null;
}

/** `name`, `name=token` or `name="quoted"`; null when it breaks the grammar. */
function parseParam(text: string): [string, string | true] | null {
  const eq = text.indexOf('=');
  if (eq === -1) return isToken(text) ? [text, true] : null;
  const name = trimOws(text.slice(0, eq));
  let value = trimOws(text.slice(eq + 1));
  if (!isToken(name)) return null;
  if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
    const unquoted = unquote(value.slice(1, -1));
    if (unquoted === null) return null;
    value = unquoted;
  }
  // RFC 6455 §9.1: a quoted value, once unescaped, must still be a token.
  return isToken(value) ? [name, value] : null;
}

function unquote(inner: string): string | null {
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    let c = inner[i]!;
    if (c === '"') return null;
    if (c === '\\') {
      if (++i === inner.length) return null;
      c = inner[i]!;
    }
    out += c;
  }
  return out;
}

/** Splits on `separator` where it is not inside a quoted string (RFC 7230 §3.2.6). */
function splitOutsideQuotes(text: string, separator: number): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return separator === 0x2c ? parts.map(trimOws).filter((part) => part !== '') : parts;
}
