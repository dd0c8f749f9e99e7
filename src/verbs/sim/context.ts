/**
 * An open context on a simulated device: the control verbs (create, modify,
 * query, destroy) with the kernel's checks and errnos, and the entry points
 * of the data path (datapath.ts does the work).
 *
 * Rules followed, and where they come from:
 * - constructors validate everything before they change anything, so a
 *   failure leaves nothing behind (uverbs alloc-begin -> commit | abort);
 * - destroy of an object with children answers EBUSY and changes nothing
 *   (uverbs `ib_destroy_usecnt`; libibverbs' comp_channel refcnt);
 *   deregistering an MR with bound MWs answers EINVAL (rxe_dereg_mr);
 * - after the device is removed every call but destroy/close fails EIO and
 *   destroys succeed (uverbs disassociate; libibverbs verbs_is_destroy_err);
 * - pool limits answer EINVAL like rxe's pools (MRs: ENOMEM, rxe_alloc in 6.1).
 */
import {
  Access, QpAttrMask as M, SrqAttrMask, type AhAttr, type AhRef, type AllocDmAttr, type ChannelRef, type CqRef,
  type DeviceAttr, type DmRef,  type GidEntry, type MemorySource, type MrRef, type MwBind, type MwRef, type PdRef,
  type PortAttr, type QpAttr, type QpCap, type QpInitAttr, type QpRef, type QpState, type RecvWr, type SendWr,
  type SrqAttr, type SrqInitAttr, type SrqRef, type Wc,
} from '../abi.js';
import { DummyOps, type BackendEvent, type DeviceCaps, type DeviceContext } from '../backend.js';
import { Errno, PostError, VerbsError } from '../errno.js';
import { SharedMemory, SysError, mapFd } from '../../sys/memory.js';
import { normalizeGid, isMulticastGid } from '../../wire/gid.js';
import { deviceAttr, portAttr } from './limits.js';
import { modifyQpIsOk } from './qp-state.js';
import { destroyInOrder, step } from '../teardown.js';
import { DM_UNIT, type SimDevice } from './device.js';
import {
  SimAh, SimChannel, SimCq, SimDm, SimMr, SimMw, SimPd, SimQp, SimSrq, type SimObject,
} from './objects.js';
import { SimFaults } from './faults.js';
import { bindMw, enterError, progressSq, resetQp, wakeSrqWaiters, wakeWaiters, type Fabric } from './datapath.js';

const { EINVAL, EBUSY, EFAULT, EIO, ENOMEM, EOPNOTSUPP } = Errno;

/** What ibv_reg_dm_mr accepts (mlx5's MLX5_DM_ALLOWED_ACCESS: local/remote access, ZERO_BASED, the optional range). */
const DM_MR_ACCESS = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC | Access.ZERO_BASED | 0x3ff0_0000;

/** Bits reg_mr accepts (IB_ACCESS_SUPPORTED: bits 0-9, plus the optional range 20-29 libibverbs filters). */
const MR_ACCESS_KNOWN = 0x3ff | 0x3ff0_0000;
/** Standard ibv_qp_attr_mask bits (IB_QP_ATTR_STANDARD_BITS) plus RATE_LIMIT. */
const QP_MASK_KNOWN = (1 << 21) - 1 | M.RATE_LIMIT;
/** Entries of the port's GID table (portAttr's gid_tbl_len). */
const GID_TBL_LEN = 1024;
const QP_STATES: ReadonlySet<string> = new Set(['RESET', 'INIT', 'RTR', 'RTS', 'SQD', 'SQE', 'ERR']);

/** rxe queues hold a power of two of slots, one kept empty: a request for n gets 2^k - 1 >= n. */
export function queueDepth(n: number): number {
  let slots = 1;
  while (slots < n + 1) slots *= 2;
  return slots - 1;
}

/** EINVAL from `call`, saying why (a function, not a closure per check: modify checks run on every modify). */
function badAttr(call: string, why: string): VerbsError {
  return new VerbsError(call, EINVAL, `${call}: ${why}`);
}

/** An 8-bit field's value (ibv_qp_attr's u8 members). */
function u8(v: unknown): boolean {
  return u32ok(v) && v <= 0xff;
}

function u32ok(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

function defaultAh(): AhAttr {
  return { grh: null, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 0 };
}

/**
 * Like rxe, the sim has no XRC domains and no flow steering: it leaves
 * openXrcd/closeXrcd and createFlow/destroyFlow to {@link DummyOps}, which
 * answer EOPNOTSUPP, and Describe says so (derived from the ops).
 */
export class SimContext extends DummyOps implements DeviceContext {
  readonly backend = 'sim' as const;
  readonly provider = 'sim';
  private handler: ((e: BackendEvent) => void) | null = null;
  /** Live objects of this context, for close(). */
  private readonly objects = new Set<SimObject>();
  private closed = false;
  /** The sim's driver-specific fault injector (./faults.ts; the `sim_fault` object type). */
  readonly faults: SimFaults = new SimFaults(this);

  constructor(
    readonly device: SimDevice,
    readonly fabric: Fabric,
  ) {
    super();
  }

  get name(): string {
    return this.device.name;
  }

  // ------------------------------------------------------------ plumbing

  /** Delivers an event on a microtask: never re-enters the caller of a verb. */
  emit(event: BackendEvent): void {
    const h = this.handler;
    if (h) queueMicrotask(() => h(event));
  }

  /** Every verb but destroy/close: the context must be open and the device present. */
  private live(call: string): void {
    if (this.closed) throw new VerbsError(call, EINVAL, `${call}: the context is closed`);
    if (this.device.lost) throw new VerbsError(call, EIO);
  }

  private own<T extends SimObject>(ref: unknown, cls: abstract new (...a: never[]) => T, call: string): T {
    if (!(ref instanceof cls) || ref.ctx !== this || ref.dead) {
      throw new VerbsError(call, EINVAL, `${call}: not a live ${cls.name.replace(/^Sim/, '').toLowerCase()} of this context`);
    }
    return ref;
  }

  private limit(call: string, pool: keyof SimDevice['counts'], max: number, errno: number = EINVAL): void {
    if (this.device.counts[pool] >= max) throw new VerbsError(call, errno, `${call}: the device's ${pool} pool is full (${max})`);
  }

  private add(o: SimObject, pool: keyof SimDevice['counts'] | null): void {
    this.objects.add(o);
    if (pool) this.device.counts[pool]++;
  }

  private drop(o: SimObject, pool: keyof SimDevice['counts'] | null): void {
    o.dead = true;
    this.objects.delete(o);
    if (pool) this.device.counts[pool]--;
  }

  /** Destroys may not fail once the device is gone (children are forced out too). */
  private get forced(): boolean {
    return this.device.lost || this.closed;
  }

  /** The MR of this context covering [addr, addr+len) (inline sends ignore lkeys); a scan, off the hot path. */
  findMrByAddr(addr: bigint, len: number): SimMr | null {
    for (const o of this.objects) {
      if (o instanceof SimMr && addr >= o.addr && addr + BigInt(len) <= o.addr + BigInt(o.length)) return o;
    }
    return null;
  }

  /** Called by the backend when the device is removed. */
  deviceLost(): void {
    for (const o of this.objects) if (o instanceof SimQp) resetQp(o);
    this.emit({ kind: 'async', type: 'DEVICE_FATAL', tag: null, port: null });
    this.emit({ kind: 'device_lost' });
  }

  setEventHandler(handler: (event: BackendEvent) => void): void {
    this.handler = handler;
  }

  capabilities(): DeviceCaps {
    return { supportsImport: false };
  }

  // -------------------------------------------------------------- queries

  async queryDevice(): Promise<DeviceAttr> {
    this.live('ibv_query_device');
    return deviceAttr(this.device.limits, this.device.guid);
  }

  async queryPort(port: number): Promise<PortAttr> {
    this.live('ibv_query_port');
    if (port !== 1) throw new VerbsError('ibv_query_port', EINVAL);
    return portAttr(this.device.limits, this.device.portActive);
  }

  async queryGidTable(port: number): Promise<GidEntry[]> {
    this.live('ibv_query_gid_table');
    if (port !== 1) throw new VerbsError('ibv_query_gid_table', EINVAL);
    return this.device.gidTable();
  }

  // ------------------------------------------------------------------- pd

  async allocPd(tag: number): Promise<PdRef> {
    this.live('ibv_alloc_pd');
    this.limit('ibv_alloc_pd', 'pd', this.device.limits.max_pd);
    const pd = new SimPd(this, tag);
    this.add(pd, 'pd');
    return pd;
  }

  async deallocPd(ref: PdRef): Promise<void> {
    const pd = this.own(ref, SimPd, 'ibv_dealloc_pd');
    if (pd.usecnt > 0 && !this.forced) throw new VerbsError('ibv_dealloc_pd', EBUSY, `ibv_dealloc_pd: ${pd.usecnt} objects still use the PD`);
    this.drop(pd, 'pd');
  }

  // ------------------------------------------------------------------- mr

  async regMr(pdRef: PdRef, source: MemorySource, access: number, tag: number): Promise<MrRef> {
    const call = 'ibv_reg_mr';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    if (!u32ok(access) || access & ~MR_ACCESS_KNOWN) throw new VerbsError(call, EINVAL, `${call}: unknown access bits 0x${(access >>> 0).toString(16)}`);
    // ib_check_mr_access: remote write/atomic need local write.
    if (access & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(access & Access.LOCAL_WRITE)) {
      throw new VerbsError(call, EINVAL, `${call}: REMOTE_WRITE/REMOTE_ATOMIC require LOCAL_WRITE`);
    }
    if (access & Access.ON_DEMAND) throw new VerbsError(call, EOPNOTSUPP, `${call}: no on-demand paging on this device`);
    if (source.kind === 'dmabuf') throw new VerbsError('ibv_reg_dmabuf_mr', EOPNOTSUPP);
    if (!Number.isInteger(source.length) || source.length <= 0 || BigInt(source.length) > this.device.limits.max_mr_size) {
      throw new VerbsError(call, EINVAL, `${call}: invalid length ${source.length}`);
    }
    this.limit(call, 'mr', this.device.limits.max_mr, ENOMEM);
    let mem: SharedMemory;
    try {
      mem = source.kind === 'alloc' ? SharedMemory.create(source.length) : mapFd(source.fd, source.offset, source.length);
    } catch (e) {
      if (e instanceof SysError) throw new VerbsError(call, e.errno, `${call}: ${e.message}`);
      throw e;
    }
    const lkey = this.device.allocMrKey();
    const remote = access & (Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC);
    const mr = new SimMr(this, tag, pd, mem.addr, source.length, lkey, remote ? lkey : 0, access, mem);
    this.device.keys.set(lkey, mr);
    pd.usecnt++;
    this.add(mr, 'mr');
    return mr;
  }

  async deregMr(ref: MrRef): Promise<void> {
    const mr = this.own(ref, SimMr, 'ibv_dereg_mr');
    // rxe_dereg_mr: IBA 10.6.7.2.6, an MR with bound windows cannot go.
    if (mr.numMw > 0 && !this.forced) throw new VerbsError('ibv_dereg_mr', EINVAL, `ibv_dereg_mr: ${mr.numMw} memory windows are bound to the MR`);
    this.device.keys.delete(mr.lkey);
    mr.pd.usecnt--;
    this.drop(mr, 'mr');
    // A DM MR's bytes are the DM's: they go with ibv_free_dm.
    if (mr.dm) mr.dm.usecnt--;
    else mr.memory.close();
  }

  // ------------------------------------------------------------------- dm
  //
  // Device memory as mlx5 serves it (rxe has none): ibv_alloc_dm takes
  // bytes from one device-wide pool of max_dm_size (EINVAL above
  // max_dm_size or with comp_mask bits, ENOMEM when the pool is used up);
  // copies are 4-byte granular (EINVAL) and stay inside the DM (EFAULT);
  // ibv_reg_dm_mr needs ZERO_BASED and a range inside the DM (EINVAL, the
  // kernel's checks), and ibv_free_dm answers EBUSY while MRs are on it.

  override async allocDm(attr: AllocDmAttr, tag: number): Promise<DmRef> {
    const call = 'ibv_alloc_dm';
    this.live(call);
    const max = this.device.limits.max_dm_size;
    if (max <= 0) throw new VerbsError(call, EOPNOTSUPP, `${call}: the device has no device memory`);
    if (!u32ok(attr.comp_mask) || attr.comp_mask !== 0) throw new VerbsError(call, EINVAL, `${call}: unknown comp_mask bits`);
    if (!Number.isInteger(attr.length) || attr.length <= 0 || attr.length > max) {
      throw new VerbsError(call, EINVAL, `${call}: length ${attr.length} is not in [1, max_dm_size ${max}]`);
    }
    // The pool hands out DM_UNIT-aligned blocks: larger alignments are not available.
    if (!u32ok(attr.log_align_req) || 2 ** attr.log_align_req > DM_UNIT) {
      throw new VerbsError(call, EINVAL, `${call}: log_align_req ${attr.log_align_req} exceeds the device's alignment (${Math.log2(DM_UNIT)})`);
    }
    const pooled = Math.ceil(attr.length / DM_UNIT) * DM_UNIT;
    if (this.device.dmBytes + pooled > max) {
      throw new VerbsError(call, ENOMEM, `${call}: the device memory pool has ${max - this.device.dmBytes} of ${max} bytes free`);
    }
    let mem: SharedMemory;
    try {
      mem = SharedMemory.create(attr.length, 'rdma-broker-dm');
    } catch (e) {
      if (e instanceof SysError) throw new VerbsError(call, e.errno, `${call}: ${e.message}`);
      throw e;
    }
    const dm = new SimDm(this, tag, attr.length, pooled, mem);
    this.device.dmBytes += pooled;
    this.add(dm, null);
    return dm;
  }

  override async freeDm(ref: DmRef): Promise<void> {
    const call = 'ibv_free_dm';
    const dm = this.own(ref, SimDm, call);
    if (dm.usecnt > 0 && !this.forced) throw new VerbsError(call, EBUSY, `${call}: ${dm.usecnt} MRs are registered on it`);
    this.device.dmBytes -= dm.pooled;
    this.drop(dm, null);
    dm.memory.close();
  }

  /** mlx5_access_dm's checks: 4-byte granularity, and the range inside the DM. */
  private dmRange(call: string, dm: SimDm, offset: bigint, length: number): number {
    if (typeof offset !== 'bigint' || offset < 0n || !Number.isInteger(length) || length < 0) {
      throw new VerbsError(call, EINVAL, `${call}: bad offset or length`);
    }
    if (offset + BigInt(length) > BigInt(dm.length)) {
      throw new VerbsError(call, EFAULT, `${call}: [${offset}, +${length}) leaves the ${dm.length}-byte DM`);
    }
    if (offset % 4n !== 0n || length % 4 !== 0) throw new VerbsError(call, EINVAL, `${call}: offset and length must be multiples of 4`);
    return Number(offset);
  }

  override async copyToDm(ref: DmRef, offset: bigint, data: Uint8Array): Promise<void> {
    const call = 'ibv_memcpy_to_dm';
    this.live(call);
    const dm = this.own(ref, SimDm, call);
    dm.memory.write(this.dmRange(call, dm, offset, data.length), data);
  }

  override async copyFromDm(ref: DmRef, offset: bigint, length: number): Promise<Buffer> {
    const call = 'ibv_memcpy_from_dm';
    this.live(call);
    const dm = this.own(ref, SimDm, call);
    return dm.memory.read(this.dmRange(call, dm, offset, length), length);
  }

  override async regDmMr(pdRef: PdRef, dmRef: DmRef, offset: bigint, length: number, access: number, tag: number): Promise<MrRef> {
    const call = 'ibv_reg_dm_mr';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    const dm = this.own(dmRef, SimDm, call);
    if (!u32ok(access) || access & ~DM_MR_ACCESS) throw new VerbsError(call, EINVAL, `${call}: access bits 0x${(access >>> 0).toString(16)} not allowed on device memory`);
    // UVERBS_METHOD_DM_MR_REG: device memory is addressed from 0, so ZERO_BASED is required.
    if (!(access & Access.ZERO_BASED)) throw new VerbsError(call, EINVAL, `${call}: access must include ZERO_BASED`);
    if (access & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(access & Access.LOCAL_WRITE)) {
      throw new VerbsError(call, EINVAL, `${call}: REMOTE_WRITE/REMOTE_ATOMIC require LOCAL_WRITE`);
    }
    if (typeof offset !== 'bigint' || offset < 0n || !Number.isInteger(length) || length <= 0 || offset + BigInt(length) > BigInt(dm.length)) {
      throw new VerbsError(call, EINVAL, `${call}: [${offset}, +${length}) is not inside the ${dm.length}-byte DM`);
    }
    this.limit(call, 'mr', this.device.limits.max_mr, ENOMEM);
    const lkey = this.device.allocMrKey();
    const remote = access & (Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC);
    const mr = new SimMr(this, tag, pd, 0n, length, lkey, remote ? lkey : 0, access, dm.memory);
    mr.dm = dm;
    mr.memOffset = Number(offset);
    this.device.keys.set(lkey, mr);
    pd.usecnt++;
    dm.usecnt++;
    this.add(mr, 'mr');
    return mr;
  }

  // ------------------------------------------------------------------- mw

  override async allocMw(pdRef: PdRef, type: 1 | 2, tag: number): Promise<MwRef> {
    const call = 'ibv_alloc_mw';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    if (type !== 1 && type !== 2) throw new VerbsError(call, EINVAL, `${call}: type must be 1 or 2`);
    this.limit(call, 'mw', this.device.limits.max_mw);
    const mw = new SimMw(this, tag, pd, type, this.device.allocMwKey());
    this.device.keys.set(mw.rkey, mw);
    pd.usecnt++;
    this.add(mw, 'mw');
    return mw;
  }

  override async deallocMw(ref: MwRef): Promise<void> {
    const mw = this.own(ref, SimMw, 'ibv_dealloc_mw');
    if (mw.binding) mw.binding.mr.numMw--;
    mw.binding = null;
    this.device.keys.delete(mw.rkey);
    mw.pd.usecnt--;
    this.drop(mw, 'mw');
  }

  override async bindMw(qpRef: QpRef, mwRef: MwRef, bind: MwBind): Promise<number> {
    const call = 'ibv_bind_mw';
    this.live(call);
    const qp = this.own(qpRef, SimQp, call);
    const mw = this.own(mwRef, SimMw, call);
    // libibverbs ibv_bind_mw: only type 1 binds through this verb; type 2 is a send WR.
    if (mw.type !== 1) throw new VerbsError(call, EINVAL, `${call}: only type 1 windows bind with ibv_bind_mw`);
    const mr = bind.length > 0 || bind.addr !== 0n ? this.own(bind.mr, SimMr, call) : null;
    if (mr && mr.pd !== mw.pd) throw new VerbsError(call, Errno.EPERM, `${call}: the MR and the MW are on different PDs`);
    if (qp.state !== 'RTS') throw new VerbsError(call, EINVAL, `${call}: the QP is not in RTS`);
    return bindMw(qp, mw, mr, bind, this.device);
  }

  // ------------------------------------------------------- comp channel

  async createCompChannel(tag: number): Promise<ChannelRef> {
    this.live('ibv_create_comp_channel');
    const ch = new SimChannel(this, tag);
    this.add(ch, null);
    return ch;
  }

  async destroyCompChannel(ref: ChannelRef): Promise<void> {
    const ch = this.own(ref, SimChannel, 'ibv_destroy_comp_channel');
    if (ch.refcnt > 0 && !this.forced) throw new VerbsError('ibv_destroy_comp_channel', EBUSY, 'ibv_destroy_comp_channel: CQs still use the channel');
    this.drop(ch, null);
  }

  // ------------------------------------------------------------------- cq

  private checkCqe(call: string, cqe: number): void {
    if (!Number.isInteger(cqe) || cqe < 1 || cqe > this.device.limits.max_cqe) {
      throw new VerbsError(call, EINVAL, `${call}: cqe ${cqe} is outside 1..${this.device.limits.max_cqe}`);
    }
  }

  async createCq(cqe: number, channelRef: ChannelRef | null, compVector: number, tag: number): Promise<CqRef> {
    const call = 'ibv_create_cq';
    this.live(call);
    const ch = channelRef === null ? null : this.own(channelRef, SimChannel, call);
    this.checkCqe(call, cqe);
    if (!Number.isInteger(compVector) || compVector < 0 || compVector >= this.device.limits.num_comp_vectors) {
      throw new VerbsError(call, EINVAL, `${call}: comp_vector ${compVector} >= ${this.device.limits.num_comp_vectors}`);
    }
    this.limit(call, 'cq', this.device.limits.max_cq);
    const cq = new SimCq(this, tag, queueDepth(cqe), ch);
    if (ch) ch.refcnt++;
    this.add(cq, 'cq');
    return cq;
  }

  async resizeCq(ref: CqRef, cqe: number): Promise<number> {
    const call = 'ibv_resize_cq';
    this.live(call);
    const cq = this.own(ref, SimCq, call);
    this.checkCqe(call, cqe);
    // rxe_cq_chk_attr: the new size must hold what is queued.
    if (cqe < cq.wcs.size) throw new VerbsError(call, EINVAL, `${call}: ${cq.wcs.size} completions are queued`);
    cq.cqe = queueDepth(cqe);
    return cq.cqe;
  }

  async destroyCq(ref: CqRef): Promise<void> {
    const cq = this.own(ref, SimCq, 'ibv_destroy_cq');
    if (cq.usecnt > 0 && !this.forced) throw new VerbsError('ibv_destroy_cq', EBUSY, `ibv_destroy_cq: ${cq.usecnt} QPs still use the CQ`);
    if (cq.channel) cq.channel.refcnt--;
    cq.wcs.clear();
    this.drop(cq, 'cq');
  }

  async pollCq(ref: CqRef, max: number): Promise<Wc[]> {
    const call = 'ibv_poll_cq';
    this.live(call);
    const cq = this.own(ref, SimCq, call);
    if (!Number.isInteger(max) || max < 0) throw new VerbsError(call, EINVAL);
    const n = Math.min(max, cq.wcs.size);
    const out = new Array<Wc>(n);
    for (let i = 0; i < n; i++) out[i] = cq.wcs.shift() as Wc;
    if (n > 0) cq.overflowed = false;
    return out;
  }

  async reqNotifyCq(ref: CqRef, solicitedOnly: boolean): Promise<void> {
    const call = 'ibv_req_notify_cq';
    this.live(call);
    const cq = this.own(ref, SimCq, call);
    // A "next completion" request is not narrowed by a later solicited one.
    if (cq.arm !== 1) cq.arm = solicitedOnly ? 2 : 1;
  }

  // ------------------------------------------------------------------ srq

  override async createSrq(pdRef: PdRef, attr: SrqInitAttr, tag: number): Promise<SrqRef> {
    const call = 'ibv_create_srq';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    // Like rxe, the sim has no XRC domains, so no XRC SRQs (ibv_create_srq_ex answers EOPNOTSUPP).
    if (attr.srq_type === 'XRC') throw new VerbsError('ibv_create_srq_ex', EOPNOTSUPP, 'ibv_create_srq_ex: the sim has no XRC');
    const l = this.device.limits;
    // rxe_srq_chk_init
    if (!Number.isInteger(attr.max_wr) || attr.max_wr < 1 || attr.max_wr > l.max_srq_wr) throw new VerbsError(call, EINVAL, `${call}: max_wr ${attr.max_wr} is outside 1..${l.max_srq_wr}`);
    if (!Number.isInteger(attr.max_sge) || attr.max_sge < 0 || attr.max_sge > l.max_srq_sge) throw new VerbsError(call, EINVAL, `${call}: max_sge ${attr.max_sge} > ${l.max_srq_sge}`);
    const depth = queueDepth(attr.max_wr);
    if (!u32ok(attr.srq_limit) || attr.srq_limit > depth) throw new VerbsError(call, EINVAL, `${call}: srq_limit ${attr.srq_limit} > max_wr`);
    this.limit(call, 'srq', l.max_srq);
    const srq = new SimSrq(this, tag, pd, depth, Math.max(1, attr.max_sge), attr.srq_limit);
    pd.usecnt++;
    this.add(srq, 'srq');
    return srq;
  }

  override async modifySrq(ref: SrqRef, attr: Partial<SrqAttr>, mask: number): Promise<void> {
    const call = 'ibv_modify_srq';
    this.live(call);
    const srq = this.own(ref, SimSrq, call);
    if (!u32ok(mask) || mask & ~(SrqAttrMask.MAX_WR | SrqAttrMask.LIMIT)) throw new VerbsError(call, EINVAL, `${call}: unknown mask bits`);
    // Validate both before applying either (rxe_srq_chk_attr, then rxe_srq_from_attr).
    let maxWr = srq.maxWr;
    if (mask & SrqAttrMask.MAX_WR) {
      const w = attr.max_wr;
      if (!u32ok(w) || w < 1 || w > this.device.limits.max_srq_wr) throw new VerbsError(call, EINVAL, `${call}: max_wr ${String(w)}`);
      maxWr = queueDepth(w);
      if (maxWr < srq.rq.size) throw new VerbsError(call, EINVAL, `${call}: ${srq.rq.size} receives are queued`);
      if (srq.limit && w < srq.limit && !(mask & SrqAttrMask.LIMIT)) throw new VerbsError(call, EINVAL, `${call}: max_wr below srq_limit`);
    }
    if (mask & SrqAttrMask.LIMIT) {
      const lim = attr.srq_limit;
      if (!u32ok(lim) || lim > maxWr) throw new VerbsError(call, EINVAL, `${call}: srq_limit ${String(lim)} > max_wr ${maxWr}`);
    }
    srq.maxWr = maxWr;
    if (mask & SrqAttrMask.LIMIT) srq.limit = attr.srq_limit as number;
  }

  override async querySrq(ref: SrqRef): Promise<SrqAttr> {
    this.live('ibv_query_srq');
    const srq = this.own(ref, SimSrq, 'ibv_query_srq');
    return { max_wr: srq.maxWr, max_sge: srq.maxSge, srq_limit: srq.limit };
  }

  override async destroySrq(ref: SrqRef): Promise<void> {
    const srq = this.own(ref, SimSrq, 'ibv_destroy_srq');
    if (srq.usecnt > 0 && !this.forced) throw new VerbsError('ibv_destroy_srq', EBUSY, `ibv_destroy_srq: ${srq.usecnt} QPs still use the SRQ`);
    srq.rq.clear();
    srq.pd.usecnt--;
    this.drop(srq, 'srq');
  }

  override async postSrqRecv(ref: SrqRef, wrs: RecvWr[]): Promise<void> {
    const call = 'ibv_post_srq_recv';
    this.live(call);
    const srq = this.own(ref, SimSrq, call);
    for (let i = 0; i < wrs.length; i++) {
      const wr = wrs[i] as RecvWr;
      // rxe_post_one_recv: a full queue first, then the SGE count.
      let e: PostError | null = null;
      if (srq.rq.size >= srq.maxWr) e = new PostError(call, ENOMEM, i, `${call}: the SRQ is full`);
      else if (wr.sg_list.length > srq.maxSge) e = new PostError(call, EINVAL, i, `${call}: ${wr.sg_list.length} SGEs > max_sge ${srq.maxSge}`);
      if (e) {
        wakeSrqWaiters(srq);
        throw e;
      }
      srq.rq.push(wr);
    }
    wakeSrqWaiters(srq);
  }

  // ------------------------------------------------------------------- qp

  private checkCap(call: string, cap: QpCap, hasSrq: boolean): void {
    const l = this.device.limits;
    if (!u32ok(cap.max_send_wr) || cap.max_send_wr > l.max_qp_wr) throw badAttr(call, `max_send_wr ${cap.max_send_wr} > ${l.max_qp_wr}`);
    if (!u32ok(cap.max_send_sge) || cap.max_send_sge > l.max_sge) throw badAttr(call, `max_send_sge ${cap.max_send_sge} > ${l.max_sge}`);
    if (!hasSrq) {
      if (!u32ok(cap.max_recv_wr) || cap.max_recv_wr > l.max_qp_wr) throw badAttr(call, `max_recv_wr ${cap.max_recv_wr} > ${l.max_qp_wr}`);
      if (!u32ok(cap.max_recv_sge) || cap.max_recv_sge > l.max_sge) throw badAttr(call, `max_recv_sge ${cap.max_recv_sge} > ${l.max_sge}`);
    }
    if (!u32ok(cap.max_inline_data) || cap.max_inline_data > l.max_inline_data) throw badAttr(call, `max_inline_data ${cap.max_inline_data} > ${l.max_inline_data}`);
  }

  async createQp(pdRef: PdRef, init: QpInitAttr, tag: number): Promise<QpRef> {
    const call = 'ibv_create_qp';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    // rxe_qp_chk_init: only RC, UC and UD (and GSI) exist on rxe.
    if (init.qp_type !== 'RC' && init.qp_type !== 'UC' && init.qp_type !== 'UD') {
      throw new VerbsError(call, EOPNOTSUPP, `${call}: QP type ${init.qp_type} is not supported`);
    }
    const scq = this.own(init.send_cq, SimCq, call);
    const rcq = this.own(init.recv_cq, SimCq, call);
    const srq = init.srq ? this.own(init.srq, SimSrq, call) : null;
    this.checkCap(call, init.cap, srq !== null);
    this.limit(call, 'qp', this.device.limits.max_qp);
    // What rxe reports back: queues rounded up; the send WQE sized for max(sge, inline).
    const wqe = Math.max(init.cap.max_send_sge * 16, init.cap.max_inline_data);
    const cap: QpCap = {
      max_send_wr: queueDepth(init.cap.max_send_wr),
      max_send_sge: Math.floor(wqe / 16),
      max_inline_data: wqe,
      max_recv_wr: srq ? 0 : queueDepth(init.cap.max_recv_wr),
      max_recv_sge: srq ? 0 : init.cap.max_recv_sge,
    };
    const attr: QpAttr = {
      qp_state: 'RESET', cur_qp_state: 'RESET', path_mtu: 1, path_mig_state: 0, qkey: 0, rq_psn: 0, sq_psn: 0,
      dest_qp_num: 0, qp_access_flags: 0, cap, ah_attr: defaultAh(), alt_ah_attr: defaultAh(), pkey_index: 0,
      alt_pkey_index: 0, en_sqd_async_notify: 0, sq_draining: 0, max_rd_atomic: 0, max_dest_rd_atomic: 0,
      min_rnr_timer: 0, port_num: 0, timeout: 0, retry_cnt: 0, rnr_retry: 0, alt_port_num: 0, alt_timeout: 0, rate_limit: 0,
    };
    const qp = new SimQp(this, tag, this.device.allocQpn(), init.qp_type, pd, scq, rcq, srq, cap, init.sq_sig_all, attr);
    this.device.qps.set(qp.qp_num, qp);
    pd.usecnt++;
    scq.usecnt++;
    rcq.usecnt++;
    if (srq) srq.usecnt++;
    this.add(qp, 'qp');
    return qp;
  }

  /**
   * rxe_qp_chk_attr and the uverbs modify checks: values, before anything
   * changes. Returns the address vector's DGID in the full form (null
   * without AV), so the change does not parse it again.
   */
  private checkQpAttr(call: string, qp: SimQp, a: Partial<QpAttr>, mask: number): string | null {
    const l = this.device.limits;
    if (mask & M.PORT && a.port_num !== 1) throw badAttr(call, `invalid port_num ${String(a.port_num)}`);
    // rxe (6.1) checks no pkey_index: any 16-bit index is taken (and the default pkey used).
    if (mask & M.PKEY_INDEX && (!u32ok(a.pkey_index) || a.pkey_index > 0xffff)) throw badAttr(call, `pkey_index ${String(a.pkey_index)} is 16 bits`);
    if (mask & M.QKEY && !u32ok(a.qkey)) throw badAttr(call, 'invalid qkey');
    if (mask & M.CAP) {
      if (!a.cap) throw badAttr(call, 'cap missing');
      this.checkCap(call, a.cap, qp.srq !== null);
    }
    if (mask & M.ACCESS_FLAGS) {
      if (qp.qp_type !== 'RC' && qp.qp_type !== 'UC') throw badAttr(call, 'access flags on a QP that is not RC/UC');
      // rxe (6.1) keeps whatever access bits it is given; only the remote ones matter to its responder.
      if (!u32ok(a.qp_access_flags)) throw badAttr(call, `qp_access_flags 0x${(a.qp_access_flags ?? 0).toString(16)}`);
    }
    const dgid = mask & M.AV ? this.checkAh(call, a.ah_attr, mask & M.PORT ? a.port_num : undefined) : null;
    if (mask & M.ALT_PATH) throw badAttr(call, 'alternate paths are not supported on RoCE'); // _ib_modify_qp bans APM outside IB
    // rxe_qp_chk_attr compares path_mtu with the port's max_mtu (4096), not its active MTU, and lets 0 through.
    if (mask & M.PATH_MTU && (!Number.isInteger(a.path_mtu) || (a.path_mtu as number) < 0 || (a.path_mtu as number) > 5)) throw badAttr(call, `path_mtu ${String(a.path_mtu)} > the port's max_mtu 5`);
    if (mask & M.MAX_QP_RD_ATOMIC && (!u32ok(a.max_rd_atomic) || a.max_rd_atomic > l.max_qp_rd_atom)) throw badAttr(call, `max_rd_atomic ${String(a.max_rd_atomic)} > ${l.max_qp_rd_atom}`);
    // These are u8 fields of ibv_qp_attr that rxe (6.1) does not range-check: max_dest_rd_atomic, retry_cnt,
    // rnr_retry and min_rnr_timer take any byte (a count of 8 or more counts down to 7, then retries for ever, as rxe).
    if (mask & M.MAX_DEST_RD_ATOMIC && !u8(a.max_dest_rd_atomic)) throw badAttr(call, `max_dest_rd_atomic ${String(a.max_dest_rd_atomic)} is 8 bits`);
    if (mask & M.TIMEOUT && (!u32ok(a.timeout) || a.timeout > 31)) throw badAttr(call, `timeout ${String(a.timeout)} > 31`);
    if (mask & M.RETRY_CNT && !u8(a.retry_cnt)) throw badAttr(call, `retry_cnt ${String(a.retry_cnt)} is 8 bits`);
    if (mask & M.RNR_RETRY && !u8(a.rnr_retry)) throw badAttr(call, `rnr_retry ${String(a.rnr_retry)} is 8 bits`);
    if (mask & M.MIN_RNR_TIMER && !u8(a.min_rnr_timer)) throw badAttr(call, `min_rnr_timer ${String(a.min_rnr_timer)} is 8 bits`);
    if (mask & M.DEST_QPN && (!u32ok(a.dest_qp_num) || a.dest_qp_num > 0xffffff)) throw badAttr(call, 'dest_qp_num is 24 bits');
    if (mask & M.RQ_PSN && !u32ok(a.rq_psn)) throw badAttr(call, 'invalid rq_psn');
    if (mask & M.SQ_PSN && !u32ok(a.sq_psn)) throw badAttr(call, 'invalid sq_psn');
    if (mask & M.PATH_MIG_STATE && (!u32ok(a.path_mig_state) || a.path_mig_state > 2)) throw badAttr(call, 'invalid path_mig_state');
    return dgid;
  }

  /** rdma_check_ah_attr + the sgid lookup: port 1, a GRH (RoCE needs one), an existing sgid_index, a parseable dgid. */
  private checkAh(call: string, ah: AhAttr | undefined, qpPort: number | undefined): string {
    if (!ah) throw badAttr(call, 'ah_attr missing');
    if (ah.port_num !== 1) throw badAttr(call, `invalid ah_attr.port_num ${ah.port_num}`);
    if (qpPort !== undefined && qpPort !== ah.port_num) throw badAttr(call, 'port_num and ah_attr.port_num differ');
    if (!ah.grh) throw badAttr(call, 'RoCE address vectors need a GRH');
    // rdma_fill_sgid_attr: an index inside the table without a GID is ENODATA, one beyond the table EINVAL.
    if (!u32ok(ah.grh.sgid_index) || ah.grh.sgid_index >= GID_TBL_LEN) throw badAttr(call, `sgid_index ${ah.grh.sgid_index} >= ${GID_TBL_LEN}`);
    if (ah.grh.sgid_index >= this.device.gidCount()) throw new VerbsError(call, Errno.ENODATA, `${call}: no GID at sgid_index ${ah.grh.sgid_index}`);
    const dgid = normalizeGid(ah.grh.dgid);
    if (!dgid) throw badAttr(call, `bad dgid ${JSON.stringify(ah.grh.dgid)}`);
    // ib_resolve_eth_dmac routes a unicast DGID through the port's netdev: none while the port is down (measured on rxe0).
    if (!this.device.portActive && !isMulticastGid(dgid)) throw new VerbsError(call, Errno.ENETUNREACH, `${call}: the port is down (no route to ${dgid})`);
    return dgid;
  }

  async modifyQp(ref: QpRef, a: Partial<QpAttr>, mask: number): Promise<void> {
    const call = 'ibv_modify_qp';
    this.live(call);
    const qp = this.own(ref, SimQp, call);
    if (!u32ok(mask) || mask & ~QP_MASK_KNOWN) throw new VerbsError(call, EOPNOTSUPP, `${call}: unknown attr_mask bits`);
    if (mask & M.STATE && (typeof a.qp_state !== 'string' || !QP_STATES.has(a.qp_state))) throw new VerbsError(call, EINVAL, `${call}: bad qp_state`);
    if (mask & M.CUR_STATE) {
      if (typeof a.cur_qp_state !== 'string' || !QP_STATES.has(a.cur_qp_state)) throw new VerbsError(call, EINVAL, `${call}: bad cur_qp_state`);
      if (a.cur_qp_state !== qp.state) throw new VerbsError(call, EINVAL, `${call}: cur_qp_state ${a.cur_qp_state} but the QP is ${qp.state}`);
    }
    const cur: QpState = qp.state;
    const next: QpState = mask & M.STATE ? (a.qp_state as QpState) : cur;
    if (!modifyQpIsOk(cur, next, qp.qp_type, mask)) {
      throw new VerbsError(call, EINVAL, `${call}: ${cur} -> ${next} with mask 0x${mask.toString(16)} is not a legal ${qp.qp_type} transition`);
    }
    const dgid = this.checkQpAttr(call, qp, a, mask);
    // SQD -> anything but ERR waits for the drain (rxe __qp_chk_state); our drain is instant, so sq_draining is 0.

    // Apply: attributes first, then the state change and its side effects.
    const t = qp.attr;
    if (mask & M.EN_SQD_ASYNC_NOTIFY) t.en_sqd_async_notify = a.en_sqd_async_notify ?? 0;
    if (mask & M.ACCESS_FLAGS) t.qp_access_flags = a.qp_access_flags as number;
    if (mask & M.PKEY_INDEX) t.pkey_index = a.pkey_index as number;
    if (mask & M.PORT) t.port_num = a.port_num as number;
    if (mask & M.QKEY) t.qkey = a.qkey as number;
    if (mask & M.AV) {
      const av = a.ah_attr as AhAttr;
      // checkAh required the GRH and parsed its DGID.
      t.ah_attr = { ...av, grh: av.grh ? { ...av.grh, dgid: dgid as string } : null };
    }
    if (mask & M.PATH_MTU) t.path_mtu = a.path_mtu as QpAttr['path_mtu'];
    if (mask & M.TIMEOUT) t.timeout = a.timeout as number;
    if (mask & M.RETRY_CNT) t.retry_cnt = a.retry_cnt as number;
    if (mask & M.RNR_RETRY) t.rnr_retry = a.rnr_retry as number;
    if (mask & M.RQ_PSN) t.rq_psn = (a.rq_psn as number) & 0xffffff;
    if (mask & M.SQ_PSN) t.sq_psn = (a.sq_psn as number) & 0xffffff;
    if (mask & M.MAX_QP_RD_ATOMIC) t.max_rd_atomic = roundPow2(a.max_rd_atomic as number);
    if (mask & M.MAX_DEST_RD_ATOMIC) t.max_dest_rd_atomic = roundPow2(a.max_dest_rd_atomic as number);
    if (mask & M.MIN_RNR_TIMER) t.min_rnr_timer = a.min_rnr_timer as number;
    if (mask & M.PATH_MIG_STATE) t.path_mig_state = a.path_mig_state as number;
    if (mask & M.DEST_QPN) t.dest_qp_num = a.dest_qp_num as number;
    if (mask & M.CAP) {
      // rxe does not resize queues on modify; it keeps what create gave.
    }
    if (mask & M.STATE) {
      qp.state = next;
      t.qp_state = next;
      t.cur_qp_state = next;
      if (next === 'RESET') resetQp(qp);
      else if (next === 'ERR') enterError(qp, false);
      else if (next === 'SQD') {
        if (t.en_sqd_async_notify && !qp.wait) this.emit({ kind: 'async', type: 'SQ_DRAINED', tag: qp.tag, port: null });
      } else if (next === 'RTS') progressSq(qp);
    }
    // Senders parked on this QP's RNR NAKs meet whatever the change made of it on their next try.
    if (mask & (M.STATE | M.AV | M.DEST_QPN)) wakeWaiters(qp);
  }

  async queryQp(ref: QpRef): Promise<{ attr: QpAttr; init: { cap: QpCap; qp_type: QpRef['qp_type']; sq_sig_all: boolean } }> {
    this.live('ibv_query_qp');
    const qp = this.own(ref, SimQp, 'ibv_query_qp');
    const attr: QpAttr = { ...qp.attr, qp_state: qp.state, cur_qp_state: qp.state, cap: { ...qp.cap } };
    return { attr, init: { cap: { ...qp.cap }, qp_type: qp.qp_type, sq_sig_all: qp.sqSigAll } };
  }

  async destroyQp(ref: QpRef): Promise<void> {
    const qp = this.own(ref, SimQp, 'ibv_destroy_qp');
    // rxe_qp_chk_destroy: IBA o10-2.2.3, not while attached to a multicast group.
    if (qp.mcast !== null && qp.mcast.size > 0 && !this.forced) throw new VerbsError('ibv_destroy_qp', EBUSY, 'ibv_destroy_qp: the QP is attached to multicast groups');
    if (qp.mcast !== null) for (const g of qp.mcast) this.detachGroup(qp, g);
    resetQp(qp);
    this.device.qps.delete(qp.qp_num);
    qp.pd.usecnt--;
    qp.sendCq.usecnt--;
    qp.recvCq.usecnt--;
    if (qp.srq) {
      qp.srq.usecnt--;
      qp.srq.rnrWaiters.delete(qp);
    }
    this.drop(qp, 'qp');
  }

  /**
   * ibv_post_send as rdma-core's rxe provider and the kernel answer it: the
   * provider validates each WR and writes it into the shared send queue
   * (EINVAL for a bad WR, ENOMEM when the queue is full; *bad_wr is that WR),
   * then rings the doorbell, which the kernel refuses with EINVAL before RTS
   * (the WRs stay queued; *bad_wr is NULL, badIndex -1). The doorbell's
   * error wins over a WR's. An empty list is EINVAL.
   */
  async postSend(ref: QpRef, wrs: SendWr[]): Promise<void> {
    const call = 'ibv_post_send';
    this.live(call);
    const qp = this.own(ref, SimQp, call);
    if (wrs.length === 0) throw new PostError(call, EINVAL, -1, `${call}: an empty WR list`);
    let failed: { errno: number; index: number } | null = null;
    for (let i = 0; i < wrs.length; i++) {
      const wr = wrs[i] as SendWr;
      const errno = this.checkSendWr(qp, wr);
      if (errno) {
        failed = { errno, index: i };
        break;
      }
      qp.sq.push(wr);
    }
    if (qp.state === 'RESET' || qp.state === 'INIT' || qp.state === 'RTR') {
      throw new PostError(call, EINVAL, failed ? failed.index : -1, `${call}: the QP is in ${qp.state} (the doorbell is refused before RTS)`);
    }
    progressSq(qp);
    if (failed) {
      const why = failed.errno === ENOMEM ? 'the send queue is full' : 'is invalid';
      throw new PostError(call, failed.errno, failed.index, `${call}: WR ${failed.index} (${(wrs[failed.index] as SendWr).opcode}) ${why}`);
    }
  }

  /** rxe's validate_send_wr, then its queue_full check; 0 when the WR may be queued. */
  private checkSendWr(qp: SimQp, wr: SendWr): number {
    if (wr.sg_list.length > qp.cap.max_send_sge) return EINVAL;
    let total = 0;
    for (const s of wr.sg_list) total += s.length;
    const op = wr.opcode;
    // The provider checks an atomic's length and alignment (IBA C10-73); the responder never sees a misaligned one.
    if ((op === 'ATOMIC_CMP_AND_SWP' || op === 'ATOMIC_FETCH_AND_ADD') && (total < 8 || (wr.remote_addr ?? 0n) % 8n !== 0n)) return EINVAL;
    if (wr.send_flags & 8 /* INLINE */ && total > qp.cap.max_inline_data) return EINVAL;
    if (op === 'BIND_MW') {
      if (total > 0 || wr.sg_list.length > 0 || (wr.imm_data ?? 0) !== 0) return EINVAL;
      if (qp.qp_type !== 'RC' && qp.qp_type !== 'UC') return EINVAL;
      // The provider reads the window and the MR (its lkey) when posting; the device checks the rest.
      const b = wr.bind_mw;
      if (!b || !(b.mw instanceof SimMw) || b.mw.ctx !== this || b.mw.dead) return EINVAL;
      if (!(b.mr instanceof SimMr) || b.mr.ctx !== this || b.mr.dead) return EINVAL;
    }
    // A UD send names its address handle, which the provider dereferences: it must be a live AH of this PD.
    if (qp.qp_type === 'UD' && (op === 'SEND' || op === 'SEND_WITH_IMM')) {
      if (!(wr.ah instanceof SimAh) || wr.ah.dead || wr.ah.ctx !== this || wr.ah.pd !== qp.pd) return EINVAL;
    }
    // Opcodes the QP type cannot carry are queued; the requester completes them with LOC_QP_OP_ERR.
    if (qp.sq.size >= qp.cap.max_send_wr) return ENOMEM;
    return 0;
  }

  /**
   * ibv_post_recv as the rxe provider answers it: EINVAL for an empty list or
   * a QP in RESET (C10-97.2.1) or with an SRQ, then per WR ENOMEM when the
   * queue is full and EINVAL for too many SGEs. Receives posted in ERR stay
   * queued until the responder next runs (a modify to ERR flushes them).
   */
  async postRecv(ref: QpRef, wrs: RecvWr[]): Promise<void> {
    const call = 'ibv_post_recv';
    this.live(call);
    const qp = this.own(ref, SimQp, call);
    if (wrs.length === 0) throw new PostError(call, EINVAL, -1, `${call}: an empty WR list`);
    if (qp.state === 'RESET') throw new PostError(call, EINVAL, -1, `${call}: the QP is in RESET`);
    if (qp.srq) throw new PostError(call, EINVAL, -1, `${call}: the QP uses an SRQ`);
    let failed: PostError | null = null;
    for (let i = 0; i < wrs.length; i++) {
      const wr = wrs[i] as RecvWr;
      if (qp.rq.size >= qp.cap.max_recv_wr) {
        failed = new PostError(call, ENOMEM, i, `${call}: the receive queue is full`);
        break;
      }
      if (wr.sg_list.length > qp.cap.max_recv_sge) {
        failed = new PostError(call, EINVAL, i, `${call}: ${wr.sg_list.length} SGEs > max_recv_sge ${qp.cap.max_recv_sge}`);
        break;
      }
      qp.rq.push(wr);
    }
    if (qp.state !== 'ERR') wakeWaiters(qp);
    if (failed) throw failed;
  }

  private detachGroup(qp: SimQp, gid: string): void {
    qp.mcast?.delete(gid);
    const g = this.device.mcast.get(gid);
    if (g) {
      g.delete(qp);
      this.device.totalMcastAttach--;
      if (g.size === 0) this.device.mcast.delete(gid);
    }
  }

  override async attachMcast(ref: QpRef, gid: string, lid: number): Promise<void> {
    const call = 'ibv_attach_mcast';
    this.live(call);
    const qp = this.own(ref, SimQp, call);
    const g = normalizeGid(gid);
    // ib_attach_mcast: a multicast GID, a UD QP.
    if (!g || !isMulticastGid(g) || qp.qp_type !== 'UD' || !u32ok(lid) || lid > 0xffff) throw new VerbsError(call, EINVAL);
    if (qp.mcast?.has(g)) return; // uverbs ignores a repeated attach
    const l = this.device.limits;
    const group = this.device.mcast.get(g);
    if (!group && this.device.mcast.size >= l.max_mcast_grp) throw new VerbsError(call, ENOMEM, `${call}: too many multicast groups`);
    if (group && group.size >= l.max_mcast_qp_attach) throw new VerbsError(call, ENOMEM, `${call}: the group is full`);
    if (this.device.totalMcastAttach >= l.max_total_mcast_qp_attach) throw new VerbsError(call, ENOMEM);
    if (group) group.add(qp);
    else this.device.mcast.set(g, new Set([qp]));
    this.device.totalMcastAttach++;
    (qp.mcast ??= new Set()).add(g);
  }

  override async detachMcast(ref: QpRef, gid: string, _lid: number): Promise<void> {
    const call = 'ibv_detach_mcast';
    this.live(call);
    const qp = this.own(ref, SimQp, call);
    const g = normalizeGid(gid);
    if (!g || !qp.mcast?.has(g)) throw new VerbsError(call, EINVAL, `${call}: the QP is not attached to ${gid}`);
    this.detachGroup(qp, g);
  }

  // ------------------------------------------------------------------- ah

  override async createAh(pdRef: PdRef, attr: AhAttr, tag: number): Promise<AhRef> {
    const call = 'ibv_create_ah';
    this.live(call);
    const pd = this.own(pdRef, SimPd, call);
    const dgid = this.checkAh(call, attr, undefined);
    this.limit(call, 'ah', this.device.limits.max_ah);
    const ah = new SimAh(this, tag, pd, { ...attr, grh: attr.grh ? { ...attr.grh, dgid } : null }, dgid);
    pd.usecnt++;
    this.add(ah, 'ah');
    return ah;
  }

  override async destroyAh(ref: AhRef): Promise<void> {
    const ah = this.own(ref, SimAh, 'ibv_destroy_ah');
    ah.pd.usecnt--;
    this.drop(ah, 'ah');
  }

  // ---------------------------------------------------------------- close

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Children first, as uverbs_destroy_ufile_hw ends up doing: QPs, then what they used.
    await destroyInOrder(this.objects, [
      step(SimMw, (o) => this.deallocMw(o)),
      step(SimQp, (o) => this.destroyQp(o)),
      step(SimAh, (o) => this.destroyAh(o)),
      step(SimMr, (o) => this.deregMr(o)),
      step(SimSrq, (o) => this.destroySrq(o)),
      step(SimCq, (o) => this.destroyCq(o)),
      step(SimChannel, (o) => this.destroyCompChannel(o)),
      step(SimPd, (o) => this.deallocPd(o)),
      // After the MRs on it.
      step(SimDm, (o) => this.freeDm(o)),
    ]);
    this.device.contexts.delete(this);
    this.handler = null;
  }
}

function roundPow2(n: number): number {
  if (n === 0) return 0;
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
