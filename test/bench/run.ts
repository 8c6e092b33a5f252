// `npm run bench`: prise, written the three ways README shows (ws.pipe(ws), a for-await loop, a
// 'data' listener), against ws (pure JS and with the native bufferutil) and a plain node:net
// pipe, over loopback. Each measurement starts a fresh server process pinned to CPU 0 and a load
// generator (load.ts) pinned to CPU 1; servers take turns (A B C D A B C D ...) within each
// scenario. Prints a Markdown table (median, min-max, ratio to pure-JS ws), the targets checked
// for each prise style, tables of secondary figures (latency percentiles...), and writes the raw
// numbers as JSON. Everything is bounded in count and time; only processes started here are
// stopped, by PID, including on Ctrl-C.
//
//   npm run bench                                  # full run (about 25 minutes on 2 quiet cores)
//   npm run bench -- --quick                       # shorter runs, 2 repetitions, no 50k scale point
//   npm run bench -- --only echo-16,handshake --servers prise-pipe,ws-js --reps 5
//   npm run bench -- --out /tmp/bench.json         # default: dist/bench-results.json
//   npm run bench -- --only echo-16 --servers prise --reps 1 --cpu-prof /tmp/prof
//
// Options: --quick, --only <names>, --servers <names>, --reps <n>, --out <file>,
// --cpu-prof <dir> (servers run with node --cpu-prof, one profile per server process, retries
// included; summarize with profile.js), --no-pin,
// --max-other <percent> (default 25: a timed measurement during which other processes used more
// than this share of a core is taken again, up to twice, keeping the quietest attempt).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job, Result } from './load.js';
import { type Load, PRISE_STYLES, type Scenario, scenarios } from './scenarios.js';

const here = dirname(fileURLToPath(import.meta.url));

interface ServerKind {
  name: string;
  file: string;
  /** Arguments after the mode (prise: its echo style). */
  args: string[];
  env: Record<string, string | undefined>;
  /** The raw TCP echo sends our masked frames back as they came. */
  masked: boolean;
  /** For ws: whether the ready line must report bufferutil loaded. */
  bufferutil?: boolean;
}

const servers: readonly ServerKind[] = [
  { name: 'prise-pipe', file: 'prise-server.js', args: ['pipe'], env: {}, masked: false },
  { name: 'prise-iter', file: 'prise-server.js', args: ['iter'], env: {}, masked: false },
  { name: 'prise-data', file: 'prise-server.js', args: ['data'], env: {}, masked: false },
  { name: 'ws-js', file: 'ws-server.js', args: [], env: { WS_NO_BUFFER_UTIL: '1' }, masked: false, bufferutil: false },
  { name: 'ws-native', file: 'ws-server.js', args: [], env: { WS_NO_BUFFER_UTIL: undefined }, masked: false, bufferutil: true },
  { name: 'net', file: 'net-server.js', args: [], env: {}, masked: true },
];
const BASELINE = 'ws-js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string' },
    reps: { type: 'string' },
    out: { type: 'string', default: 'dist/bench-results.json' },
    'cpu-prof': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'max-other': { type: 'string', default: '25' },
  },
});

const chosenScenarios = pick(scenarios, flags.only, 'scenario').filter((s) => !flags.quick || s.quick !== null);
const chosenServers = pick(servers, flags.servers, 'server');
const maxOther = Number(flags['max-other']);
const reps = flags.reps === undefined ? (flags.quick ? 2 : 3) : Number(flags.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps wants a positive integer, not ${flags.reps}`);
const pin = !flags['no-pin'] && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
if (!pin) console.error('bench: not pinning processes to CPUs (no taskset, or --no-pin)');
checkFileLimit();

function pick<T extends { name: string }>(all: readonly T[], list: string | undefined, what: string): T[] {
  if (list === undefined) return [...all];
  const names = list.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!all.some((item) => item.name === name)) {
      throw new Error(`unknown ${what} ${name}; known: ${all.map((item) => item.name).join(', ')}`);
    }
  }
  return all.filter((item) => names.includes(item.name));
}

// ---------------------------------------------------------------------------------------------
// Child processes

const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const child of children) {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/**
 * Starts `node args` on one CPU, with the open-file limit raised for this child only (the scale
 * scenarios hold 50,000 connections: to 200,000 where allowed, else to the hard limit). sh and
 * taskset exec, so the child's PID is node's.
 */
function startNode(cpu: number, args: string[], env: Record<string, string | undefined>): ChildProcess {
  const pinned = pin ? ['taskset', '-c', String(cpu)] : [];
  const script = 'ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
  const child = spawn('sh', ['-c', script, 'bench', ...pinned, process.execPath, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Reads a child's stdout line by line; `next(prefix)` waits for the next line with that prefix. */
class Lines {
  readonly #waiting: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  readonly #handlers = new Map<string, (line: string) => void>();

  constructor(child: ChildProcess, what: string) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const handler = [...this.#handlers].find(([prefix]) => line.startsWith(prefix));
      if (handler !== undefined) return handler[1](line.slice(handler[0].length));
      const index = this.#waiting.findIndex((w) => line.startsWith(w.prefix));
      if (index !== -1) return this.#waiting.splice(index, 1)[0]!.resolve(line);
      console.error(`${what}: ${line}`);
    });
  }

  on(prefix: string, handler: (rest: string) => void): void {
    this.#handlers.set(prefix, handler);
  }

  next(prefix: string): Promise<string> {
    return new Promise((resolve) => this.#waiting.push({ prefix, resolve: (line) => resolve(line.slice(prefix.length)) }));
  }
}

interface RunningServer {
  child: ChildProcess;
  lines: Lines;
  port: number;
  pid: number;
}

async function startServer(kind: ServerKind, mode: 'echo' | 'broadcast'): Promise<RunningServer> {
  const profile = flags['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(flags['cpu-prof'])}`];
  const child = startNode(0, ['--expose-gc', ...profile, join(here, kind.file), mode, ...kind.args], kind.env);
  const lines = new Lines(child, kind.name);
  try {
    const line = await within(10_000, `${kind.name} to start`, lines.next('ready '), child);
    const ready = JSON.parse(line) as { port: number; pid: number; bufferutil?: boolean };
    if (kind.bufferutil !== undefined && ready.bufferutil !== kind.bufferutil) {
      throw new Error(`${kind.name}: expected bufferutil ${kind.bufferutil ? 'loaded' : 'not loaded'}`);
    }
    if (ready.pid !== child.pid) throw new Error(`${kind.name}: pid ${ready.pid} is not the child's ${child.pid}`);
    return { child, lines, port: ready.port, pid: ready.pid };
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  }
}

/** Asks the server to exit (so --cpu-prof gets written), then kills it by PID if it does not. */
async function stopServer(server: RunningServer): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end('exit\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), flags['cpu-prof'] === undefined ? 3000 : 30_000);
  await exited;
  clearTimeout(timer);
}

async function runLoad(job: Job, server: RunningServer, limitMs: number): Promise<Result> {
  const child = startNode(1, [join(here, 'load.js'), JSON.stringify(job)], {});
  const lines = new Lines(child, 'load');
  // Pass control commands through to the server, and its answer back.
  lines.on('ctl ', (command) => {
    const answer = server.lines.next('mem ');
    server.child.stdin!.write(`${command}\n`);
    void answer.then((line) => child.stdin!.write(`mem ${line}\n`));
  });
  try {
    const line = await within(limitMs + 15_000, `${job.scenario} result`, lines.next('result '), child);
    return JSON.parse(line) as Result;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** `promise`, or a rejection once `ms` pass or `child` exits first. */
function within<T>(ms: number, what: string, promise: Promise<T>, child: ChildProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onExit: ((code: number | null) => void) | undefined;
  const failure = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} after ${ms} ms`)), ms);
    onExit = (code) => setTimeout(() => reject(new Error(`exited with ${code} before ${what}`)), 100);
    child.once('exit', onExit);
  });
  return Promise.race([promise, failure]).finally(() => {
    clearTimeout(timer);
    child.off('exit', onExit!);
  });
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Series {
  values: number[];
  details: Array<Result['details']>;
  failures: string[];
}

async function measureOnce(scenario: Scenario, kind: ServerKind): Promise<Result> {
  const server = await startServer(kind, scenario.kind === 'broadcast' ? 'broadcast' : 'echo');
  try {
    const job: Job = { scenario: scenario.name, quick: flags.quick, port: server.port, serverPid: server.pid, masked: kind.masked };
    return await runLoad(job, server, loadOf(scenario).limitMs);
  } finally {
    await stopServer(server);
  }
}

function loadOf(scenario: Scenario): Load {
  return flags.quick && scenario.quick !== null ? scenario.quick : scenario.full;
}

function serversOf(scenario: Scenario): ServerKind[] {
  return chosenServers.filter((kind) => scenario.servers === undefined || scenario.servers.includes(kind.name));
}

const results = new Map<string, Map<string, Series>>();
const startedAt = new Date();
for (const scenario of chosenScenarios) {
  const byServer = new Map(serversOf(scenario).map((kind) => [kind.name, { values: [], details: [], failures: [] } as Series]));
  results.set(scenario.name, byServer);
  for (let rep = 1; rep <= reps; rep++) {
    for (const kind of serversOf(scenario)) {
      const series = byServer.get(kind.name)!;
      const label = `${scenario.name} ${rep}/${reps} ${kind.name}`;
      try {
        const result = await quietest(scenario, kind, label);
        series.values.push(result.value);
        series.details.push(result.details);
        console.error(`${label}: ${format(result.value)} ${scenario.unit}  ${JSON.stringify(result.details)}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        series.failures.push(message);
        console.error(`${label}: FAILED ${message}`);
      }
    }
  }
}

/** Measures; again (up to twice more) while other processes took too much CPU meanwhile. */
async function quietest(scenario: Scenario, kind: ServerKind, label: string): Promise<Result> {
  let best: Result | null = null;
  let attempt = 1;
  for (; attempt <= 3; attempt++) {
    const result = await measureOnce(scenario, kind);
    const other = Number(result.details['otherCpu'] ?? 0);
    result.details['attempt'] = attempt;
    if (best === null || other < Number(best.details['otherCpu'])) best = result;
    if (other <= maxOther) break;
    console.error(`${label}: other processes used ${other}% of a core meanwhile${attempt < 3 ? '; again' : ''}`);
  }
  best!.details['attempts'] = Math.min(attempt, 3);
  return best!;
}

// ---------------------------------------------------------------------------------------------
// Reporting

interface Summary {
  median: number;
  min: number;
  max: number;
  ratio: number | null;
}

function summarize(values: number[]): Omit<Summary, 'ratio'> | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function format(value: number): string {
  const digits = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

const report: unknown[] = [];
const table = ['| scenario | unit | server | median | min–max | × ws-js | n |', '|---|---|---|--:|--:|--:|--:|'];
const targets = ['| scenario | target | server | prise | compared with | met |', '|---|---|---|--:|---|---|'];
const extras: string[] = [];
for (const scenario of chosenScenarios) {
  const byServer = results.get(scenario.name)!;
  const base = summarize(byServer.get(BASELINE)?.values ?? []);
  const summaries = new Map<string, Summary | null>();
  for (const [name, series] of byServer) {
    const s = summarize(series.values);
    summaries.set(name, s === null ? null : { ...s, ratio: base === null ? null : s.median / base.median });
    const cells =
      s === null
        ? ['failed', '', '']
        : [format(s.median), `${format(s.min)}–${format(s.max)}`, base === null ? '–' : `${(s.median / base.median).toFixed(2)}×`];
    // Measurements kept although other processes were busy meanwhile (all three tries were).
    const noisy = series.details.filter((details) => Number(details['otherCpu'] ?? 0) > maxOther).length;
    const n = `${series.values.length}${noisy > 0 ? ` (${noisy} noisy)` : ''}${series.failures.length > 0 ? ` (${series.failures.length} failed)` : ''}`;
    table.push(`| ${scenario.name} | ${scenario.unit} | ${name} | ${cells.join(' | ')} | ${n} |`);
  }
  for (const style of PRISE_STYLES) {
    const prise = summaries.get(style);
    if (scenario.target === null || prise == null) continue;
    const verdicts: boolean[] = [];
    const compared: string[] = [];
    for (const check of scenario.target.checks) {
      if (check.absolute !== undefined) {
        verdicts.push(prise.median <= check.absolute);
        compared.push(`${check.absolute} ${scenario.unit}`);
        continue;
      }
      const other = summaries.get(check.against!);
      if (other == null) {
        compared.push(`${check.against}: not run`);
        continue;
      }
      const ratio = prise.median / other.median;
      compared.push(`${format(other.median)} (${check.against}), ${ratio.toFixed(2)}×`);
      verdicts.push(scenario.better === 'higher' ? ratio >= check.ratio! : ratio <= check.ratio!);
    }
    const met = verdicts.length < scenario.target.checks.length ? '?' : verdicts.every(Boolean) ? 'yes' : 'no';
    targets.push(`| ${scenario.name} | ${scenario.target.text} | ${style} | ${format(prise.median)} ${scenario.unit} | ${compared.join('; ')} | ${met} |`);
  }
  if (scenario.extra !== undefined) {
    extras.push('', `${scenario.name} (${scenario.what}), medians:`, '');
    // The first field gets a ratio to pure-JS ws too (per CPU-second figures are the steadier ones).
    const [firstKey] = scenario.extra;
    const medianOf = (series: Series | undefined, key: string): number | null =>
      summarize((series?.details ?? []).map((d) => Number(d[key])).filter((v) => Number.isFinite(v)))?.median ?? null;
    const baseFirst = medianOf(byServer.get(BASELINE), firstKey!);
    extras.push(`| server | ${scenario.extra.join(' | ')} | ${firstKey} × ws-js |`, `|---|${scenario.extra.map(() => '--:').join('|')}|--:|`);
    for (const [name, series] of byServer) {
      const cells = scenario.extra.map((key) => {
        const median = medianOf(series, key);
        return median === null ? '–' : format(median);
      });
      const first = medianOf(series, firstKey!);
      cells.push(first === null || baseFirst === null ? '–' : `${(first / baseFirst).toFixed(2)}×`);
      extras.push(`| ${name} | ${cells.join(' | ')} |`);
    }
  }
  report.push({
    name: scenario.name,
    what: scenario.what,
    unit: scenario.unit,
    better: scenario.better,
    load: loadOf(scenario),
    target: scenario.target,
    servers: Object.fromEntries([...byServer].map(([name, series]) => [name, { ...series, summary: summaries.get(name) }])),
  });
}

const machine = {
  nproc: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  kernel: release(),
  pinned: pin,
};
const git = spawnSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
const command = `npm run bench --${process.argv.slice(2).map((arg) => ` ${arg}`).join('')}`;
console.log(`\n${startedAt.toISOString()} · ${command} · ${reps} rep(s) · git ${git}`);
console.log(`${machine.nproc} CPUs (${machine.cpu}) · node ${machine.node} · Linux ${machine.kernel}\n`);
console.log(table.join('\n'));
if (targets.length > 2) console.log(`\n${targets.join('\n')}`);
if (extras.length > 0) console.log(extras.join('\n'));

const out = resolve(flags.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: startedAt.toISOString(), command, reps, quick: flags.quick, git, machine, scenarios: report }, null, 2)}\n`);
console.log(`\nwrote ${out}`);

// WebSockets over HTTP/2 against HTTP/1.1 on one server: http2.ts, a short run of its own.
if (flags.only === undefined) {
  spawnSync(process.execPath, [join(here, 'http2.js'), ...(flags.quick ? ['--quick'] : [])], { stdio: 'inherit', timeout: 300_000 });
}

/** The scale scenarios hold up to 50,000 connections in each process: warn early if that cannot work. */
function checkFileLimit(): void {
  const most = Math.max(...chosenScenarios.map((scenario) => loadOf(scenario).connections));
  const raised = spawnSync('sh', ['-c', 'ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n'], { encoding: 'utf8' });
  const limit = Number(raised.stdout.trim());
  if (Number.isFinite(limit) && limit < most + 100) {
    console.error(`bench: the open-file limit can only go to ${limit}; ${most.toLocaleString('en-US')} connections need more (run as root, or raise ulimit -Hn)`);
  }
}
