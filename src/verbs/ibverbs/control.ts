/**
 * The control verbs of a context: everything that enters the kernel for more
 * than a doorbell (create, destroy, modify, query, reg), each run on a libuv
 * worker through koffi's async calls.
 */
import {
  QP_TYPE_VALUES, type AhAttr, type AhRef, type AllocDmAttr, type ChannelRef, type DmRef, type CqRef, type DeviceAttr, type FlowAttr,
  type FlowRef, type GidEntry, type MemorySource, type MrRef, type MwBind, type MwRef, type PdRef, type PortAttr,
  type QpAttr, type QpCap, type QpInitAttr, type QpRef, type QpType, type SrqAttr, type SrqInitAttr,
  type SrqRef, type XrcdRef,
} from '../abi.js';
import { Errno, VerbsError } from '../errno.js';
import { SharedMemory, SysError, mapFd } from '../../sys/memory.js';
import * as libc from '../../sys/libc.js';
import { normalizeGid } from '../../wire/gid.js';
import { GID_TYPE_NAMES, L, NativeBlock, callAsync, readI32, readU32, withBlock } from './binding.js';
import {
  decodeCap, decodeDeviceAttr, decodePortAttr, decodeQpAttr, encodeAh, encodeCap, encodeFlow, encodeQpAttr,
  flowSize, gidBytes, gidText, qpTypeName,
} from './codec.js';
import { DataPathVerbs } from './datapath.js';
import { IbvAh, IbvChannel, IbvCq, IbvDm, IbvFlow, IbvMr, IbvMw, IbvPd, IbvQp, IbvSrq, IbvXrcd } from './objects.js';

const { EFAULT, EINVAL, EOPNOTSUPP, EPERM } = Errno;

export abstract class ControlVerbs extends DataPathVerbs {
  // -------------------------------------------------------------- queries

  async queryDevice(): Promise<DeviceAttr> {
    const call = 'ibv_query_device';
    this.live(call);
    // ibv_query_device_ex where the provider has it (it alone reports max_dm_size); its struct starts with the plain one.
    const ex = this.ops.query_device_ex;
    if (ex) {
      return withBlock(L.deviceAttrEx.$size, async (b) => {
        await this.verb('ibv_query_device_ex', ex, this.ptr, null, b.ptr, L.deviceAttrEx.$size);
        return { ...decodeDeviceAttr(b), max_dm_size: b.view.getBigUint64(L.deviceAttrEx.max_dm_size, true) };
      });
    }
    return withBlock(L.deviceAttr.$size, async (b) => {
      await this.verb(call, this.ibv.fn.query_device, this.ptr, b.ptr);
      return decodeDeviceAttr(b);
    });
  }

  async queryPort(port: number): Promise<PortAttr> {
    const call = 'ibv_query_port';
    this.live(call);
    if (!Number.isInteger(port) || port < 1 || port > 255) throw new VerbsError(call, EINVAL, `${call}: bad port ${port}`);
    // The exported symbol fills the compat struct; the buffer is the full struct, zeroed, as the inline wrapper does.
    return withBlock(L.portAttr.$size + 64, async (b) => {
      await this.verb(call, this.ibv.fn.query_port, this.ptr, port, b.ptr);
      return decodePortAttr(b);
    });
  }

  async queryGidTable(port: number): Promise<GidEntry[]> {
    const call = 'ibv_query_gid_table';
    const pa = await this.queryPort(port);
    const size = L.gidEntry.$size;
    // The kernel fills every port's valid entries and answers EINVAL when they do not fit, and also when the
    // array is very large (rxe: 4096 entries): start at one port's table and grow on EINVAL.
    let max = Math.max(1, pa.gid_tbl_len);
    let raw: { gid: string; index: number; port: number; type: number; ifindex: number }[] | null = null;
    for (let attempt = 0; raw === null; attempt++) {
      raw = await withBlock(max * size, async (b) => {
        const { res } = await callAsync(this.ibv.fn.query_gid_table, this.ptr, b.ptr, max, 0, size);
        const n = Number(res);
        if (n === -EINVAL && attempt < 2) return null;
        if (n < 0) throw new VerbsError(call, -n);
        const out: { gid: string; index: number; port: number; type: number; ifindex: number }[] = [];
        for (let i = 0; i < n; i++) {
          const off = i * size;
          out.push({
            gid: gidText(b.bytes(off + L.gidEntry.gid, 16)),
            index: b.view.getUint32(off + L.gidEntry.gid_index, true),
            port: b.view.getUint32(off + L.gidEntry.port_num, true),
            type: b.view.getUint32(off + L.gidEntry.gid_type, true),
            ifindex: b.view.getUint32(off + L.gidEntry.ndev_ifindex, true),
          });
        }
        return out;
      });
      max *= 2;
    }
    const names = await netdevNames();
    return raw
      .filter((e) => e.port === port)
      .sort((a, b) => a.index - b.index)
      .map((e) => ({
        index: e.index,
        gid: e.gid,
        type: GID_TYPE_NAMES[e.type] ?? 'IB',
        netdev: names.get(e.ifindex) ?? '',
      }));
  }

  // ------------------------------------------------------------------- pd

  async allocPd(tag: number): Promise<PdRef> {
    const call = 'ibv_alloc_pd';
    this.live(call);
    const p = await this.ctor(call, this.ibv.fn.alloc_pd, this.ptr);
    return this.add(new IbvPd(this, tag, p));
  }

  async deallocPd(ref: PdRef): Promise<void> {
    const pd = this.own(ref, IbvPd, 'ibv_dealloc_pd');
    await this.destroy('ibv_dealloc_pd', pd, this.ibv.fn.dealloc_pd, pd.ptr);
  }

  // ------------------------------------------------------------------- mr

  async regMr(pdRef: PdRef, source: MemorySource, access: number, tag: number): Promise<MrRef> {
    const call = source.kind === 'dmabuf' ? 'ibv_reg_dmabuf_mr' : 'ibv_reg_mr';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    if (!Number.isInteger(access) || access < 0 || access > 0xffff_ffff) throw new VerbsError(call, EINVAL, `${call}: bad access flags`);
    if (!Number.isInteger(source.length) || source.length <= 0) throw new VerbsError(call, EINVAL, `${call}: invalid length ${source.length}`);
    if (source.kind === 'dmabuf') {
      const p = await this.ctor(call, this.ibv.fn.reg_dmabuf_mr, pd.ptr, BigInt(source.offset), source.length, source.iova, source.fd, access);
      return this.add(new IbvMr(this, tag, p, pd, source.iova, source.length, readU32(p, L.mr.lkey), readU32(p, L.mr.rkey), null));
    }
    let mem: SharedMemory;
    try {
      mem = source.kind === 'alloc' ? SharedMemory.create(source.length) : mapFd(source.fd, source.offset, source.length);
    } catch (e) {
      if (e instanceof SysError) throw new VerbsError(call, e.errno, `${call}: ${e.message}`);
      throw e;
    }
    try {
      const p = await this.ctor(call, this.ibv.fn.reg_mr_iova2, pd.ptr, mem.addr, source.length, mem.addr, access);
      return this.add(new IbvMr(this, tag, p, pd, mem.addr, source.length, readU32(p, L.mr.lkey), readU32(p, L.mr.rkey), mem));
    } catch (e) {
      mem.close();
      throw e;
    }
  }

  async deregMr(ref: MrRef): Promise<void> {
    const mr = this.own(ref, IbvMr, 'ibv_dereg_mr');
    await this.destroy('ibv_dereg_mr', mr, this.ibv.fn.dereg_mr, mr.ptr);
    // Unmap only after the kernel let go of the pages.
    mr.mem?.close();
  }

  // ------------------------------------------------------------------- dm
  //
  // ibv_alloc_dm and friends are inline in verbs.h: they call the
  // verbs_context ops (alloc_dm, free_dm, reg_dm_mr) and the struct ibv_dm's
  // own copy ops, as done here. The provider checks sizes, alignment and
  // ranges; where it has no device memory libibverbs' dummy answers
  // EOPNOTSUPP (rxe), and the probe at open records that (index.ts).

  override async allocDm(attr: AllocDmAttr, tag: number): Promise<DmRef> {
    const call = 'ibv_alloc_dm';
    this.live(call);
    this.require('allocDm', call);
    const alloc = this.ops.alloc_dm;
    if (!alloc) throw new VerbsError(call, EOPNOTSUPP);
    if (!Number.isInteger(attr.length) || attr.length <= 0) throw new VerbsError(call, EINVAL, `${call}: invalid length ${attr.length}`);
    return withBlock(L.allocDmAttr.$size, async (b) => {
      b.view.setBigUint64(L.allocDmAttr.length, BigInt(attr.length), true);
      b.view.setUint32(L.allocDmAttr.log_align_req, attr.log_align_req >>> 0, true);
      b.view.setUint32(L.allocDmAttr.comp_mask, attr.comp_mask >>> 0, true);
      const p = await this.ctor(call, alloc, this.ptr, b.ptr);
      return this.add(new IbvDm(this, tag, p, attr.length));
    });
  }

  override async freeDm(ref: DmRef): Promise<void> {
    const call = 'ibv_free_dm';
    const dm = this.own(ref, IbvDm, call);
    const free = this.ops.free_dm;
    if (!free) throw new VerbsError(call, EOPNOTSUPP);
    await this.destroy(call, dm, free, dm.ptr);
  }

  override async copyToDm(ref: DmRef, offset: bigint, data: Uint8Array): Promise<void> {
    const call = 'ibv_memcpy_to_dm';
    this.live(call);
    const dm = this.own(ref, IbvDm, call);
    if (offset < 0n || offset + BigInt(data.length) > BigInt(dm.length)) throw new VerbsError(call, EFAULT, `${call}: the range leaves the DM`);
    await withBlock(Math.max(data.length, 1), async (b) => {
      b.bytes(0, data.length).set(data);
      await this.verb(call, this.ibv.dmOps(dm.ptr).memcpy_to_dm, dm.ptr, offset, b.ptr, data.length);
    });
  }

  override async copyFromDm(ref: DmRef, offset: bigint, length: number): Promise<Buffer> {
    const call = 'ibv_memcpy_from_dm';
    this.live(call);
    const dm = this.own(ref, IbvDm, call);
    if (offset < 0n || !Number.isInteger(length) || length < 0 || offset + BigInt(length) > BigInt(dm.length)) {
      throw new VerbsError(call, EFAULT, `${call}: the range leaves the DM`);
    }
    return withBlock(Math.max(length, 1), async (b) => {
      await this.verb(call, this.ibv.dmOps(dm.ptr).memcpy_from_dm, b.ptr, dm.ptr, offset, length);
      return Buffer.from(b.bytes(0, length));
    });
  }

  override async regDmMr(pdRef: PdRef, dmRef: DmRef, offset: bigint, length: number, access: number, tag: number): Promise<MrRef> {
    const call = 'ibv_reg_dm_mr';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    const dm = this.own(dmRef, IbvDm, call);
    const reg = this.ops.reg_dm_mr;
    if (!reg) throw new VerbsError(call, EOPNOTSUPP);
    if (!Number.isInteger(access) || access < 0 || access > 0xffff_ffff) throw new VerbsError(call, EINVAL, `${call}: bad access flags`);
    if (!Number.isInteger(length) || length <= 0) throw new VerbsError(call, EINVAL, `${call}: invalid length ${length}`);
    const p = await this.ctor(call, reg, pd.ptr, dm.ptr, offset, length, access);
    // Zero-based: the MR's addresses run from 0 (the kernel's iova for DM MRs).
    const mr = this.add(new IbvMr(this, tag, p, pd, 0n, length, readU32(p, L.mr.lkey), readU32(p, L.mr.rkey), null));
    mr.dm = dm;
    return mr;
  }

  // ------------------------------------------------------------------- mw

  override async allocMw(pdRef: PdRef, type: 1 | 2, tag: number): Promise<MwRef> {
    const call = 'ibv_alloc_mw';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    this.require('allocMw', call);
    if (type !== 1 && type !== 2) throw new VerbsError(call, EINVAL, `${call}: type must be 1 or 2`);
    const p = await this.ctor(call, this.ops.alloc_mw, pd.ptr, type);
    return this.add(new IbvMw(this, tag, p, pd, type));
  }

  override async deallocMw(ref: MwRef): Promise<void> {
    const mw = this.own(ref, IbvMw, 'ibv_dealloc_mw');
    await this.destroy('ibv_dealloc_mw', mw, this.ops.dealloc_mw, mw.ptr);
  }

  override async bindMw(qpRef: QpRef, mwRef: MwRef, bind: MwBind): Promise<number> {
    const call = 'ibv_bind_mw';
    this.live(call);
    const qp = this.own(qpRef, IbvQp, call);
    const mw = this.own(mwRef, IbvMw, call);
    this.require('bindMw', call);
    // The checks of libibverbs' inline ibv_bind_mw.
    if (mw.type !== 1) throw new VerbsError(call, EINVAL, `${call}: only type 1 windows bind with ibv_bind_mw`);
    const unbind = bind.length === 0 && bind.addr === 0n;
    const mr = unbind ? null : this.own(bind.mr, IbvMr, call);
    if (mr && mr.pd !== mw.pd) throw new VerbsError(call, EPERM, `${call}: the MR and the MW are on different PDs`);
    return withBlock(L.mwBind.$size, async (b) => {
      const v = b.view;
      const bi = L.mwBind.bind_info;
      v.setBigUint64(L.mwBind.wr_id, BigInt.asUintN(64, bind.wr_id), true);
      v.setUint32(L.mwBind.send_flags, bind.send_flags >>> 0, true);
      v.setBigUint64(bi + L.mwBindInfo.mr, mr ? mr.ptr : 0n, true);
      v.setBigUint64(bi + L.mwBindInfo.addr, BigInt.asUintN(64, bind.addr), true);
      v.setBigUint64(bi + L.mwBindInfo.length, BigInt(bind.length), true);
      v.setUint32(bi + L.mwBindInfo.mw_access_flags, bind.mw_access_flags >>> 0, true);
      await this.verb(call, this.ops.bind_mw, qp.ptr, mw.ptr, b.ptr);
      return mw.rkey;
    });
  }

  // ------------------------------------------------------- comp channel

  async createCompChannel(tag: number): Promise<ChannelRef> {
    const call = 'ibv_create_comp_channel';
    this.live(call);
    const p = await this.ctor(call, this.ibv.fn.create_comp_channel, this.ptr);
    const fd = readI32(p, L.channel.fd);
    const ch = this.add(new IbvChannel(this, tag, p, fd));
    if (!libc.setNonBlocking(fd)) {
      const e = libc.errno();
      await this.destroyCompChannel(ch).catch(() => {});
      throw new VerbsError(call, e, `${call}: cannot make the channel fd non-blocking`);
    }
    ch.unwatch = this.init.poller.watch(fd, () => this.drainChannel(ch));
    return ch;
  }

  async destroyCompChannel(ref: ChannelRef): Promise<void> {
    const ch = this.own(ref, IbvChannel, 'ibv_destroy_comp_channel');
    // Stop watching first: a destroy closes the fd, and its number may be reused at once.
    ch.unwatch();
    try {
      await this.destroy('ibv_destroy_comp_channel', ch, this.ibv.fn.destroy_comp_channel, ch.ptr);
    } catch (e) {
      ch.unwatch = this.init.poller.watch(ch.fd, () => this.drainChannel(ch));
      throw e;
    }
  }

  // ------------------------------------------------------------------- cq

  async createCq(cqe: number, channelRef: ChannelRef | null, compVector: number, tag: number): Promise<CqRef> {
    const call = 'ibv_create_cq';
    this.live(call);
    const ch = channelRef === null ? null : this.own(channelRef, IbvChannel, call);
    if (!Number.isInteger(cqe) || cqe < 1 || cqe > 0x7fff_ffff) throw new VerbsError(call, EINVAL, `${call}: bad cqe ${cqe}`);
    if (!Number.isInteger(compVector) || compVector < 0) throw new VerbsError(call, EINVAL, `${call}: bad comp_vector ${compVector}`);
    const p = await this.ctor(call, this.ibv.fn.create_cq, this.ptr, cqe, null, ch ? ch.ptr : null, compVector);
    const cq = this.add(new IbvCq(this, tag, p, readI32(p, L.cq.cqe), ch));
    this.cqByPtr.set(p, cq);
    return cq;
  }

  async resizeCq(ref: CqRef, cqe: number): Promise<number> {
    const call = 'ibv_resize_cq';
    this.live(call);
    const cq = this.own(ref, IbvCq, call);
    if (!Number.isInteger(cqe) || cqe < 1 || cqe > 0x7fff_ffff) throw new VerbsError(call, EINVAL, `${call}: bad cqe ${cqe}`);
    await this.verb(call, this.ibv.fn.resize_cq, cq.ptr, cqe);
    cq.cqe = readI32(cq.ptr, L.cq.cqe);
    return cq.cqe;
  }

  async destroyCq(ref: CqRef): Promise<void> {
    const cq = this.own(ref, IbvCq, 'ibv_destroy_cq');
    await this.destroy('ibv_destroy_cq', cq, this.ibv.fn.destroy_cq, cq.ptr);
    this.cqByPtr.delete(cq.ptr);
  }

  // ------------------------------------------------------------------ srq

  override async createSrq(pdRef: PdRef, attr: SrqInitAttr, tag: number): Promise<SrqRef> {
    const call = 'ibv_create_srq';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    this.require('createSrq', call);
    if (attr.srq_type === 'XRC') return this.createXrcSrq(pd, attr, tag);
    return withBlock(L.srqInit.$size, async (b) => {
      const a = L.srqInit.attr;
      b.view.setUint32(a + L.srqAttr.max_wr, attr.max_wr >>> 0, true);
      b.view.setUint32(a + L.srqAttr.max_sge, attr.max_sge >>> 0, true);
      b.view.setUint32(a + L.srqAttr.srq_limit, attr.srq_limit >>> 0, true);
      const p = await this.ctor(call, this.ibv.fn.create_srq, pd.ptr, b.ptr);
      const srq = this.add(new IbvSrq(this, tag, p));
      this.srqByPtr.set(p, srq);
      return srq;
    });
  }

  /** ibv_create_srq_ex with IBV_SRQT_XRC: only where XRC domains exist. */
  protected async createXrcSrq(pd: IbvPd, attr: SrqInitAttr, tag: number): Promise<SrqRef> {
    const call = 'ibv_create_srq_ex';
    this.require('openXrcd', call);
    const create = this.ops.create_srq_ex;
    const getNum = this.ops.get_srq_num;
    if (!create || !getNum) throw new VerbsError(call, EOPNOTSUPP);
    if (!attr.xrcd || !attr.cq) throw new VerbsError(call, EINVAL, `${call}: an XRC SRQ needs an XRC domain and a CQ`);
    const xrcd = this.own(attr.xrcd, IbvXrcd, call);
    const cq = this.own(attr.cq, IbvCq, call);
    const X = L.srqInitEx;
    return withBlock(X.$size + 8, async (b) => {
      const v = b.view;
      v.setUint32(X.attr + L.srqAttr.max_wr, attr.max_wr >>> 0, true);
      v.setUint32(X.attr + L.srqAttr.max_sge, attr.max_sge >>> 0, true);
      v.setUint32(X.attr + L.srqAttr.srq_limit, attr.srq_limit >>> 0, true);
      // IBV_SRQ_INIT_ATTR_TYPE | PD | XRCD | CQ; IBV_SRQT_XRC = 1
      v.setUint32(X.comp_mask, 1 | 2 | 4 | 8, true);
      v.setUint32(X.srq_type, 1, true);
      v.setBigUint64(X.pd, pd.ptr, true);
      v.setBigUint64(X.xrcd, xrcd.ptr, true);
      v.setBigUint64(X.cq, cq.ptr, true);
      const p = await this.ctor(call, create, this.ptr, b.ptr);
      const srq = this.add(new IbvSrq(this, tag, p));
      this.srqByPtr.set(p, srq);
      try {
        await this.verb('ibv_get_srq_num', getNum, p, b.at(X.$size));
      } catch (e) {
        await this.destroySrq(srq).catch(() => {});
        throw e;
      }
      srq.srq_num = v.getUint32(X.$size, true);
      return srq;
    });
  }

  override async modifySrq(ref: SrqRef, attr: Partial<SrqAttr>, mask: number): Promise<void> {
    const call = 'ibv_modify_srq';
    this.live(call);
    const srq = this.own(ref, IbvSrq, call);
    await withBlock(L.srqAttr.$size, async (b) => {
      b.view.setUint32(L.srqAttr.max_wr, (attr.max_wr ?? 0) >>> 0, true);
      b.view.setUint32(L.srqAttr.max_sge, (attr.max_sge ?? 0) >>> 0, true);
      b.view.setUint32(L.srqAttr.srq_limit, (attr.srq_limit ?? 0) >>> 0, true);
      await this.verb(call, this.ibv.fn.modify_srq, srq.ptr, b.ptr, mask);
    });
  }

  override async querySrq(ref: SrqRef): Promise<SrqAttr> {
    const call = 'ibv_query_srq';
    this.live(call);
    const srq = this.own(ref, IbvSrq, call);
    return withBlock(L.srqAttr.$size, async (b) => {
      await this.verb(call, this.ibv.fn.query_srq, srq.ptr, b.ptr);
      return {
        max_wr: b.view.getUint32(L.srqAttr.max_wr, true),
        max_sge: b.view.getUint32(L.srqAttr.max_sge, true),
        srq_limit: b.view.getUint32(L.srqAttr.srq_limit, true),
      };
    });
  }

  override async destroySrq(ref: SrqRef): Promise<void> {
    const srq = this.own(ref, IbvSrq, 'ibv_destroy_srq');
    await this.destroy('ibv_destroy_srq', srq, this.ibv.fn.destroy_srq, srq.ptr);
    this.srqByPtr.delete(srq.ptr);
  }

  // ------------------------------------------------------------------- qp

  async createQp(pdRef: PdRef, init: QpInitAttr, tag: number): Promise<QpRef> {
    const call = 'ibv_create_qp';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    const send = this.own(init.send_cq, IbvCq, call);
    const recv = this.own(init.recv_cq, IbvCq, call);
    const srq = init.srq ? this.own(init.srq, IbvSrq, call) : null;
    const type = QP_TYPE_VALUES[init.qp_type];
    if (type === undefined) throw new VerbsError(call, EINVAL, `${call}: bad qp_type ${JSON.stringify(init.qp_type)}`);
    if (init.qp_type === 'XRC_SEND' || init.qp_type === 'XRC_RECV') return this.createXrcQp(pd, init, type, tag);
    return withBlock(L.qpInit.$size, async (b) => {
      const v = b.view;
      const o = L.qpInit;
      v.setBigUint64(o.send_cq, send.ptr, true);
      v.setBigUint64(o.recv_cq, recv.ptr, true);
      v.setBigUint64(o.srq, srq ? srq.ptr : 0n, true);
      encodeCap(v, o.cap, init.cap);
      v.setUint32(o.qp_type, type, true);
      v.setInt32(o.sq_sig_all, init.sq_sig_all ? 1 : 0, true);
      const p = await this.ctor(call, this.ibv.fn.create_qp, pd.ptr, b.ptr);
      const qp = this.add(new IbvQp(this, tag, p, readU32(p, L.qp.qp_num), init.qp_type, init.sq_sig_all));
      this.qpByPtr.set(p, qp);
      return qp;
    });
  }

  /**
   * XRC QPs go through ibv_create_qp_ex, only where XRC domains exist: an
   * XRC_SEND QP has a PD and a send CQ; an XRC_RECV QP names its XRC domain
   * and has neither queues nor CQs of its own.
   */
  protected async createXrcQp(pd: IbvPd, init: QpInitAttr, type: number, tag: number): Promise<QpRef> {
    const call = 'ibv_create_qp_ex';
    this.require('openXrcd', call);
    const create = this.ops.create_qp_ex;
    if (!create) throw new VerbsError(call, EOPNOTSUPP);
    const recv = init.qp_type === 'XRC_RECV';
    const xrcd = recv ? (init.xrcd ? this.own(init.xrcd, IbvXrcd, call) : null) : null;
    if (recv && !xrcd) throw new VerbsError(call, EINVAL, `${call}: an XRC_RECV QP needs an XRC domain`);
    const send = recv ? null : this.own(init.send_cq, IbvCq, call);
    const X = L.qpInitEx;
    return withBlock(X.$size, async (b) => {
      const v = b.view;
      if (send) {
        // As ibv_xsrq_pingpong: the initiator has a send CQ only (the kernel ignores recv_cq for XRC_INI).
        v.setBigUint64(X.send_cq, send.ptr, true);
        encodeCap(v, X.cap, { ...init.cap, max_recv_wr: 0, max_recv_sge: 0 });
        v.setInt32(X.sq_sig_all, init.sq_sig_all ? 1 : 0, true);
      }
      v.setUint32(X.qp_type, type, true);
      // IBV_QP_INIT_ATTR_PD = 1, IBV_QP_INIT_ATTR_XRCD = 2
      v.setUint32(X.comp_mask, xrcd ? 2 : 1, true);
      if (xrcd) v.setBigUint64(X.xrcd, xrcd.ptr, true);
      else v.setBigUint64(X.pd, pd.ptr, true);
      const p = await this.ctor(call, create, this.ptr, b.ptr);
      const qp = this.add(new IbvQp(this, tag, p, readU32(p, L.qp.qp_num), init.qp_type, init.sq_sig_all));
      this.qpByPtr.set(p, qp);
      return qp;
    });
  }

  async modifyQp(ref: QpRef, attr: Partial<QpAttr>, mask: number): Promise<void> {
    const call = 'ibv_modify_qp';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    if (!Number.isInteger(mask) || mask < 0 || mask > 0x7fff_ffff) throw new VerbsError(call, EINVAL, `${call}: bad attr_mask`);
    await withBlock(L.qpAttr.$size, async (b) => {
      encodeQpAttr(b, attr, mask, call);
      await this.verb(call, this.ibv.fn.modify_qp, qp.ptr, b.ptr, mask);
    });
  }

  async queryQp(ref: QpRef): Promise<{ attr: QpAttr; init: { cap: QpCap; qp_type: QpType; sq_sig_all: boolean } }> {
    const call = 'ibv_query_qp';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    return withBlock(L.qpAttr.$size + L.qpInit.$size, async (b) => {
      const initOff = L.qpAttr.$size;
      // Every standard attribute bit (IBV_QP_STATE .. IBV_QP_DEST_QPN).
      await this.verb(call, this.ibv.fn.query_qp, qp.ptr, b.ptr, (1 << 21) - 1, b.at(initOff));
      const attr = decodeQpAttr(b);
      const v = b.view;
      return {
        attr,
        init: {
          cap: decodeCap(v, initOff + L.qpInit.cap),
          qp_type: qpTypeName(v.getUint32(initOff + L.qpInit.qp_type, true)),
          sq_sig_all: v.getInt32(initOff + L.qpInit.sq_sig_all, true) !== 0,
        },
      };
    });
  }

  async destroyQp(ref: QpRef): Promise<void> {
    const qp = this.own(ref, IbvQp, 'ibv_destroy_qp');
    await this.destroy('ibv_destroy_qp', qp, this.ibv.fn.destroy_qp, qp.ptr);
    this.qpByPtr.delete(qp.ptr);
  }

  override async attachMcast(ref: QpRef, gid: string, lid: number): Promise<void> {
    const call = 'ibv_attach_mcast';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    this.require('attachMcast', call);
    const raw = gidBytes(gid, call);
    if (!Number.isInteger(lid) || lid < 0 || lid > 0xffff) throw new VerbsError(call, EINVAL, `${call}: bad lid`);
    await withBlock(16, async (b) => {
      b.bytes(0, 16).set(raw);
      await this.verb(call, this.ibv.fn.attach_mcast, qp.ptr, b.ptr, lid);
    });
    qp.mcast.set(raw.toString('hex'), lid);
  }

  override async detachMcast(ref: QpRef, gid: string, lid: number): Promise<void> {
    const call = 'ibv_detach_mcast';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    const raw = gidBytes(gid, call);
    if (!Number.isInteger(lid) || lid < 0 || lid > 0xffff) throw new VerbsError(call, EINVAL, `${call}: bad lid`);
    await withBlock(16, async (b) => {
      b.bytes(0, 16).set(raw);
      await this.verb(call, this.ibv.fn.detach_mcast, qp.ptr, b.ptr, lid);
    });
    qp.mcast.delete(raw.toString('hex'));
  }

  // ------------------------------------------------------------------- ah

  override async createAh(pdRef: PdRef, attr: AhAttr, tag: number): Promise<AhRef> {
    const call = 'ibv_create_ah';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    this.require('createAh', call);
    if (attr.grh && !normalizeGid(attr.grh.dgid)) throw new VerbsError(call, EINVAL, `${call}: bad dgid`);
    return withBlock(L.ahAttr.$size, async (b) => {
      encodeAh(b, 0, attr, call);
      const p = await this.ctor(call, this.ibv.fn.create_ah, pd.ptr, b.ptr);
      return this.add(new IbvAh(this, tag, p, pd));
    });
  }

  override async destroyAh(ref: AhRef): Promise<void> {
    const ah = this.own(ref, IbvAh, 'ibv_destroy_ah');
    await this.destroy('ibv_destroy_ah', ah, this.ibv.fn.destroy_ah, ah.ptr);
  }

  // ----------------------------------------------------------------- xrcd

  override async openXrcd(tag: number): Promise<XrcdRef> {
    const call = 'ibv_open_xrcd';
    this.live(call);
    this.require('openXrcd', call);
    const open = this.ops.open_xrcd;
    if (!open) throw new VerbsError(call, EOPNOTSUPP);
    return withBlock(L.xrcdInit.$size, async (b) => {
      writeXrcdInit(b);
      const p = await this.ctor(call, open, this.ptr, b.ptr);
      return this.add(new IbvXrcd(this, tag, p));
    });
  }

  override async closeXrcd(ref: XrcdRef): Promise<void> {
    const x = this.own(ref, IbvXrcd, 'ibv_close_xrcd');
    const close = this.ops.close_xrcd;
    if (!close) throw new VerbsError('ibv_close_xrcd', EOPNOTSUPP);
    await this.destroy('ibv_close_xrcd', x, close, x.ptr);
  }

  // ----------------------------------------------------------------- flow

  override async createFlow(qpRef: QpRef, attr: FlowAttr, tag: number): Promise<FlowRef> {
    const call = 'ibv_create_flow';
    this.live(call);
    const qp = this.own(qpRef, IbvQp, call);
    this.require('createFlow', call);
    const create = this.ops.create_flow;
    if (!create) throw new VerbsError(call, EOPNOTSUPP);
    return withBlock(flowSize(attr), async (b) => {
      encodeFlow(b, attr, call);
      const p = await this.ctor(call, create, qp.ptr, b.ptr);
      return this.add(new IbvFlow(this, tag, p));
    });
  }

  override async destroyFlow(ref: FlowRef): Promise<void> {
    const f = this.own(ref, IbvFlow, 'ibv_destroy_flow');
    const destroy = this.ops.destroy_flow;
    if (!destroy) throw new VerbsError('ibv_destroy_flow', EOPNOTSUPP);
    await this.destroy('ibv_destroy_flow', f, destroy, f.ptr);
  }}

/** struct ibv_xrcd_init_attr for a fresh domain not tied to a file: fd -1, O_CREAT. */
export function writeXrcdInit(b: NativeBlock): void {
  const O_CREAT = 0o100;
  const FD = 1;
  const OFLAGS = 2;
  b.view.setUint32(L.xrcdInit.comp_mask, FD | OFLAGS, true);
  b.view.setInt32(L.xrcdInit.fd, -1, true);
  b.view.setInt32(L.xrcdInit.oflags, O_CREAT, true);
}

/** ifindex -> netdev name, from /sys/class/net (the GID table gives ifindexes). */
async function netdevNames(): Promise<Map<number, string>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out = new Map<number, string>();
  let names: string[] = [];
  try {
    names = await readdir('/sys/class/net');
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      out.set(Number((await readFile(`/sys/class/net/${n}/ifindex`, 'utf8')).trim()), n);
    } catch {
      // a netdev that vanished while we looked
    }
  }
  return out;
}

