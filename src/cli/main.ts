#!/usr/bin/env node
// prise-ws on the command line: a client (`prise-ws <url>`) or a server (`prise-ws --listen
// port`). Parses the arguments, runs the mode, and exits with its code once stdout and stderr
// have been flushed. See help.ts for the options and the exit codes.

import { readFileSync } from 'node:fs';
import { ExitCode, parseCommandLine, UsageError } from './args.js';
import { runClient } from './client.js';
import { HELP } from './help.js';
import { flushed, warn } from './log.js';
import { runServer } from './server.js';

async function main(argv: readonly string[]): Promise<number> {
  try {
    const config = parseCommandLine(argv);
    switch (config.mode) {
      case 'help':
        process.stdout.write(HELP);
        return ExitCode.Ok;
      case 'version':
        process.stdout.write(version() + '\n');
        return ExitCode.Ok;
      case 'client':
        return await runClient(config);
      case 'server':
        return await runServer(config);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    warn(`${error.message} (prise-ws --help for usage)`);
    return ExitCode.Usage;
  }
}

function version(): string {
  const file = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const code = await main(process.argv.slice(2));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
