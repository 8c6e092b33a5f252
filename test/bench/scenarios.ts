// The benchmark scenarios: what each one measures, in which unit, with which load, and the target
// prise aims for (issue 6). run.ts picks them by name; load.ts runs one against a server. Every
// scenario is bounded in count and time, in full and quick mode alike.

/** Which figure is better; ratios are always median / median of pure-JS ws. */
export type Better = 'higher' | 'lower';

export type Kind = 'echo' | 'handshake' | 'idle' | 'broadcast' | 'slow' | 'latency' | 'paced';

export interface Load {
  /** Echo, broadcast, latency, paced: payload bytes of each message. */
  size: number;
  /** Echo: connections; handshake: concurrent handshakes; idle: connections held; broadcast: receivers. */
  connections: number;
  /** Echo and broadcast: messages in flight (per connection for echo). */
  window: number;
  /** Latency and paced: messages per second offered, over all connections. */
  rate: number;
  /** Timed scenarios: ms run before counting, then ms counted. */
  warmupMs: number;
  durationMs: number;
  /** Handshake: handshakes counted (after `warmup` more); slow: messages the client tries to send. */
  count: number;
  warmup: number;
  /** Slow consumer: sending stops once the socket has not drained for this long, in ms. */
  stallMs: number;
  /** Hard limit on the whole measurement, in ms. */
  limitMs: number;
}

/** One condition on prise's median: a ratio to another server's median, or an absolute bound. */
export interface Check {
  /** The ratio to reach against `against`'s median (at least, or at most when `better` is lower). */
  ratio?: number;
  against?: string;
  /** An absolute ceiling, in the scenario's unit. */
  absolute?: number;
}

export interface Target {
  checks: Check[];
  text: string;
}

export interface Scenario {
  name: string;
  kind: Kind;
  unit: string;
  better: Better;
  what: string;
  full: Load;
  /** Null: left out of --quick runs. */
  quick: Load | null;
  /** Reported only, or checked against `target` for every prise echo style. */
  target: Target | null;
  /** Servers this scenario runs (by name); all chosen ones when absent. */
  servers?: readonly string[];
  /** Detail fields summarized in a table of their own (medians), e.g. latency percentiles. */
  extra?: readonly string[];
}

const base: Load = {
  size: 0,
  connections: 1,
  window: 1,
  rate: 0,
  warmupMs: 0,
  durationMs: 0,
  count: 0,
  warmup: 0,
  stallMs: 0,
  limitMs: 30_000,
};

function load(fields: Partial<Load>): Load {
  return { ...base, ...fields };
}

/** The README's way (pipe), the for-await loop, the 'data' listener: prise's three echo styles. */
export const PRISE_STYLES = ['prise-pipe', 'prise-iter', 'prise-data'] as const;
/** The scale and latency figures: the README's idiom against ws. */
const SCALE_SERVERS = ['prise-pipe', 'prise-data', 'ws-js', 'ws-native', 'net'] as const;

export const scenarios: readonly Scenario[] = [
  {
    name: 'echo-16',
    kind: 'echo',
    unit: 'msg/s',
    better: 'higher',
    what: '16 B binary echo, 50 connections x 32 in flight',
    full: load({ size: 16, connections: 50, window: 32, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 16, connections: 50, window: 32, warmupMs: 300, durationMs: 1000 }),
    target: { checks: [{ ratio: 5, against: 'ws-js' }, { ratio: 0.6, against: 'net' }], text: '>= 5x ws-js, >= 0.6x net' },
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'echo-1k',
    kind: 'echo',
    unit: 'msg/s',
    better: 'higher',
    what: '1 KiB binary echo, 50 connections x 32 in flight',
    full: load({ size: 1024, connections: 50, window: 32, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 1024, connections: 50, window: 32, warmupMs: 300, durationMs: 1000 }),
    target: { checks: [{ ratio: 5, against: 'ws-js' }], text: '>= 5x ws-js' },
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'echo-64k',
    kind: 'echo',
    unit: 'MB/s',
    better: 'higher',
    what: '64 KiB binary echo, 8 connections x 4 in flight',
    full: load({ size: 64 * 1024, connections: 8, window: 4, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 64 * 1024, connections: 8, window: 4, warmupMs: 300, durationMs: 1000 }),
    target: { checks: [{ ratio: 1, against: 'ws-native' }], text: '>= 1.0x ws-native' },
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'echo-1m',
    kind: 'echo',
    unit: 'MB/s',
    better: 'higher',
    what: '1 MiB binary echo, 4 connections x 2 in flight',
    full: load({ size: 1024 * 1024, connections: 4, window: 2, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 1024 * 1024, connections: 4, window: 2, warmupMs: 300, durationMs: 1000 }),
    target: { checks: [{ ratio: 1, against: 'ws-native' }], text: '>= 1.0x ws-native' },
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'handshake',
    kind: 'handshake',
    unit: 'hs/cpu-s',
    better: 'higher',
    what: 'open, upgrade, close handshake, TCP close, 50 at a time: handshakes per server CPU-second',
    full: load({ connections: 50, warmup: 1000, count: 10_000 }),
    quick: load({ connections: 50, warmup: 1000, count: 3000 }),
    target: { checks: [{ ratio: 1.5, against: 'ws-js' }], text: '>= 1.5x ws-js' },
  },
  {
    name: 'idle-memory',
    kind: 'idle',
    unit: 'B/conn',
    better: 'lower',
    what: 'server RSS growth per open idle connection (5,000 open, after gc)',
    full: load({ connections: 5000, warmup: 200, limitMs: 60_000 }),
    quick: load({ connections: 5000, warmup: 200, limitMs: 60_000 }),
    target: { checks: [{ ratio: 1, against: 'ws-js' }], text: '<= 1.0x ws-js' },
  },
  {
    name: 'broadcast',
    kind: 'broadcast',
    unit: 'deliveries/s',
    better: 'higher',
    what: '64 B message from one sender to 1,000 receivers, 16 messages in flight',
    full: load({ size: 64, connections: 1000, window: 16, warmupMs: 1000, durationMs: 3000, limitMs: 60_000 }),
    quick: load({ size: 64, connections: 1000, window: 16, warmupMs: 300, durationMs: 1000, limitMs: 60_000 }),
    target: null,
    servers: ['prise-data', 'ws-js', 'ws-native', 'net'],
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'broadcast-10k',
    kind: 'broadcast',
    unit: 'deliveries/s',
    better: 'higher',
    what: '64 B message from one sender to 10,000 receivers, 4 messages in flight',
    full: load({ size: 64, connections: 10_000, window: 4, warmupMs: 1000, durationMs: 3000, limitMs: 90_000 }),
    quick: load({ size: 64, connections: 10_000, window: 4, warmupMs: 500, durationMs: 1500, limitMs: 90_000 }),
    target: null,
    servers: ['prise-data', 'ws-js', 'ws-native', 'net'],
    extra: ['perCpuSecond', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'slow-consumer',
    kind: 'slow',
    unit: 'MB',
    better: 'lower',
    what: 'peak server RSS growth while a client sends 200 MiB (64 KiB messages) and reads nothing',
    // Sending stops after `count` messages, a stall of `stallMs`, or `durationMs`, whichever is first.
    full: load({ size: 64 * 1024, count: 3200, durationMs: 8000, stallMs: 1500 }),
    quick: load({ size: 64 * 1024, count: 3200, durationMs: 4000, stallMs: 1000 }),
    target: { checks: [{ absolute: 16 }], text: '<= 16 MB' },
  },
  {
    name: 'latency',
    kind: 'latency',
    unit: 'ms p99',
    better: 'lower',
    what: 'round trip of 1 KiB messages, 1,000 connections x 10 msg/s, timestamped by the load generator',
    full: load({ size: 1024, connections: 1000, rate: 10_000, warmupMs: 2000, durationMs: 5000, limitMs: 60_000 }),
    quick: load({ size: 1024, connections: 1000, rate: 10_000, warmupMs: 1000, durationMs: 2000, limitMs: 60_000 }),
    target: null,
    servers: SCALE_SERVERS,
    extra: ['p50', 'p99', 'p999', 'max', 'serverCpu', 'otherCpu'],
  },
  {
    name: 'cpu-per-msg',
    kind: 'paced',
    unit: 'cpu-s/M msg',
    better: 'lower',
    // ws-js echoes 70-110k msg/s of 1 KiB at full load here; 30,000 keeps even it near half load.
    what: 'server CPU-seconds per million 1 KiB messages echoed at a fixed 30,000 msg/s (about half of ws-js at full load), 100 connections',
    full: load({ size: 1024, connections: 100, rate: 30_000, warmupMs: 1000, durationMs: 4000 }),
    quick: load({ size: 1024, connections: 100, rate: 30_000, warmupMs: 500, durationMs: 2000 }),
    target: null,
    extra: ['serverCpu', 'achievedRate', 'otherCpu'],
  },
  ...[1000, 10_000, 50_000].map(
    (connections): Scenario => ({
      name: `idle-${connections / 1000}k`,
      kind: 'idle',
      unit: 'B/conn',
      better: 'lower',
      what: `server RSS growth per open idle connection (${connections.toLocaleString('en-US')} open, after gc; several loopback source addresses)`,
      full: load({ connections, warmup: 200, limitMs: 30_000 + connections * 2 }),
      quick: connections > 10_000 ? null : load({ connections, warmup: 200, limitMs: 30_000 + connections * 2 }),
      target: null,
      servers: SCALE_SERVERS,
      extra: ['heapUsedPerConn', 'externalPerConn'],
    }),
  ),
];
