// The command line, parsed with node:util's parseArgs into one of two plain configurations:
// a client (`prise-ws [options] <url>`) or a server (`prise-ws --listen [host:]port`). Anything
// wrong with the arguments is a UsageError (exit code 2), raised before any I/O happens.

import { parseArgs } from 'node:util';

/** The exit codes, as documented in --help. */
export const ExitCode = {
  /** Closed cleanly: 1000, or a close frame without a code (1005). */
  Ok: 0,
  /** Could not connect (refused handshake, no HTTP answer at all) or could not listen. */
  ConnectFailed: 1,
  /** Bad arguments. */
  Usage: 2,
  /** The connection closed with any other code, or without a closing handshake. */
  Abnormal: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ClientConfig {
  readonly mode: 'client';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly protocols: string[];
  readonly origin: string | undefined;
  readonly insecure: boolean;
  /** Path of a PEM file of certificates to trust. */
  readonly ca: string | undefined;
  readonly deflate: boolean;
  /** stdin is sent as binary messages, split per read (or at NUL with `nul`). */
  readonly binary: boolean;
  /** -0: NUL separates messages, on input and on output. */
  readonly nul: boolean;
  readonly once: boolean;
  readonly noClose: boolean;
  /** ms between our pings, or null for none. */
  readonly pingInterval: number | null;
  readonly printPingRtt: boolean;
  readonly jsonl: boolean;
  /** ms the opening handshake may take. */
  readonly connectTimeout: number;
  /** Open the WebSocket on an HTTP/2 stream (RFC 8441), no fallback. */
  readonly http2: boolean;
}

export const ServerMode = { Echo: 'echo', Broadcast: 'broadcast', Exec: 'exec' } as const;
export type ServerMode = (typeof ServerMode)[keyof typeof ServerMode];

export interface ServerConfig {
  readonly mode: 'server';
  readonly host: string;
  readonly port: number;
  readonly serverMode: ServerMode;
  /** The --exec command line, run with /bin/sh -c. */
  readonly command: string | undefined;
  readonly serveDir: string | undefined;
  /** The WebSocket endpoint's path; undefined: every path. */
  readonly path: string | undefined;
  readonly tlsKey: string | undefined;
  readonly tlsCert: string | undefined;
  /** Subprotocols the server supports; the client's first one among them is chosen. */
  readonly protocols: string[];
  /** Origins allowed; empty: any. */
  readonly origins: string[];
  readonly maxConnections: number;
  readonly quiet: boolean;
  readonly binary: boolean;
  readonly deflate: boolean;
  /** ms an --exec process gets between SIGTERM and SIGKILL. */
  readonly killGrace: number;
  /** ms a graceful shutdown may take. */
  readonly shutdownTimeout: number;
  /** Serve HTTP/2 too (RFC 8441): with TLS beside HTTP/1.1, without it h2c only. */
  readonly http2: boolean;
}

export type Config = ClientConfig | ServerConfig | { readonly mode: 'help' } | { readonly mode: 'version' };

const options = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  // client
  header: { type: 'string', short: 'H', multiple: true },
  protocol: { type: 'string', short: 'p', multiple: true },
  origin: { type: 'string', multiple: true },
  insecure: { type: 'boolean', short: 'k' },
  ca: { type: 'string' },
  deflate: { type: 'boolean' },
  http2: { type: 'boolean' },
  binary: { type: 'boolean', short: 'b' },
  null: { type: 'boolean', short: '0' },
  once: { type: 'boolean' },
  'no-close': { type: 'boolean' },
  'ping-interval': { type: 'string' },
  'print-ping-rtt': { type: 'boolean' },
  jsonl: { type: 'boolean' },
  'connect-timeout': { type: 'string' },
  // server
  listen: { type: 'string', short: 'l' },
  echo: { type: 'boolean' },
  broadcast: { type: 'boolean' },
  exec: { type: 'string' },
  'serve-dir': { type: 'string' },
  path: { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-cert': { type: 'string' },
  'max-connections': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'kill-grace': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
} as const;

const CLIENT_ONLY = [
  'header', 'insecure', 'ca', 'null', 'once', 'no-close', 'ping-interval', 'print-ping-rtt', 'jsonl', 'connect-timeout',
] as const;
const SERVER_ONLY = [
  'echo', 'broadcast', 'exec', 'serve-dir', 'path', 'tls-key', 'tls-cert', 'max-connections', 'quiet', 'kill-grace',
  'shutdown-timeout',
] as const;

/** Parses argv (without node and the script); throws UsageError. */
export function parseCommandLine(argv: readonly string[]): Config {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { mode: 'help' };
  if (values.version) return { mode: 'version' };
  if (values.listen !== undefined) {
    if (positionals.length > 0) throw new UsageError(`a server takes no URL (got ${positionals[0]})`);
    for (const name of CLIENT_ONLY) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is a client option, not for --listen`);
    }
    return serverConfig(values);
  }
  if (positionals.length === 0) throw new UsageError('no URL given (or --listen for a server)');
  if (positionals.length > 1) throw new UsageError(`one URL at a time (got ${positionals.join(' ')})`);
  for (const name of SERVER_ONLY) {
    if (values[name] !== undefined) throw new UsageError(`--${name} is a server option, needs --listen`);
  }
  if ((values.origin?.length ?? 0) > 1) throw new UsageError('a client sends one --origin');
  if (values['print-ping-rtt'] && values['ping-interval'] === undefined) {
    throw new UsageError('--print-ping-rtt needs --ping-interval');
  }
  if (values.null && !values.binary) throw new UsageError('-0 splits binary input: use it with --binary');
  if (values.jsonl && values.binary) throw new UsageError('--jsonl and --binary do not mix');
  const url = positionals[0]!;
  return {
    mode: 'client',
    url: clientUrl(url),
    headers: headersOf(values.header ?? []),
    protocols: values.protocol ?? [],
    origin: values.origin?.[0],
    insecure: values.insecure ?? false,
    ca: values.ca,
    deflate: values.deflate ?? false,
    binary: values.binary ?? false,
    nul: values.null ?? false,
    once: values.once ?? false,
    noClose: values['no-close'] ?? false,
    pingInterval: values['ping-interval'] === undefined ? null : seconds('--ping-interval', values['ping-interval'], false),
    printPingRtt: values['print-ping-rtt'] ?? false,
    jsonl: values.jsonl ?? false,
    connectTimeout: seconds('--connect-timeout', values['connect-timeout'] ?? '10', false),
    http2: values.http2 ?? false,
  };
}

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>['values'];

function serverConfig(values: Values): ServerConfig {
  const modes = [values.echo && ServerMode.Echo, values.broadcast && ServerMode.Broadcast, values.exec !== undefined && ServerMode.Exec];
  const chosen = modes.filter((mode): mode is ServerMode => typeof mode === 'string');
  if (chosen.length > 1) throw new UsageError(`choose one of --echo, --broadcast, --exec (got ${chosen.join(', ')})`);
  if ((values['tls-key'] === undefined) !== (values['tls-cert'] === undefined)) {
    throw new UsageError('--tls-key and --tls-cert go together');
  }
  if (values.path !== undefined && !values.path.startsWith('/')) throw new UsageError(`--path must start with /, got ${values.path}`);
  if (values.exec === '') throw new UsageError('--exec needs a command line');
  for (const protocol of values.protocol ?? []) {
    if (!TOKEN.test(protocol)) throw new UsageError(`--protocol wants a token (RFC 7230), got '${protocol}'`);
  }
  const { host, port } = listenAddress(values.listen!);
  return {
    mode: 'server',
    host,
    port,
    serverMode: chosen[0] ?? ServerMode.Echo,
    command: values.exec,
    serveDir: values['serve-dir'],
    path: values.path,
    tlsKey: values['tls-key'],
    tlsCert: values['tls-cert'],
    protocols: values.protocol ?? [],
    origins: values.origin ?? [],
    maxConnections: values['max-connections'] === undefined ? Infinity : count('--max-connections', values['max-connections']),
    quiet: values.quiet ?? false,
    binary: values.binary ?? false,
    deflate: values.deflate ?? false,
    killGrace: seconds('--kill-grace', values['kill-grace'] ?? '3', true),
    shutdownTimeout: seconds('--shutdown-timeout', values['shutdown-timeout'] ?? '5', true),
    http2: values.http2 ?? false,
  };
}

/** A URL as typed: no scheme means ws://, and http(s): means ws(s):, as browsers and ws allow. */
export function clientUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return `ws://${text}`;
  return text.replace(/^http(s?):/i, 'ws$1:');
}

/** `8080`, `:8080`, `0.0.0.0:8080`, `[::1]:8080`; the host defaults to 127.0.0.1. */
export function listenAddress(text: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = text;
  const colon = text.lastIndexOf(':');
  if (colon !== -1) {
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    if (host === '') host = '127.0.0.1';
  }
  const port = Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen wants [host:]port, got ${text}`);
  }
  return { host, port };
}

/** `Name: value` lines into a header record; repeated names are joined with ', '. */
export function headersOf(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new UsageError(`-H wants 'Name: value', got '${line}'`);
    }
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A number of seconds (decimals allowed) as ms. */
function seconds(option: string, text: string, zeroAllowed: boolean): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new UsageError(`${option} wants a number of seconds${zeroAllowed ? '' : ' above 0'}, got ${text}`);
  }
  return Math.round(value * 1000);
}

function count(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${option} wants a positive integer, got ${text}`);
  return value;
}
