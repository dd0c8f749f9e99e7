// What the .cpuprofile summarisers (prof-top, prof-incl, prof-cat) read from
// a profile: its nodes by id, each node's caller, and each node's self time
// (µs, summed over the samples that landed on it).
import fs from 'node:fs';

export function loadProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  return { byId, parent, self };
}
