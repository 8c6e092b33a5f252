// The client at a terminal: a node:readline prompt with line editing and history. Lines are
// sent as text; `/ping`, `/close [code] [reason]`, `/binary <hex>` and `/help` are commands
// (`//…` sends a line that starts with '/'). Incoming messages are printed above the prompt and
// the line being typed is redrawn under them, cursor and all.

import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { CloseInfo, Websocket } from '../websocket.js';
import type { ClientConfig } from './args.js';
import { describeClose } from './close.js';
import { formatMessage, hexPreview, jsonError, jsonLine, parseHex } from './format.js';
import { allRead } from './pipe.js';
import { startPinger } from './pinger.js';

const HELP = [
  'commands:',
  '  /ping [text]            send a ping, print the round-trip time',
  '  /close [code] [reason]  close the connection (default 1000)',
  '  /binary <hex>           send a binary message, e.g. /binary 01 02 ff',
  '  //text                  send "/text"',
  '  Ctrl-D or Ctrl-C        close with 1000; Ctrl-C twice exits at once',
].join('\n');

export async function runInteractive(ws: Websocket, config: ClientConfig): Promise<CloseInfo> {
  const stdoutTTY = process.stdout.isTTY === true;
  // The prompt lives on the terminal; with stdout redirected, on stderr.
  const terminal = stdoutTTY ? process.stdout : process.stderr;
  const rl = createInterface({ input: process.stdin, output: terminal, prompt: '> ', historySize: 1000, terminal: true });
  let open = true;

  /** Prints lines above the prompt and redraws the prompt with what was being typed. */
  const show = (text: string): void => {
    clearLine(terminal, 0);
    cursorTo(terminal, 0);
    terminal.write(text + '\n');
    if (open) rl.prompt(true);
  };
  const print = (message: string | Buffer): void => {
    if (!stdoutTTY) return void process.stdout.write(formatMessage(message, { tty: false, jsonl: config.jsonl, nul: false }));
    if (config.jsonl) return show('< ' + jsonLine(message, true));
    show('< ' + (typeof message === 'string' ? message : hexPreview(message)));
  };

  let received = 0;
  ws.on('data', (message: string | Buffer) => {
    if (config.once && received > 0) return;
    received++;
    print(message);
    if (config.once) ws.close(1000);
  });
  const pinger = startPinger(ws, config.pingInterval, config.printPingRtt ? (ms) => show(`pong after ${ms.toFixed(2)} ms`) : null);

  const closeWith = (code: number, reason: string): void => {
    try {
      ws.close(code, reason);
      show(`closing with ${code}${reason === '' ? '' : ' ' + reason}`);
    } catch (error) {
      show(`cannot close: ${(error as Error).message}`);
    }
  };
  const command = (line: string): void => {
    const [name, ...rest] = line.slice(1).split(/\s+/);
    const argument = line.slice(1 + name!.length).trim();
    switch (name) {
      case 'ping':
        return pinger.ping((ms) => show(`pong after ${ms.toFixed(2)} ms`));
      case 'close': {
        const code = rest[0] === undefined ? 1000 : Number(rest[0]);
        if (!Number.isInteger(code)) return show(`not a close code: ${rest[0]}`);
        return closeWith(code, rest.slice(1).join(' '));
      }
      case 'binary':
        try {
          ws.write(parseHex(argument));
        } catch (error) {
          show((error as Error).message);
        }
        return;
      case 'help':
        return show(HELP);
      default:
        return show(`unknown command /${name} (/help lists them; //${name} sends "/${name}")`);
    }
  };
  rl.on('line', (line: string) => {
    if (ws.readyState !== 'open') show('not sent: the connection is closing');
    else if (line.startsWith('/') && !line.startsWith('//')) command(line);
    else if (line !== '') {
      const text = line.startsWith('//') ? line.slice(1) : line;
      const error = config.jsonl ? jsonError(text) : null;
      if (error !== null) show(`not JSON, not sent: ${error}`);
      else ws.write(text);
    }
    if (open) rl.prompt();
  });
  let interrupted = false;
  rl.on('SIGINT', () => {
    if (interrupted || ws.readyState !== 'open') process.exit(130);
    interrupted = true;
    closeWith(1000, '');
  });
  rl.on('close', () => {
    // Ctrl-D, or we closed it below.
    if (open && ws.readyState === 'open') closeWith(1000, '');
    open = false;
  });
  show(`connected${ws.protocol === null ? '' : ` (protocol ${ws.protocol})`}; /help for commands`);
  const info = await ws.closeInfo;
  pinger.stop();
  await allRead(ws);
  show(`closed: ${describeClose(info)}`);
  open = false;
  rl.close();
  return info;
}
