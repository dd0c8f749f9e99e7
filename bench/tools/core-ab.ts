/**
 * A/B of the in-process Broker core (the "verbs in-process: Broker core over
 * sim" rows of npm run bench) between two builds of this repo, in one
 * process, rounds alternating, so a loaded machine stretches both alike.
 * Also the fast lane's entry (DataPath.post + poll) beside it.
 *
 * Usage: node .cache/bench-build/bench/tools/core-ab.js A_DIR B_DIR [ROUNDS] [MS]
 *   A_DIR, B_DIR: checkouts whose bench was built (tsc -p bench/tsconfig.json).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Summary {
  n: number;
  opsPerSec: number;
  p50Us: number;
  meanUs: number;
}
interface Build {
  name: string;
  core: { start(): Promise<unknown> };
  runDriver(d: unknown, budget: unknown): Promise<Record<string, Summary>>;
  fixture(d: unknown): Promise<Record<string, unknown>>;
}

async function load(dir: string, name: string): Promise<Build> {
  const root = path.resolve(dir, '.cache/bench-build/bench');
  const drivers = (await import(pathToFileURL(path.join(root, 'lib/drivers.js')).href)) as { CoreDriver: Build['core'] };
  const verbs = (await import(pathToFileURL(path.join(root, 'verbs.js')).href)) as Pick<Build, 'runDriver' | 'fixture'>;
  return { name, core: drivers.CoreDriver, runDriver: verbs.runDriver, fixture: verbs.fixture };
}

interface CoreLike {
  broker: {
    dataPath: {
      post(s: unknown, h: number, kind: 'send', wrs: unknown[]): Promise<void>;
      poll(s: unknown, cq: number, max: number): Promise<unknown[]>;
    };
  };
  s: unknown;
  close(): Promise<void>;
}

/** The fast lane's core entry: a signaled 64-byte RDMA WRITE through DataPath.post, then polls until it completes. */
async function lane(b: Build, ms: number): Promise<Summary> {
  const d = (await b.core.start()) as CoreLike;
  const f = (await b.fixture(d)) as { a: { h: number }; cq: number; mr: { addr: bigint; lkey: number; rkey: number } };
  const wr = {
    wr_id: 1n, opcode: 'RDMA_WRITE', send_flags: 2, sg_list: [{ addr: f.mr.addr, length: 64, lkey: f.mr.lkey }],
    remote_addr: f.mr.addr + 2048n, rkey: f.mr.rkey,
  };
  const one = async (): Promise<void> => {
    await d.broker.dataPath.post(d.s, f.a.h, 'send', [wr]);
    while ((await d.broker.dataPath.poll(d.s, f.cq, 16)).length === 0);
  };
  for (let i = 0; i < 500; i++) await one();
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const t = performance.now();
    await one();
    lat.push((performance.now() - t) * 1000);
  }
  const wall = performance.now() - t0;
  await d.close();
  lat.sort((x, y) => x - y);
  return { n: lat.length, opsPerSec: (lat.length * 1000) / wall, p50Us: lat[lat.length >> 1] ?? NaN, meanUs: (wall * 1000) / lat.length };
}

const [aDir, bDir, roundsArg, msArg] = process.argv.slice(2);
if (!aDir || !bDir) throw new Error('usage: core-ab.js A_DIR B_DIR [ROUNDS] [MS]');
const rounds = Number(roundsArg ?? 3);
const ms = Number(msArg ?? 1500);
const builds = [await load(aDir, 'A'), await load(bDir, 'B')];
const budget = { maxIters: 1_000_000, maxMs: ms, minIters: 200, warmup: 200 };
const acc = new Map<string, Map<string, number[]>>();
const add = (b: string, k: string, v: number): void => {
  let m = acc.get(k);
  if (!m) acc.set(k, (m = new Map()));
  let l = m.get(b);
  if (!l) m.set(b, (l = []));
  l.push(v);
};
for (let r = 0; r < rounds; r++) {
  // Alternate which build goes first, so neither always runs on a warmer machine.
  const order = r % 2 === 0 ? builds : [...builds].reverse();
  for (const b of order) {
    const d = await b.core.start();
    const res = await b.runDriver(d, budget);
    await (d as CoreLike).close();
    for (const [k, v] of Object.entries(res)) add(b.name, k, v.p50Us);
    add(b.name, 'lane.post+poll (DataPath)', (await lane(b, ms)).p50Us);
  }
}
const median = (l: number[]): number => [...l].sort((x, y) => x - y)[Math.floor(l.length / 2)]!;
console.log(`median over ${rounds} rounds of each round's p50, µs per op; A=${aDir} B=${bDir}`);
console.log(`${'verb'.padEnd(28)}${'A µs'.padStart(10)}${'B µs'.padStart(10)}${'B/A'.padStart(8)}`);
for (const [k, m] of acc) {
  const a = median(m.get('A') ?? [NaN]);
  const b = median(m.get('B') ?? [NaN]);
  console.log(`${k.padEnd(28)}${a.toFixed(2).padStart(10)}${b.toFixed(2).padStart(10)}${(b / a).toFixed(3).padStart(8)}`);
}
