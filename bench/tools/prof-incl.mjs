#!/usr/bin/env node
// Inclusive time of functions in a .cpuprofile whose name matches a pattern.
// Usage: node bench/tools/prof-incl.mjs FILE.cpuprofile REGEX [N]
import { loadProfile } from './prof-lib.mjs';

const [file, pattern, nArg] = process.argv.slice(2);
if (!file || !pattern) {
  console.error('usage: prof-incl.mjs FILE.cpuprofile REGEX [N]');
  process.exit(2);
}
const re = new RegExp(pattern);
const { byId, parent, self } = loadProfile(file);
let total = 0;
let busy = 0;
const incl = new Map();
for (const [id, t] of self) {
  total += t;
  const name0 = byId.get(id).callFrame.functionName;
  if (name0 !== '(idle)') busy += t;
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const k = `${cf.functionName || '(anon)'}  ${cf.url.replace(/.*\/(node_modules|dist|src)\//, '$1/')}:${cf.lineNumber + 1}`;
    if (!re.test(k) || seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
console.log(`total ${(total / 1000).toFixed(0)} ms, busy (not idle) ${(busy / 1000).toFixed(0)} ms`);
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 40))) {
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}% of busy  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}
