#!/usr/bin/env node
// Summarises a .cpuprofile (node --cpu-prof) by component of the daemon: the
// broker's own layers (core, wire codec, rpc, sim, libibverbs backend), the
// log (pino, sonic-boom, src/daemon/logdest), grpc-js, protobufjs, Node's
// HTTP/2 and streams, the garbage collector, and start-up (module loading,
// proto descriptors), which a steady-state comparison should leave out.
// Self time only; percentages are of the busy (non-idle, non-start-up) time.
// Usage: node bench/tools/prof-cat.mjs FILE.cpuprofile [PER]
//   PER: divide each component's time by this many operations and print µs
//   per operation too (calls or verbs the profiled run made).
import { loadProfile } from './prof-lib.mjs';

const [file, perArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: prof-cat.mjs FILE.cpuprofile [OPERATIONS]');
  process.exit(2);
}
const per = perArg ? Number(perArg) : 0;
const { byId, parent, self } = loadProfile(file);

const STARTUP = /node:internal\/(modules|bootstrap)|cjs-module-lexer|esm\//;
/** The component of one frame, or null to look at its caller (a native or anonymous frame). */
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
  if (/\/(dist|src)\//.test(u) && !u.includes('node_modules')) return 'broker other';
  if (u.includes('@grpc/grpc-js')) return 'grpc-js';
  if (/protobufjs|@protobufjs|long\//.test(u)) return 'protobufjs';
  if (/node:internal\/http2|node:http2/.test(u)) return 'node http2';
  if (/node:internal\/streams|node:stream|node:net|stream_base/.test(u)) return 'node streams, net';
  if (u.startsWith('node:')) return 'node other';
  if (u === '') return null;
  return 'other';
}

/** Functions that only run while the process starts (loading protos, building the server): their callees are start-up too. */
const STARTUP_FN = new Set(['loadSync', 'loadProtosWithOptionsSync', 'createPackageDefinition', 'packageDefinition', 'fromJSON', 'addReflection', 'createServer', 'ReflectionService']);
function inStartup(id) {
  for (let cur = id, i = 0; cur !== undefined && i < 256; cur = parent.get(cur), i++) {
    const cf = byId.get(cur).callFrame;
    if (STARTUP_FN.has(cf.functionName) || STARTUP.test(cf.url)) return true;
  }
  return false;
}

const cat = new Map();
for (const [id, t] of self) {
  let c = inStartup(id) ? 'startup' : null;
  // Native frames (writeString, utf8Slice...) count for their nearest JS caller's component.
  for (let cur = id, i = 0; cur !== undefined && c === null && i < 64; cur = parent.get(cur), i++) c = component(byId.get(cur).callFrame);
  c ??= 'other';
  cat.set(c, (cat.get(c) ?? 0) + t);
}
const busy = [...cat].filter(([k]) => k !== 'idle' && k !== 'startup').reduce((a, [, t]) => a + t, 0);
console.log(`busy ${(busy / 1000).toFixed(0)} ms (idle ${((cat.get('idle') ?? 0) / 1000).toFixed(0)} ms, start-up ${((cat.get('startup') ?? 0) / 1000).toFixed(0)} ms left out)`);
for (const [k, t] of [...cat].sort((a, b) => b[1] - a[1])) {
  if (k === 'idle' || k === 'startup') continue;
  const us = per ? `  ${(t / per).toFixed(2).padStart(8)} µs/op` : '';
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${k.padEnd(34)}${(t / 1000).toFixed(0).padStart(7)} ms${us}`);
}
