/**
 * A/B of the ObjectService codecs between two builds of this repo: the
 * daemon's (src/rpc/codec.ts: a Batch request decoded, its reply encoded) and
 * the client library's (src/client/codec.ts: a Batch request encoded from a
 * caller's steps, the reply decoded), on the benchmark's Batch groups (256
 * steps; the replies each build's own in-process core gives). Each build runs
 * in a child process of its own (its dist/ only: classes such as HandleValue
 * must be one build's), children alternating between the builds; each figure
 * is the fastest round's time per step over all children (the least disturbed
 * by a loaded machine).
 *
 * Usage: node .cache/bench-build/bench/tools/codec-ab.js A_DIR B_DIR [CHILDREN] [ROUNDS] [CALLS]
 *   A_DIR, B_DIR: checkouts built with npm run build.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CODECS } from '../../src/wire/codec.js';
import type { BatchStep } from '../../src/wire/gen/rdmabroker/v1/BatchStep.js';
import { modifyAttrs, qpCreateAttrs } from '../lib/drivers.js';
import { batchSteps } from '../verbs.js';

const SIZE = 256;
const GROUPS = ['pd', 'qp', 'modify'];
const child = process.env.CODEC_AB_DIR;

type Steps = { steps: unknown[] };
type Outcome = { results: { object?: { handle: number; attrs: Record<string, unknown> } }[]; failed: { index: number; error: Error } | null };

async function measure(dir: string, rounds: number, calls: number): Promise<Record<string, number>> {
  const url = (f: string): string => pathToFileURL(path.resolve(dir, 'dist', f)).href;
  const rpc = (await import(url('rpc/codec.js'))) as { decodeBatch(b: Buffer): Steps; encodeBatchReply(o: Outcome): Buffer };
  const client = (await import(url('client/codec.js'))) as { encodeBatch(s: unknown[]): Buffer; decodeBatchReply(b: Buffer): unknown };
  const { Broker } = (await import(url('core/broker.js'))) as { Broker: new (o: unknown) => { start(): Promise<void>; openSession(o: unknown): unknown; batch(s: unknown, st: unknown[]): Promise<Outcome>; devices: { get(n: string): { ports: { gids: { gid: string }[] }[] } } } };
  const { createSimBackend } = (await import(url('verbs/sim/index.js'))) as { createSimBackend(): unknown };
  const { default: pino } = await import('pino');
  const broker = new Broker({ backend: createSimBackend(), log: pino({ level: 'silent' }) });
  await broker.start();
  const s = broker.openSession({ name: 'x', tenant: 'default', peer: 'p', leaseMs: 600_000, resumeGraceMs: 0 });
  const gid = broker.devices.get('sim0').ports[0]?.gids[0]?.gid ?? '';
  // Every request goes in as bytes, decoded by this build: the objects are this build's.
  const enc = (steps: BatchStep[]): Buffer => (CODECS['rdmabroker.v1.BatchRequest'] as (typeof CODECS)[string]).encode({ steps });
  const run = async (steps: BatchStep[]): Promise<Outcome> => {
    const out = await broker.batch(s, rpc.decodeBatch(enc(steps)).steps);
    if (out.failed) throw new Error(`step ${out.failed.index} failed: ${out.failed.error.message}`);
    return out;
  };
  const base = await run([{ create: { type: 'pd', device: 'sim0' } }, { create: { type: 'cq', device: 'sim0', attrs: { cqe: { u64: 256 } } } }]);
  const pd = base.results[0]?.object?.handle ?? 0;
  const cq = base.results[1]?.object?.handle ?? 0;
  const { toWireMap } = await import('../../src/wire/values.js');
  const qpStep = (): BatchStep => ({ create: { type: 'qp', attrs: toWireMap(qpCreateAttrs(pd, cq)) } });
  const qps = await run([qpStep(), qpStep()]);
  const qp = (i: number): { h: string; qpn: number } => ({ h: String(qps.results[i]?.object?.handle), qpn: Number((qps.results[i]?.object?.attrs.qp_num as bigint | number | undefined) ?? 0) });
  const f = { pd: String(pd), cq: String(cq), mr: { h: '0', addr: 0n, lkey: 0, rkey: 0 }, a: qp(0), b: qp(1), m: qp(0) };
  const out: Record<string, number> = {};
  for (const g of GROUPS) {
    const wire = enc(batchSteps(g, SIZE, f, gid));
    const outcome = await broker.batch(s, rpc.decodeBatch(wire).steps);
    if (outcome.failed) throw new Error(`${g}: step ${outcome.failed.index} failed: ${outcome.failed.error.message}`);
    const reply = rpc.encodeBatchReply(outcome);
    // The client library's steps for the group, as a caller writes them (a ref literal, handle-like objects).
    const steps: unknown[] = [];
    const obj = (h: number | string, type: string): { handle: number; type: string } => ({ handle: Number(h), type });
    if (g === 'modify') {
      const order = ['INIT', 'RTR', 'RTS', 'RESET'] as const;
      for (let i = 0; i < SIZE; i++) steps.push({ modify: obj(f.m.h, 'qp'), attrs: modifyAttrs(order[i % 4]!, f.b.qpn, gid) });
    } else {
      for (let i = 0; i < SIZE / 2; i++) {
        const idx = steps.length;
        steps.push(g === 'pd' ? { create: 'pd', device: 'sim0' } : { create: 'qp', attrs: { ...qpCreateAttrs(0, 0), pd: obj(pd, 'pd'), send_cq: obj(cq, 'cq'), recv_cq: obj(cq, 'cq') } });
        steps.push({ destroy: { ref: idx } });
      }
    }
    const cases: [string, () => unknown][] = [
      [`${g} daemon decode`, () => rpc.decodeBatch(wire)],
      [`${g} daemon encode`, () => rpc.encodeBatchReply(outcome)],
      [`${g} client encode`, () => client.encodeBatch(steps)],
      [`${g} client decode`, () => client.decodeBatchReply(reply)],
    ];
    for (const [name, fn] of cases) {
      let best = Infinity;
      for (let r = 0; r < rounds; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < calls; i++) fn();
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / calls / SIZE);
      }
      out[name] = best;
    }
  }
  return out;
}

if (child) {
  const [rounds, calls] = [Number(process.env.CODEC_AB_ROUNDS ?? 10), Number(process.env.CODEC_AB_CALLS ?? 200)];
  process.stdout.write(JSON.stringify(await measure(child, rounds, calls)));
} else {
  const [aDir, bDir, childrenArg, roundsArg, callsArg] = process.argv.slice(2);
  if (!aDir || !bDir) throw new Error('usage: codec-ab.js A_DIR B_DIR [CHILDREN] [ROUNDS] [CALLS]');
  const children = Number(childrenArg ?? 4);
  const best: Record<'A' | 'B', Record<string, number>> = { A: {}, B: {} };
  for (let c = 0; c < children; c++) {
    for (const [k, dir] of (c % 2 ? [['B', bDir], ['A', aDir]] : [['A', aDir], ['B', bDir]]) as ['A' | 'B', string][]) {
      const r = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...process.env, CODEC_AB_DIR: dir, CODEC_AB_ROUNDS: roundsArg ?? '10', CODEC_AB_CALLS: callsArg ?? '200' }, encoding: 'utf8',
      })) as Record<string, number>;
      for (const [name, t] of Object.entries(r)) best[k][name] = Math.min(best[k][name] ?? Infinity, t);
    }
  }
  console.log(`ns per Batch step (${SIZE} steps a call; fastest of ${children} children x ${roundsArg ?? 10} rounds x ${callsArg ?? 200} calls); A=${aDir} B=${bDir}`);
  console.log(`${'case'.padEnd(22)}${'A ns'.padStart(7)}${'B ns'.padStart(7)}${'B/A'.padStart(7)}`);
  for (const [name, a] of Object.entries(best.A)) {
    const b = best.B[name] ?? NaN;
    console.log(`${name.padEnd(22)}${a.toFixed(0).padStart(7)}${b.toFixed(0).padStart(7)}${(b / a).toFixed(2).padStart(7)}`);
  }
}
