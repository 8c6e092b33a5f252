// The load generator: one process, plain node:net sockets, no WebSocket library. run.ts starts it
// (pinned to its own core) with a job as JSON in argv[2], and reads one `result {…}` line from
// its stdout. Lines `ctl <command>` ask run.ts to pass a command to the server (see control.ts);
// the answer comes back on stdin. It exits by itself: each scenario is bounded in count and time.

import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { type Expected, FrameReader, Op, closeFrame, expectedAccept, maskedFrame, upgradeRequest } from './frames.js';
import { type Load, type Scenario, scenarios } from './scenarios.js';

export interface Job {
  scenario: string;
  quick: boolean;
  port: number;
  /** The server process, to read its RSS from /proc. */
  serverPid: number;
  /** True for the raw TCP echo, which sends our masked frames back as they were. */
  masked: boolean;
}

export interface Result {
  /** The scenario's figure, in its unit. */
  value: number;
  /** Other figures worth keeping (counts, secondary memory figures...). */
  details: Record<string, number | string | boolean>;
}

// ---------------------------------------------------------------------------------------------
// Connections

/** One WebSocket connection after a successful opening handshake. */
class Conn {
  readonly socket: Socket;
  readonly reader: FrameReader;
  /** Called after each chunk with the number of data frames it completed (maybe 0). */
  onChunk: (frames: number) => void = () => {};

  constructor(socket: Socket, reader: FrameReader) {
    this.socket = socket;
    this.reader = reader;
  }
}

let tearingDown = false;

/**
 * Every socket reads into this one buffer (net's `onread`): no allocation and no stream events
 * per read, which keeps the load generator's cost per read low. Safe because each read is handled
 * synchronously and nothing keeps a view of it (FrameReader copies the header bytes it needs).
 */
const readBuffer = Buffer.allocUnsafe(256 * 1024);

/**
 * Loopback source addresses: Linux has about 28,000 ephemeral ports per (source, destination)
 * pair, so beyond 20,000 connections they are spread over 127.0.0.2, 127.0.0.3, ... (all of
 * 127/8 is loopback). Below that, every connection comes from 127.0.0.1.
 */
const PER_SOURCE = 20_000;
let opened = 0;
let spread = false;

/** Connects, sends the upgrade request and checks the 101; resolves with the open connection. */
function open(port: number, expected: Expected): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    const receive = (length: number): boolean => {
      const chunk = readBuffer.subarray(0, length);
      if (head === null) {
        conn.onChunk(conn.reader.push(chunk));
        return true;
      }
      head = Buffer.concat([head, chunk]); // a copy: readBuffer is reused by the next read
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return true;
      const text = head.toString('latin1', 0, end);
      const rest = head.subarray(end + 4);
      head = null;
      const accept = /\r\nsec-websocket-accept:[ \t]*([^\r]*)/i.exec(text)?.[1]?.trim();
      if (!text.startsWith('HTTP/1.1 101 ') || accept !== expectedAccept) {
        socket.destroy();
        reject(new Error(`bad handshake answer: ${JSON.stringify(text.slice(0, 200))}`));
        return false;
      }
      resolve(conn);
      if (rest.length > 0) conn.onChunk(conn.reader.push(rest));
      return true;
    };
    const localAddress = spread ? `127.0.0.${2 + Math.floor(opened++ / PER_SOURCE)}` : undefined;
    const socket = connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: { buffer: readBuffer, callback: receive },
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    const conn = new Conn(socket, new FrameReader(expected));
    socket.on('error', (error) => {
      if (head !== null) reject(error);
      else if (!tearingDown) fail(`socket error: ${error.message}`);
    });
    socket.write(upgradeRequest);
  });
}

/** Opens `count` connections, `concurrency` at a time (the listen backlog is finite). */
async function openMany(port: number, expected: Expected, count: number, concurrency = 200): Promise<Conn[]> {
  const conns: Conn[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      conns.push(await open(port, expected));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return conns;
}

/** Open, upgrade, closing handshake (we send close, wait for the server's), TCP close. */
async function handshakeOnce(port: number, expected: Expected): Promise<void> {
  const conn = await open(port, expected);
  await new Promise<void>((resolve, reject) => {
    const { socket, reader } = conn;
    socket.once('close', () => (reader.closed ? resolve() : reject(new Error('closed without a close frame'))));
    conn.onChunk = () => {
      if (reader.closed) socket.end();
    };
    socket.on('end', () => socket.end());
    socket.write(closeFrame());
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async function echo(job: Job, load: Load): Promise<Result> {
  const frame = maskedFrame(Op.Binary, load.size);
  const batch = Buffer.concat(Array.from({ length: load.window }, () => frame));
  const expected = { opcode: Op.Binary, length: load.size, masked: job.masked };
  const conns = await openMany(job.port, expected, load.connections);
  let received = 0;
  for (const conn of conns) {
    conn.onChunk = (frames) => {
      if (frames === 0) return;
      received += frames;
      // One write per chunk, of as many frames as came back: the window stays full.
      conn.socket.write(frames === load.window ? batch : batch.subarray(0, frames * frame.length));
    };
    conn.socket.write(batch);
  }
  const { count, ...timing } = await measure(job, load, () => received);
  closeAll(conns);
  const value = load.size >= 65536 ? (count * load.size) / 1e6 / timing.seconds : count / timing.seconds;
  // The same figure per second of server CPU: steadier than per wall second on a shared machine.
  return { value, details: { messages: count, perCpuSecond: Math.round((value * timing.seconds) / timing.serverSeconds), ...timing } };
}

async function handshakes(job: Job, load: Load): Promise<Result> {
  const expected = { opcode: Op.Binary, length: 0, masked: job.masked };
  const total = load.warmup + load.count;
  let started = 0;
  let done = 0;
  // Timing starts once the warm-up handshakes are done and stops with the last one.
  let stopwatch = load.warmup === 0 ? cpuMeter(job.serverPid) : null;
  const timing: Timing[] = [];
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await handshakeOnce(job.port, expected);
      done++;
      if (done === load.warmup) stopwatch = cpuMeter(job.serverPid);
      if (done === total) timing.push(stopwatch!());
    }
  };
  await Promise.all(Array.from({ length: load.connections }, worker));
  // Per server CPU-second: what a busy server can take, whatever else ran on the machine.
  const { serverSeconds, ...rest } = timing[0]!;
  return { value: load.count / serverSeconds, details: { handshakes: load.count, perWallSecond: load.count / rest.seconds, ...rest } };
}

async function idle(job: Job, load: Load): Promise<Result> {
  const expected = { opcode: Op.Binary, length: 0, masked: job.masked };
  // Warm the server up (lazy modules, JIT) so the baseline is not its cold start.
  for (let i = 0; i < load.warmup; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => handshakeOnce(job.port, expected)));
  }
  await sleep(300);
  const before = await memory(true);
  spread = load.connections > PER_SOURCE;
  const conns = await openMany(job.port, expected, load.connections);
  await sleep(500);
  const after = await memory(true);
  const perConn = (field: keyof NodeJS.MemoryUsage): number =>
    Math.round((after[field] - before[field]) / conns.length);
  closeAll(conns);
  return {
    value: perConn('rss'),
    details: {
      connections: conns.length,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapUsedPerConn: perConn('heapUsed'),
      externalPerConn: perConn('external'),
    },
  };
}

async function broadcast(job: Job, load: Load): Promise<Result> {
  const frame = maskedFrame(Op.Binary, load.size);
  const expected = { opcode: Op.Binary, length: load.size, masked: job.masked };
  const receivers = await openMany(job.port, expected, load.connections);
  await sleep(200); // let the server register the last ones before anything is sent
  // The sender gets nothing back: the server sends each message to every *other* client.
  const sender = await open(job.port, { ...expected, length: -1 });
  // Receivers get messages in order, so message m is delivered everywhere once slot m % window
  // has counted every receiver; the next message then goes out.
  const slots = new Uint32Array(load.window);
  let delivered = 0;
  for (const receiver of receivers) {
    let seen = 0;
    receiver.onChunk = (frames) => {
      for (let i = 0; i < frames; i++) {
        const slot = seen++ % load.window;
        if (++slots[slot]! === receivers.length) {
          slots[slot] = 0;
          sender.socket.write(frame);
        }
      }
      delivered += frames;
    };
  }
  for (let i = 0; i < load.window; i++) sender.socket.write(frame);
  const { count, ...timing } = await measure(job, load, () => delivered);
  closeAll([sender, ...receivers]);
  return { value: count / timing.seconds, details: { deliveries: count, perCpuSecond: Math.round(count / timing.serverSeconds), ...timing } };
}

async function slowConsumer(job: Job, load: Load): Promise<Result> {
  const frame = maskedFrame(Op.Binary, load.size);
  const conn = await open(job.port, { opcode: Op.Binary, length: load.size, masked: job.masked });
  const { socket } = conn;
  socket.pause(); // never read: once our receive buffer is full, TCP stops the server's writes
  await memory(true);
  resetPeak(job.serverPid);
  const baseline = procStatus(job.serverPid, 'VmRSS');
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, procStatus(job.serverPid, 'VmRSS'))), 20);

  const startedAt = performance.now();
  let lastProgress = startedAt;
  let written = 0;
  let waiting = false;
  const ended = await new Promise<string>((resolve) => {
    let check: NodeJS.Timeout | undefined;
    const finish = (why: string): void => {
      clearInterval(check);
      socket.off('drain', pump);
      resolve(why);
    };
    // A server whose echo ignores write() returning false (the bare for-await loop) queues until
    // its outgoing limit and then drops us: a result too, with the memory it took to get there.
    socket.removeAllListeners('error');
    socket.on('error', () => finish('dropped by the server'));
    function pump(): void {
      waiting = false;
      lastProgress = performance.now();
      while (written < load.count) {
        written++;
        if (!socket.write(frame)) return void (waiting = true);
      }
      finish('all sent');
    }
    socket.on('drain', pump);
    check = setInterval(() => {
      const now = performance.now();
      if (waiting && now - lastProgress > load.stallMs) finish('stalled');
      else if (now - startedAt > load.durationMs) finish('time limit');
    }, 50);
    pump();
  });
  const sendSeconds = (performance.now() - startedAt) / 1000;
  const sentBytes = written * frame.length - socket.writableLength;
  await sleep(1000); // let the server work through what it has already read
  clearInterval(sampler);
  peak = Math.max(peak, procStatus(job.serverPid, 'VmHWM'), procStatus(job.serverPid, 'VmRSS'));
  closeAll([conn]);
  return {
    value: (peak - baseline) / 1e6,
    details: { ended, sentMB: sentBytes / 1e6, sendSeconds, baselineRss: baseline, peakRss: peak },
  };
}

/**
 * Round trips at a fixed offered load: every connection sends one message each 1/(rate/connections)
 * seconds (spread evenly over a 10 ms tick), stamping the time it was written; echoes come back in
 * order, so each frame read is matched with the oldest stamp of its connection.
 */
async function latency(job: Job, load: Load): Promise<Result> {
  const frame = maskedFrame(Op.Binary, load.size);
  const expected = { opcode: Op.Binary, length: load.size, masked: job.masked };
  const conns = await openMany(job.port, expected, load.connections);
  const sent: number[][] = conns.map(() => []);
  let recording = false;
  const samples: number[] = [];
  conns.forEach((conn, i) => {
    const stamps = sent[i]!;
    conn.onChunk = (frames) => {
      const now = performance.now();
      for (let f = 0; f < frames; f++) {
        const at = stamps.shift();
        if (at !== undefined && recording) samples.push(now - at);
      }
    };
  });
  let next = 0;
  const stop = pace(load.rate, (n) => {
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      const i = next++ % conns.length;
      sent[i]!.push(now);
      conns[i]!.socket.write(frame);
    }
  });
  await sleep(load.warmupMs);
  recording = true;
  const timing = await measure(job, { ...load, warmupMs: 0 }, () => samples.length);
  recording = false;
  stop();
  closeAll(conns);
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  const backlog = sent.reduce((sum, stamps) => sum + stamps.length, 0);
  return {
    value: round(at(0.99)),
    details: { p50: round(at(0.5)), p99: round(at(0.99)), p999: round(at(0.999)), max: round(samples[samples.length - 1]!), samples: samples.length, backlog, ...timing },
  };
}

/** Echo at a fixed rate well below saturation: server CPU-seconds per million messages. */
async function paced(job: Job, load: Load): Promise<Result> {
  const frame = maskedFrame(Op.Binary, load.size);
  const expected = { opcode: Op.Binary, length: load.size, masked: job.masked };
  const conns = await openMany(job.port, expected, load.connections);
  let received = 0;
  for (const conn of conns) conn.onChunk = (frames) => (received += frames);
  let next = 0;
  const stop = pace(load.rate, (n) => {
    // A batch per connection per tick, as many clients would send in one 10 ms.
    const per = Math.floor(n / conns.length);
    const extra = n - per * conns.length;
    for (let k = 0; k < conns.length; k++) {
      const count = per + (k < extra ? 1 : 0);
      if (count === 0) continue;
      const socket = conns[(next + k) % conns.length]!.socket;
      for (let m = 0; m < count; m++) socket.write(frame);
    }
    next = (next + extra) % conns.length;
  });
  const { count, ...timing } = await measure(job, load, () => received);
  stop();
  closeAll(conns);
  const serverSeconds = (timing.serverCpu / 100) * timing.seconds;
  const achievedRate = Math.round(count / timing.seconds);
  // A server that could not keep up (or was starved by other processes) says so: its figure is then its whole core's.
  const saturated = achievedRate < load.rate * 0.95;
  return { value: (serverSeconds / count) * 1e6, details: { messages: count, achievedRate, saturated, ...timing } };
}

/** Calls `send(n)` every 10 ms with the messages due since the last call; returns a stop function. */
function pace(rate: number, send: (n: number) => void): () => void {
  const started = performance.now();
  let due = 0;
  const timer = setInterval(() => {
    const total = Math.floor(((performance.now() - started) / 1000) * rate);
    if (total > due) send(total - due);
    due = total;
  }, 10);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Measured extends Timing {
  count: number;
}

/** Waits out the warm-up, then counts for the duration. */
async function measure(job: Job, load: Load, counter: () => number): Promise<Measured> {
  await sleep(load.warmupMs);
  const c0 = counter();
  const cpu = cpuMeter(job.serverPid);
  await sleep(load.durationMs);
  const count = counter() - c0;
  const timing = cpu();
  if (count === 0) fail('nothing came back during the measurement');
  return { count, ...timing };
}

interface Timing {
  seconds: number;
  /** CPU used, in % of one core, by the server, by this process, and by everything else. */
  serverCpu: number;
  loadCpu: number;
  /** The server's CPU-seconds, user and system. */
  serverSeconds: number;
  /** User and system time of other processes: other work on the machine skews the figures. */
  otherCpu: number;
  /** Time the hypervisor gave to other guests, across all CPUs. */
  stealCpu: number;
}

/** Starts timing; the function returned gives the seconds since and the CPU each side used. */
function cpuMeter(serverPid: number): () => Timing {
  const t0 = performance.now();
  const server0 = serverCpuSeconds(serverPid);
  const self0 = process.cpuUsage();
  const machine0 = machineCpuSeconds();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const machine = machineCpuSeconds();
    const percent = (used: number): number => Math.round((100 * used) / seconds);
    const server = serverCpuSeconds(serverPid) - server0;
    const load = (self.user + self.system) / 1e6;
    return {
      seconds,
      serverSeconds: server,
      serverCpu: percent(server),
      loadCpu: percent(load),
      otherCpu: Math.max(0, percent(machine.busy - machine0.busy - server - load)),
      stealCpu: percent(machine.steal - machine0.steal),
    };
  };
}

/** Busy (user, nice, system) and stolen CPU seconds of the whole machine, from /proc/stat. */
function machineCpuSeconds(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  const [user, nice, system, , , , , steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user! + nice! + system!) / CLOCK_TICKS, steal: (steal ?? 0) / CLOCK_TICKS };
}

/** User + system CPU seconds of a process, from /proc/<pid>/stat. */
function serverCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;

function closeAll(conns: Conn[]): void {
  tearingDown = true;
  for (const conn of conns) conn.socket.destroy();
}

/** The server's memory as it reports it (after a full gc when asked). */
async function memory(gc: boolean): Promise<NodeJS.MemoryUsage> {
  const answer = await ask(gc ? 'mem gc' : 'mem');
  if (!answer.startsWith('mem ')) fail(`unexpected control answer ${answer}`);
  return JSON.parse(answer.slice(4)) as NodeJS.MemoryUsage;
}

/** A field of /proc/<pid>/status, in bytes. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Resets the kernel's peak-RSS mark of `pid` (Linux: "5" to clear_refs); harmless if refused. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // The sampler still catches the peak, at a 20 ms grain.
  }
}

const answers: Array<(line: string) => void> = [];
createInterface({ input: process.stdin }).on('line', (line) => answers.shift()?.(line));

/** Asks run.ts to pass `command` to the server; resolves with the server's answer. */
function ask(command: string): Promise<string> {
  return new Promise((resolve) => {
    answers.push(resolve);
    process.stdout.write(`ctl ${command}\n`);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function fail(message: string): never {
  process.stderr.write(`load: ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------

const runners: Record<Scenario['kind'], (job: Job, load: Load) => Promise<Result>> = {
  echo,
  handshake: handshakes,
  idle,
  broadcast,
  slow: slowConsumer,
  latency,
  paced,
};

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const scenario = scenarios.find((s) => s.name === job.scenario);
if (scenario === undefined) fail(`unknown scenario ${job.scenario}`);
const load = job.quick && scenario.quick !== null ? scenario.quick : scenario.full;
setTimeout(() => fail(`${scenario.name}: no result after ${load.limitMs} ms`), load.limitMs);
process.on('uncaughtException', (error) => fail(error.stack ?? String(error)));
const result = await runners[scenario.kind](job, load);
process.stdout.write(`result ${JSON.stringify(result)}\n`);
process.exit(0);
