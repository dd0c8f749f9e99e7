/**
 * Part 1-4 of the benchmark: each verb through the broker over gRPC (unary),
 * the same verbs in Batch, the bare grpc-js echo floor with the same payload
 * sizes, and the same verbs called in-process (Broker core, sim backend).
 */
import { EchoClient } from './lib/echo.js';
import { w, wireSizes, type CallTap, type Sess } from './lib/client.js';
import { loop, summarize, timed, type LoopBudget, type Summary } from './lib/stats.js';
import { modifyAttrs, qpCreateAttrs, writeWr, ACCESS_RW, type Driver, type MrInfo, type QpTarget } from './lib/drivers.js';
import { HandleValue, type PlainMap } from '../src/wire/values.js';
import { SharedMemory } from '../src/sys/memory.js';
import type { BatchStep } from '../src/wire/gen/rdmabroker/v1/BatchStep.js';

/** The rows of the per-verb table, in order. */
export const VERB_ROWS: { key: string; label: string }[] = [
  { key: 'pd.alloc', label: 'alloc PD' },
  { key: 'pd.dealloc', label: 'dealloc PD' },
  { key: 'mr4k.reg', label: 'reg MR 4 KiB' },
  { key: 'mr4k.dereg', label: 'dereg MR 4 KiB' },
  { key: 'mr1m.reg', label: 'reg MR 1 MiB' },
  { key: 'mr1m.dereg', label: 'dereg MR 1 MiB' },
  { key: 'cq.create', label: 'create CQ' },
  { key: 'cq.destroy', label: 'destroy CQ' },
  { key: 'qp.create', label: 'create QP (RC)' },
  { key: 'qp.destroy', label: 'destroy QP' },
  { key: 'qp.modify.rts', label: 'modify QP RTR->RTS' },
  { key: 'write', label: 'post send + poll (64 B WRITE)' },
];

/** Batch groups: which verbs, and the unary labels they repeat (for the direct comparison). */
export const BATCH_GROUPS: { key: string; label: string; labels: string[] }[] = [
  { key: 'pd', label: 'alloc+dealloc PD', labels: ['pd.alloc', 'pd.dealloc'] },
  { key: 'mr4k', label: 'reg+dereg MR 4 KiB', labels: ['mr4k.reg', 'mr4k.dereg'] },
  { key: 'mr1m', label: 'reg+dereg MR 1 MiB', labels: ['mr1m.reg', 'mr1m.dereg'] },
  { key: 'cq', label: 'create+destroy CQ', labels: ['cq.create', 'cq.destroy'] },
  { key: 'qp', label: 'create+destroy QP', labels: ['qp.create', 'qp.destroy'] },
  { key: 'modify', label: 'modify QP INIT/RTR/RTS/RESET', labels: ['qp.modify.init', 'qp.modify.rtr', 'qp.modify.rts', 'qp.modify.reset'] },
  { key: 'write', label: 'post send / poll', labels: ['write.post', 'write.poll'] },
];

type Rec = (label: string, us: number) => void;

export interface Fixture<H> {
  pd: H;
  cq: H;
  mr: MrInfo<H>;
  /** Connected RC pair (a -> b) for the WRITE. */
  a: { h: H; qpn: number };
  b: { h: H; qpn: number };
  /** A QP cycled through RESET -> INIT -> RTR -> RTS -> RESET. */
  m: { h: H; qpn: number };
}

async function connect<H>(d: Driver<H>, q: H, dest: number): Promise<void> {
  for (const to of ['INIT', 'RTR', 'RTS'] as QpTarget[]) await d.modifyQp(q, to, dest);
}

export async function fixture<H>(d: Driver<H>): Promise<Fixture<H>> {
  const pd = await d.allocPd();
  const cq = await d.createCq();
  const mr = await d.regMr(pd, 4096);
  const a = await d.createQp(pd, cq);
  const b = await d.createQp(pd, cq);
  const m = await d.createQp(pd, cq);
  await connect(d, a.h, b.qpn);
  await connect(d, b.h, a.qpn);
  return { pd, cq, mr, a, b, m };
}

/** One iteration: every verb once, each timed under its label. */
export async function verbIteration<H>(d: Driver<H>, f: Fixture<H>, rec: Rec): Promise<void> {
  const pd = await timed(rec, 'pd.alloc', () => d.allocPd());
  await timed(rec, 'pd.dealloc', () => d.deallocPd(pd));
  const m4 = await timed(rec, 'mr4k.reg', () => d.regMr(f.pd, 4096));
  await timed(rec, 'mr4k.dereg', () => d.deregMr(m4.h));
  const m1 = await timed(rec, 'mr1m.reg', () => d.regMr(f.pd, 1 << 20));
  await timed(rec, 'mr1m.dereg', () => d.deregMr(m1.h));
  const cq = await timed(rec, 'cq.create', () => d.createCq());
  await timed(rec, 'cq.destroy', () => d.destroyCq(cq));
  const qp = await timed(rec, 'qp.create', () => d.createQp(f.pd, f.cq));
  await timed(rec, 'qp.destroy', () => d.destroyQp(qp.h));
  const dest = f.b.qpn;
  await timed(rec, 'qp.modify.init', () => d.modifyQp(f.m.h, 'INIT', dest));
  await timed(rec, 'qp.modify.rtr', () => d.modifyQp(f.m.h, 'RTR', dest));
  await timed(rec, 'qp.modify.rts', () => d.modifyQp(f.m.h, 'RTS', dest));
  await timed(rec, 'qp.modify.reset', () => d.modifyQp(f.m.h, 'RESET', dest));
  await timed(rec, 'write', async () => {
    await timed(rec, 'write.post', () => d.postWrite(f.a.h, f.mr));
    let got = 0;
    for (let tries = 0; got === 0; tries++) {
      got = await timed(rec, 'write.poll', () => d.poll(f.cq));
      if (tries > 10_000) throw new Error('no completion for the RDMA WRITE');
    }
  });
}

export type Samples = Map<string, { lat: number[]; wallUs: number }>;

export function summaries(m: Samples): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const [k, v] of m) out[k] = summarize(v.lat, v.wallUs);
  return out;
}

/** Runs the per-verb loop on one driver. */
export async function runDriver<H>(d: Driver<H>, budget: LoopBudget): Promise<Record<string, Summary>> {
  const f = await fixture(d);
  return summaries(await loop(budget, (rec) => verbIteration(d, f, rec)));
}

// ------------------------------------------------------------------ sizes

export interface Sizes {
  /** Per label: the (request, reply) sizes of each RPC it made, in order. */
  [label: string]: { req: number; rep: number }[];
}

/** One untimed iteration over gRPC that records each label's RPC sizes. */
export async function captureSizes(d: Driver<string>, s: Sess, f: Fixture<string>): Promise<Sizes> {
  let calls: { req: number; rep: number }[] = [];
  const tap: CallTap = (method, req, rep) => calls.push(wireSizes(method, req, rep));
  const out: Sizes = {};
  s.tap = tap;
  try {
    await verbIteration(d, f, (label) => {
      if (label === 'write') return; // composite: filled below
      out[label] = calls;
      calls = [];
    });
  } finally {
    s.tap = null;
  }
  out.write = [...(out['write.post'] ?? []), ...(out['write.poll'] ?? [])];
  return out;
}

/** The echo floor for each label: the same number of RPCs with the same sizes. */
export async function runFloor(echo: EchoClient, sizes: Sizes, labels: string[], budget: LoopBudget): Promise<Record<string, Summary & { rpcs: { req: number; rep: number }[] }>> {
  const out: Record<string, Summary & { rpcs: { req: number; rep: number }[] }> = {};
  for (const label of labels) {
    const rpcs = sizes[label];
    if (!rpcs || rpcs.length === 0) continue;
    const payloads = rpcs.map((r) => EchoClient.payload(r.req, r.rep));
    const m = await loop(budget, async (rec) => {
      await timed(rec, label, async () => {
        for (const p of payloads) await echo.call(p);
      });
    });
    const v = m.get(label);
    if (v) out[label] = { ...summarize(v.lat, v.wallUs), rpcs };
  }
  return out;
}

// ------------------------------------------------------------------ batch

function createStep(type: string, attrs: PlainMap, device = ''): BatchStep {
  return { create: { type, device, attrs: w(attrs) } };
}

/** The steps of one Batch of `size` verbs of a group. */
export function batchSteps(group: string, size: number, f: Fixture<string>, gid: string, device = 'sim0'): BatchStep[] {
  const steps: BatchStep[] = [];
  const pd = new HandleValue(Number(f.pd));
  const cq = new HandleValue(Number(f.cq));
  const pair = (mk: () => BatchStep): void => {
    for (let i = 0; i < size / 2; i++) {
      const idx = steps.length;
      steps.push(mk());
      steps.push({ destroy: { handle_ref: idx + 1 } });
    }
  };
  switch (group) {
    case 'pd':
      pair(() => createStep('pd', {}, device));
      break;
    case 'mr4k':
      pair(() => createStep('mr', { pd, length: 4096, access: ACCESS_RW }));
      break;
    case 'mr1m':
      pair(() => createStep('mr', { pd, length: 1 << 20, access: ACCESS_RW }));
      break;
    case 'cq':
      pair(() => createStep('cq', { cqe: 256 }, device));
      break;
    case 'qp':
      pair(() => createStep('qp', qpCreateAttrs(pd, cq)));
      break;
    case 'modify': {
      const order: QpTarget[] = ['INIT', 'RTR', 'RTS', 'RESET'];
      for (let i = 0; i < size; i++) steps.push({ modify: { handle: f.m.h, attrs: w(modifyAttrs(order[i % 4] as QpTarget, f.b.qpn, gid)) } });
      break;
    }
    case 'write': {
      const post = w(writeWr(f.mr));
      const poll = w({ max: 16 });
      for (let i = 0; i < size / 2; i++) {
        steps.push({ invoke: { handle: f.a.h, method: 'post_send', attrs: post } });
        steps.push({ invoke: { handle: f.cq, method: 'poll', attrs: poll } });
      }
      break;
    }
    default:
      throw new Error(`unknown batch group ${group}`);
  }
  return steps;
}

export interface BatchResult {
  group: string;
  size: number;
  /** Latency of the whole Batch call. */
  call: Summary;
  /** The call's p50 divided by the verbs in it. */
  perVerbUs: number;
  /** Throughput of the closed loop: verbs / wall time. */
  verbsPerSec: number;
  sizes: { req: number; rep: number };
  /**
   * Daemon event-loop CPU per verb over the loop (µs), when measured: 1e6 /
   * this is what one core of the daemon could serve, which a loaded machine
   * stretches far less than the wall-clock verbs/s.
   */
  daemonCpuUsPerVerb?: number;
}

export async function runBatch(s: Sess, f: Fixture<string>, gid: string, sizes: number[], budget: LoopBudget, device = 'sim0', meter?: CpuMeter): Promise<BatchResult[]> {
  const out: BatchResult[] = [];
  for (const g of BATCH_GROUPS) {
    for (const size of sizes) {
      const steps = batchSteps(g.key, size, f, gid, device);
      let sz = { req: 0, rep: 0 };
      s.tap = (method, req, rep) => {
        sz = wireSizes(method, req, rep);
      };
      await s.batch(steps);
      s.tap = null;
      // The warm-up calls run before the CPU window opens: it holds the measured calls only.
      for (let i = 0; i < budget.warmup; i++) await s.batch(steps);
      const cpu0 = meter?.server() ?? 0;
      const m = await loop({ ...budget, warmup: 0 }, async (rec) => {
        await timed(rec, 'batch', () => s.batch(steps));
      });
      const cpu = (meter?.server() ?? 0) - cpu0;
      const v = m.get('batch');
      if (!v) continue;
      const call = summarize(v.lat, v.wallUs);
      const row: BatchResult = { group: g.key, size, call, perVerbUs: call.p50Us / size, verbsPerSec: call.opsPerSec * size, sizes: sz };
      if (meter) row.daemonCpuUsPerVerb = cpu / (v.lat.length * size);
      out.push(row);
    }
  }
  return out;
}

/**
 * Runs every Batch group at `size` steps in turn for `ms`: a fresh daemon's
 * Batch path (the runner's loop, the Batch codec) runs interpreted for its
 * first hundreds of calls (CPU per verb 1.5-2x the steady state over the first
 * 150 calls of PD), which the unary warm-up does not compile.
 */
export async function warmBatch(s: Sess, f: Fixture<string>, gid: string, size: number, ms: number, device = 'sim0'): Promise<number> {
  const end = Date.now() + ms;
  let calls = 0;
  while (Date.now() < end) {
    for (const g of BATCH_GROUPS) {
      await s.batch(batchSteps(g.key, size, f, gid, device));
      calls++;
    }
  }
  return calls;
}

export interface BatchParallelResult {
  group: string;
  size: number;
  inFlight: number;
  verbsPerSec: number;
  call: Summary;
}

/**
 * Batch throughput with several calls in flight (one session each, each with
 * its own objects), so the client and the daemon can use both cores.
 */
export async function runBatchParallel(sessions: { s: Sess; f: Fixture<string> }[], gid: string, size: number, ms: number): Promise<BatchParallelResult[]> {
  const out: BatchParallelResult[] = [];
  for (const g of BATCH_GROUPS) {
    const work = sessions.map((x) => ({ ...x, steps: batchSteps(g.key, size, x.f, gid) }));
    await Promise.all(work.map((x) => x.s.batch(x.steps)));
    const lat: number[] = [];
    const t0 = performance.now();
    const stopAt = t0 + ms;
    await Promise.all(work.map(async (x) => {
      while (performance.now() < stopAt) {
        const a = performance.now();
        await x.s.batch(x.steps);
        lat.push((performance.now() - a) * 1000);
      }
    }));
    const wallUs = (performance.now() - t0) * 1000;
    const call = summarize(lat, wallUs);
    out.push({ group: g.key, size, inFlight: sessions.length, verbsPerSec: call.opsPerSec * size, call });
  }
  return out;
}

// ------------------------------------------------------------------ CPU per verb kind

/** The verb kinds whose CPU per call has a goal (issue 14): which verbs, and the daemon's allowance over the echo server. */
export const CPU_GROUPS: { key: string; label: string; labels: string[]; goal: number }[] = [
  { key: 'pd', label: 'alloc+dealloc PD', labels: ['pd.alloc', 'pd.dealloc'], goal: 1.3 },
  { key: 'cq', label: 'create+destroy CQ', labels: ['cq.create', 'cq.destroy'], goal: 1.3 },
  { key: 'qp', label: 'create+destroy QP', labels: ['qp.create', 'qp.destroy'], goal: 1.6 },
  { key: 'modify', label: 'modify QP INIT/RTR/RTS/RESET', labels: ['qp.modify.init', 'qp.modify.rtr', 'qp.modify.rts', 'qp.modify.reset'], goal: 1.6 },
  { key: 'mr4k', label: 'reg+dereg MR 4 KiB', labels: ['mr4k.reg', 'mr4k.dereg'], goal: 1.6 },
];

export interface CpuMeter {
  /** Server main-thread CPU so far (µs). */
  server(): number;
}

export interface CpuGroupRow {
  group: string;
  calls: number;
  /** CPU per call (µs): the server's event loop, and this (client) process. */
  serverUs: number;
  clientUs: number;
}

async function cpuOver(calls: () => number, meter: CpuMeter, ms: number, body: () => Promise<void>): Promise<Omit<CpuGroupRow, 'group'>> {
  for (let i = 0; i < 20; i++) await body();
  const c0 = calls();
  const s0 = meter.server();
  const u0 = process.cpuUsage();
  const stop = performance.now() + ms;
  while (performance.now() < stop) await body();
  const u = process.cpuUsage(u0);
  const n = calls() - c0;
  return { calls: n, serverUs: (meter.server() - s0) / n, clientUs: (u.user + u.system) / n };
}

/** Daemon and client CPU per call for each of {@link CPU_GROUPS}, one kind at a time. */
export async function runCpuGroups(d: Driver<string>, s: Sess, f: Fixture<string>, meter: CpuMeter, ms: number): Promise<CpuGroupRow[]> {
  const out: CpuGroupRow[] = [];
  const dest = f.b.qpn;
  const bodies: Record<string, () => Promise<void>> = {
    pd: async () => d.deallocPd(await d.allocPd()),
    cq: async () => d.destroyCq(await d.createCq()),
    qp: async () => d.destroyQp((await d.createQp(f.pd, f.cq)).h),
    modify: async () => {
      for (const to of ['INIT', 'RTR', 'RTS', 'RESET'] as QpTarget[]) await d.modifyQp(f.m.h, to, dest);
    },
    mr4k: async () => d.deregMr((await d.regMr(f.pd, 4096)).h),
  };
  for (const g of CPU_GROUPS) {
    const body = bodies[g.key];
    if (body) out.push({ group: g.key, ...(await cpuOver(() => s.calls, meter, ms, body)) });
  }
  return out;
}

/** The echo server's CPU per call for the same kinds: the same RPC sizes, one kind at a time. */
export async function runCpuGroupsFloor(echo: EchoClient, sizes: Sizes, meter: CpuMeter, ms: number): Promise<CpuGroupRow[]> {
  const out: CpuGroupRow[] = [];
  for (const g of CPU_GROUPS) {
    const payloads = g.labels.flatMap((l) => (sizes[l] ?? []).map((r) => EchoClient.payload(r.req, r.rep)));
    if (payloads.length === 0) continue;
    out.push({
      group: g.key,
      ...(await cpuOver(() => echo.calls, meter, ms, async () => {
        for (const p of payloads) await echo.call(p);
      })),
    });
  }
  return out;
}

/**
 * The floor of an MR's own system calls, in this process: the daemon's
 * SharedMemory.create (memfd_create, ftruncate, the size seal, mmap) and
 * close (munmap, close) of `length` bytes. µs per MR.
 */
export function mrSyscallFloor(length: number, ms: number): { us: number; n: number } {
  for (let i = 0; i < 50; i++) SharedMemory.create(length).close();
  let n = 0;
  const t0 = performance.now();
  const stop = t0 + ms;
  while (performance.now() < stop) {
    for (let i = 0; i < 100; i++) SharedMemory.create(length).close();
    n += 100;
  }
  return { us: ((performance.now() - t0) * 1000) / n, n };
}
