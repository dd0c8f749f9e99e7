/**
 * Sessions and objects at scale: concurrent sessions, 1,000 sessions at once,
 * the time to clean up a big session, and heap bytes per tracked object.
 */
import { Conn, w, type Sess } from './lib/client.js';
import { nowUs, summarize } from './lib/stats.js';
import { sleep, type Child } from './lib/procs.js';
import { qpCreateAttrs } from './lib/drivers.js';
import { RefValue, type PlainMap } from '../src/wire/values.js';
import type { BatchStep } from '../src/wire/gen/rdmabroker/v1/BatchStep.js';
import type { CleanupRow, HeapRow, Results, ScalingRow } from './report.js';

/** Opens `n` sessions spread over `conns` connections. */
async function openMany(socket: string, n: number, connCount: number): Promise<{ conns: Conn[]; sessions: Sess[] }> {
  const conns = Array.from({ length: connCount }, () => new Conn(socket));
  await Promise.all(conns.map((c) => c.ready()));
  const sessions = await Promise.all(Array.from({ length: n }, (_, i) => (conns[i % connCount] as Conn).openSession(`bench-${i}`)));
  return { conns, sessions };
}

/** Waits until none of `ids` is listed any more; returns the time it took (ms) from `t0Us`. */
async function waitGone(conn: Conn, ids: string[], t0Us: number, timeoutMs = 120_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const live = await conn.sessionIds();
    if (!ids.some((id) => live.has(id))) return (nowUs() - t0Us) / 1000;
    if (Date.now() > end) throw new Error(`sessions still listed after ${timeoutMs} ms`);
    await sleep(2);
  }
}

export async function runScaling(daemon: Child, socket: string, levels: number[], durationMs: number): Promise<ScalingRow[]> {
  const out: ScalingRow[] = [];
  for (const n of levels) {
    const connCount = Math.min(n, 64);
    const { conns, sessions } = await openMany(socket, n, connCount);
    const lat: number[] = [];
    let errors = 0;
    // Warm up every session once.
    await Promise.all(sessions.map(async (s) => s.destroy(await s.createH('pd', {}, 'sim0'))));
    const srv0 = daemon.cpuUs();
    const cli0 = process.cpuUsage();
    const t0 = nowUs();
    const stopAt = t0 + durationMs * 1000;
    await Promise.all(sessions.map(async (s) => {
      while (nowUs() < stopAt) {
        try {
          let t = nowUs();
          const h = await s.createH('pd', {}, 'sim0');
          const t1 = nowUs();
          lat.push(t1 - t);
          t = t1;
          await s.destroy(h);
          lat.push(nowUs() - t);
        } catch {
          errors++;
        }
      }
    }));
    const wall = nowUs() - t0;
    const cli = process.cpuUsage(cli0);
    const s = summarize(lat, wall);
    out.push({
      sessions: n, connections: connCount, summary: s, errors,
      daemonCpuPerCallUs: (daemon.cpuUs() - srv0) / lat.length,
      clientCpuPerCallUs: (cli.user + cli.system) / lat.length,
      daemonBusy: (daemon.cpuUs() - srv0) / wall,
      clientBusy: (cli.user + cli.system) / wall,
    });
    for (const x of sessions) x.end();
    await waitGone(conns[0] as Conn, sessions.map((x) => x.id), nowUs());
    for (const c of conns) c.close();
  }
  return out;
}

export async function runSessions1k(socket: string, n = 1000, connCount = 100): Promise<NonNullable<Results['sessions1k']>> {
  const errors: string[] = [];
  let t = nowUs();
  const conns = Array.from({ length: connCount }, () => new Conn(socket));
  await Promise.all(conns.map((c) => c.ready()));
  const opened = await Promise.allSettled(Array.from({ length: n }, (_, i) => (conns[i % connCount] as Conn).openSession(`bench-1k-${i}`)));
  const openMs = (nowUs() - t) / 1000;
  const sessions: Sess[] = [];
  for (const r of opened) {
    if (r.status === 'fulfilled') sessions.push(r.value);
    else errors.push(String(r.reason));
  }
  t = nowUs();
  const served = await Promise.allSettled(sessions.map(async (s) => s.createH('pd', {}, 'sim0')));
  const verbMs = (nowUs() - t) / 1000;
  let ok = 0;
  for (const r of served) {
    if (r.status === 'fulfilled') ok++;
    else errors.push(String(r.reason));
  }
  const live = await (conns[0] as Conn).sessionIds();
  const listed = sessions.filter((s) => live.has(s.id)).length;
  t = nowUs();
  for (const s of sessions) s.end();
  const closeMs = await waitGone(conns[0] as Conn, sessions.map((s) => s.id), t);
  for (const c of conns) c.close();
  return { sessions: n, opened: sessions.length, served: ok, listed, openMs, verbMs, closeMs, connections: connCount, errors };
}

/**
 * Batches that create `n` objects: groups of PD, CQ and two RC QPs holding
 * them (25% PD, 25% CQ, 50% QP), or only PDs.
 */
export function fillSteps(n: number, mix: 'mix' | 'pd'): BatchStep[][] {
  const batches: BatchStep[][] = [];
  let cur: BatchStep[] = [];
  const push = (st: BatchStep): void => {
    cur.push(st);
  };
  const flush = (): void => {
    if (cur.length) batches.push(cur);
    cur = [];
  };
  const create = (type: string, attrs: PlainMap, device = ''): BatchStep => ({ create: { type, device, attrs: w(attrs) } });
  let made = 0;
  while (made < n) {
    if (mix === 'pd') {
      push(create('pd', {}, 'sim0'));
      made++;
    } else {
      const i = cur.length;
      push(create('pd', {}, 'sim0'));
      push(create('cq', { cqe: 16 }, 'sim0'));
      push(create('qp', qpCreateAttrs(new RefValue(i) as never, new RefValue(i + 1) as never)));
      push(create('qp', qpCreateAttrs(new RefValue(i) as never, new RefValue(i + 1) as never)));
      made += 4;
    }
    if (cur.length >= 256) flush();
  }
  flush();
  return batches;
}

async function fill(s: Sess, n: number, mix: 'mix' | 'pd'): Promise<void> {
  for (const steps of fillSteps(n, mix)) await s.batch(steps);
}

export async function runCleanup(socket: string, sizes: number[]): Promise<CleanupRow[]> {
  const out: CleanupRow[] = [];
  const conn = new Conn(socket);
  await conn.ready();
  for (const n of sizes) {
    const s = await conn.openSession(`bench-cleanup-${n}`);
    await fill(s, n, 'mix');
    const held = await conn.objectCount(s.id);
    if (held !== n) throw new Error(`cleanup: the session holds ${held} objects, expected ${n}`);
    const t0 = nowUs();
    s.end();
    const ms = await waitGone(conn, [s.id], t0);
    out.push({ objects: n, daemonMs: ms, coreMs: null, mix: '25% PD, 25% CQ, 50% RC QP' });
  }
  conn.close();
  return out;
}

export async function runHeap(daemon: Child, socket: string, cases: { mix: 'mix' | 'pd'; n: number }[]): Promise<HeapRow[]> {
  const out: HeapRow[] = [];
  const conn = new Conn(socket);
  await conn.ready();
  for (const c of cases) {
    const s = await conn.openSession(`bench-heap-${c.mix}`);
    // Warm every code path once, so the baseline holds the compiled code.
    await fill(s, 256, c.mix);
    const before = await daemon.heap();
    if (!before.gc) throw new Error('the daemon has no gc(): --expose-gc missing');
    await fill(s, c.n, c.mix);
    const after = await daemon.heap();
    out.push({
      what: c.mix === 'pd' ? 'PD' : 'mix: 25% PD, 25% CQ, 50% RC QP',
      objects: c.n,
      bytesPerObject: (after.heapUsed - before.heapUsed) / c.n,
      where: 'daemon',
    });
    const t0 = nowUs();
    s.end();
    await waitGone(conn, [s.id], t0);
  }
  conn.close();
  return out;
}
