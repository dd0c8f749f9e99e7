/**
 * Child process (node --expose-gc): in-process measurements that need a clean
 * heap — session cleanup time through the Broker core, and heap bytes per
 * object for the core (registry, accounting) over the sim and for the sim
 * alone. Prints one JSON object on stdout.
 *
 * Usage: inproc-child.js CLEANUP_SIZES HEAP_N   (e.g. 1000,10000,100000 20000)
 */
import pino from 'pino';
import { Broker } from '../src/core/broker.js';
import { createSimBackend } from '../src/verbs/sim/index.js';
import type { CqRef, PdRef } from '../src/verbs/abi.js';
import { HandleValue } from '../src/wire/values.js';
import { qpCreateAttrs } from './lib/drivers.js';
import type { Session } from '../src/core/sessions.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heap = (): number => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

async function newBroker(): Promise<{ broker: Broker; s: Session }> {
  const broker = new Broker({ backend: createSimBackend(), log: pino({ level: 'warn' }) });
  await broker.start();
  const s = broker.openSession({ name: 'bench', tenant: 'default', peer: 'in-process', leaseMs: 600_000, resumeGraceMs: 0 });
  return { broker, s };
}

async function fillCore(broker: Broker, s: Session, n: number, mix: 'mix' | 'pd'): Promise<void> {
  const mk = (type: string, attrs: Record<string, unknown>, device = ''): Promise<{ handle: number }> =>
    broker.create(s, { type, device, attrs: attrs as never, userHandle: '0' });
  for (let made = 0; made < n;) {
    if (mix === 'pd') {
      await mk('pd', {}, 'sim0');
      made++;
      continue;
    }
    const pd = await mk('pd', {}, 'sim0');
    const cq = await mk('cq', { cqe: 16 }, 'sim0');
    await mk('qp', qpCreateAttrs(pd.handle, cq.handle));
    await mk('qp', qpCreateAttrs(pd.handle, cq.handle));
    made += 4;
  }
}

async function cleanup(sizes: number[]): Promise<{ objects: number; ms: number }[]> {
  const out: { objects: number; ms: number }[] = [];
  for (const n of sizes) {
    const { broker, s } = await newBroker();
    await fillCore(broker, s, n, 'mix');
    const t0 = performance.now();
    await broker.evict(s.id);
    out.push({ objects: n, ms: performance.now() - t0 });
    await broker.shutdown();
  }
  return out;
}

async function heapCore(n: number, mix: 'mix' | 'pd'): Promise<number> {
  const { broker, s } = await newBroker();
  await fillCore(broker, s, 256, mix);
  const before = heap();
  await fillCore(broker, s, n, mix);
  const after = heap();
  await broker.shutdown();
  return (after - before) / n;
}

async function heapSim(n: number, mix: 'mix' | 'pd'): Promise<number> {
  const ctx = await createSimBackend().openDevice('sim0');
  const keep: unknown[] = [];
  let tag = 1;
  const fillSim = async (count: number): Promise<void> => {
    for (let made = 0; made < count;) {
      if (mix === 'pd') {
        keep.push(await ctx.allocPd(tag++));
        made++;
        continue;
      }
      const pd: PdRef = await ctx.allocPd(tag++);
      const cq: CqRef = await ctx.createCq(16, null, 0, tag++);
      const init = {
        qp_type: 'RC' as const, send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false,
        cap: { max_send_wr: 64, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 },
      };
      keep.push(pd, cq, await ctx.createQp(pd, init, tag++), await ctx.createQp(pd, init, tag++));
      made += 4;
    }
  };
  await fillSim(256);
  const before = heap();
  await fillSim(n);
  const after = heap();
  // keep[] itself: one array slot per object (8 bytes) is the caller's, not the device's.
  const own = (after - before) / n - 8;
  await ctx.close();
  return own;
}

const sizes = (process.argv[2] ?? '1000,10000,100000').split(',').map(Number);
const heapN = Number(process.argv[3] ?? 20000);
void HandleValue;
const result = {
  cleanup: await cleanup(sizes),
  heap: [
    { what: 'PD', where: 'core+sim in-process', objects: heapN, bytesPerObject: await heapCore(heapN, 'pd') },
    { what: 'mix: 25% PD, 25% CQ, 50% RC QP', where: 'core+sim in-process', objects: heapN, bytesPerObject: await heapCore(heapN, 'mix') },
    { what: 'PD', where: 'sim backend alone', objects: heapN, bytesPerObject: await heapSim(heapN, 'pd') },
    { what: 'mix: 25% PD, 25% CQ, 50% RC QP', where: 'sim backend alone', objects: heapN, bytesPerObject: await heapSim(heapN, 'mix') },
  ],
};
process.stdout.write(JSON.stringify(result) + '\n');
