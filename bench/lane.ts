/**
 * The fast lane (docs/fast-lane.md) next to the gRPC data path and the sim
 * in-process, on the daemon of this run (sim device):
 * - post + poll of a 64 B RDMA WRITE, the client spinning on its completion
 *   ring, and the client sleeping on the completion eventfd (REQ_NOTIFY);
 * - the same over gRPC unary calls (post_send, then poll until it is there);
 * - the same on the sim backend in this process (no daemon, no transport);
 * - WRs per second with 1 and 32 WRs per doorbell (a window of WRs in
 *   flight, the ring drained as it goes), and the daemon's CPU per WR there.
 * Goals are printed next to the values (report.ts), never asserted.
 */
import { connect, type Client, type FastLane, type MrAccess, type RdmaObject, type Session } from '../src/client/index.js';
import { loop, nowUs, summarize, type LoopBudget, type Summary } from './lib/stats.js';
import { SimDriver } from './lib/drivers.js';
import { fixture } from './verbs.js';
import type { Child } from './lib/procs.js';

export interface LaneResult {
  status: string;
  latency: { label: string; key: string; summary: Summary }[];
  /** `daemon`: absent for the default daemon, '--fast-lane-spin' for the spinning one. */
  throughput: { perDoorbell: number; wrsPerSec: number; daemonCpuUsPerWr: number; wrs: number; daemon?: string }[];
  goals: { spinP50Us: number; wrsPerSec32: number; daemonCpuUsPerWr32: number };
}

export const LANE_GOALS = { spinP50Us: 25, wrsPerSec32: 1_000_000, daemonCpuUsPerWr32: 2 };

const ACCESS: MrAccess = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ'];

export interface Pair {
  client: Client;
  s: Session;
  pd: RdmaObject;
  cq: RdmaObject;
  a: RdmaObject;
  mr: RdmaObject;
  lane: FastLane;
}

export async function pair(socket: string, device: string): Promise<Pair> {
  const client = await connect({ socket });
  const s = await client.openSession({ name: 'bench-lane' });
  const info = await client.queryDevice(device);
  const port = info.ports[0]!;
  const gid = port.gids.find((g) => g.index === 0)!.gid;
  const ah = { port_num: 1, dlid: Number(port.attrs.lid ?? 0), sl: 0, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } };
  const pd = await s.allocPd(device);
  const mr = await s.regMr(pd, 1 << 16, ACCESS);
  const channel = await s.create('comp_channel', {}, { device });
  const cq = await s.createCq(device, 4096, { channel });
  const cap = { max_send_wr: 1024, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1 };
  const a = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap });
  const b = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap });
  for (const [q, peer] of [[a, b], [b, a]] as const) {
    await q.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ACCESS });
    await q.modify({ qp_state: 'RTR', path_mtu: 3, dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah });
    await q.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
  }
  const lane = await s.fastLane({ sqEntries: 1024, cqRings: 1, cqEntries: 4096 });
  await lane.attachCq(cq);
  return { client, s, pd, cq, a, mr, lane };
}

export function write(p: Pair, wrId: number, signaled = true): Parameters<FastLane['postSend']>[1][number] {
  return {
    wr_id: wrId, opcode: 'RDMA_WRITE', send_flags: signaled ? ['SIGNALED'] : [],
    sg_list: [{ addr: p.mr.big('addr'), length: 64, lkey: p.mr.num('lkey') }],
    remote_addr: p.mr.big('addr') + 4096n, rkey: p.mr.num('rkey'),
  };
}

/**
 * Yields to the event loop every few ms of spinning: the client library's
 * keepalives and the daemon's HTTP/2 pings (answered within 2.5 s, or the
 * daemon closes the connection and the session ends) need it to run.
 */
const YIELD_MS = 20;
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Spins on the ring until `n` completions arrived. */
export async function spin(p: Pair, n: number): Promise<void> {
  let got = 0;
  let next = Date.now() + YIELD_MS;
  for (let i = 0; got < n; i++) {
    got += p.lane.poll(p.cq, n - got).length;
    if ((i & 0x3ff) === 0x3ff && Date.now() > next) {
      await yieldNow();
      next = Date.now() + YIELD_MS;
    }
  }
}

export interface LaneRunOptions {
  /** The daemon's device (default sim0; rxe0 in the VM). */
  device?: string;
  /** Also time the sim backend in this process (default true; off in the VM, whose floor is the C program). */
  inproc?: boolean;
  /** A second daemon on the same device with --fast-lane-spin: measured on its own (no doorbells). */
  spin?: { socket: string; daemon: Child };
}

/** Post + poll with the client spinning and no doorbell, and WRs/s at 32 per publish, against a --fast-lane-spin daemon. */
async function runSpinDaemon(o: { socket: string; daemon: Child }, device: string, budget: LoopBudget, log: (m: string) => void): Promise<{ latency: LaneResult['latency'][number]; throughput: LaneResult['throughput'][number] }> {
  const p = await pair(o.socket, device);
  try {
    log('lane: post + poll against a --fast-lane-spin daemon, client spinning, no doorbell');
    let id = 0;
    const res = await loop(budget, async (rec) => {
      const t = nowUs();
      p.lane.postSend(p.a, [write(p, id++)], { doorbell: false });
      await spin(p, 1);
      rec('spind', nowUs() - t);
    });
    const r = res.get('spind')!;
    const t = await throughputRun(p, o.daemon, 32, budget, false);
    return {
      latency: { key: 'lane.spind', label: 'fast lane, client spinning, daemon --fast-lane-spin (no doorbells)', summary: summarize(r.lat, r.wallUs) },
      throughput: { ...t, daemon: '--fast-lane-spin' },
    };
  } finally {
    await p.lane.close();
    await p.s.close();
    p.client.close();
  }
}

/** WRs per second with `per` WRs per publish: a window of WRs in flight, one completion each, drained as it goes. */
export async function throughputRun(p: Pair, daemon: Pick<Child, 'cpuUs'>, per: number, budget: LoopBudget, doorbell = true): Promise<LaneResult['throughput'][number]> {
  const window = 512;
  const ms = Math.max(500, Math.min(budget.maxMs, 3000));
  const batch = Array.from({ length: per }, (_, i) => write(p, i));
  let posted = 0;
  let done = 0;
  const cpu0 = daemon.cpuUs();
  const t0 = nowUs();
  const end = t0 + ms * 1000;
  let next = Date.now() + YIELD_MS;
  while (nowUs() < end) {
    while (posted - done + per <= window && p.lane.sqFree >= per) {
      p.lane.postSend(p.a, batch, { doorbell });
      posted += per;
    }
    done += p.lane.poll(p.cq, 1024).length;
    if (Date.now() > next) {
      await yieldNow();
      next = Date.now() + YIELD_MS;
    }
  }
  while (done < posted) {
    done += p.lane.poll(p.cq, 1024).length;
    if (Date.now() > next) {
      await yieldNow();
      next = Date.now() + YIELD_MS;
    }
    if (nowUs() > end + 10e6) throw new Error(`lane throughput: ${posted - done} completions missing; lane errors: ${JSON.stringify(p.lane.errors().slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
  const wall = nowUs() - t0;
  const cpu = daemon.cpuUs() - cpu0;
  return { perDoorbell: per, wrs: done, wrsPerSec: (done * 1e6) / wall, daemonCpuUsPerWr: cpu / done };
}

export async function runLane(socket: string, daemon: Child, budget: LoopBudget, log: (m: string) => void, o: LaneRunOptions = {}): Promise<LaneResult> {
  const device = o.device ?? 'sim0';
  const p = await pair(socket, device);
  const latency: LaneResult['latency'] = [];
  const throughput: LaneResult['throughput'] = [];
  try {
    log('lane: post + poll, client spinning');
    let id = 0;
    const spinRes = await loop(budget, async (rec) => {
      const t = nowUs();
      p.lane.postSend(p.a, [write(p, id++)]);
      await spin(p, 1);
      rec('spin', nowUs() - t);
    });
    const sp = spinRes.get('spin')!;
    latency.push({ key: 'lane.spin', label: 'fast lane, client spinning on the ring', summary: summarize(sp.lat, sp.wallUs) });

    log('lane: post + poll, client waiting on the eventfd');
    const waitRes = await loop(budget, async (rec) => {
      const t = nowUs();
      p.lane.postSend(p.a, [write(p, id++)]);
      await p.lane.waitCompletions(p.cq, 1, 10_000);
      rec('wait', nowUs() - t);
    });
    const wt = waitRes.get('wait')!;
    latency.push({ key: 'lane.wait', label: 'fast lane, client sleeping on the eventfd', summary: summarize(wt.lat, wt.wallUs) });

    log('lane: gRPC unary post + poll on the same QP');
    // The CQ is the lane's: over gRPC this QP's completions go to a second, unattached CQ.
    const gcq = await p.s.createCq(device, 256);
    const pd = p.pd;
    const info = await p.client.queryDevice(device);
    const gid = info.ports[0]!.gids.find((g) => g.index === 0)!.gid;
    const ah = { port_num: 1, dlid: 0, sl: 0, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } };
    const cap = { max_send_wr: 64, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1 };
    const ga = await p.s.createQp({ pd, send_cq: gcq, recv_cq: gcq, qp_type: 'RC', cap });
    const gb = await p.s.createQp({ pd, send_cq: gcq, recv_cq: gcq, qp_type: 'RC', cap });
    for (const [q, peer] of [[ga, gb], [gb, ga]] as const) {
      await q.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ACCESS });
      await q.modify({ qp_state: 'RTR', path_mtu: 3, dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah });
      await q.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    }
    const grpcBudget = { ...budget, maxIters: Math.min(budget.maxIters, 3000) };
    const grpcRes = await loop(grpcBudget, async (rec) => {
      const t = nowUs();
      await p.s.postSend(ga, [write(p, id++) as never]);
      for (let tries = 0; (await p.s.pollCq(gcq, 1)).length === 0; tries++) if (tries > 10_000) throw new Error('no gRPC completion');
      rec('grpc', nowUs() - t);
    });
    const gr = grpcRes.get('grpc')!;
    latency.push({ key: 'grpc', label: 'gRPC unary post_send + poll', summary: summarize(gr.lat, gr.wallUs) });

    if (o.inproc ?? true) {
      log('lane: the sim backend in this process');
      const sim = await SimDriver.start();
      const f = await fixture(sim);
      const simRes = await loop(budget, async (rec) => {
        const t = nowUs();
        await sim.postWrite(f.a.h, f.mr);
        while ((await sim.poll(f.cq)) === 0);
        rec('sim', nowUs() - t);
      });
      await sim.close();
      const sm = simRes.get('sim')!;
      latency.push({ key: 'sim', label: 'sim backend in-process (no daemon)', summary: summarize(sm.lat, sm.wallUs) });
    }

    for (const per of [1, 32]) {
      log(`lane: WRs per second, ${per} per doorbell`);
      throughput.push(await throughputRun(p, daemon, per, budget));
    }
    const errs = p.lane.errors();
    if (errs.length > 0) throw new Error(`lane bench: ${errs.length} error records (first: ${errs[0]!.code})`);
    if (o.spin) {
      const sp = await runSpinDaemon(o.spin, device, budget, log);
      latency.push(sp.latency);
      throughput.push(sp.throughput);
    }
    return {
      status: `the daemon of this run (${device}); client: src/client/lane.ts in this process; 64 B RDMA WRITE, signaled`,
      latency,
      throughput,
      goals: LANE_GOALS,
    };
  } finally {
    await p.lane.close();
    await p.s.close();
    p.client.close();
  }
}
