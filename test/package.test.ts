// The package as a user gets it: the sources are copied as a fresh clone would have them (no
// dist/), `npm pack` builds and packs them (prepack), the tarball is installed into an empty
// project, and a small program importing 'prise-ws' is type-checked under strict settings and run.
// TypeScript and Node's types come from this repository's node_modules (linked, not downloaded).

import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** Each command's deadline; together they take a few seconds. */
const COMMAND_DEADLINE = 60_000;

/** Runs a command with a deadline and without the npm_* variables of the `npm test` around us. */
function run(command: string, args: string[], cwd: string, cache: string): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.toLowerCase().startsWith('npm_')) env[name] = value;
  env['npm_config_cache'] = cache; // the user's npm cache is left alone
  env['npm_config_update_notifier'] = 'false';
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout: COMMAND_DEADLINE, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

interface Packed {
  filename: string;
  files: { path: string }[];
}

// The consumer: a server, a client, one echo, a refusal with its body, then exit (printing only
// strings: the test runner's FORCE_COLOR would colour numbers). Its types are
// checked with the options a careful user turns on, including on prise's own declarations.
const PROGRAM = `
import { ConnectError, connect, serve, start, type ListeningServer, type Websocket } from 'prise-ws';

const server: ListeningServer = await serve(
  (request) => {
    if (request.url !== '/echo') return { status: 404, body: 'try /echo\\n' };
    const { response, websocket } = start(request, null);
    void websocket.then((ws: Websocket) => ws.pipe(ws));
    return response;
  },
  { port: 0 },
);
const ws = await connect(new URL('/echo', server.url));
const reply = new Promise<unknown>((resolve) => ws.once('data', resolve));
ws.write('hello from a user');
console.log('echo: ' + String(await reply));
ws.end();
const { code } = await ws.closeInfo;
console.log('closed: ' + String(code));
try {
  await connect(server.url);
} catch (error) {
  if (!(error instanceof ConnectError)) throw error;
  const status: number | undefined = error.status;
  const body: string | undefined = error.body;
  console.log(['refused:', String(status), JSON.stringify(body), String(error.headers?.['content-type'])].join(' '));
}
server.close();
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    outDir: 'out',
  },
  files: ['main.ts'],
};

const test = suite('package');

test('npm pack on a fresh copy builds a package that installs, type-checks strictly and runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prise-package-'));
  try {
    const cache = join(dir, 'npm-cache');
    // A clean clone's worth of what the build needs, with no dist/.
    const clone = join(dir, 'clone');
    mkdirSync(clone);
    for (const name of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src']) {
      cpSync(join(repo, name), join(clone, name), { recursive: true });
    }
    symlinkSync(join(repo, 'node_modules'), join(clone, 'node_modules'), 'dir');
    // With --json, npm's own output is the list on stdout; the build's output goes to stderr.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], clone, cache);
    const [packed] = JSON.parse(stdout) as Packed[];
    assert.ok(packed !== undefined, stdout);
    const files = packed.files.map((file) => file.path).sort();
    const unexpected = files.filter((path) => !/^(LICENSE|README\.md|package\.json|dist\/src\/(?:[\w-]+\/)*[\w-]+\.(js|d\.ts))$/.test(path));
    assert.equal(unexpected, [], 'only the built library, LICENSE, README and package.json; no source maps');
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'), files.join('\n'));
    assert.ok(files.includes('LICENSE'));
    for (const path of files.filter((name) => name.endsWith('.js'))) {
      assert.ok(files.includes(path.replace(/\.js$/, '.d.ts')), `${path} has its declarations`);
    }

    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', join(dir, packed.filename)], app, cache);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/prise-ws/package.json'), 'utf8')) as {
      dependencies?: unknown;
    };
    assert.is(installed.dependencies, undefined, 'no runtime dependencies');
    // The prise-ws command line, as `npx prise-ws` finds it: linked into .bin and executable.
    const { stdout: version } = await run(join(app, 'node_modules/.bin/prise-ws'), ['--version'], app, cache);
    assert.is(version.trim(), JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
    // TypeScript and Node's types from this repository, as if installed.
    mkdirSync(join(app, 'node_modules/@types'));
    symlinkSync(join(repo, 'node_modules/typescript'), join(app, 'node_modules/typescript'), 'dir');
    symlinkSync(join(repo, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');
    writeFileSync(join(app, 'main.ts'), PROGRAM);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const tsc = join(app, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '--noEmit', '-p', '.'], app, cache);
    await run(process.execPath, [tsc, '-p', '.'], app, cache);
    const { stdout: output } = await run(process.execPath, ['out/main.js'], app, cache);
    assert.equal(output.trim().split('\n'), [
      'echo: hello from a user',
      'closed: 1000',
      'refused: 404 "try /echo\\n" undefined',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
