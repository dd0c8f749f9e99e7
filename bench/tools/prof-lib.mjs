// What the .cpuprofile summarisers (prof-top, prof-incl, prof-cat) read from
// a profile: its nodes by id, each node's caller, each node's self time (µs,
// summed over the samples that landed on it), and the samples in order with
// their times (µs since the profile started) for tools that need when, and
// the thread CPU time over the profile when the profiler recorded it
// (bench/prof-daemon does: cpuUs).
import fs from 'node:fs';

export function loadProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const self = new Map();
  const samples = p.samples;
  const at = new Array(samples.length);
  let t = 0;
  for (let i = 0; i < samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    at[i] = t;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + d);
  }
  return { byId, parent, self, samples, at, deltas: p.timeDeltas, cpuUs: typeof p.cpuUs === 'number' ? p.cpuUs : null };
}
