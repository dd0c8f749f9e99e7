/**
 * The fast lane's bench (bench/lane.ts) against two daemons in one run: A,
 * an older build (another checkout's bin/rdma-brokerd.js, built), and B,
 * this checkout. Rounds alternate A and B so load on the machine hits both
 * alike; per measurement it prints the median over the rounds. The client
 * is this checkout's (src/client/lane.ts) for both.
 *
 * Usage: node .cache/bench-build/bench/tools/lane-ab.js --base DIR [--rounds N] [--ms MS] [--spin] [--prof DIR] [--parts latency,throughput|throughput32]
 *   --base  the A checkout (its dist/ built); --spin: both daemons with --fast-lane-spin, the client without doorbells;
 *   --prof  writes each daemon's CPU profile of the measured rounds to DIR/a.cpuprofile and DIR/b.cpuprofile (summarise with bench/tools/prof-top.mjs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pair, spin, throughputRun, write, type Pair } from '../lane.js';
import { startDaemon, type Child } from '../lib/procs.js';
import { nowUs, percentile } from '../lib/stats.js';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    ms: { type: 'string', default: '1500' },
    spin: { type: 'boolean', default: false },
    prof: { type: 'string' },
    parts: { type: 'string', default: 'latency,throughput' },
  },
});
if (!args.base) throw new Error('--base DIR: the checkout to compare against');
const rounds = Number(args.rounds);
const ms = Number(args.ms);
const spinMode = args.spin === true;
const parts = new Set(args.parts!.split(','));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-lane-ab-'));

interface Side {
  name: string;
  daemon: Child;
  p: Pair;
  rows: Map<string, number[]>;
}

async function side(name: string, root: string | undefined): Promise<Side> {
  const socket = path.join(tmp, `${name}.sock`);
  const daemon = await startDaemon({
    socket, logFile: path.join(tmp, `${name}.log`), root, logLevel: 'warn',
    args: spinMode ? ['--fast-lane-spin'] : [],
  });
  return { name, daemon, p: await pair(socket, 'sim0'), rows: new Map() };
}

function add(s: Side, k: string, v: number): void {
  const r = s.rows.get(k) ?? [];
  r.push(v);
  s.rows.set(k, r);
}

/** Post + poll latency with the client spinning on the ring (p50 and p99 of the round). */
async function latency(s: Side): Promise<void> {
  const lat: number[] = [];
  const end = nowUs() + ms * 1000;
  let id = 0;
  for (let i = 0; i < 200; i++) {
    s.p.lane.postSend(s.p.a, [write(s.p, id++)], { doorbell: !spinMode });
    await spin(s.p, 1);
  }
  while (nowUs() < end) {
    const t = nowUs();
    s.p.lane.postSend(s.p.a, [write(s.p, id++)], { doorbell: !spinMode });
    await spin(s.p, 1);
    lat.push(nowUs() - t);
  }
  lat.sort((a, b) => a - b);
  add(s, 'spin p50 µs', percentile(lat, 0.5));
  add(s, 'spin p99 µs', percentile(lat, 0.99));
  if (!spinMode) {
    const w: number[] = [];
    const wend = nowUs() + ms * 1000;
    while (nowUs() < wend) {
      const t = nowUs();
      s.p.lane.postSend(s.p.a, [write(s.p, id++)]);
      await s.p.lane.waitCompletions(s.p.cq, 1, 10_000);
      w.push(nowUs() - t);
    }
    w.sort((a, b) => a - b);
    add(s, 'eventfd p50 µs', percentile(w, 0.5));
  }
}

async function throughput(s: Side): Promise<void> {
  for (const per of parts.has('throughput') ? [1, 32] : [32]) {
    const c0 = process.cpuUsage();
    const t = await throughputRun(s.p, s.daemon, per, { maxMs: ms, maxIters: 1e9, minIters: 1, warmup: 0 }, !spinMode);
    const c = process.cpuUsage(c0);
    add(s, `${per}/doorbell kWR/s`, t.wrsPerSec / 1000);
    add(s, `${per}/doorbell daemon µs/WR`, t.daemonCpuUsPerWr);
    add(s, `${per}/doorbell client µs/WR`, (c.user + c.system) / t.wrs);
  }
}

const a = await side('a', path.resolve(args.base));
const b = await side('b', undefined);
try {
  if (args.prof) for (const s of [a, b]) await s.daemon.startProfile();
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? [a, b] : [b, a]) {
      process.stderr.write(`round ${r + 1}: ${s.name}\n`);
      if (parts.has('latency')) await latency(s);
      if (parts.has('throughput') || parts.has('throughput32')) await throughput(s);
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  if (args.prof) {
    fs.mkdirSync(args.prof, { recursive: true });
    for (const s of [a, b]) await s.daemon.stopProfile(path.join(args.prof, `${s.name}.cpuprofile`));
  }
  const med = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  process.stdout.write(`\nlane A/B${spinMode ? ' (--fast-lane-spin, no doorbells)' : ''}: median of ${rounds} rounds, ${ms} ms each; load ${load}\n`);
  process.stdout.write(`A = ${path.resolve(args.base)}, B = this checkout\n\n| measurement | A | B | B/A |\n|---|---:|---:|---:|\n`);
  for (const k of a.rows.keys()) {
    const x = med(a.rows.get(k)!);
    const y = med(b.rows.get(k)!);
    process.stdout.write(`| ${k} | ${x.toFixed(1)} | ${y.toFixed(1)} | ${(y / x).toFixed(2)} |\n`);
  }
  const errs = [...a.p.lane.errors(), ...b.p.lane.errors()];
  if (errs.length > 0) process.stdout.write(`lane error records: ${errs.length} (first: ${errs[0]!.code})\n`);
} finally {
  for (const s of [a, b]) {
    await s.p.lane.close();
    await s.p.s.close();
    s.p.client.close();
    await s.daemon.stop();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
