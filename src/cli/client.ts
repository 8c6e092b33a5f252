// Client mode: dial the URL with connect(), then hand the Websocket to the pipe (stdin and
// stdout are files or pipes) or to the interactive prompt (stdin is a terminal). The exit code
// follows from how the connection ended.

import { readFileSync } from 'node:fs';
import { connect, type ConnectOptions } from '../client.js';
import { ConnectError } from '../protocol/errors.js';
import type { Websocket } from '../websocket.js';
import { ExitCode, UsageError, type ClientConfig } from './args.js';
import { closeExitCode } from './close.js';
import { runInteractive } from './interactive.js';
import { warn } from './log.js';
import { runPipe } from './pipe.js';

/** Longest refusal body printed after a failed handshake. */
const MAX_BODY = 4096;

export async function runClient(config: ClientConfig): Promise<ExitCode> {
  let ws: Websocket;
  try {
    ws = await connect(config.url, connectOptions(config));
  } catch (error) {
    return reportConnectError(error, config.url);
  }
  const info = process.stdin.isTTY ? await runInteractive(ws, config) : await runPipe(ws, config);
  return closeExitCode(info);
}

function connectOptions(config: ClientConfig): ConnectOptions {
  const tls: NonNullable<ConnectOptions['tls']> = {};
  if (config.insecure) tls.rejectUnauthorized = false;
  if (config.ca !== undefined) {
    try {
      tls.ca = readFileSync(config.ca);
    } catch (error) {
      throw new UsageError(`cannot read --ca ${config.ca}: ${(error as Error).message}`);
    }
  }
  return {
    protocols: config.protocols,
    headers: config.headers,
    ...(config.origin === undefined ? {} : { origin: config.origin }),
    deflate: config.deflate,
    tls,
    handshakeTimeout: config.connectTimeout,
    ...(config.http2 ? { http2: 'require' as const } : {}),
  };
}

/** Prints why connect() failed; returns the exit code that says so. */
function reportConnectError(error: unknown, url: string): ExitCode {
  if (error instanceof ConnectError && error.code === 'ERR_WS_INVALID_URL') throw new UsageError(error.message);
  if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
  if (!(error instanceof ConnectError)) throw error;
  const cause = error.cause instanceof Error ? error.cause : null;
  if (error.code === 'ERR_WS_CONNECTION_FAILED' && cause !== null) {
    const code = (cause as { code?: string }).code;
    warn(`cannot connect to ${url}: ${cause.message}${code === undefined || cause.message.includes(code) ? '' : ` (${code})`}`);
  } else {
    warn(`cannot connect to ${url}: ${error.message}`);
  }
  // A refused handshake's body explains the status; the message quotes only its start.
  const body = error.body ?? '';
  if (body.trim().length > 0 && !error.message.endsWith(JSON.stringify(body.trim()))) process.stderr.write(body.slice(0, MAX_BODY) + (body.endsWith('\n') ? '' : '\n'));
  return ExitCode.ConnectFailed;
}
