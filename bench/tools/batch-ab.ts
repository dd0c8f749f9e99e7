/**
 * A/B of the daemon's CPU per Batch step between two builds of this repo:
 * one daemon from each checkout (A_DIR/bin/rdma-brokerd.js, built with npm
 * run build), driven by this build's client, rounds alternating between
 * them so a loaded machine stretches both alike. Prints, per Batch group,
 * the median over rounds of the daemon event loop's CPU per verb.
 *
 * Usage: [WARM=N] node .cache/bench-build/bench/tools/batch-ab.js A_DIR B_DIR [ROUNDS] [CALLS] [GROUPS] [SIZE]
 *   GROUPS: comma-separated keys of bench/verbs.ts BATCH_GROUPS (default pd,cq,qp,modify,write,mr4k)
 *   WARM: Batch calls of each group each daemon serves before the rounds
 *   (default 0: 3 per round). A fresh daemon runs its per-call path (grpc-js,
 *   HTTP/2, the handler) cold for its first few thousand calls: with a few
 *   hundred calls, the transport's share is about twice its steady state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAbDaemon } from '../lib/ab.js';
import type { Conn, Sess } from '../lib/client.js';
import { GrpcDriver } from '../lib/drivers.js';
import type { Child } from '../lib/procs.js';
import { batchSteps, fixture, type Fixture } from '../verbs.js';

const [aDir, bDir, roundsArg, callsArg, groupsArg, sizeArg] = process.argv.slice(2);
if (!aDir || !bDir) throw new Error('usage: batch-ab.js A_DIR B_DIR [ROUNDS] [CALLS] [GROUPS] [SIZE]');
const rounds = Number(roundsArg ?? 5);
const calls = Number(callsArg ?? 20);
const groups = (groupsArg ?? 'pd,cq,qp,modify,write,mr4k').split(',');
const size = Number(sizeArg ?? 256);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-batch-ab-'));

interface Side {
  name: string;
  daemon: Child;
  conn: Conn;
  s: Sess;
  f: Fixture<string>;
  gid: string;
}

async function start(name: string, dir: string): Promise<Side> {
  const x = await startAbDaemon(name, dir, tmp);
  return { ...x, f: await fixture(new GrpcDriver(x.s, x.gid)) };
}

const sides = [await start('A', aDir), await start('B', bDir)];
const warm = Number(process.env.WARM ?? 0);
for (const x of sides) {
  for (const g of groups) {
    const steps = batchSteps(g, size, x.f, x.gid);
    for (let i = 0; i < warm; i++) await x.s.batch(steps);
  }
}
const acc = new Map<string, Map<string, number[]>>();
for (let r = 0; r < rounds; r++) {
  for (const g of groups) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const x of order) {
      const steps = batchSteps(g, size, x.f, x.gid);
      for (let i = 0; i < 3; i++) await x.s.batch(steps);
      const c0 = x.daemon.cpuUs();
      for (let i = 0; i < calls; i++) await x.s.batch(steps);
      const us = (x.daemon.cpuUs() - c0) / (calls * size);
      let m = acc.get(g);
      if (!m) acc.set(g, (m = new Map()));
      m.set(x.name, [...(m.get(x.name) ?? []), us]);
    }
  }
}
const median = (l: number[]): number => [...l].sort((p, q) => p - q)[Math.floor(l.length / 2)] ?? NaN;
console.log(`daemon event-loop CPU per Batch verb (batch ${size}, ${calls} calls x ${rounds} rounds${warm ? ` after ${warm} warm-up calls` : ''}, median); load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`A=${aDir} B=${bDir}`);
console.log(`${'group'.padEnd(10)}${'A µs'.padStart(9)}${'B µs'.padStart(9)}${'B/A'.padStart(8)}${'B verbs/s/core'.padStart(16)}`);
for (const [g, m] of acc) {
  const a = median(m.get('A') ?? []);
  const b = median(m.get('B') ?? []);
  console.log(`${g.padEnd(10)}${a.toFixed(1).padStart(9)}${b.toFixed(1).padStart(9)}${(b / a).toFixed(2).padStart(8)}${(1e6 / b).toFixed(0).padStart(16)}`);
}
for (const x of sides) {
  x.s.end();
  x.conn.close();
  await x.daemon.stop();
}
fs.rmSync(tmp, { recursive: true, force: true });
