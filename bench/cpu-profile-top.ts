// Prints the top self-time frames of a V8 CPU profile (node --cpu-prof), and the top frames by
// inclusive time under a few entry points, so a profile can be read without DevTools:
//   node bench/cpu-profile-top.ts <file.cpuprofile> [count] [from s] [to s]
// Percentages are of the busy samples (idle, GC and "program" apart) between `from` and `to`
// seconds into the profile (default: all of it; a negative one counts back from its end), so start-up and quiet stretches can be left out.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
const [file, countText, fromText, toText] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/cpu-profile-top.ts <file.cpuprofile> [count]');
const count = Number(countText ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
// A negative `from` counts back from the profile's end (`-10`: its last ten seconds).
const endUs = profile.timeDeltas.reduce((s, d) => s + d, 0);
const fromUs = Number(fromText ?? 0) < 0 ? endUs + Number(fromText) * 1e6 : Number(fromText ?? 0) * 1e6;
const toUs =
  toText === undefined
    ? Number.POSITIVE_INFINITY
    : Number(toText) < 0
      ? endUs + Number(toText) * 1e6
      : Number(toText) * 1e6;
// Hit counts from the samples in the window, instead of the profile's own (whole-run) counts.
const hits = new Map<number, number>();
let at = 0;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at >= fromUs && at <= toUs) hits.set(id, (hits.get(id) ?? 0) + 1);
});
for (const n of profile.nodes) n.hitCount = hits.get(n.id) ?? 0;
const NOT_BUSY = new Set(['(idle)', '(program)', '(garbage collector)']);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const all = profile.nodes.reduce((s, n) => s + n.hitCount, 0);
const notBusy = new Map<string, number>();
for (const n of profile.nodes)
  if (NOT_BUSY.has(n.callFrame.functionName))
    notBusy.set(n.callFrame.functionName, (notBusy.get(n.callFrame.functionName) ?? 0) + n.hitCount);
const total = all - (notBusy.get('(idle)') ?? 0) - (notBusy.get('(program)') ?? 0);
const label = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^.*\/node_modules\//, '~/').replace(/^.*\/(src|bench)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
};
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const n of profile.nodes) {
  if (n.hitCount === 0 || n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)')
    continue;
  self.set(label(n), (self.get(label(n)) ?? 0) + n.hitCount);
  // Each frame on the stack once per sample (recursion counted once).
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + n.hitCount);
  }
}
const pct = (h: number) => `${((h / total) * 100).toFixed(1).padStart(5)}%`;
console.log(
  `${all} samples in the window, ${total} busy (idle ${notBusy.get('(idle)') ?? 0}, program ${notBusy.get('(program)') ?? 0}, GC ${notBusy.get('(garbage collector)') ?? 0}); top ${count} by self time, % of busy:`,
);
for (const [l, h] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${pct(h)}  ${l}`);
console.log(`\ntop ${count} by inclusive time:`);
for (const [l, h] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, count))
  console.log(`${pct(h)}  ${l}`);
