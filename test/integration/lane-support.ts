/**
 * Fixtures for the fast-lane tests: a session (client library) with a
 * loopback RC pair on the test device, two MRs over memory shared with this
 * process, and a CQ on a completion channel (the lane needs one).
 */
import { connect, type Client, type FastLane, type FastLaneOptions, type RdmaObject, type Session, type SharedMr } from '../../src/client/index.js';
import { DEVICE } from './fd-support.js';

/**
 * The daemon arguments of the lane tests: RDMA_BROKER_LANE_SPIN=1 runs every
 * one of them against a `--fast-lane-spin` daemon (scripts/rxe-suite.sh does
 * on rxe0), where the worker's wake-ups join the doorbells and channel events.
 */
export const LANE_DAEMON_ARGS: readonly string[] = process.env.RDMA_BROKER_LANE_SPIN === '1' ? ['--fast-lane-spin'] : [];

export interface LanePair {
  client: Client;
  s: Session;
  pd: RdmaObject;
  channel: RdmaObject;
  cq: RdmaObject;
  a: RdmaObject;
  b: RdmaObject;
  src: SharedMr;
  dst: SharedMr;
  lane: FastLane;
  close(): Promise<void>;
}

export interface PairOptions {
  bytes?: number;
  cqe?: number;
  maxSendWr?: number;
  maxSge?: number;
  lane?: FastLaneOptions;
  srq?: boolean;
}

const ACCESS = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC'];

/** Opens a session and builds the pair; `lane` is open with the CQ attached. */
export async function lanePair(socket: string, o: PairOptions = {}): Promise<LanePair> {
  const client = await connect({ socket });
  const s = await client.openSession({ name: 'lane-test' });
  try {
    const info = await client.queryDevice(DEVICE);
    const port = info.ports[0]!;
    const gid0 = port.gids.find((g) => g.index === 0)!;
    const ah = { port_num: 1, dlid: Number(port.attrs.lid ?? 0), sl: 0, grh: { dgid: gid0.gid, sgid_index: 0, hop_limit: 1 } };
    const pd = await s.allocPd(DEVICE);
    const bytes = o.bytes ?? 1 << 16;
    const src = await s.regSharedMr(pd, bytes, ACCESS);
    const dst = await s.regSharedMr(pd, bytes, ACCESS);
    const channel = await s.create('comp_channel', {}, { device: DEVICE });
    const cq = await s.createCq(DEVICE, o.cqe ?? 256, { channel });
    const srq = o.srq ? await s.create('srq', { pd, max_wr: 64, max_sge: 2 }) : undefined;
    const cap = { max_send_wr: o.maxSendWr ?? 64, max_recv_wr: 64, max_send_sge: o.maxSge ?? 4, max_recv_sge: o.maxSge ?? 4, max_inline_data: 64 };
    const mk = (): Promise<RdmaObject> => s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap, ...(srq ? { srq } : {}) });
    const a = await mk();
    const b = await mk();
    const conn = async (q: RdmaObject, peer: RdmaObject): Promise<void> => {
      await q.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ACCESS });
      await q.modify({ qp_state: 'RTR', path_mtu: Number(port.attrs.active_mtu ?? 3), dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 4, min_rnr_timer: 12, ah_attr: ah });
      await q.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 4 });
    };
    await conn(a, b);
    await conn(b, a);
    const lane = await s.fastLane(o.lane ?? {});
    await lane.attachCq(cq);
    const pair: LanePair = {
      client, s, pd, channel, cq, a, b, src, dst, lane,
      async close() {
        await lane.close();
        src.close();
        dst.close();
        await s.close();
        client.close();
      },
    };
    if (srq) (pair as LanePair & { srq: RdmaObject }).srq = srq;
    return pair;
  } catch (e) {
    await s.close().catch(() => {});
    client.close();
    throw e;
  }
}

/** Spins on the ring (yielding to the event loop between bursts) until `count` completions arrived. */
export async function spinFor(lane: FastLane, cq: RdmaObject, count: number, ms = 10_000): Promise<ReturnType<FastLane['poll']>> {
  const out: ReturnType<FastLane['poll']> = [];
  const deadline = Date.now() + ms;
  while (out.length < count) {
    for (let i = 0; i < 1000 && out.length < count; i++) out.push(...lane.poll(cq, count - out.length));
    if (out.length >= count) break;
    if (Date.now() > deadline) throw new Error(`${out.length} of ${count} completions after ${ms} ms; lane errors: ${JSON.stringify(lane.errors(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** A signaled RDMA WRITE of `len` bytes from src+off to dst+off. */
export function writeWr(p: LanePair, wrId: number, off: number, len: number): Parameters<FastLane['postSend']>[1][number] {
  return {
    wr_id: wrId, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
    sg_list: [{ addr: p.src.addr + BigInt(off), length: len, lkey: p.src.lkey }],
    remote_addr: p.dst.addr + BigInt(off), rkey: p.dst.rkey,
  };
}
