// The benchmark scenarios: what each one measures, in which unit, with which load, and the target
// prise aims for (issue 6). run.ts picks them by name; load.ts runs one against a server. Every
// scenario is bounded in count and time, in full and quick mode alike.

/** Which figure is better; ratios are always median / median of pure-JS ws. */
export type Better = 'higher' | 'lower';

export type Kind = 'echo' | 'handshake' | 'idle' | 'broadcast' | 'slow';

export interface Load {
  /** Echo and broadcast: payload bytes of each message. */
  size: number;
  /** Echo: connections; handshake: concurrent handshakes; idle: connections held; broadcast: receivers. */
  connections: number;
  /** Echo and broadcast: messages in flight (per connection for echo). */
  window: number;
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

export interface Target {
  /** The ratio to reach, against `against` (pure-JS ws unless said otherwise). */
  ratio?: number;
  against?: 'ws-js' | 'ws-native';
  /** Slow consumer: an absolute ceiling, in the scenario's unit. */
  absolute?: number;
  text: string;
}

export interface Scenario {
  name: string;
  kind: Kind;
  unit: string;
  better: Better;
  what: string;
  full: Load;
  quick: Load;
  target: Target;
}

const base: Load = {
  size: 0,
  connections: 1,
  window: 1,
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

export const scenarios: readonly Scenario[] = [
  {
    name: 'echo-16',
    kind: 'echo',
    unit: 'msg/s',
    better: 'higher',
    what: '16 B binary echo, 50 connections x 32 in flight',
    full: load({ size: 16, connections: 50, window: 32, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 16, connections: 50, window: 32, warmupMs: 300, durationMs: 1000 }),
    target: { ratio: 4, text: '>= 4x ws-js' },
  },
  {
    name: 'echo-1k',
    kind: 'echo',
    unit: 'msg/s',
    better: 'higher',
    what: '1 KiB binary echo, 50 connections x 32 in flight',
    full: load({ size: 1024, connections: 50, window: 32, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 1024, connections: 50, window: 32, warmupMs: 300, durationMs: 1000 }),
    target: { ratio: 4, text: '>= 4x ws-js' },
  },
  {
    name: 'echo-64k',
    kind: 'echo',
    unit: 'MB/s',
    better: 'higher',
    what: '64 KiB binary echo, 8 connections x 4 in flight',
    full: load({ size: 64 * 1024, connections: 8, window: 4, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 64 * 1024, connections: 8, window: 4, warmupMs: 300, durationMs: 1000 }),
    target: { ratio: 0.9, against: 'ws-native', text: '>= 0.9x ws-native' },
  },
  {
    name: 'echo-1m',
    kind: 'echo',
    unit: 'MB/s',
    better: 'higher',
    what: '1 MiB binary echo, 4 connections x 2 in flight',
    full: load({ size: 1024 * 1024, connections: 4, window: 2, warmupMs: 1000, durationMs: 3000 }),
    quick: load({ size: 1024 * 1024, connections: 4, window: 2, warmupMs: 300, durationMs: 1000 }),
    target: { ratio: 0.9, against: 'ws-native', text: '>= 0.9x ws-native' },
  },
  {
    name: 'handshake',
    kind: 'handshake',
    unit: 'hs/s',
    better: 'higher',
    what: 'open, upgrade, close handshake, TCP close; 50 at a time',
    full: load({ connections: 50, warmup: 1000, count: 10_000 }),
    quick: load({ connections: 50, warmup: 1000, count: 3000 }),
    target: { ratio: 1.5, text: '>= 1.5x ws-js' },
  },
  {
    name: 'idle-memory',
    kind: 'idle',
    unit: 'B/conn',
    better: 'lower',
    what: 'server RSS growth per open idle connection (5,000 open, after gc)',
    full: load({ connections: 5000, warmup: 200, limitMs: 60_000 }),
    quick: load({ connections: 5000, warmup: 200, limitMs: 60_000 }),
    target: { ratio: 0.8, text: '<= 0.8x ws-js' },
  },
  {
    name: 'broadcast',
    kind: 'broadcast',
    unit: 'deliveries/s',
    better: 'higher',
    what: '64 B message from one sender to 1,000 receivers, 16 messages in flight',
    full: load({ size: 64, connections: 1000, window: 16, warmupMs: 1000, durationMs: 3000, limitMs: 60_000 }),
    quick: load({ size: 64, connections: 1000, window: 16, warmupMs: 300, durationMs: 1000, limitMs: 60_000 }),
    target: { ratio: 3, text: '>= 3x ws-js' },
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
    target: { absolute: 16, text: '<= 16 MB' },
  },
];
