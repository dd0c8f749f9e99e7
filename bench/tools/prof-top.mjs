#!/usr/bin/env node
// Summarises a .cpuprofile (node --cpu-prof): self time by function and by file.
// Usage: node bench/tools/prof-top.mjs FILE.cpuprofile [N]
import { loadProfile } from './prof-lib.mjs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: prof-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const n = Number(nArg ?? 30);
const { byId, self } = loadProfile(file);
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map();
const files = new Map();
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  const short = cf.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm/').replace(/.*\/(dist|src)\//, '$1/');
  const k = `${cf.functionName || '(anon)'}  ${short}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + t);
  const f = short || `(${cf.functionName})`;
  files.set(f, (files.get(f) ?? 0) + t);
}
const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
console.log('\nby file:');
for (const [k, t] of [...files].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(t)}  ${k}`);
console.log('\nby function (self):');
for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(t)}  ${k}`);
