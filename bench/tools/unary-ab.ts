/**
 * A/B of the daemon's CPU per unary call between two builds of this repo:
 * one daemon from each checkout (A_DIR/bin/rdma-brokerd.js, built), driven
 * by this build's bench client, rounds alternating between them so a loaded
 * machine stretches both alike. Each daemon first serves WARM calls of every
 * kind (V8 compiles a fresh daemon's per-call path over its first few
 * thousand calls). Prints, per verb pair, the median over rounds of the
 * daemon event loop's CPU per call.
 *
 * Usage: node .cache/bench-build/bench/tools/unary-ab.js A_DIR B_DIR [ROUNDS] [CALLS] [WARM]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAbDaemon } from '../lib/ab.js';
import type { Conn, Sess } from '../lib/client.js';
import { GrpcDriver } from '../lib/drivers.js';
import type { Child } from '../lib/procs.js';
import { fixture, type Fixture } from '../verbs.js';

const [aDir, bDir, roundsArg, callsArg, warmArg] = process.argv.slice(2);
if (!aDir || !bDir) throw new Error('usage: unary-ab.js A_DIR B_DIR [ROUNDS] [CALLS] [WARM]');
const rounds = Number(roundsArg ?? 5);
const calls = Number(callsArg ?? 1000);
const warm = Number(warmArg ?? 3000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-unary-ab-'));

interface Side {
  name: string;
  daemon: Child;
  conn: Conn;
  s: Sess;
  d: GrpcDriver;
  f: Fixture<string>;
}

/** A pair of calls per iteration: what each kind runs (its CPU is divided by 2 calls). */
const KINDS: Record<string, (x: Side) => Promise<unknown>> = {
  'pd alloc+dealloc': async (x) => x.d.deallocPd(await x.d.allocPd()),
  'cq create+destroy': async (x) => x.d.destroyCq(await x.d.createCq()),
  'qp modify INIT+RESET': async (x) => {
    await x.d.modifyQp(x.f.m.h, 'INIT', x.f.b.qpn);
    await x.d.modifyQp(x.f.m.h, 'RESET', x.f.b.qpn);
  },
};

async function start(name: string, dir: string): Promise<Side> {
  const { daemon, conn, s, gid } = await startAbDaemon(name, dir, tmp);
  const d = new GrpcDriver(s, gid);
  const f = await fixture(d);
  const x = { name, daemon, conn, s, d, f };
  for (const run of Object.values(KINDS)) for (let i = 0; i < warm / 2 / Object.keys(KINDS).length; i++) await run(x);
  return x;
}

const sides = [await start('A', aDir), await start('B', bDir)];
const acc = new Map<string, Map<string, number[]>>();
for (let r = 0; r < rounds; r++) {
  for (const [k, run] of Object.entries(KINDS)) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const x of order) {
      const c0 = x.daemon.cpuUs();
      for (let i = 0; i < calls / 2; i++) await run(x);
      const us = (x.daemon.cpuUs() - c0) / calls;
      let m = acc.get(k);
      if (!m) acc.set(k, (m = new Map()));
      m.set(x.name, [...(m.get(x.name) ?? []), us]);
    }
  }
}
const median = (l: number[]): number => [...l].sort((p, q) => p - q)[Math.floor(l.length / 2)] ?? NaN;
console.log(`daemon event-loop CPU per unary call (${calls} calls x ${rounds} rounds after ${warm} warm-up calls, median); load ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
console.log(`A=${aDir} B=${bDir}`);
console.log(`${'calls'.padEnd(22)}${'A µs'.padStart(9)}${'B µs'.padStart(9)}${'B/A'.padStart(8)}`);
for (const [k, m] of acc) {
  const a = median(m.get('A') ?? []);
  const b = median(m.get('B') ?? []);
  console.log(`${k.padEnd(22)}${a.toFixed(1).padStart(9)}${b.toFixed(1).padStart(9)}${(b / a).toFixed(2).padStart(8)}`);
}
for (const x of sides) {
  x.s.end();
  x.conn.close();
  await x.daemon.stop();
}
fs.rmSync(tmp, { recursive: true, force: true });
