/**
 * The catalog's interpreter in TypeScript: the same steps, names and records
 * as test/differential/recorder.c, over a small {@link Device} adapter, so one
 * interpreter runs against the backend interface (runner-backend.ts) and
 * through the broker's gRPC API (runner-grpc.ts). Every wait is bounded by
 * the step's `ms`, scaled by {@link RunOptions.waitScale}.
 */
import type { QpAttr, QpState, QpType, Wc, WrOpcode } from '../../src/verbs/abi.js';
import { QpAttrMask as M, WC_FLAGS } from '../../src/verbs/abi.js';
import { DEFAULT_WAIT_MS, type Case, type Step } from './catalog.js';

export const BAD_KEY = 0xfedcba98;

/** One step's record, as the C recorder prints it. */
export type StepRecord = Record<string, unknown>;
export interface CaseRecord {
  case: string;
  area: string;
  r: StepRecord[];
}

export interface MrInfo {
  addr: bigint;
  lkey: number;
  rkey: number;
  length: number;
}

export interface Sge { addr: bigint; length: number; lkey: number }

/** A send work request with handles of the adapter's kind. */
export interface NSendWr<H> {
  wr_id: bigint;
  opcode: WrOpcode;
  send_flags: number;
  sg_list: Sge[];
  imm_data?: number;
  remote_addr?: bigint;
  rkey?: number;
  compare_add?: bigint;
  swap?: bigint;
  ah?: H;
  remote_qpn?: number;
  remote_qkey?: number;
  invalidate_rkey?: number;
  bind_mw?: { mw: H; rkey: number; mr: H; addr: bigint; length: number; mw_access_flags: number };
}

/**
 * A work completion as the interpreter reads it: the fields of the backends' own {@link Wc} that a poll step
 * records (recorder.c's `id st opc len imm fl qp src`). The backend runner hands its `Wc`s over as they are; over
 * gRPC, status and opcode arrive as the wire's names, which may be ones this build does not know.
 */
export type NWc = Pick<Wc, 'wr_id' | 'byte_len' | 'imm_data' | 'wc_flags' | 'qp_num' | 'src_qp'> & {
  status: Wc['status'] | string;
  opcode: Wc['opcode'] | string;
};

/** How an adapter reports a failed verb: the errno (or a name when the path has none) and *bad_wr's index. */
export interface Failure {
  err: number | string;
  bad?: number;
}

/** What the interpreter needs from a device (one open context; handles of type H). */
export interface Device<H> {
  /** The port's active MTU (enum ibv_mtu) and GID 0. */
  readonly activeMtu: number;
  readonly gid: string;
  /** Classifies a thrown error (null: not a device answer; the interpreter rethrows). */
  failure(e: unknown): Failure | null;
  allocPd(): Promise<H>;
  createCq(cqe: number, channel: boolean, tag: number): Promise<H>;
  regMr(pd: H, length: number, access: number, tag: number): Promise<{ h: H; info: MrInfo }>;
  writeMem(mr: H, off: number, data: Buffer): Promise<void>;
  readMem(mr: H, off: number, len: number): Promise<Buffer>;
  createSrq(pd: H, maxWr: number, maxSge: number, limit: number, tag: number): Promise<H>;
  createQp(pd: H, o: { type: QpType; scq: H; rcq: H; srq: H | null; sw: number; rw: number; ssge: number; rsge: number; inl: number; sigAll: boolean }, tag: number): Promise<{ h: H; qpn: number }>;
  createAh(pd: H, sgid: number, tag: number): Promise<H>;
  allocMw(pd: H, type: 1 | 2, tag: number): Promise<{ h: H; rkey: number }>;
  modifyQp(qp: H, attr: Partial<QpAttr>, mask: number): Promise<void>;
  postSend(qp: H, wrs: NSendWr<H>[]): Promise<void>;
  postRecv(qp: H, wrs: { wr_id: bigint; sg_list: Sge[] }[]): Promise<void>;
  postSrqRecv(srq: H, wrs: { wr_id: bigint; sg_list: Sge[] }[]): Promise<void>;
  pollCq(cq: H, max: number): Promise<NWc[]>;
  queryQp(qp: H): Promise<{ state: QpState; cap: { max_send_wr: number; max_recv_wr: number; max_send_sge: number; max_recv_sge: number; max_inline_data: number } }>;
  reqNotify(cq: H, solicited: boolean): Promise<void>;
  resizeCq(cq: H, cqe: number): Promise<void>;
  cqCap(cq: H): Promise<number>;
  modifySrq(srq: H, attr: { max_wr?: number; srq_limit?: number }, mask: number): Promise<void>;
  querySrq(srq: H): Promise<{ max_wr: number; srq_limit: number }>;
  bindMw1(qp: H, mw: H, b: { wr_id: bigint; mr: H; addr: bigint; length: number; mw_access_flags: number }): Promise<number>;
  deregMr(mr: H): Promise<void>;
  destroy(kind: Kind, h: H): Promise<void>;
  /** Async events since the last call: [type, object tag or null]. */
  takeAsyncEvents(): [string, number | null][];
  /** Completion-channel events of the CQ with this tag since the last call. */
  takeCompletionEvents(tag: number): number;
}

export type Kind = 'pd' | 'cq' | 'mr' | 'srq' | 'qp' | 'ah' | 'mw';

interface Obj<H> {
  name: string;
  kind: Kind;
  h: H;
  tag: number;
  dead: boolean;
  mr?: MrInfo;
  qpn?: number;
  qpType?: QpType;
  rkey?: number;
  chan?: boolean;
}

export interface RunOptions {
  /** Multiplies every step's wait (the sim completes in-process: a small factor keeps npm test fast). */
  waitScale?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const STATES: readonly QpState[] = ['RESET', 'INIT', 'RTR', 'RTS', 'SQD', 'SQE', 'ERR'];
const WC_KEEP_FLAGS = WC_FLAGS.GRH | WC_FLAGS.WITH_IMM | WC_FLAGS.WITH_INV;
const { WITH_IMM: WC_WITH_IMM, WITH_INV: WC_WITH_INV } = WC_FLAGS;
const ALL_ACCESS = 15;

function n(s: Step, k: string, dflt = 0): number {
  const v = s.args[k];
  if (v === undefined) return dflt;
  return typeof v === 'number' ? v : Number(v);
}
function big(s: Step, k: string): bigint {
  const v = s.args[k];
  if (v === undefined) return 0n;
  return BigInt.asUintN(64, BigInt(v));
}
function str(s: Step, k: string): string | undefined {
  const v = s.args[k];
  return v === undefined ? undefined : String(v);
}
function incRkey(k: number): number {
  return ((k & ~0xff) | ((k + 1) & 0xff)) >>> 0;
}

/** Runs one case on an open device; never throws for a device answer. */
export async function runCase<H>(dev: Device<H>, c: Case, o: RunOptions = {}): Promise<CaseRecord> {
  const scale = o.waitScale ?? 1;
  const objs = new Map<string, Obj<H>>();
  const byTag = new Map<number, Obj<H>>();
  let nextTag = 1;
  const rec: StepRecord[] = [];
  const pd = await dev.allocPd();
  dev.takeAsyncEvents();

  const add = (name: string, kind: Kind, h: H, tag: number, extra: Partial<Obj<H>> = {}): Obj<H> => {
    const ob: Obj<H> = { name, kind, h, tag, dead: false, ...extra };
    objs.set(name, ob);
    byTag.set(tag, ob);
    return ob;
  };
  const live = (s: Step, k: string, kind: Kind): Obj<H> | undefined => {
    const ob = objs.get(String(s.args[k]));
    return ob && ob.kind === kind && !ob.dead ? ob : undefined;
  };
  const qpName = (qpn: number): string => [...objs.values()].find((x) => x.kind === 'qp' && x.qpn === qpn)?.name ?? '?';
  const fail = (e: unknown): Failure => {
    const f = dev.failure(e);
    if (!f) throw e;
    return f;
  };
  /** err: 0, or the failure's errno. */
  const attempt = async (p: () => Promise<unknown>): Promise<StepRecord> => {
    try {
      await p();
      return { err: 0 };
    } catch (e) {
      return { err: fail(e).err };
    }
  };
  const attemptPost = async (p: () => Promise<unknown>): Promise<StepRecord> => {
    try {
      await p();
      return { err: 0, bad: -1 };
    } catch (e) {
      const f = fail(e);
      return { err: f.err, bad: f.bad ?? -1 };
    }
  };

  const sges = (s: Step): Sge[] | null => {
    const name = str(s, 'mr');
    if (name === undefined) return [];
    const m = objs.get(name);
    if (!m || m.kind !== 'mr' || !m.mr) return null;
    const count = Math.min(n(s, 'nsge', 1), 8);
    const len = n(s, 'len');
    const lkey = str(s, 'lkey') === 'bad' ? BAD_KEY : m.mr.lkey;
    return Array.from({ length: count }, (_, i) => ({ addr: m.mr!.addr + BigInt(n(s, 'off')) + BigInt(i * len), length: len, lkey }));
  };
  const rkeyOf = (name: string | undefined): number | null => {
    if (name === undefined) return 0;
    if (name === 'bad') return BAD_KEY;
    const ob = objs.get(name);
    if (!ob) return null;
    if (ob.kind === 'mr' && ob.mr) return ob.mr.rkey;
    if (ob.kind === 'mw' && ob.rkey !== undefined) return ob.rkey;
    return null;
  };

  /** The MR or MW whose rkey this is (an invalidated one), by name. */
  const keyName = (rkey: number): string => {
    for (const [name, ob] of objs) if ((ob.kind === 'mr' && ob.mr?.rkey === rkey) || (ob.kind === 'mw' && ob.rkey === rkey)) return name;
    return '?';
  };

  const modAttrs = (s: Step, q: Obj<H>): { attr: Partial<QpAttr>; mask: number } | null => {
    const st = STATES[STATES.indexOf(str(s, 'st') as QpState)] ?? 'RESET';
    const a: Partial<QpAttr> = { qp_state: st };
    let mask = M.STATE;
    const ud = q.qpType === 'UD';
    const uc = q.qpType === 'UC';
    const peerName = str(s, 'peer');
    const peer = peerName !== undefined ? live(s, 'peer', 'qp') : undefined;
    if (peerName !== undefined && !peer) return null;
    const av = (sgid: number): QpAttr['ah_attr'] => ({
      grh: { dgid: dev.gid, flow_label: 0, sgid_index: sgid, hop_limit: 1, traffic_class: 0 }, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1,
    });
    if (n(s, 'std')) {
      if (st === 'INIT') {
        Object.assign(a, { pkey_index: 0, port_num: 1 });
        mask |= M.PKEY_INDEX | M.PORT;
        if (ud) {
          a.qkey = 0x11111111;
          mask |= M.QKEY;
        } else {
          a.qp_access_flags = uc ? 3 : ALL_ACCESS;
          mask |= M.ACCESS_FLAGS;
        }
      } else if (st === 'RTR' && !ud) {
        Object.assign(a, { ah_attr: av(0), path_mtu: dev.activeMtu, dest_qp_num: peer?.qpn ?? 0, rq_psn: 0 });
        mask |= M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN;
        if (!uc) {
          Object.assign(a, { max_dest_rd_atomic: 1, min_rnr_timer: 12 });
          mask |= M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER;
        }
      } else if (st === 'RTS') {
        a.sq_psn = 0;
        mask |= M.SQ_PSN;
        if (!ud && !uc) {
          Object.assign(a, { timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
          mask |= M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC;
        }
      }
    } else if (peer) {
      a.dest_qp_num = peer.qpn ?? 0;
      mask |= M.DEST_QPN;
    }
    const u8 = (v: number): number => v & 0xff;
    const fields: [string, (v: number) => void, number][] = [
      ['cur', () => (a.cur_qp_state = STATES[STATES.indexOf(str(s, 'cur') as QpState)] ?? 'RESET'), M.CUR_STATE],
      ['mtu', (v) => (a.path_mtu = v as QpAttr['path_mtu']), M.PATH_MTU],
      ['dest', (v) => (a.dest_qp_num = v), M.DEST_QPN],
      ['access', (v) => (a.qp_access_flags = v), M.ACCESS_FLAGS],
      ['pkey', (v) => (a.pkey_index = v & 0xffff), M.PKEY_INDEX],
      ['port', (v) => (a.port_num = u8(v)), M.PORT],
      ['qkey', (v) => (a.qkey = v >>> 0), M.QKEY],
      ['timeout', (v) => (a.timeout = u8(v)), M.TIMEOUT],
      ['retry', (v) => (a.retry_cnt = u8(v)), M.RETRY_CNT],
      ['rnr', (v) => (a.rnr_retry = u8(v)), M.RNR_RETRY],
      ['min_rnr', (v) => (a.min_rnr_timer = u8(v)), M.MIN_RNR_TIMER],
      ['rd_atomic', (v) => (a.max_rd_atomic = u8(v)), M.MAX_QP_RD_ATOMIC],
      ['dest_rd_atomic', (v) => (a.max_dest_rd_atomic = u8(v)), M.MAX_DEST_RD_ATOMIC],
    ];
    for (const [k, set, bit] of fields) {
      if (s.args[k] === undefined) continue;
      set(n(s, k));
      mask |= bit;
    }
    if (s.args.sgid !== undefined) {
      const cur = mask & M.AV ? a.ah_attr! : av(0);
      a.ah_attr = { ...cur, grh: { ...cur.grh!, sgid_index: u8(n(s, 'sgid')) } };
      mask |= M.AV;
    }
    mask &= ~n(s, 'drop');
    return { attr: a, mask };
  };

  const steps: Record<string, (s: Step) => Promise<StepRecord>> = {
    async cq(s) {
      const tag = nextTag++;
      try {
        const h = await dev.createCq(n(s, 'cqe', 16), n(s, 'chan') === 1, tag);
        add(String(s.args.n), 'cq', h, tag, { chan: n(s, 'chan') === 1 });
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async mr(s) {
      const tag = nextTag++;
      const len = n(s, 'len', 4096);
      try {
        const { h, info } = await dev.regMr(pd, len, n(s, 'acc', 1), tag);
        add(String(s.args.n), 'mr', h, tag, { mr: info });
        if (s.args.fill !== undefined) {
          const seed = n(s, 'fill');
          await dev.writeMem(h, 0, Buffer.from(Array.from({ length: len }, (_, i) => (seed + 7 * i) & 0xff)));
        }
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async srq(s) {
      const tag = nextTag++;
      try {
        add(String(s.args.n), 'srq', await dev.createSrq(pd, n(s, 'wr', 16), n(s, 'sge', 1), n(s, 'limit'), tag), tag);
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async qp(s) {
      const scq = live(s, 'scq', 'cq');
      const rcq = live(s, 'rcq', 'cq');
      const srq = s.args.srq !== undefined ? live(s, 'srq', 'srq') : undefined;
      if (!scq || !rcq || (s.args.srq !== undefined && !srq)) return { skip: 1 };
      const type = (str(s, 'type') ?? 'RC') as QpType;
      const tag = nextTag++;
      try {
        const { h, qpn } = await dev.createQp(pd, {
          type, scq: scq.h, rcq: rcq.h, srq: srq?.h ?? null, sw: n(s, 'sw', 16), rw: n(s, 'rw', 16), ssge: n(s, 'ssge', 1), rsge: n(s, 'rsge', 1),
          inl: n(s, 'inl'), sigAll: n(s, 'sigall') === 1,
        }, tag);
        add(String(s.args.n), 'qp', h, tag, { qpn, qpType: type });
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async ah(s) {
      const tag = nextTag++;
      try {
        add(String(s.args.n), 'ah', await dev.createAh(pd, 0, tag), tag);
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async mw(s) {
      const tag = nextTag++;
      try {
        const { h, rkey } = await dev.allocMw(pd, n(s, 'type', 2) === 1 ? 1 : 2, tag);
        add(String(s.args.n), 'mw', h, tag, { rkey });
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async mod(s) {
      const q = live(s, 'qp', 'qp');
      const m = q && modAttrs(s, q);
      if (!q || !m) return { skip: 1 };
      return attempt(() => dev.modifyQp(q.h, m.attr, m.mask));
    },
    async conn(s) {
      const qa = live(s, 'a', 'qp');
      const qb = live(s, 'b', 'qp');
      if (!qa || !qb) return { skip: 1 };
      for (const st of ['INIT', 'RTR', 'RTS']) {
        for (const [q, peer] of [[qa, qb], [qb, qa]] as const) {
          const args: Record<string, string | number> = { qp: q.name, st, std: 1, peer: peer.name };
          if (st === 'RTR' && s.args.min_rnr !== undefined) args.min_rnr = s.args.min_rnr;
          if (st === 'RTS') for (const k of ['rnr', 'timeout', 'retry']) if (s.args[k] !== undefined) args[k] = s.args[k];
          const m = modAttrs({ op: 'mod', args }, q)!;
          const r = await attempt(() => dev.modifyQp(q.h, m.attr, m.mask));
          if (r.err !== 0) return r;
        }
      }
      return { err: 0 };
    },
    async send(s) {
      const q = live(s, 'qp', 'qp');
      const op = str(s, 'op') as WrOpcode;
      const count = n(s, 'count', 1);
      const rkey = rkeyOf(str(s, 'rkey'));
      const rmr = s.args.rmr !== undefined ? objs.get(String(s.args.rmr)) : undefined;
      const ah = s.args.ah !== undefined ? live(s, 'ah', 'ah') : undefined;
      const rqp = s.args.rqp !== undefined ? live(s, 'rqp', 'qp') : undefined;
      const mw = s.args.mw !== undefined ? live(s, 'mw', 'mw') : undefined;
      const bmr = s.args.bmr !== undefined ? live(s, 'bmr', 'mr') : undefined;
      const sg = sges(s);
      if (!q || rkey === null || sg === null || (s.args.rmr !== undefined && !rmr?.mr) || (s.args.ah !== undefined && !ah) ||
        (s.args.rqp !== undefined && !rqp) || (s.args.mw !== undefined && !mw) || (s.args.bmr !== undefined && !bmr)) return { skip: 1 };
      const newKey = mw?.rkey !== undefined ? incRkey(mw.rkey) : 0;
      const raddr = rmr?.mr ? BigInt.asUintN(64, rmr.mr.addr + BigInt(n(s, 'roff'))) : 0n;
      const wrs: NSendWr<H>[] = [];
      for (let i = 0; i < count; i++) {
        const w: NSendWr<H> = { wr_id: BigInt(n(s, 'id') + i), opcode: op, send_flags: n(s, 'flags'), sg_list: sg.map((x) => ({ ...x })) };
        if (op === 'SEND_WITH_IMM' || op === 'RDMA_WRITE_WITH_IMM') w.imm_data = n(s, 'imm') >>> 0;
        if (op === 'LOCAL_INV' || op === 'SEND_WITH_INV') w.invalidate_rkey = rkey;
        if (op === 'ATOMIC_CMP_AND_SWP' || op === 'ATOMIC_FETCH_AND_ADD') {
          Object.assign(w, { remote_addr: raddr, rkey, compare_add: op === 'ATOMIC_CMP_AND_SWP' ? big(s, 'cmp') : big(s, 'add'), swap: big(s, 'swap') });
        } else if (q.qpType === 'UD') {
          Object.assign(w, { ah: ah?.h, remote_qpn: rqp?.qpn ?? 0, remote_qkey: n(s, 'qkey') >>> 0 });
        } else if (op !== 'BIND_MW') {
          Object.assign(w, { remote_addr: raddr, rkey });
        }
        if (op === 'BIND_MW' && mw && bmr?.mr) {
          w.bind_mw = { mw: mw.h, rkey: newKey, mr: bmr.h, addr: bmr.mr.addr + BigInt(n(s, 'boff')), length: n(s, 'blen'), mw_access_flags: n(s, 'bacc') };
        }
        wrs.push(w);
      }
      const r = await attemptPost(() => dev.postSend(q.h, wrs));
      if (r.err === 0 && mw) mw.rkey = newKey;
      return r;
    },
    async recv(s) {
      const q = live(s, 'qp', 'qp');
      const sg = sges(s);
      if (!q || sg === null) return { skip: 1 };
      const wrs = Array.from({ length: n(s, 'count', 1) }, (_, i) => ({ wr_id: BigInt(n(s, 'id') + i), sg_list: sg.map((x) => ({ ...x })) }));
      return attemptPost(() => dev.postRecv(q.h, wrs));
    },
    async srecv(s) {
      const q = live(s, 'srq', 'srq');
      const sg = sges(s);
      if (!q || sg === null) return { skip: 1 };
      const wrs = Array.from({ length: n(s, 'count', 1) }, (_, i) => ({ wr_id: BigInt(n(s, 'id') + i), sg_list: sg.map((x) => ({ ...x })) }));
      return attemptPost(() => dev.postSrqRecv(q.h, wrs));
    },
    async poll(s) {
      const c = live(s, 'cq', 'cq');
      if (!c) return { skip: 1 };
      const want = n(s, 'n');
      const end = Date.now() + n(s, 'ms', DEFAULT_WAIT_MS) * scale;
      const got: NWc[] = [];
      let perr: number | string | undefined;
      for (;;) {
        let r: NWc[];
        try {
          r = await dev.pollCq(c.h, 16);
        } catch (e) {
          const f = fail(e);
          perr = typeof f.err === 'number' ? -f.err : f.err;
          break;
        }
        got.push(...r);
        if (got.length >= 512) break;
        if (r.length > 0) continue;
        if (got.length >= want || Date.now() >= end) break;
        await sleep(1);
      }
      const wc = got.map((w) => {
        const qn = qpName(w.qp_num);
        const x: StepRecord = {
          id: Number(w.wr_id), st: w.status, opc: w.opcode, len: w.byte_len, imm: w.wc_flags & WC_WITH_IMM ? w.imm_data >>> 0 : 0,
          fl: w.wc_flags & WC_KEEP_FLAGS, qp: qn,
        };
        if (w.wc_flags & WC_WITH_INV) x.inv = keyName(w.imm_data >>> 0);
        if (objs.get(qn)?.qpType === 'UD' && w.status === 'SUCCESS' && String(w.opcode).startsWith('RECV')) x.src = qpName(w.src_qp);
        return x;
      });
      return perr !== undefined ? { perr, wc } : { wc };
    },
    async state(s) {
      const q = live(s, 'qp', 'qp');
      if (!q) return { skip: 1 };
      try {
        return { st: (await dev.queryQp(q.h)).state };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async qcap(s) {
      const q = live(s, 'qp', 'qp');
      if (!q) return { skip: 1 };
      try {
        const c = (await dev.queryQp(q.h)).cap;
        return { sw: c.max_send_wr, rw: c.max_recv_wr, ssge: c.max_send_sge, rsge: c.max_recv_sge, inl: c.max_inline_data };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async mem(s) {
      const m = objs.get(String(s.args.mr));
      if (!m || m.kind !== 'mr' || !m.mr) return { skip: 1 };
      const off = Math.min(n(s, 'off'), m.mr.length);
      const len = Math.min(n(s, 'len'), m.mr.length - off);
      return { hex: (await dev.readMem(m.h, off, len)).toString('hex') };
    },
    async set(s) {
      const m = objs.get(String(s.args.mr));
      const off = n(s, 'off');
      if (!m || m.kind !== 'mr' || !m.mr || off + 8 > m.mr.length) return { skip: 1 };
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(big(s, 'u64'));
      await dev.writeMem(m.h, off, b);
      return {};
    },
    async arm(s) {
      const c = live(s, 'cq', 'cq');
      if (!c) return { skip: 1 };
      return attempt(() => dev.reqNotify(c.h, n(s, 'sol') === 1));
    },
    async notif(s) {
      const c = live(s, 'cq', 'cq');
      if (!c || !c.chan) return { skip: 1 };
      const end = Date.now() + n(s, 'ms', DEFAULT_WAIT_MS) * scale;
      let count = 0;
      for (;;) {
        count += dev.takeCompletionEvents(c.tag);
        if (count > 0 || Date.now() >= end) break;
        await sleep(1);
      }
      return { n: count };
    },
    async resize(s) {
      const c = live(s, 'cq', 'cq');
      if (!c) return { skip: 1 };
      return attempt(() => dev.resizeCq(c.h, n(s, 'cqe', 1)));
    },
    async cqcap(s) {
      const c = live(s, 'cq', 'cq');
      if (!c) return { skip: 1 };
      return { cqe: await dev.cqCap(c.h) };
    },
    async msrq(s) {
      const q = live(s, 'srq', 'srq');
      if (!q) return { skip: 1 };
      const attr: { max_wr?: number; srq_limit?: number } = {};
      let mask = 0;
      if (s.args.limit !== undefined) {
        attr.srq_limit = n(s, 'limit');
        mask |= 2;
      }
      if (s.args.maxwr !== undefined) {
        attr.max_wr = n(s, 'maxwr');
        mask |= 1;
      }
      return attempt(() => dev.modifySrq(q.h, attr, mask));
    },
    async qsrq(s) {
      const q = live(s, 'srq', 'srq');
      if (!q) return { skip: 1 };
      try {
        return { limit: (await dev.querySrq(q.h)).srq_limit };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async srqcap(s) {
      const q = live(s, 'srq', 'srq');
      if (!q) return { skip: 1 };
      try {
        return { wr: (await dev.querySrq(q.h)).max_wr };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async bind1(s) {
      const q = live(s, 'qp', 'qp');
      const mw = live(s, 'mw', 'mw');
      const m = live(s, 'mr', 'mr');
      if (!q || !mw || !m?.mr) return { skip: 1 };
      try {
        mw.rkey = await dev.bindMw1(q.h, mw.h, { wr_id: BigInt(n(s, 'id')), mr: m.h, addr: m.mr.addr + BigInt(n(s, 'off')), length: n(s, 'len'), mw_access_flags: n(s, 'acc') });
        return { err: 0 };
      } catch (e) {
        return { err: fail(e).err };
      }
    },
    async dereg(s) {
      const m = live(s, 'mr', 'mr');
      if (!m) return { skip: 1 };
      const r = await attempt(() => dev.deregMr(m.h));
      if (r.err === 0) m.dead = true;
      return r;
    },
    async ev(s) {
      const want = n(s, 'n');
      const end = Date.now() + n(s, 'ms', DEFAULT_WAIT_MS) * scale;
      const got: string[] = [];
      for (;;) {
        for (const [type, tag] of dev.takeAsyncEvents()) {
          const ob = tag === null ? undefined : byTag.get(tag);
          got.push(`${type}:${ob?.name ?? 'port'}`);
        }
        if ((want > 0 && got.length >= want) || Date.now() >= end) break;
        await sleep(1);
      }
      return { ev: got.sort() };
    },
  };

  try {
    for (const s of c.steps) {
      const f = steps[s.op];
      if (!f) throw new Error(`${c.name}: unknown step ${s.op}`);
      rec.push({ op: s.op, ...(await f(s)) });
    }
  } finally {
    dev.takeAsyncEvents();
    for (const kind of ['mw', 'qp', 'ah', 'srq', 'mr', 'cq'] as const) {
      for (const ob of [...objs.values()].reverse()) {
        if (ob.kind !== kind || ob.dead) continue;
        await dev.destroy(kind, ob.h).catch(() => undefined);
      }
    }
    for (const ob of objs.values()) if (ob.chan) dev.takeCompletionEvents(ob.tag);
    await dev.destroy('pd', pd).catch(() => undefined);
  }
  return { case: c.name, area: c.area, r: rec };
}
