// Server mode: serve() with a handler that accept()s WebSocket requests (on --path, or any path),
// answers other requests from --serve-dir, and runs each connection as an echo, a member of the
// broadcast group, or an --exec process. Ctrl-C (or SIGTERM) shuts down gracefully with
// shutdown(): 1001 to every client, bounded in time; a second Ctrl-C exits at once.

import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { accept } from '../accept.js';
import { requestedProtocols } from '../protocol/handshake.js';
import { checkOrigins } from '../protocol/origin.js';
import type { Response } from '../protocol/response.js';
import { serve, shutdown, type ListeningHttp2Server, type ListeningServer } from '../server.js';
import type { Websocket } from '../websocket.js';
import { ExitCode, ServerMode, UsageError, type ServerConfig } from './args.js';
import { broadcastGroup } from './broadcast.js';
import { connectionLog, type Counts } from './connection-log.js';
import { runExec } from './exec.js';
import { warn } from './log.js';
import { serveFile } from './static.js';

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body: body + '\n' };
}

export async function runServer(config: ServerConfig): Promise<ExitCode> {
  const tls = config.tlsKey === undefined ? undefined : { key: readOption('--tls-key', config.tlsKey), cert: readOption('--tls-cert', config.tlsCert!) };
  if (config.serveDir !== undefined && !isDirectory(config.serveDir)) throw new UsageError(`--serve-dir ${config.serveDir} is not a directory`);
  const log = connectionLog(config.quiet);
  const counts = new WeakMap<Websocket, Counts>();
  const group = broadcastGroup((ws) => counts.get(ws)!.out++);
  /** --exec processes still running, so that shutdown can wait for them. */
  const processes = new Set<Promise<void>>();
  let live = 0;
  let lastId = 0;

  const options = { deflate: config.deflate, ...(config.origins.length === 0 ? {} : { origins: config.origins }) };
  try {
    if (options.origins !== undefined) checkOrigins(options.origins);
  } catch (error) {
    throw new UsageError(`--origin: ${(error as Error).message}`);
  }

  const session = (ws: Websocket, request: IncomingMessage | Http2ServerRequest): void => {
    // Handshakes that crossed can overshoot the handler's check: those go away at once.
    if (++live > config.maxConnections) {
      ws.close(1013, 'too many connections');
      void ws.closeInfo.then(() => live--);
      return;
    }
    const id = ++lastId;
    const remote = addressOf(request.socket.remoteAddress, request.socket.remotePort);
    const began = Date.now();
    const mine: Counts = { in: 0, out: 0 };
    counts.set(ws, mine);
    const path = (request.url ?? '/').split('?')[0]!;
    log.opened(id, remote, path, ws.protocol, request.httpVersion);
    void ws.closeInfo.then((info) => {
      live--;
      log.closed(id, remote, ws.protocol, Date.now() - began, mine, info);
    });
    if (config.serverMode === ServerMode.Echo) echo(ws, mine);
    else if (config.serverMode === ServerMode.Broadcast) {
      group.join(ws);
      ws.on('data', (message: string | Buffer) => {
        mine.in++;
        group.send(ws, message);
      });
    } else {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const gone = runExec(ws, {
        command: config.command!,
        binary: config.binary,
        killGrace: config.killGrace,
        counts: mine,
        log: (line) => log.note(id, line),
        env: {
          PRISE_WS_ID: String(id),
          REMOTE_ADDR: request.socket.remoteAddress ?? '',
          REMOTE_PORT: String(request.socket.remotePort ?? ''),
          REQUEST_URI: request.url ?? '/',
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          WEBSOCKET_PROTOCOL: ws.protocol ?? '',
        },
      });
      processes.add(gone);
      void gone.then(() => processes.delete(gone));
    }
  };

  const handler = (request: IncomingMessage | Http2ServerRequest): Response | Promise<Response> => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (!isWebsocketRequest(request) && config.serveDir !== undefined) return serveFile(config.serveDir, request);
    if (config.path !== undefined && path !== config.path) return text(404, 'not found');
    if (live >= config.maxConnections) return text(503, 'too many connections', { 'Retry-After': '5' });
    // The server's list, chosen in the client's order; none in common: answer without one.
    const protocol = requestedProtocols(request).find((offered) => config.protocols.includes(offered)) ?? null;
    // accept() throws the 400/426 (or the 403 of a refused Origin) for serve() to send.
    return accept(request, protocol, (ws) => session(ws, request), options);
  };

  let server: ListeningServer | ListeningHttp2Server;
  try {
    const common = {
      host: config.host,
      port: config.port,
      ...(tls === undefined ? {} : { tls }),
      onError: (error: unknown, request: { method?: string | undefined; url?: string | undefined }) =>
        warn(`handler failed for ${request.method} ${request.url}: ${(error as Error).message}`),
    };
    server = config.http2 ? await serve(handler, { ...common, http2: true }) : await serve(handler as (request: IncomingMessage) => Response | Promise<Response>, common);
  } catch (error) {
    warn(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    return ExitCode.ConnectFailed;
  }
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const mode = (config.serverMode === ServerMode.Exec ? `exec ${config.command}` : config.serverMode) + (config.http2 ? ', http/2' : '');
  warn(`listening on ${tls === undefined ? 'ws' : 'wss'}://${host}:${port}${config.path ?? '/'} (${mode})`);

  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        warn(`${signal} again: exiting at once`);
        process.exit(130);
      }
      stopping = true;
      warn(`${signal}: shutting down (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to exit at once)`);
      void shutdown(server, { timeout: config.shutdownTimeout }).then(async () => {
        // The processes got SIGTERM as their connections closed; SIGKILL follows after the grace.
        await Promise.race([Promise.all(processes), new Promise((done) => setTimeout(done, config.killGrace + 1000).unref())]);
        resolve(ExitCode.Ok);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

function echo(ws: Websocket, counts: Counts): void {
  ws.on('data', (message: string | Buffer) => {
    counts.in++;
    counts.out++;
    if (!ws.write(message) && !ws.isPaused()) {
      ws.pause();
      ws.once('drain', () => ws.resume());
    }
  });
}

/** An RFC 6455 upgrade, or an RFC 8441 extended CONNECT over HTTP/2. */
function isWebsocketRequest(request: IncomingMessage | Http2ServerRequest): boolean {
  if (request.method === 'CONNECT') return true;
  const upgrade = request.headers.upgrade;
  return /(^|[\s,])websocket($|[\s,])/i.test(typeof upgrade === 'string' ? upgrade : '');
}

function addressOf(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '-';
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function readOption(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read ${option} ${file}: ${(error as Error).message}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
