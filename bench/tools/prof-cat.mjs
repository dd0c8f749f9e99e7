#!/usr/bin/env node
// Summarises a .cpuprofile (node --cpu-prof) by component of the daemon: the
// broker's own layers (core, wire codec, rpc, sim, libibverbs backend), the
// log (pino, sonic-boom, src/daemon/logdest), grpc-js, protobufjs, Node's
// HTTP/2 and streams, the garbage collector, and start-up, which a
// steady-state comparison should leave out.
// Self time only; percentages are of the busy (non-idle, non-start-up) time.
//
// Start-up is every sample before the first one that serves a call (a frame
// of grpc-js' server call path or of the core's runner), and later whatever
// runs under module loading or proto/server set-up (a lazy import). Node's
// own library code (node:buffer, node:fs, node:timers, node:events...)
// counts for the component that called it (a Buffer.from under sonic-boom is
// the log's, a setImmediate under the runner the core's); only what the event
// loop itself runs (ticks, immediates, stream close events) stays "node
// other". Native frames count for their JS caller.
//
// A sample's time is wall time: on a loaded machine a thread preempted in
// the middle of a call has the wait counted for whatever it was running, and
// one such sample can carry tens of milliseconds. So a sample counts for at
// most twice the profile's median interval (the rest is printed as
// "preempted" and left out), and a profile from bench/prof-daemon, which
// carries the thread's CPU time (cpuUs), has every figure scaled by CPU time
// / sampled busy time (printed): µs per operation are then CPU, as
// batch-ab.js measures them.
//
// Usage: node bench/tools/prof-cat.mjs [--from=S] FILE.cpuprofile [PER] [COMPONENT]
//   --from=S: leave out (as warm-up) the samples of the first S seconds after
//   the first call (a fresh process runs its per-call code cold: V8 has not
//   compiled it yet); PER must then count the operations after that point.
//   PER: divide each component's time by this many operations and print µs
//   per operation too (the calls or verbs the profiled process served,
//   warm-up included: everything after start-up is counted).
//   COMPONENT: also list the stacks that make up that component (its name as
//   printed, e.g. "node other"), heaviest first.
import { loadProfile } from './prof-lib.mjs';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const [file, perArg, which] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const fromUs = Number((flags.find((a) => a.startsWith('--from=')) ?? '--from=0').slice(7)) * 1e6;
if (!file) {
  console.error('usage: prof-cat.mjs FILE.cpuprofile [OPERATIONS] [COMPONENT]');
  process.exit(2);
}
const per = perArg ? Number(perArg) : 0;
const { byId, parent, samples, deltas, at, cpuUs } = loadProfile(file);

/** Module loading and process bootstrap, wherever it runs. */
const STARTUP = /node:internal\/(modules|bootstrap|process\/pre_execution|main\/)|cjs-module-lexer|esm\//;
/** Node's own modules that are a component of their own (the transport); other node: frames count for their caller. */
const NODE_OWN = [
  [/node:internal\/http2|node:http2/, 'node http2'],
  [/node:internal\/streams|node:stream|node:net|stream_base/, 'node streams, net'],
];

/** The component of one frame; null: look at its caller (native or anonymous frame); 'node' a node: library frame. */
function component(cf) {
  const u = cf.url;
  const f = cf.functionName;
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'gc';
  if (f === '(program)') return 'program (native, unattributed)';
  if (STARTUP.test(u) || f === 'wrapSafe' || f === 'compileForInternalLoader' || /Descriptor(Proto)?\$/.test(f)) return 'startup';
  if (/\/(dist|src)\/core\//.test(u)) return 'broker core (src/core)';
  if (/\/(dist|src)\/wire\//.test(u)) return 'broker wire codec (src/wire)';
  if (/\/(dist|src)\/rpc\//.test(u)) return 'broker rpc (src/rpc)';
  if (/\/(dist|src)\/verbs\/sim\//.test(u)) return 'sim device (src/verbs/sim)';
  if (/\/(dist|src)\/verbs\//.test(u)) return 'verbs backend (src/verbs)';
  if (/\/(dist|src)\/daemon\/log|\/pino\/|sonic-boom|thread-stream/.test(u)) return 'log (pino, logdest)';
  if (/\/(dist|src)\/client\//.test(u)) return 'client library (src/client)';
  if (/\/(dist|src)\//.test(u) && !u.includes('node_modules')) return 'broker other';
  if (u.includes('@grpc/grpc-js')) return 'grpc-js';
  if (/protobufjs|@protobufjs|long\//.test(u)) return 'protobufjs';
  for (const [re, name] of NODE_OWN) if (re.test(u)) return name;
  if (u.startsWith('node:')) return 'node';
  if (u === '') return null;
  return 'other';
}

/** Functions that only run while the process starts (loading protos, building the server): their callees are start-up too. */
const STARTUP_FN = new Set(['loadSync', 'loadProtosWithOptionsSync', 'createPackageDefinition', 'packageDefinition', 'fromJSON', 'addReflection', 'createServer', 'ReflectionService']);
/** A frame of a call being served: grpc-js' server call path, or the core running a verb. */
const SERVES = (cf) => /@grpc\/grpc-js\/build\/src\/server(-interceptors)?\.js$/.test(cf.url) || /\/(dist|src)\/core\/runner\.[jt]s$/.test(cf.url);

const startupNode = new Map();
function inStartup(id) {
  let r = startupNode.get(id);
  if (r !== undefined) return r;
  r = false;
  for (let cur = id, i = 0; cur !== undefined && i < 256; cur = parent.get(cur), i++) {
    const cf = byId.get(cur).callFrame;
    if (STARTUP_FN.has(cf.functionName) || STARTUP.test(cf.url)) {
      r = true;
      break;
    }
  }
  startupNode.set(id, r);
  return r;
}
function serves(id) {
  for (let cur = id, i = 0; cur !== undefined && i < 256; cur = parent.get(cur), i++) if (SERVES(byId.get(cur).callFrame)) return true;
  return false;
}

const compNode = new Map();
function componentOf(id) {
  let c = compNode.get(id);
  if (c !== undefined) return c;
  c = null;
  let sawNode = false;
  for (let cur = id, i = 0; cur !== undefined && i < 128; cur = parent.get(cur), i++) {
    const k = component(byId.get(cur).callFrame);
    if (k === null) continue;
    if (k === 'node') {
      sawNode = true;
      continue;
    }
    // A node: library frame called from the event loop itself (the root, a tick, an immediate) is node's.
    if (k === 'other' && sawNode) break;
    c = k;
    break;
  }
  c ??= sawNode ? 'node other' : 'other';
  compNode.set(id, c);
  return c;
}

const sorted = [...deltas].sort((a, b) => a - b);
const cap = 2 * (sorted[Math.floor(sorted.length / 2)] ?? 0) || Infinity;
let preempted = 0;
const cat = new Map();
const stacks = new Map();
let serving = -1;
let before = 0;
for (let i = 0; i < samples.length; i++) {
  const id = samples[i];
  const d = deltas[i] ?? 0;
  const t = Math.min(d, cap);
  if (d > t && componentOf(id) !== 'idle') preempted += d - t;
  if (serving < 0 && serves(id) && !inStartup(id)) serving = at[i];
  let c;
  if (serving < 0) {
    c = 'startup';
    before += t;
  } else if (at[i] < serving + fromUs) {
    c = componentOf(id) === 'idle' ? 'idle' : 'warm-up';
  } else {
    c = inStartup(id) ? 'startup' : componentOf(id);
  }
  cat.set(c, (cat.get(c) ?? 0) + t);
  if (which && c === which) stacks.set(id, (stacks.get(id) ?? 0) + t);
}
// Busy sampled time, start-up included, is what the thread's CPU time covers.
const sampledBusy = [...cat].filter(([k]) => k !== 'idle').reduce((a, [, t]) => a + t, 0);
const scale = cpuUs !== null && sampledBusy > 0 ? cpuUs / sampledBusy : 1;
for (const [k, t] of cat) if (k !== 'idle') cat.set(k, t * scale);
console.log(`samples: ${samples.length}, each counted for at most ${(cap / 1000).toFixed(2)} ms (twice the median interval): ${(preempted / 1000).toFixed(0)} ms of busy samples' wall time beyond that left out as preempted`);
if (cpuUs !== null) console.log(`scaled to the thread's CPU time: ${(cpuUs / 1000).toFixed(0)} ms CPU over ${(sampledBusy / 1000).toFixed(0)} ms sampled busy (x${scale.toFixed(2)})`);
const ms = (t) => (t / 1000).toFixed(0);
const left = (k) => k === 'idle' || k === 'startup' || k === 'warm-up';
const busy = [...cat].filter(([k]) => !left(k)).reduce((a, [, t]) => a + t, 0);
const warm = cat.has('warm-up') ? `, warm-up ${ms(cat.get('warm-up'))} ms left out` : '';
console.log(`busy ${ms(busy)} ms (idle ${ms(cat.get('idle') ?? 0)} ms, start-up ${ms(cat.get('startup') ?? 0)} ms left out, ${ms(before * scale)} ms of it before the first call${warm})`);
for (const [k, t] of [...cat].sort((a, b) => b[1] - a[1])) {
  if (left(k)) continue;
  const us = per ? `  ${(t / per).toFixed(2).padStart(8)} µs/op` : '';
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${k.padEnd(34)}${ms(t).padStart(7)} ms${us}`);
}
if (per) console.log(`${''.padStart(6)} ${'total'.padEnd(34)}${ms(busy).padStart(7)} ms  ${(busy / per).toFixed(2).padStart(8)} µs/op`);
if (which) {
  const short = (cf) => `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/(node_modules|dist|src)\//, '$1/').replace(/^node:internal\//, 'node:')}:${cf.lineNumber + 1}`;
  const byStack = new Map();
  for (const [id, t] of stacks) {
    const chain = [];
    for (let cur = id, i = 0; cur !== undefined && i < 6; cur = parent.get(cur), i++) chain.push(short(byId.get(cur).callFrame));
    const k = chain.join(' < ');
    byStack.set(k, (byStack.get(k) ?? 0) + t * scale);
  }
  console.log(`\n${which}:`);
  for (const [k, t] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(t / 1000).toFixed(1).padStart(7)} ms  ${k}`);
}
