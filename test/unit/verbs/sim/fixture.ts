/** Shared setup of the sim data-path unit tests: a device context, a PD, a CQ, QPs connected over GID 0. */
import {
  Access, QpAttrMask as M, type AhAttr, type CqRef, type PdRef, type QpCap, type QpRef, type QpType, type Wc,
} from '../../../../src/verbs/abi.js';
import type { BackendEvent, DeviceContext } from '../../../../src/verbs/backend.js';
import { VerbsError } from '../../../../src/verbs/errno.js';
import { createSimBackend, type SimBackend } from '../../../../src/verbs/sim/index.js';

export const ALL = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function errnoOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VerbsError) return e.errno;
    throw e;
  }
  return 'no error';
}

export interface Fx {
  b: SimBackend;
  ctx: DeviceContext;
  events: BackendEvent[];
  pd: PdRef;
  cq: CqRef;
  gid: string;
  close(): Promise<void>;
}

export async function setup(opts?: Parameters<typeof createSimBackend>[0], cqe = 64): Promise<Fx> {
  const b = createSimBackend(opts);
  const ctx = await b.openDevice('sim0');
  const events: BackendEvent[] = [];
  ctx.setEventHandler((e) => events.push(e));
  const pd = await ctx.allocPd(1);
  const cq = await ctx.createCq(cqe, null, 0, 2);
  const gid = (await ctx.queryGidTable(1))[0]?.gid ?? '';
  return { b, ctx, events, pd, cq, gid, close: () => ctx.close() };
}

export function av(gid: string): AhAttr {
  return { grh: { dgid: gid, sgid_index: 0, flow_label: 0, hop_limit: 1, traffic_class: 0 }, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1 };
}

export const CAP: QpCap = { max_send_wr: 8, max_recv_wr: 8, max_send_sge: 2, max_recv_sge: 2, max_inline_data: 64 };

export async function qpOf(f: Fx, type: QpType = 'RC', o: { cap?: Partial<QpCap>; cq?: CqRef; sigAll?: boolean } = {}): Promise<QpRef> {
  const cq = o.cq ?? f.cq;
  return f.ctx.createQp(f.pd, { qp_type: type, send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: o.sigAll ?? false, cap: { ...CAP, ...o.cap } }, 9);
}

export interface ConnectOpts {
  access?: number;
  rnr_retry?: number;
  retry_cnt?: number;
  timeout?: number;
  min_rnr_timer?: number;
}

/** RESET -> INIT -> RTR -> RTS for both QPs (RC or UC), each addressed to the other; `a === b` loops a QP to itself. */
export async function connect(f: Fx, a: QpRef, b: QpRef, o: ConnectOpts = {}): Promise<void> {
  const pairs: [QpRef, QpRef][] = a === b ? [[a, a]] : [[a, b], [b, a]];
  for (const [q, d] of pairs) {
    const rc = q.qp_type === 'RC';
    await f.ctx.modifyQp(q, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: o.access ?? ALL }, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS);
    await f.ctx.modifyQp(
      q,
      { qp_state: 'RTR', ah_attr: av(f.gid), path_mtu: 3, dest_qp_num: d.qp_num, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: o.min_rnr_timer ?? 1 },
      M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | (rc ? M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER : 0),
    );
  }
  for (const [q] of pairs) {
    const rc = q.qp_type === 'RC';
    await f.ctx.modifyQp(
      q,
      { qp_state: 'RTS', timeout: o.timeout ?? 1, retry_cnt: o.retry_cnt ?? 2, rnr_retry: o.rnr_retry ?? 7, sq_psn: 0, max_rd_atomic: 1 },
      M.STATE | M.SQ_PSN | (rc ? M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC : 0),
    );
  }
}

/** Polls until `n` completions arrived or `ms` passed. */
export async function drain(ctx: DeviceContext, cq: CqRef, n: number, ms = 2000): Promise<Wc[]> {
  const out: Wc[] = [];
  const end = Date.now() + ms;
  while (out.length < n && Date.now() < end) {
    out.push(...(await ctx.pollCq(cq, n - out.length)));
    if (out.length < n) await sleep(1);
  }
  return out;
}

/** The state ibv_query_qp reports. */
export async function stateOf(ctx: DeviceContext, qp: QpRef): Promise<string> {
  return (await ctx.queryQp(qp)).attr.qp_state;
}
