// Summarizes a V8 CPU profile (from `node --cpu-prof`, e.g. `npm run bench -- --cpu-prof DIR`):
// the functions with the most self time, aggregated by name and location.
//
//   node dist/test/bench/profile.js DIR/CPU.*.cpuprofile [--top 25]

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length === 0) throw new Error('usage: profile.js FILE.cpuprofile [--top N]');

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node: each sample's time delta goes to the node on top of the stack.
  const selfTime = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfTime) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const key = `${functionName || '(anonymous)'} ${url === '' ? '' : `${place(url)}:${lineNumber + 1}`}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    total += micros;
  }
  const busy = total - (byFunction.get('(idle)') ?? 0);
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle`);
  console.log('  self ms   % busy  function');
  const rows = [...byFunction].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]);
  for (const [key, micros] of rows.slice(0, Number(values.top))) {
    console.log(`${(micros / 1000).toFixed(0).padStart(8)}  ${((100 * micros) / busy).toFixed(1).padStart(6)}%  ${key}`);
  }
}

/** Shortens a script URL: a path relative to here, or `node:…` for Node's own modules. */
function place(url: string): string {
  if (!url.startsWith('file://')) return url;
  return relative(process.cwd(), fileURLToPath(url));
}
