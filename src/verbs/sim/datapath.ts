/**
 * The sim's data path: the requester and responder of RC, UC and UD QPs,
 * moving real bytes between MR memory, with the completions and errors
 * soft-RoCE produces.
 *
 * Processing starts inside postSend/modifyQp, never blocks and does a
 * bounded amount of work per event-loop turn (the rest is scheduled): a send
 * that cannot complete yet (RNR NAK, unreachable peer) parks the send queue
 * and is retried from a timer, or on a later turn when the peer posts a
 * receive or changes. Status codes follow rxe (rxe_req.c / rxe_resp.c / rxe_comp.c):
 * - a bad local key or range: LOC_PROT_ERR, the QP goes to ERR;
 * - a bad rkey, range or MR access at the responder: REM_ACCESS_ERR on the
 *   requester; both QPs go to ERR and the responder gets QP_ACCESS_ERR;
 * - an operation the responder QP's access flags forbid, a misaligned atomic,
 *   a receive buffer too small: REM_INV_REQ_ERR (the responder: QP_REQ_ERR);
 * - no receive posted: RNR; RNR_RETRY_EXC_ERR after rnr_retry retries (7: forever);
 * - no answer (peer gone or not receiving): RETRY_EXC_ERR after retry_cnt retries (7: forever, as rxe);
 * - a receive completion that does not fit in its CQ: the responder QP goes to ERR (an RC
 *   message is not ACKed: its requester retries); a send completion that does not fit is lost;
 * - any error moves the QP to ERR, which flushes every outstanding WR with WR_FLUSH_ERR.
 */
import {
  Access, SendFlags, WC_FLAGS, mtuBytes, type AsyncEventType, type MwBind, type RecvWr, type SendWr, type Sge, type Wc,
  type WcOpcode, type WcStatus,
} from '../abi.js';
import type { SharedMemory } from '../../sys/memory.js';
import type { SimDevice } from './device.js';
import { SimMr, SimMw, type SimCq, type SimPd, type SimQp, type SimSrq, type SimAh } from './objects.js';

/** Finds the device that owns a GID (QPs of different sim devices talk through it). */
export interface Fabric {
  deviceByGid(gid: string): SimDevice | undefined;
}

/** A byte range of MR memory. */
interface Seg {
  mem: SharedMemory;
  off: number;
  len: number;
}

const { GRH: WC_GRH, WITH_IMM: WC_WITH_IMM, WITH_INV: WC_WITH_INV } = WC_FLAGS;
/** RoCE UD receives start with the 40-byte GRH. */
const GRH_BYTES = 40;
const MAX_MSG = 0x8000_0000;
const SEND_WC: Record<SendWr['opcode'], WcOpcode> = {
  RDMA_WRITE: 'RDMA_WRITE', RDMA_WRITE_WITH_IMM: 'RDMA_WRITE', SEND: 'SEND', SEND_WITH_IMM: 'SEND',
  RDMA_READ: 'RDMA_READ', ATOMIC_CMP_AND_SWP: 'COMP_SWAP', ATOMIC_FETCH_AND_ADD: 'FETCH_ADD',
  LOCAL_INV: 'LOCAL_INV', BIND_MW: 'BIND_MW', SEND_WITH_INV: 'SEND',
};
const RECEIVING = new Set(['RTR', 'RTS', 'SQD', 'SQE']);

/** IBA's RNR timer encoding (min_rnr_timer 0..31) in milliseconds. */
const RNR_MS = [
  655.36, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.16, 0.24, 0.32, 0.48, 0.64, 0.96, 1.28, 1.92, 2.56, 3.84,
  5.12, 7.68, 10.24, 15.36, 20.48, 30.72, 40.96, 61.44, 81.92, 122.88, 163.84, 245.76, 327.68, 491.52,
];

function mkWc(wr_id: bigint, status: WcStatus, opcode: WcOpcode, qp_num: number, byte_len = 0, src_qp = 0, wc_flags = 0, imm_data = 0): Wc {
  return { wr_id, status, opcode, vendor_err: 0, byte_len, imm_data, qp_num, src_qp, wc_flags, pkey_index: 0, slid: 0, sl: 0, dlid_path_bits: 0 };
}

/**
 * An error (or flush) completion as rxe writes it for a user CQ: only wr_id,
 * status and qp_num are set (opcode 0, i.e. SEND, byte_len 0, no flags), on
 * the send and the receive side alike; the standard leaves the rest undefined.
 */
function errWc(wr_id: bigint, status: WcStatus, qp_num: number): Wc {
  return mkWc(wr_id, status, 'SEND', qp_num);
}

function emitObj(o: { ctx: { emit: SimQp['ctx']['emit'] }; tag: number }, type: AsyncEventType): void {
  o.ctx.emit({ kind: 'async', type, tag: o.tag, port: null });
}

/**
 * Queues a completion; a full CQ drops it and reports CQ_ERR (rxe_cq_post),
 * and answers false. What a drop does to the QP is the caller's: rxe's
 * completer ignores it (the send completion is lost, the QP stays in RTS),
 * its responder moves the QP to ERR ({@link recvComplete}).
 * rxe raises one event per dropped completion; the sim raises one per
 * overflow (until a poll makes room), so a flush of a million WRs into a
 * full CQ cannot queue a million events for the daemon to deliver.
 */
export function pushWc(cq: SimCq, wc: Wc, solicited: boolean): boolean {
  if (cq.dead) return false;
  if (cq.wcs.size >= cq.cqe || cq.dropNext > 0) {
    if (cq.dropNext > 0) cq.dropNext--;
    if (!cq.overflowed) emitObj(cq, 'CQ_ERR');
    cq.overflowed = true;
    return false;
  }
  cq.wcs.push(wc);
  // rxe_cq_post: a solicited-only arm wakes for solicited completions alone; an error completion is no exception.
  if (cq.arm !== 0 && (cq.arm === 1 || solicited)) {
    cq.arm = 0;
    if (cq.channel) cq.ctx.emit({ kind: 'completion', cq: cq.tag, channel: cq.channel.tag });
  }
  return true;
}

/**
 * The responder's successful receive completion. A receive CQ with no room
 * drops it, and the responder moves its QP to ERR (rxe_resp.c: do_complete
 * answers RESPST_ERR_CQ_OVERFLOW, rxe_responder goes to RESPST_ERROR and
 * rxe_qp_error) with no async event of the QP, only the CQ's CQ_ERR; its
 * other receives and sends are flushed. False then: an RC responder sends no
 * ACK for that message.
 */
function recvComplete(d: SimQp, wc: Wc, solicited: boolean): boolean {
  if (pushWc(d.recvCq, wc, solicited)) return true;
  if (d.state !== 'ERR') enterError(d, true);
  return false;
}

function completeSend(qp: SimQp, wr: SendWr, status: WcStatus, byteLen = 0): void {
  if (status !== 'SUCCESS') {
    pushWc(qp.sendCq, errWc(wr.wr_id, status, qp.qp_num), false);
    return;
  }
  if (qp.sqSigAll || wr.send_flags & SendFlags.SIGNALED) {
    // rxe marks the requester's completion of an immediate-data WR with WITH_IMM too.
    const flags = wr.opcode === 'SEND_WITH_IMM' || wr.opcode === 'RDMA_WRITE_WITH_IMM' ? WC_WITH_IMM : 0;
    pushWc(qp.sendCq, mkWc(wr.wr_id, status, SEND_WC[wr.opcode], qp.qp_num, byteLen, 0, flags), false);
  }
}

/** A UC message the responder dropped: without ACKs the requester still completes it. */
function dropped(qp: SimQp, wr: SendWr, len: number): true {
  completeSend(qp, wr, 'SUCCESS', len);
  return true;
}

/**
 * The responder took the message but could not complete its receive (a full
 * receive CQ) and is now in ERR: a UC requester completes the WR as sent; an
 * RC requester gets no ACK and retransmits as a lost packet
 * (RETRY_EXC_ERR after retry_cnt retries, the peer being in ERR).
 */
function unacked(qp: SimQp, wr: SendWr, len: number): boolean {
  return qp.qp_type === 'RC' ? retry(qp, wr) : dropped(qp, wr, len);
}

/** Completes a WR with an error and moves its QP to ERR. */
function fail(qp: SimQp, wr: SendWr, status: WcStatus): true {
  completeSend(qp, wr, status);
  enterError(qp, true);
  return true;
}

// -------------------------------------------------------------- memory

function sumLen(sges: readonly Sge[]): number {
  let n = 0;
  for (const s of sges) n += s.length;
  return n;
}

function segOfMr(mr: SimMr, addr: bigint, len: number): Seg | null {
  if (addr < mr.addr) return null;
  // One BigInt step per range (this runs for every SGE and remote access): an
  // offset past 2^53 is rounded, but is then far beyond any MR's length.
  const off = Number(addr - mr.addr);
  if (off + len > mr.length) return null;
  return { mem: mr.memory, off: mr.memOffset + off, len };
}

/** Resolves SGEs by lkey in `pd`; null on any bad key, range or missing LOCAL_WRITE. */
function localSegs(qp: SimQp, pd: SimPd, sges: readonly Sge[], needWrite: boolean, inline: boolean): Seg[] | null {
  const keys = qp.ctx.device.keys;
  const out: Seg[] = [];
  for (const s of sges) {
    if (s.length === 0) continue; // a zero-length SGE touches nothing, so its key is never checked
    if (!Number.isInteger(s.length) || s.length < 0) return null;
    const o = keys.get(s.lkey);
    let seg: Seg | null = null;
    if (o instanceof SimMr && !o.dead && o.lkey === s.lkey && o.pd === pd && (!needWrite || o.access & Access.LOCAL_WRITE)) {
      seg = segOfMr(o, s.addr, s.length);
    }
    // Inline data is copied by the CPU from the address, ignoring lkey: find the MR by address.
    if (!seg && inline) {
      const mr = qp.ctx.findMrByAddr(s.addr, s.length);
      if (mr) seg = segOfMr(mr, s.addr, s.length);
    }
    if (!seg) return null;
    out.push(seg);
  }
  return out;
}

/** Drops the first `n` bytes of a scatter list (the GRH room of a UD receive). */
function skip(segs: Seg[], n: number): Seg[] {
  const out: Seg[] = [];
  for (const s of segs) {
    if (n >= s.len) {
      n -= s.len;
      continue;
    }
    out.push({ mem: s.mem, off: s.off + n, len: s.len - n });
    n = 0;
  }
  return out;
}

/** Copies the whole of `src` into the start of `dst` (the caller checked capacity). */
function copySegs(src: readonly Seg[], dst: readonly Seg[]): void {
  let di = 0;
  let doff = 0;
  for (const s of src) {
    let soff = 0;
    while (soff < s.len) {
      const d = dst[di] as Seg;
      const n = Math.min(s.len - soff, d.len - doff);
      d.mem.copyFrom(d.off + doff, s.mem, s.off + soff, n);
      soff += n;
      doff += n;
      if (doff === d.len) {
        di++;
        doff = 0;
      }
    }
  }
}

/**
 * The responder's rkey check (rxe check_rkey): an MR of the responder's PD
 * with the access, or a bound window (type 1 on the PD, type 2 on this QP)
 * granting it. As in rxe 6.1, the range is checked against the window's MR
 * (mr_check_range), not against the bound range of the window.
 */
function remoteSeg(dest: SimQp, rkey: number | undefined, addr: bigint | undefined, len: number, need: number): Seg | null {
  if (rkey === undefined || addr === undefined) return null;
  const o = dest.ctx.device.keys.get(rkey);
  if (!o || o.dead) return null;
  if (o instanceof SimMr) {
    if (o.rkey !== rkey || o.pd !== dest.pd || !(o.access & need)) return null;
    return segOfMr(o, addr, len);
  }
  const b = o.binding;
  if (!b || b.mr.dead || (o.type === 1 ? o.pd !== dest.pd : o.qp !== dest) || !(b.access & need)) return null;
  return segOfMr(b.mr, addr, len);
}

// ---------------------------------------------------------- queues

function peekRecv(d: SimQp): RecvWr | undefined {
  return d.srq ? d.srq.rq.peek() : d.rq.peek();
}

function takeRecv(d: SimQp): RecvWr | undefined {
  if (!d.srq) return d.rq.shift();
  const srq: SimSrq = d.srq;
  const wr = srq.rq.shift();
  // The SRQ limit event fires once when the queue drops below the armed limit, then disarms.
  if (wr && srq.limit > 0 && srq.rq.size < srq.limit) {
    srq.limit = 0;
    emitObj(srq, 'SRQ_LIMIT_REACHED');
  }
  return wr;
}

function clearWait(qp: SimQp): void {
  const w = qp.wait;
  if (!w) return;
  if (w.timer) clearTimeout(w.timer);
  if (w.on) {
    w.on.rnrWaiters?.delete(qp);
    w.on.srq?.rnrWaiters.delete(qp);
  }
  qp.wait = null;
}

// ---------------------------------------------------------- scheduling
//
// Every entry point does a bounded amount of work and leaves the rest to a
// later turn of the event loop: a client can queue up to max_send_wr WRs of
// up to 2 GiB each, park QPs on RNR NAKs forever, or post receives that wake
// many senders, and none of that may hold the loop (the daemon serves every
// tenant from it). Waiting is always a timer or a wake-up, never a loop.

/** WRs and bytes the data path moves per event-loop turn before it yields. */
const TURN_WRS = 64;
const TURN_BYTES = 8 << 20;
/** The ceiling of an endless retry loop's back-off (rnr_retry / retry_cnt 7). */
const BACKOFF_MAX_MS = 1000;

interface Budget {
  wrs: number;
  bytes: number;
}

/** QPs with work left for a later turn, in FIFO order. */
const runq = new Set<SimQp>();
let turn: ReturnType<typeof setImmediate> | null = null;

/** Runs the QP's send queue on a later turn (idempotent; never re-enters the caller). */
export function schedule(qp: SimQp): void {
  if (qp.dead) return;
  runq.add(qp);
  if (!turn) {
    turn = setImmediate(runTurn);
    turn.unref(); // pending sim work never keeps a process alive
  }
}

function runTurn(): void {
  turn = null;
  const budget: Budget = { wrs: TURN_WRS * 4, bytes: TURN_BYTES * 4 };
  for (const qp of runq) {
    if (budget.wrs <= 0 || budget.bytes <= 0) break;
    runq.delete(qp);
    progressSq(qp, budget);
  }
  if (runq.size > 0 && !turn) {
    turn = setImmediate(runTurn);
    turn.unref();
  }
}

/** Flushes every outstanding receive and send WR with WR_FLUSH_ERR (the QP is in ERR). */
export function flushQp(qp: SimQp): void {
  // rxe's responder completes a flushed receive with no packet in hand, which rxe_cq_post counts as solicited.
  for (let wr = qp.rq.shift(); wr; wr = qp.rq.shift()) pushWc(qp.recvCq, errWc(wr.wr_id, 'WR_FLUSH_ERR', qp.qp_num), true);
  if (qp.busy) return; // the send loop flushes the SQ once the WR in hand is completed
  for (let wr = qp.sq.shift(); wr; wr = qp.sq.shift()) pushWc(qp.sendCq, errWc(wr.wr_id, 'WR_FLUSH_ERR', qp.qp_num), false);
}

/**
 * The senders parked on an RNR NAK from `d` retry on a later turn: a receive
 * was posted, or `d` changed (state, address, destroyed) so that their next
 * packet meets a different answer. The set is emptied before anyone runs, so
 * a sender that parks on `d` again cannot be visited twice.
 */
export function wakeWaiters(d: SimQp): void {
  // Every modify and destroy comes here: most find both sets empty and allocate nothing.
  if (d.rnrWaiters !== null) wakeSet(d, d.rnrWaiters, true);
  if (d.srq) wakeSet(d, d.srq.rnrWaiters, false);
}

/** Wakes the senders in `set` (its own: all of them; its SRQ's: those parked on `d`). */
function wakeSet(d: SimQp, set: Set<SimQp>, own: boolean): void {
  if (set.size === 0) return;
  const ws = [...set];
  for (const w of ws) {
    if (!own && w.wait?.on !== d) continue;
    clearWait(w);
    schedule(w);
  }
}

/** A receive was posted on an SRQ: every sender parked on one of its QPs retries on a later turn. */
export function wakeSrqWaiters(srq: SimSrq): void {
  if (srq.rnrWaiters.size === 0) return;
  const ws = [...srq.rnrWaiters];
  srq.rnrWaiters.clear();
  for (const w of ws) {
    clearWait(w);
    schedule(w);
  }
}

function freshRetries(qp: SimQp): void {
  qp.rnrLeft = null;
  qp.retryLeft = null;
  qp.backoffMs = 0;
}

/** Moves a QP to ERR: stalls are cancelled and outstanding WRs flushed. */
export function enterError(qp: SimQp, _fromDatapath: boolean): void {
  qp.state = 'ERR';
  qp.attr.qp_state = 'ERR';
  qp.attr.cur_qp_state = 'ERR';
  clearWait(qp);
  freshRetries(qp);
  flushQp(qp);
  wakeWaiters(qp);
}

/** RESET: everything outstanding is dropped without completions. */
export function resetQp(qp: SimQp): void {
  clearWait(qp);
  runq.delete(qp);
  wakeWaiters(qp);
  qp.sq.clear();
  qp.rq.clear();
  freshRetries(qp);
  qp.commEst = false;
}

function park(qp: SimQp, kind: 'rnr' | 'retry' | 'rd_atomic', ms: number | null, on: SimQp | null): false {
  const timer = ms === null ? null : setTimeout(() => onTimer(qp), Math.max(1, ms));
  timer?.unref();
  qp.wait = { kind, timer, on };
  if (on) (on.srq ? on.srq.rnrWaiters : (on.rnrWaiters ??= new Set())).add(qp);
  return false;
}

function onTimer(qp: SimQp): void {
  if (!qp.wait || qp.dead) return;
  clearWait(qp);
  progressSq(qp);
}

/** An endless retry (count 7) waits `first` ms, then twice as long each time up to a second. */
function backoff(qp: SimQp, first: number): number {
  qp.backoffMs = qp.backoffMs === 0 ? first : Math.min(BACKOFF_MAX_MS, Math.max(first, qp.backoffMs * 2));
  return qp.backoffMs;
}

/** rxe COMPST_RNR_RETRY: 7 retries forever, otherwise rnr_retry times, then RNR_RETRY_EXC_ERR. */
function rnr(qp: SimQp, wr: SendWr, d: SimQp): boolean {
  if (qp.rnrLeft === null) qp.rnrLeft = qp.attr.rnr_retry;
  if (qp.rnrLeft === 0) return fail(qp, wr, 'RNR_RETRY_EXC_ERR');
  const ms = RNR_MS[d.attr.min_rnr_timer] ?? 1;
  if (qp.rnrLeft === 7) return park(qp, 'rnr', backoff(qp, ms), d);
  qp.rnrLeft--;
  return park(qp, 'rnr', ms, d);
}

/**
 * No answer from the peer (rxe COMPST_ERROR_RETRY): retransmit after the
 * local ACK timeout; retry_cnt 7 retries forever (as rxe), otherwise
 * retry_cnt times, then RETRY_EXC_ERR. timeout 0 disables the retransmit
 * timer: the WR waits for ever, as on the wire.
 */
function retry(qp: SimQp, wr: SendWr): boolean {
  if (qp.attr.timeout === 0) return park(qp, 'retry', null, null);
  if (qp.retryLeft === null) qp.retryLeft = qp.attr.retry_cnt;
  if (qp.retryLeft === 0) return fail(qp, wr, 'RETRY_EXC_ERR');
  const ms = Math.min(2000, (4.096 * 2 ** qp.attr.timeout) / 1000);
  if (qp.retryLeft === 7) return park(qp, 'retry', backoff(qp, ms), null);
  qp.retryLeft--;
  return park(qp, 'retry', ms, null);
}

// ---------------------------------------------------------- requester

/**
 * Runs the send queue until it is empty, stalled, the QP leaves RTS, or the
 * turn's budget is spent (the rest is scheduled for a later turn).
 */
export function progressSq(qp: SimQp, budget: Budget = { wrs: TURN_WRS, bytes: TURN_BYTES }): void {
  if (qp.busy || qp.dead) return;
  if (qp.wait?.kind === 'rd_atomic' && qp.attr.max_rd_atomic > 0) clearWait(qp);
  qp.busy = true;
  try {
    while (qp.sq.size > 0) {
      if (qp.state === 'ERR' || qp.state === 'SQE') {
        qp.busy = false;
        flushQp(qp);
        return;
      }
      if (qp.state !== 'RTS' || qp.wait) break;
      if (budget.wrs <= 0 || budget.bytes <= 0) {
        schedule(qp);
        break;
      }
      const wr = qp.sq.peek() as SendWr;
      budget.wrs--;
      budget.bytes -= sumLen(wr.sg_list);
      if (!execute(qp, wr)) break;
      qp.sq.shift();
      freshRetries(qp);
    }
  } finally {
    qp.busy = false;
  }
  if (qp.state === 'ERR' && qp.sq.size > 0) flushQp(qp);
}

/** The connected peer of an RC/UC QP, if a packet from `qp` would reach it. */
function peer(qp: SimQp): SimQp | null {
  const grh = qp.attr.ah_attr.grh;
  if (!grh) return null;
  const dev = qp.ctx.fabric.deviceByGid(grh.dgid);
  // A port that is down sends and receives nothing (rxe: the netdev drops the packet).
  if (!dev || dev.lost || !dev.portActive || !qp.ctx.device.portActive) return null;
  const d = dev.qps.get(qp.attr.dest_qp_num);
  if (!d || d.dead || d.qp_type !== qp.qp_type || !RECEIVING.has(d.state)) return null;
  // The responder only accepts packets from the QP and GID it was connected to (rxe check_addr).
  if (d.attr.dest_qp_num !== qp.qp_num || d.attr.ah_attr.grh?.dgid !== qp.ctx.device.gid) return null;
  if (d.state === 'RTR' && !d.commEst) {
    d.commEst = true;
    emitObj(d, 'COMM_EST');
  }
  return d;
}

/**
 * How rxe's responder answers a request it cannot execute (rxe_resp.c, its
 * class A/C errors): the NAK's status on the requester, the status of the
 * receive WQE the responder already holds (WRITE_WITH_IMM, SEND), and
 * both QPs in ERR; the responder's other receives are flushed. rxe raises no
 * async event for these.
 */
const NAK = {
  /** check_op_valid: the responder QP's access flags forbid the operation; max_dest_rd_atomic 0. */
  invalid: { requester: 'REM_INV_REQ_ERR', responder: 'REM_INV_REQ_ERR' },
  /** check_rkey: no MR or window for the rkey, the range outside it, or the MR lacks the access. */
  access: { requester: 'REM_ACCESS_ERR', responder: 'REM_ACCESS_ERR' },
  /** send_data_in: the receive WQE's SGEs are invalid or too small (a malformed WQE). */
  malformed: { requester: 'REM_OP_ERR', responder: 'LOC_QP_OP_ERR' },
} as const satisfies Record<string, { requester: WcStatus; responder: WcStatus }>;
type NakKind = keyof typeof NAK;

/** A request the responder refused: see {@link NAK}. `held` is the receive WQE it had taken, if any. */
function remoteError(qp: SimQp, wr: SendWr, d: SimQp, kind: NakKind, held: RecvWr | null = null): true {
  if (held) pushWc(d.recvCq, errWc(held.wr_id, NAK[kind].responder, d.qp_num), false);
  if (d !== qp) enterError(d, true);
  return fail(qp, wr, NAK[kind].requester);
}

/**
 * A UC responder's refusal: an operation the QP's access flags forbid or a
 * bad rkey silently drops the message (the requester completes it); a
 * malformed receive WQE completes with LOC_QP_OP_ERR and moves the responder
 * to ERR (rxe's class D1/E handling).
 */
function ucError(qp: SimQp, wr: SendWr, d: SimQp, kind: NakKind, held: RecvWr | null, len: number): true {
  if (kind === 'malformed') {
    if (held) pushWc(d.recvCq, errWc(held.wr_id, 'LOC_QP_OP_ERR', d.qp_num), false);
    if (d !== qp) enterError(d, true);
  }
  return dropped(qp, wr, len);
}

/**
 * Where a message of `len` bytes lands in a receive WQE, resolved as rxe's
 * copy_data does: SGE by SGE, each key checked only when bytes reach it. A
 * message that does not fit (a bad key or too little room) is a malformed
 * WQE; the packets that fitted whole before it are already written.
 */
interface Scatter {
  segs: Seg[];
  ok: boolean;
  /** Bytes of the message written (whole packets) when !ok. */
  partial: number;
}

function scatter(d: SimQp, wr: RecvWr, len: number, mtu: number): Scatter {
  const pd = d.srq ? d.srq.pd : d.pd;
  const keys = d.ctx.device.keys;
  const segs: Seg[] = [];
  let room = 0;
  for (const s of wr.sg_list) {
    if (room >= len) break;
    if (s.length === 0) continue;
    const o = keys.get(s.lkey);
    const seg = o instanceof SimMr && !o.dead && o.lkey === s.lkey && o.pd === pd && o.access & Access.LOCAL_WRITE ? segOfMr(o, s.addr, s.length) : null;
    if (!seg) break;
    segs.push(seg);
    room += seg.len;
  }
  if (room >= len) return { segs, ok: true, partial: 0 };
  return { segs, ok: false, partial: Math.floor(room / mtu) * mtu };
}

/** Copies the first `n` bytes of `src` into `dst` (both long enough). */
function copyPrefix(src: readonly Seg[], dst: readonly Seg[], n: number): void {
  if (n <= 0) return;
  copySegs(clip(src, n), dst);
}

function clip(segs: readonly Seg[], n: number): Seg[] {
  const out: Seg[] = [];
  for (const s of segs) {
    if (n <= 0) break;
    const take = Math.min(n, s.len);
    out.push({ mem: s.mem, off: s.off, len: take });
    n -= take;
  }
  return out;
}

/** The path MTU packets of `qp` carry (a QP modified to a path_mtu outside 1..5 keeps 1024). */
function pathMtu(qp: SimQp): number {
  const m = qp.attr.path_mtu;
  return m >= 1 && m <= 5 ? mtuBytes(m) : 1024;
}

/**
 * The requester gathers a WR's local data: a bad lkey, range or access fails
 * the WR before anything is sent. rxe reports it as LOC_QP_OP_ERR when it
 * builds a SEND or WRITE packet, and as LOC_PROT_ERR when a READ response or
 * an atomic result cannot be stored.
 */
function localFailure(op: SendWr['opcode']): WcStatus {
  return op === 'RDMA_READ' || op === 'ATOMIC_CMP_AND_SWP' || op === 'ATOMIC_FETCH_AND_ADD' ? 'LOC_PROT_ERR' : 'LOC_QP_OP_ERR';
}

/** The opcodes each QP type's requester can build packets for (rxe next_opcode); others complete LOC_QP_OP_ERR. */
function opcodeValid(type: SimQp['qp_type'], op: SendWr['opcode']): boolean {
  switch (type) {
    case 'UD':
      return op === 'SEND' || op === 'SEND_WITH_IMM';
    case 'UC':
      return op === 'SEND' || op === 'SEND_WITH_IMM' || op === 'RDMA_WRITE' || op === 'RDMA_WRITE_WITH_IMM' || op === 'LOCAL_INV' || op === 'BIND_MW';
    default:
      return true;
  }
}

/** The responder refused a request: an RC NAK ({@link remoteError}) or a UC drop ({@link ucError}). */
function refuse(qp: SimQp, wr: SendWr, d: SimQp, kind: NakKind, held: RecvWr | null, len: number): true {
  return qp.qp_type === 'RC' ? remoteError(qp, wr, d, kind, held) : ucError(qp, wr, d, kind, held, len);
}

/** An RDMA WRITE's target at the responder: null for a zero-length write (it carries no valid rkey/address to check, C9-88), false when the rkey check fails. */
function writeTarget(d: SimQp, wr: SendWr, len: number): Seg | null | false {
  return len === 0 ? null : remoteSeg(d, wr.rkey, wr.remote_addr, len, Access.REMOTE_WRITE) ?? false;
}

/** Copies the whole of `src` into one segment (long enough): {@link copySegs} without a list for it. */
function copyInto(src: readonly Seg[], d: Seg): void {
  let doff = 0;
  for (const s of src) {
    if (s.len === 0) continue;
    d.mem.copyFrom(d.off + doff, s.mem, s.off, s.len);
    doff += s.len;
  }
}

/** Executes the WR at the head of the SQ; false when it has to wait. */
function execute(qp: SimQp, wr: SendWr): boolean {
  const op = wr.opcode;
  if (!opcodeValid(qp.qp_type, op)) return fail(qp, wr, 'LOC_QP_OP_ERR');
  const isRead = op === 'RDMA_READ';
  const isAtomic = op === 'ATOMIC_CMP_AND_SWP' || op === 'ATOMIC_FETCH_AND_ADD';
  const len = sumLen(wr.sg_list);
  if (len > MAX_MSG) return fail(qp, wr, 'LOC_LEN_ERR');
  // rxe builds no packet while its port is down: the WR completes LOC_QP_OP_ERR and the QP goes to ERR (measured on rxe0).
  if (!qp.ctx.device.portActive && op !== 'LOCAL_INV' && op !== 'BIND_MW') return fail(qp, wr, 'LOC_QP_OP_ERR');
  const inline = (wr.send_flags & SendFlags.INLINE) !== 0 && !isRead && !isAtomic;
  const local = localSegs(qp, qp.pd, wr.sg_list, isRead || isAtomic, inline);
  if (!local) return fail(qp, wr, localFailure(op));

  if (op === 'LOCAL_INV') return localInvalidate(qp, wr);
  if (op === 'BIND_MW') return bindMwWr(qp, wr);
  if (qp.qp_type === 'UD') return sendUd(qp, wr, local, len);
  // Reads and atomics need an initiator credit: with max_rd_atomic 0 they never leave (as rxe).
  if ((isRead || isAtomic) && qp.attr.max_rd_atomic === 0) return park(qp, 'rd_atomic', null, null);
  const d = peer(qp);
  const rc = qp.qp_type === 'RC';
  if (!d) {
    if (!rc) return dropped(qp, wr, len);
    return retry(qp, wr);
  }
  const flags = d.attr.qp_access_flags;
  const mtu = pathMtu(qp);
  const packets = Math.max(1, Math.ceil(len / mtu));
  const solicited = (wr.send_flags & SendFlags.SOLICITED) !== 0;

  switch (op) {
    case 'SEND':
    case 'SEND_WITH_IMM':
    case 'SEND_WITH_INV': {
      // The first packet of a SEND takes a receive WQE (check_resource): none is an RNR NAK (UC: dropped).
      const rwqe = peekRecv(d);
      if (!rwqe) {
        if (!rc) return dropped(qp, wr, len);
        return rnr(qp, wr, d);
      }
      takeRecv(d);
      const sc = scatter(d, rwqe, len, mtu);
      if (!sc.ok) {
        copyPrefix(local, sc.segs, sc.partial);
        return refuse(qp, wr, d, 'malformed', rwqe, len);
      }
      let wcFlags = WC_GRH;
      if (op === 'SEND_WITH_INV') {
        const mw = d.ctx.device.keys.get(wr.invalidate_rkey ?? -1);
        if (!(mw instanceof SimMw) || mw.type !== 2 || mw.pd !== d.pd) return refuse(qp, wr, d, 'invalid', rwqe, len);
        unbind(mw);
        wcFlags |= WC_WITH_INV;
      }
      copySegs(local, sc.segs);
      if (op === 'SEND_WITH_IMM') wcFlags |= WC_WITH_IMM;
      // imm_data carries the immediate, or (as rxe reports it) the rkey SEND_WITH_INV revoked.
      const imm = op === 'SEND_WITH_IMM' ? wr.imm_data ?? 0 : op === 'SEND_WITH_INV' ? (wr.invalidate_rkey ?? 0) >>> 0 : 0;
      if (!recvComplete(d, mkWc(rwqe.wr_id, 'SUCCESS', 'RECV', d.qp_num, len, qp.qp_num, wcFlags, imm), solicited)) {
        return unacked(qp, wr, len);
      }
      completeSend(qp, wr, 'SUCCESS', len);
      return true;
    }
    case 'RDMA_WRITE':
    case 'RDMA_WRITE_WITH_IMM': {
      const imm = op === 'RDMA_WRITE_WITH_IMM';
      if (!(flags & Access.REMOTE_WRITE)) return refuse(qp, wr, d, 'invalid', null, len);
      let seg: Seg | null | false = null;
      if (imm && packets > 1) {
        // The first packet (with the RETH) is checked, and every packet but the last written, before the last takes a WQE.
        seg = writeTarget(d, wr, len);
        if (seg === false) return refuse(qp, wr, d, 'access', null, len);
        copyPrefix(local, [seg as Seg], (packets - 1) * mtu);
      }
      let rwqe: RecvWr | null = null;
      if (imm) {
        rwqe = peekRecv(d) ?? null;
        if (!rwqe) {
          if (!rc) return dropped(qp, wr, len);
          return rnr(qp, wr, d);
        }
        takeRecv(d);
      }
      if (!imm || packets === 1) seg = writeTarget(d, wr, len);
      if (seg === false) return refuse(qp, wr, d, 'access', rwqe, len);
      if (seg) copyInto(local, seg);
      if (rwqe && !recvComplete(d, mkWc(rwqe.wr_id, 'SUCCESS', 'RECV_RDMA_WITH_IMM', d.qp_num, len, qp.qp_num, WC_GRH | WC_WITH_IMM, wr.imm_data ?? 0), solicited)) {
        return unacked(qp, wr, len);
      }
      completeSend(qp, wr, 'SUCCESS', len);
      return true;
    }
    case 'RDMA_READ': {
      if (!(flags & Access.REMOTE_READ) || d.attr.max_dest_rd_atomic === 0) return refuse(qp, wr, d, 'invalid', null, len);
      const seg = len === 0 ? null : remoteSeg(d, wr.rkey, wr.remote_addr, len, Access.REMOTE_READ);
      if (len > 0 && !seg) return refuse(qp, wr, d, 'access', null, len);
      if (seg) copySegs([seg], local);
      completeSend(qp, wr, 'SUCCESS', len);
      return true;
    }
    case 'ATOMIC_CMP_AND_SWP':
    case 'ATOMIC_FETCH_AND_ADD': {
      if (!(flags & Access.REMOTE_ATOMIC) || d.attr.max_dest_rd_atomic === 0) return refuse(qp, wr, d, 'invalid', null, len);
      // Misaligned addresses never get here: the provider refuses them at post time (EINVAL).
      const seg = remoteSeg(d, wr.rkey, wr.remote_addr, 8, Access.REMOTE_ATOMIC);
      if (!seg) return refuse(qp, wr, d, 'access', null, len);
      const old = seg.mem.read(seg.off, 8);
      const v = old.readBigUInt64LE(0);
      const arg = BigInt.asUintN(64, wr.compare_add ?? 0n);
      let next = v;
      if (op === 'ATOMIC_FETCH_AND_ADD') next = BigInt.asUintN(64, v + arg);
      else if (v === arg) next = BigInt.asUintN(64, wr.swap ?? 0n);
      if (next !== v) {
        const b = Buffer.allocUnsafe(8);
        b.writeBigUInt64LE(next, 0);
        seg.mem.write(seg.off, b);
      }
      // The original value lands in the first 8 bytes of the local SGEs; byte_len is the WR's whole length (rxe).
      writeSegs(old, local);
      completeSend(qp, wr, 'SUCCESS', len);
      return true;
    }
    default:
      return fail(qp, wr, 'LOC_QP_OP_ERR');
  }
}

/** Writes `data` into the start of a scatter list (the caller checked it is long enough). */
function writeSegs(data: Buffer, dst: readonly Seg[]): void {
  let at = 0;
  for (const d of dst) {
    if (at >= data.length) break;
    const n = Math.min(d.len, data.length - at);
    d.mem.write(d.off, data.subarray(at, at + n));
    at += n;
  }
}

function sendUd(qp: SimQp, wr: SendWr, local: Seg[], len: number): boolean {
  const ah = wr.ah as SimAh;
  // Multicast is delivered on the sender's own device (rxe loops group traffic back locally).
  const dev = ah.dgid.startsWith('ff') ? qp.ctx.device : qp.ctx.fabric.deviceByGid(ah.dgid);
  // A qkey with the high bit set means "use the QP's own qkey" (IBA 10.2.5).
  const rq = wr.remote_qkey ?? 0;
  const qkey = rq & 0x8000_0000 ? qp.attr.qkey : rq;
  // A datagram is one packet: above the port MTU rxe still sends it, and the receiver drops it (check_length).
  const fits = len <= mtuBytes(qp.ctx.device.limits.active_mtu);
  if (fits && dev && !dev.lost && dev.portActive && qp.ctx.device.portActive) {
    if (ah.dgid.startsWith('ff')) {
      const group = dev.mcast.get(ah.dgid);
      if (group) for (const d of [...group]) if (d !== qp) deliverUd(qp, wr, d, local, len, qkey);
    } else {
      const d = dev.qps.get(wr.remote_qpn ?? -1);
      if (d) deliverUd(qp, wr, d, local, len, qkey);
    }
  }
  completeSend(qp, wr, 'SUCCESS', len);
  return true;
}

function deliverUd(qp: SimQp, wr: SendWr, d: SimQp, local: Seg[], len: number, qkey: number): void {
  // Unreliable: a wrong qkey, a QP not receiving or no receive posted silently drops the datagram.
  if (d.dead || d.qp_type !== 'UD' || !RECEIVING.has(d.state) || d.attr.qkey !== qkey) return;
  const rwqe = takeRecv(d);
  if (!rwqe) return;
  // The receive gets the 40-byte GRH first, then the payload; a WQE too small for both is malformed: LOC_QP_OP_ERR, the QP to ERR.
  const sc = scatter(d, rwqe, len + GRH_BYTES, Number.MAX_SAFE_INTEGER);
  if (!sc.ok) {
    pushWc(d.recvCq, errWc(rwqe.wr_id, 'LOC_QP_OP_ERR', d.qp_num), false);
    enterError(d, true);
    return;
  }
  copySegs(local, skip(sc.segs, GRH_BYTES));
  const imm = wr.opcode === 'SEND_WITH_IMM';
  recvComplete(
    d,
    mkWc(rwqe.wr_id, 'SUCCESS', 'RECV', d.qp_num, len + GRH_BYTES, qp.qp_num, WC_GRH | (imm ? WC_WITH_IMM : 0), imm ? wr.imm_data ?? 0 : 0),
    (wr.send_flags & SendFlags.SOLICITED) !== 0,
  );
}

// ------------------------------------------------------------ windows

function unbind(mw: SimMw): void {
  if (mw.binding) mw.binding.mr.numMw--;
  mw.binding = null;
  mw.qp = null;
}

function localInvalidate(qp: SimQp, wr: SendWr): boolean {
  const o = qp.ctx.device.keys.get(wr.invalidate_rkey ?? -1);
  // Only type 2 windows of this PD can be invalidated by a user WR (user MRs are not fast-reg MRs).
  if (!(o instanceof SimMw) || o.type !== 2 || o.pd !== qp.pd) return fail(qp, wr, 'LOC_QP_OP_ERR');
  unbind(o);
  completeSend(qp, wr, 'SUCCESS');
  return true;
}

/**
 * A BIND_MW work request (rxe_bind_mw / rxe_check_bind_mw): a type 2 window
 * must be free (unbound or invalidated), on the QP's PD and bound to a
 * non-empty range; the new rkey takes the WR's key byte (rxe dropped its
 * same-key check, so an unchanged key binds too); the MR needs MW_BIND, and
 * LOCAL_WRITE when the window grants remote write or atomic access; the
 * range must lie inside the MR. A refused bind completes with MW_BIND_ERR and
 * moves the QP to ERR; a type 2 window is then bound to this QP alone.
 */
function bindMwWr(qp: SimQp, wr: SendWr): boolean {
  const b = wr.bind_mw;
  const mw = b?.mw;
  const mr = b?.mr;
  if (!b || !(mw instanceof SimMw) || mw.dead) return fail(qp, wr, 'MW_BIND_ERR');
  const bound = b.length > 0 && mr instanceof SimMr && !mr.dead ? mr : null;
  if (b.length > 0 && !bound) return fail(qp, wr, 'MW_BIND_ERR');
  const acc = b.mw_access_flags;
  let ok = mw.pd === qp.pd;
  if (mw.type === 2 && (mw.binding !== null || !bound)) ok = false;
  if (mw.type === 1 && acc & Access.ZERO_BASED) ok = false;
  if (bound && (bound.pd !== qp.pd || !bindRangeOk(bound, b.addr, b.length, acc))) ok = false;
  if (!ok) return fail(qp, wr, 'MW_BIND_ERR');
  const newRkey = ((mw.rkey & ~0xff) | (b.rkey & 0xff)) >>> 0;
  const dev = qp.ctx.device;
  dev.keys.delete(mw.rkey);
  mw.rkey = newRkey;
  dev.keys.set(newRkey, mw);
  unbind(mw);
  if (bound) {
    mw.binding = { mr: bound, addr: b.addr, length: b.length, access: acc };
    bound.numMw++;
    if (mw.type === 2) mw.qp = qp;
  }
  completeSend(qp, wr, 'SUCCESS');
  return true;
}

/** The MR side of a bind (C10-72..75): same PD, MW_BIND, LOCAL_WRITE for remote write/atomic, range inside the MR. */
function bindRangeOk(mr: SimMr, addr: bigint, length: number, acc: number): boolean {
  if (!(mr.access & Access.MW_BIND)) return false;
  if (acc & ~(Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC)) return false;
  if (acc & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(mr.access & Access.LOCAL_WRITE)) return false;
  return addr >= mr.addr && addr + BigInt(length) <= mr.addr + BigInt(mr.length);
}

/**
 * Binds a type 1 window (ibv_bind_mw). Like libibverbs, the new rkey is
 * computed up front and returned; a bind the device refuses completes with
 * MW_BIND_ERR and moves the QP to ERR (rxe_check_bind_mw), the window unchanged.
 */
export function bindMw(qp: SimQp, mw: SimMw, mr: SimMr | null, bind: MwBind, dev: SimDevice): number {
  const newRkey = ((mw.rkey & ~0xff) | ((mw.rkey + 1) & 0xff)) >>> 0;
  const acc = bind.mw_access_flags;
  let ok = mw.pd === qp.pd;
  if (mr) {
    if (!(mr.access & Access.MW_BIND)) ok = false;
    if (acc & ~(Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC)) ok = false;
    if (acc & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(mr.access & Access.LOCAL_WRITE)) ok = false;
    if (bind.addr < mr.addr || bind.addr + BigInt(bind.length) > mr.addr + BigInt(mr.length)) ok = false;
  }
  if (!ok) {
    pushWc(qp.sendCq, mkWc(bind.wr_id, 'MW_BIND_ERR', 'BIND_MW', qp.qp_num), false);
    enterError(qp, false);
    return newRkey;
  }
  dev.keys.delete(mw.rkey);
  mw.rkey = newRkey;
  dev.keys.set(newRkey, mw);
  unbind(mw);
  if (mr && bind.length > 0) {
    mw.binding = { mr, addr: bind.addr, length: bind.length, access: acc };
    mr.numMw++;
  }
  if (qp.sqSigAll || bind.send_flags & SendFlags.SIGNALED) pushWc(qp.sendCq, mkWc(bind.wr_id, 'SUCCESS', 'BIND_MW', qp.qp_num), false);
  return newRkey;
}
