/**
 * The data path of a context (main thread): post send/recv, poll, arm. These
 * are userspace ring operations plus at most a doorbell write, reached through
 * `context->ops` like libibverbs' inline functions, so they run inline rather
 * than on a worker.
 */
import { WR_OPCODE_VALUES, type CqRef, type QpRef, type RecvWr, type SendWr, type SrqRef, type Wc } from '../abi.js';
import { Errno, PostError, VerbsError } from '../errno.js';
import { L, NativeBlock, writeU32, type Ptr } from './binding.js';
import { decodeWc, encodeWrList, wrListPlace } from './codec.js';
import { ContextEvents } from './events.js';
import { IbvAh, IbvCq, IbvMr, IbvMw, IbvQp, IbvSrq } from './objects.js';

const { EINVAL, EIO } = Errno;

/** A scratch block reused by the main-thread data path (never by async calls, which get their own). */
class Scratch {
  private block: NativeBlock | null = null;
  get(size: number): NativeBlock {
    if (!this.block || this.block.size < size) {
      this.block?.free();
      this.block = new NativeBlock(Math.max(size, 4096));
    } else {
      this.block.zero(0, size);
    }
    return this.block;
  }
  free(): void {
    this.block?.free();
    this.block = null;
  }
}

export abstract class DataPathVerbs extends ContextEvents {
  protected readonly scratch = new Scratch();

  async pollCq(ref: CqRef, max: number): Promise<Wc[]> {
    const call = 'ibv_poll_cq';
    this.live(call);
    const cq = this.own(ref, IbvCq, call);
    if (!Number.isInteger(max) || max < 0 || max > 1 << 20) throw new VerbsError(call, EINVAL);
    if (max === 0) return [];
    const size = L.wc.$size;
    const b = this.scratch.get(max * size);
    const n = this.ops.poll_cq(cq.ptr, max, b.ptr);
    if (n < 0) throw new VerbsError(call, this.lost ? EIO : -n > 0 && -n < 4096 && n !== -1 ? -n : EINVAL);
    const out = new Array<Wc>(n);
    for (let i = 0; i < n; i++) out[i] = decodeWc(b.view, i * size, this.wcFlags);
    return out;
  }

  async reqNotifyCq(ref: CqRef, solicitedOnly: boolean): Promise<void> {
    const call = 'ibv_req_notify_cq';
    this.live(call);
    const cq = this.own(ref, IbvCq, call);
    const rc = this.ops.req_notify_cq(cq.ptr, solicitedOnly ? 1 : 0);
    if (rc !== 0) throw new VerbsError(call, rc < 0 ? -rc : rc);
  }

  override async postSrqRecv(ref: SrqRef, wrs: RecvWr[]): Promise<void> {
    const call = 'ibv_post_srq_recv';
    this.live(call);
    const srq = this.own(ref, IbvSrq, call);
    this.postRecvList(call, (wr, bad) => this.ops.post_srq_recv(srq.ptr, wr, bad), wrs);
  }

  async postSend(ref: QpRef, wrs: SendWr[]): Promise<void> {
    const call = 'ibv_post_send';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    const W = L.sendWr;
    const place = wrListPlace(W, wrs);
    const b = this.scratch.get(place.size);
    encodeWrList(b, W, place, wrs, (v, off, wr, i) => {
      const opcode = WR_OPCODE_VALUES[wr.opcode];
      if (opcode === undefined) throw new PostError(call, EINVAL, i, `${call}: WR ${i}: opcode ${wr.opcode} cannot be posted here`);
      v.setUint32(off + W.opcode, opcode, true);
      v.setUint32(off + W.send_flags, wr.send_flags >>> 0, true);
      if (wr.opcode === 'SEND_WITH_IMM' || wr.opcode === 'RDMA_WRITE_WITH_IMM') v.setUint32(off + W.imm_data, (wr.imm_data ?? 0) >>> 0, false);
      else if (wr.opcode === 'SEND_WITH_INV' || wr.opcode === 'LOCAL_INV') v.setUint32(off + W.invalidate_rkey, (wr.invalidate_rkey ?? 0) >>> 0, true);
      if (wr.opcode === 'BIND_MW') {
        // rxe's provider dereferences both the window and the MR while posting.
        const bw = wr.bind_mw;
        const mw = bw?.mw;
        const mr = bw?.mr;
        if (!bw || !(mw instanceof IbvMw) || mw.ctx !== this || mw.dead || !(mr instanceof IbvMr) || mr.ctx !== this || mr.dead) {
          throw new PostError(call, EINVAL, i, `${call}: WR ${i}: BIND_MW needs a live window and MR of this context`);
        }
        v.setBigUint64(off + W['bind_mw.mw'], mw.ptr, true);
        v.setUint32(off + W['bind_mw.rkey'], bw.rkey >>> 0, true);
        v.setBigUint64(off + W['bind_mw.bind_info.mr'], mr.ptr, true);
        v.setBigUint64(off + W['bind_mw.bind_info.addr'], BigInt.asUintN(64, bw.addr), true);
        v.setBigUint64(off + W['bind_mw.bind_info.length'], BigInt(bw.length), true);
        v.setUint32(off + W['bind_mw.bind_info.mw_access_flags'], bw.mw_access_flags >>> 0, true);
      } else if (wr.opcode === 'ATOMIC_CMP_AND_SWP' || wr.opcode === 'ATOMIC_FETCH_AND_ADD') {
        v.setBigUint64(off + W['wr.atomic.remote_addr'], BigInt.asUintN(64, wr.remote_addr ?? 0n), true);
        v.setBigUint64(off + W['wr.atomic.compare_add'], BigInt.asUintN(64, wr.compare_add ?? 0n), true);
        v.setBigUint64(off + W['wr.atomic.swap'], BigInt.asUintN(64, wr.swap ?? 0n), true);
        v.setUint32(off + W['wr.atomic.rkey'], (wr.rkey ?? 0) >>> 0, true);
      } else if (qp.qp_type === 'UD') {
        const ah = wr.ah;
        if (!(ah instanceof IbvAh) || ah.ctx !== this || ah.dead) throw new PostError(call, EINVAL, i, `${call}: WR ${i}: a UD send needs a live AH of this context`);
        v.setBigUint64(off + W['wr.ud.ah'], ah.ptr, true);
        v.setUint32(off + W['wr.ud.remote_qpn'], (wr.remote_qpn ?? 0) >>> 0, true);
        v.setUint32(off + W['wr.ud.remote_qkey'], (wr.remote_qkey ?? 0) >>> 0, true);
      } else {
        v.setBigUint64(off + W['wr.rdma.remote_addr'], BigInt.asUintN(64, wr.remote_addr ?? 0n), true);
        v.setUint32(off + W['wr.rdma.rkey'], (wr.rkey ?? 0) >>> 0, true);
      }
      if (qp.qp_type === 'XRC_SEND') v.setUint32(off + W['qp_type.xrc.remote_srqn'], (wr.remote_srqn ?? 0) >>> 0, true);
    });
    // An empty list goes to the provider as NULL, as ibv_post_send(qp, NULL, &bad) would: rxe answers EINVAL.
    const rc = this.ops.post_send(qp.ptr, wrs.length ? b.ptr : 0n, b.at(place.badOff));
    const bad = rc === 0 ? -1 : this.badIndex(b, place.badOff, W.$size, wrs.length);
    // *bad_wr unset (rxe's refused doorbell): the WRs stay in the provider's queue.
    const posted = bad < 0 ? wrs.length : bad;
    // The caller keeps ibv_mw.rkey current (the provider passes it as the window's present rkey).
    for (let i = 0; i < posted; i++) {
      const bw = (wrs[i] as SendWr).bind_mw;
      if (bw && bw.mw instanceof IbvMw) writeU32(bw.mw.ptr, L.mw.rkey, ((bw.mw.rkey & ~0xff) | (bw.rkey & 0xff)) >>> 0);
    }
    if (rc !== 0) throw this.postError(call, rc, b, place.badOff, W.$size, wrs.length);
  }

  async postRecv(ref: QpRef, wrs: RecvWr[]): Promise<void> {
    const call = 'ibv_post_recv';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    this.postRecvList(call, (wr, bad) => this.ops.post_recv(qp.ptr, wr, bad), wrs);
  }

  protected postRecvList(call: string, post: (wr: Ptr, bad: Ptr) => number, wrs: RecvWr[]): void {
    const W = L.recvWr;
    const place = wrListPlace(W, wrs);
    const b = this.scratch.get(place.size);
    encodeWrList(b, W, place, wrs);
    // An empty list goes to the provider as NULL (rxe answers EINVAL), as in postSend.
    const rc = post(wrs.length ? b.ptr : 0n, b.at(place.badOff));
    if (rc !== 0) throw this.postError(call, rc, b, place.badOff, W.$size, wrs.length);
  }

  /**
   * The index in our WR array that *bad_wr points at (the first WR not
   * posted), or -1 when the provider left it NULL (or pointed outside the
   * list), as rxe does when the kernel refuses the doorbell (a QP in RESET,
   * INIT or RTR) or the list is empty.
   */
  protected badIndex(b: NativeBlock, badOff: number, wrSize: number, n: number): number {
    const bad = b.view.getBigUint64(badOff, true);
    return bad >= b.ptr && bad < b.ptr + BigInt(n * wrSize) ? Number(bad - b.ptr) / wrSize : -1;
  }

  protected postError(call: string, rc: number, b: NativeBlock, badOff: number, wrSize: number, n: number): PostError {
    const idx = this.badIndex(b, badOff, wrSize, n);
    const errno = this.lost ? EIO : rc < 0 ? -rc : rc;
    return new PostError(call, errno, idx, idx >= 0 ? `${call}: WR ${idx} failed (errno ${errno})` : `${call}: failed (errno ${errno}), *bad_wr not set`);
  }
}
