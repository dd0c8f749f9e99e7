/**
 * An open uverbs context on a real device, through libibverbs.
 *
 * Threads: every verb that enters the kernel for more than a doorbell
 * (create, destroy, modify, query, reg) runs on a libuv worker via koffi's
 * async calls. The data-path verbs (post send/recv, poll, arm) are userspace
 * ring operations plus at most a doorbell write, reached through
 * `context->ops` like libibverbs' inline functions, and run on the main thread.
 *
 * Events: the async-event fd and every completion channel fd are made
 * non-blocking and watched by the backend's single {@link FdPoller}; each
 * event is read and acknowledged in the same synchronous step, so a CQ/QP/SRQ
 * destroy (which waits until every *read* event is acked, rdma-core cmd_cq.c)
 * never waits on us. No fd of this context is handed out: if that ever
 * happens, hand out mirrors, never the real channel fd.
 *
 * Device loss: every call but destroy/close fails EIO; a destroy whose ioctl
 * answers EIO counts as done (libibverbs' verbs_is_destroy_err).
 */
import {
  QP_TYPE_VALUES, WR_OPCODE_VALUES, type AhAttr, type AhRef, type ChannelRef, type CqRef, type DeviceAttr,
  type FlowAttr, type FlowRef, type GidEntry, type MemorySource, type MemoryView, type MrRef, type MwBind,
  type MwRef, type PdRef, type PortAttr, type QpAttr, type QpCap, type QpInitAttr, type QpRef, type QpType,
  type RecvWr, type SendWr, type SrqAttr, type SrqInitAttr, type SrqRef, type Wc, type XrcdRef,
} from '../abi.js';
import type { BackendEvent, DeviceCaps, DeviceContext } from '../backend.js';
import { Errno, PostError, VerbsError } from '../errno.js';
import { SharedMemory, SysError, mapFd } from '../../sys/memory.js';
import * as libc from '../../sys/libc.js';
import { normalizeGid } from '../../wire/gid.js';
import {
  GID_TYPE_NAMES, L, NativeBlock, callAsync, readI32, readU32, withBlock, writeU32,
  type Ibv, type IbvOps, type Ptr,
} from './binding.js';
import {
  asyncEventName, decodeCap, decodeDeviceAttr, decodePortAttr, decodeQpAttr, decodeWc, encodeAh, encodeCap,
  encodeFlow, encodeQpAttr, encodeWrList, flowSize, gidBytes, gidText, qpTypeName, wrListPlace,
} from './codec.js';
import type { FdPoller } from './poller.js';
import { destroyInOrder, step } from '../teardown.js';

const { EINVAL, EIO, EOPNOTSUPP, EPERM } = Errno;
const EAGAIN = 11;

// ---------------------------------------------------------------- objects

abstract class IbvObject {
  dead = false;
  constructor(
    readonly ctx: IbvContext,
    readonly tag: number,
    readonly ptr: Ptr,
  ) {}
}

class IbvPd extends IbvObject implements PdRef {
  readonly kind = 'pd' as const;
}

class IbvMr extends IbvObject implements MrRef {
  readonly kind = 'mr' as const;
  constructor(
    ctx: IbvContext,
    tag: number,
    ptr: Ptr,
    readonly pd: IbvPd,
    readonly addr: bigint,
    readonly length: number,
    readonly lkey: number,
    readonly rkey: number,
    readonly mem: SharedMemory | null,
  ) {
    super(ctx, tag, ptr);
  }
  get memory(): MemoryView | null {
    return this.mem;
  }
}

class IbvMw extends IbvObject implements MwRef {
  readonly kind = 'mw' as const;
  constructor(ctx: IbvContext, tag: number, ptr: Ptr, readonly pd: IbvPd, readonly type: 1 | 2) {
    super(ctx, tag, ptr);
  }
  /** libibverbs keeps the current rkey in the struct (a bind bumps it). */
  get rkey(): number {
    return this.dead ? 0 : readU32(this.ptr, L.mw.rkey);
  }
}

class IbvChannel extends IbvObject implements ChannelRef {
  readonly kind = 'comp_channel' as const;
  unwatch: () => void = () => {};
  constructor(ctx: IbvContext, tag: number, ptr: Ptr, readonly fd: number) {
    super(ctx, tag, ptr);
  }
}

class IbvCq extends IbvObject implements CqRef {
  readonly kind = 'cq' as const;
  constructor(ctx: IbvContext, tag: number, ptr: Ptr, public cqe: number, readonly channel: IbvChannel | null) {
    super(ctx, tag, ptr);
  }
}

class IbvSrq extends IbvObject implements SrqRef {
  readonly kind = 'srq' as const;
  /** XRC SRQs: the number XRC_SEND WRs name (ibv_get_srq_num). */
  srq_num?: number;
}

class IbvQp extends IbvObject implements QpRef {
  readonly kind = 'qp' as const;
  /** Multicast groups attached (raw GIDs as hex, with the lid): detached before a forced destroy. */
  readonly mcast = new Map<string, number>();
  constructor(
    ctx: IbvContext,
    tag: number,
    ptr: Ptr,
    readonly qp_num: number,
    readonly qp_type: QpType,
    readonly sqSigAll: boolean,
  ) {
    super(ctx, tag, ptr);
  }
}

class IbvAh extends IbvObject implements AhRef {
  readonly kind = 'ah' as const;
  constructor(ctx: IbvContext, tag: number, ptr: Ptr, readonly pd: IbvPd) {
    super(ctx, tag, ptr);
  }
}

class IbvXrcd extends IbvObject implements XrcdRef {
  readonly kind = 'xrcd' as const;
}

class IbvFlow extends IbvObject implements FlowRef {
  readonly kind = 'flow' as const;
}

type Cls<T> = abstract new (...a: never[]) => T;

// ----------------------------------------------------------------- helpers

/** What the backend tells a context about its device. */
export interface ContextInit {
  name: string;
  provider: string;
  caps: DeviceCaps;
  poller: FdPoller;
  onClosed: (ctx: IbvContext) => void;
  warn: (msg: string, err?: unknown) => void;
}

/** rxe-like pools answer a bad constructor with NULL + errno; 0 would be a library bug, reported as EIO. */
function ctorErrno(e: number): number {
  return e > 0 ? e : EIO;
}

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

export class IbvContext implements DeviceContext {
  readonly backend = 'ibverbs' as const;
  readonly name: string;
  readonly provider: string;
  private readonly caps: DeviceCaps;
  private handler: ((e: BackendEvent) => void) | null = null;
  private readonly objects = new Set<IbvObject>();
  private readonly cqByPtr = new Map<Ptr, IbvCq>();
  private readonly qpByPtr = new Map<Ptr, IbvQp>();
  private readonly srqByPtr = new Map<Ptr, IbvSrq>();
  private readonly ops: IbvOps;
  private readonly scratch = new Scratch();
  /** For ibv_get_cq_event's two out-pointers and ibv_get_async_event's struct (main thread only). */
  private readonly eventBlock = new NativeBlock(32);
  private unwatchAsync: () => void = () => {};
  private lost = false;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly ibv: Ibv,
    /** struct ibv_context * */
    readonly ptr: Ptr,
    private readonly init: ContextInit,
  ) {
    this.name = init.name;
    this.provider = init.provider;
    this.caps = init.caps;
    this.ops = ibv.ops(ptr);
    const asyncFd = readI32(ptr, L.context.async_fd);
    if (!libc.setNonBlocking(asyncFd)) init.warn(`cannot make the async event fd non-blocking (errno ${libc.errno()})`);
    else this.unwatchAsync = init.poller.watch(asyncFd, () => this.drainAsync());
  }

  /** The uverbs command fd (for import probing). */
  get cmdFd(): number {
    return readI32(this.ptr, L.context.cmd_fd);
  }

  /** For ibv_import_device (issue 4): the context keeps owning the fd. */
  commandFd(): number {
    this.live('ibv_import_device');
    return this.cmdFd;
  }

  /** The kernel handle of a PD or MR, for ibv_import_pd / ibv_import_mr on the importing side. */
  kernelHandle(ref: PdRef | MrRef): number {
    if (ref instanceof IbvPd && ref.ctx === this && !ref.dead) return readU32(ref.ptr, L.pd.handle);
    if (ref instanceof IbvMr && ref.ctx === this && !ref.dead) return readU32(ref.ptr, L.mr.handle);
    throw new VerbsError('ibv_import', EINVAL, 'not a live PD or MR of this context');
  }

  get numCompVectors(): number {
    return readI32(this.ptr, L.context.num_comp_vectors);
  }

  // ------------------------------------------------------------ plumbing

  setEventHandler(handler: (event: BackendEvent) => void): void {
    this.handler = handler;
  }

  capabilities(): DeviceCaps {
    return this.caps;
  }

  private emit(e: BackendEvent): void {
    const h = this.handler;
    if (!h) return;
    try {
      h(e);
    } catch (err) {
      this.init.warn('event handler threw', err);
    }
  }

  /** Called by the backend when the device disappears (rxe has no DEVICE_FATAL of its own). */
  deviceLost(): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.emit({ kind: 'async', type: 'DEVICE_FATAL', tag: null, port: null });
    this.emit({ kind: 'device_lost' });
  }

  private live(call: string): void {
    if (this.closed) throw new VerbsError(call, EINVAL, `${call}: the context is closed`);
    if (this.lost) throw new VerbsError(call, EIO);
  }

  private own<T extends IbvObject>(ref: unknown, cls: Cls<T>, call: string): T {
    if (!(ref instanceof (cls as unknown as abstract new (...a: never[]) => IbvObject)) || (ref as IbvObject).ctx !== this || (ref as IbvObject).dead) {
      throw new VerbsError(call, EINVAL, `${call}: not a live ${cls.name.replace(/^Ibv/, '').toLowerCase()} of this context`);
    }
    return ref as T;
  }

  private unsupported(call: string, what: string): void {
    if (this.caps.unsupported.has(what)) throw new VerbsError(call, EOPNOTSUPP, `${call}: ${this.provider} does not support ${what}`);
  }

  /** Runs a constructor off the main thread; NULL means errno. */
  private async ctor<A extends unknown[]>(call: string, f: Parameters<typeof callAsync<A, Ptr | null>>[0], ...args: A): Promise<Ptr> {
    const { res, errno } = await callAsync(f, ...args);
    if (res === null || res === 0n) throw new VerbsError(call, ctorErrno(errno));
    return res;
  }

  /** Runs an int-returning verb off the main thread; non-zero is the errno. */
  private async verb<A extends unknown[]>(call: string, f: Parameters<typeof callAsync<A, number>>[0], ...args: A): Promise<void> {
    const { res } = await callAsync(f, ...args);
    if (res !== 0) throw new VerbsError(call, res < 0 ? -res : res);
  }

  /**
   * A destroy. EIO from a removed device means the kernel already destroyed
   * it (verbs_is_destroy_err), so it counts as done; other errors leave the
   * object alive (EBUSY: it still has users).
   */
  private async destroy<A extends unknown[]>(call: string, o: IbvObject, f: Parameters<typeof callAsync<A, number>>[0], ...args: A): Promise<void> {
    const { res } = await callAsync(f, ...args);
    const e = res < 0 ? -res : res;
    if (e !== 0 && e !== EIO) throw new VerbsError(call, e);
    o.dead = true;
    this.objects.delete(o);
  }

  private add<T extends IbvObject>(o: T): T {
    this.objects.add(o);
    return o;
  }

  // ----------------------------------------------------------- events

  private drainAsync(): boolean {
    const b = this.eventBlock;
    const fn = this.ibv.fn;
    for (;;) {
      if (this.closed) return false;
      b.zero();
      const rc = fn.get_async_event(this.ptr, b.ptr);
      if (rc !== 0) {
        const e = libc.errno();
        // EAGAIN: drained. Anything else: the file is dead (device gone); stop watching it.
        return e === EAGAIN;
      }
      const element = b.view.getBigUint64(L.asyncEvent.element, true);
      const typeNum = b.view.getUint32(L.asyncEvent.event_type, true);
      const type = asyncEventName(typeNum);
      let tag: number | null = null;
      let port: number | null = null;
      switch (type) {
        case 'CQ_ERR':
          tag = this.cqByPtr.get(element)?.tag ?? null;
          break;
        case 'QP_FATAL': case 'QP_REQ_ERR': case 'QP_ACCESS_ERR': case 'COMM_EST': case 'SQ_DRAINED':
        case 'PATH_MIG': case 'PATH_MIG_ERR': case 'QP_LAST_WQE_REACHED':
          tag = this.qpByPtr.get(element)?.tag ?? null;
          break;
        case 'SRQ_ERR': case 'SRQ_LIMIT_REACHED':
          tag = this.srqByPtr.get(element)?.tag ?? null;
          break;
        case 'PORT_ACTIVE': case 'PORT_ERR': case 'LID_CHANGE': case 'PKEY_CHANGE': case 'SM_CHANGE':
        case 'CLIENT_REREGISTER': case 'GID_CHANGE':
          port = b.view.getInt32(L.asyncEvent.element, true);
          break;
        default:
          break;
      }
      // Ack before anything else: a destroy of that object may be waiting for it.
      fn.ack_async_event(b.ptr);
      if (type === null) continue;
      this.emit({ kind: 'async', type, tag, port });
      if (type === 'DEVICE_FATAL' && !this.lost) {
        this.lost = true;
        this.emit({ kind: 'device_lost' });
      }
    }
  }

  private drainChannel(ch: IbvChannel): boolean {
    const b = this.eventBlock;
    const fn = this.ibv.fn;
    for (;;) {
      if (ch.dead) return false;
      const rc = fn.get_cq_event(ch.ptr, b.ptr, b.at(8));
      if (rc !== 0) return libc.errno() === EAGAIN;
      const cqPtr = b.view.getBigUint64(0, true);
      // Ack at once: ibv_destroy_cq waits until every read event is acked.
      fn.ack_cq_events(cqPtr, 1);
      const cq = this.cqByPtr.get(cqPtr);
      if (cq && !cq.dead) this.emit({ kind: 'completion', cq: cq.tag, channel: ch.tag });
    }
  }

  // -------------------------------------------------------------- queries

  async queryDevice(): Promise<DeviceAttr> {
    const call = 'ibv_query_device';
    this.live(call);
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

  // ------------------------------------------------------------------- mw

  async allocMw(pdRef: PdRef, type: 1 | 2, tag: number): Promise<MwRef> {
    const call = 'ibv_alloc_mw';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    this.unsupported(call, 'mw.create');
    if (type !== 1 && type !== 2) throw new VerbsError(call, EINVAL, `${call}: type must be 1 or 2`);
    const p = await this.ctor(call, this.ops.alloc_mw, pd.ptr, type);
    return this.add(new IbvMw(this, tag, p, pd, type));
  }

  async deallocMw(ref: MwRef): Promise<void> {
    const mw = this.own(ref, IbvMw, 'ibv_dealloc_mw');
    await this.destroy('ibv_dealloc_mw', mw, this.ops.dealloc_mw, mw.ptr);
  }

  async bindMw(qpRef: QpRef, mwRef: MwRef, bind: MwBind): Promise<number> {
    const call = 'ibv_bind_mw';
    this.live(call);
    const qp = this.own(qpRef, IbvQp, call);
    const mw = this.own(mwRef, IbvMw, call);
    this.unsupported(call, 'qp.bind_mw');
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
    for (let i = 0; i < n; i++) out[i] = decodeWc(b.view, i * size);
    return out;
  }

  async reqNotifyCq(ref: CqRef, solicitedOnly: boolean): Promise<void> {
    const call = 'ibv_req_notify_cq';
    this.live(call);
    const cq = this.own(ref, IbvCq, call);
    const rc = this.ops.req_notify_cq(cq.ptr, solicitedOnly ? 1 : 0);
    if (rc !== 0) throw new VerbsError(call, rc < 0 ? -rc : rc);
  }

  // ------------------------------------------------------------------ srq

  async createSrq(pdRef: PdRef, attr: SrqInitAttr, tag: number): Promise<SrqRef> {
    const call = 'ibv_create_srq';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    this.unsupported(call, 'srq.create');
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
  private async createXrcSrq(pd: IbvPd, attr: SrqInitAttr, tag: number): Promise<SrqRef> {
    const call = 'ibv_create_srq_ex';
    this.unsupported(call, 'xrcd.create');
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

  async modifySrq(ref: SrqRef, attr: Partial<SrqAttr>, mask: number): Promise<void> {
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

  async querySrq(ref: SrqRef): Promise<SrqAttr> {
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

  async destroySrq(ref: SrqRef): Promise<void> {
    const srq = this.own(ref, IbvSrq, 'ibv_destroy_srq');
    await this.destroy('ibv_destroy_srq', srq, this.ibv.fn.destroy_srq, srq.ptr);
    this.srqByPtr.delete(srq.ptr);
  }

  async postSrqRecv(ref: SrqRef, wrs: RecvWr[]): Promise<void> {
    const call = 'ibv_post_srq_recv';
    this.live(call);
    const srq = this.own(ref, IbvSrq, call);
    this.postRecvList(call, (wr, bad) => this.ops.post_srq_recv(srq.ptr, wr, bad), wrs);
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
  private async createXrcQp(pd: IbvPd, init: QpInitAttr, type: number, tag: number): Promise<QpRef> {
    const call = 'ibv_create_qp_ex';
    this.unsupported(call, 'xrcd.create');
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

  async postSend(ref: QpRef, wrs: SendWr[]): Promise<void> {
    const call = 'ibv_post_send';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    if (wrs.length === 0) return;
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
    const rc = this.ops.post_send(qp.ptr, b.ptr, b.at(place.badOff));
    const posted = rc === 0 ? wrs.length : this.badIndex(b, place.badOff, W.$size, wrs.length);
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

  private postRecvList(call: string, post: (wr: Ptr, bad: Ptr) => number, wrs: RecvWr[]): void {
    if (wrs.length === 0) return;
    const W = L.recvWr;
    const place = wrListPlace(W, wrs);
    const b = this.scratch.get(place.size);
    encodeWrList(b, W, place, wrs);
    const rc = post(b.ptr, b.at(place.badOff));
    if (rc !== 0) throw this.postError(call, rc, b, place.badOff, W.$size, wrs.length);
  }

  /** *bad_wr points into our WR array: its index is the first WR not posted. */
  /** The index *bad_wr points at (0 when it points outside the list). */
  private badIndex(b: NativeBlock, badOff: number, wrSize: number, n: number): number {
    const bad = b.view.getBigUint64(badOff, true);
    return bad >= b.ptr && bad < b.ptr + BigInt(n * wrSize) ? Number(bad - b.ptr) / wrSize : 0;
  }

  private postError(call: string, rc: number, b: NativeBlock, badOff: number, wrSize: number, n: number): PostError {
    const idx = this.badIndex(b, badOff, wrSize, n);
    const errno = this.lost ? EIO : rc < 0 ? -rc : rc;
    return new PostError(call, errno, idx, `${call}: WR ${idx} failed (errno ${errno})`);
  }

  async attachMcast(ref: QpRef, gid: string, lid: number): Promise<void> {
    const call = 'ibv_attach_mcast';
    this.live(call);
    const qp = this.own(ref, IbvQp, call);
    this.unsupported(call, 'qp.attach_mcast');
    const raw = gidBytes(gid, call);
    if (!Number.isInteger(lid) || lid < 0 || lid > 0xffff) throw new VerbsError(call, EINVAL, `${call}: bad lid`);
    await withBlock(16, async (b) => {
      b.bytes(0, 16).set(raw);
      await this.verb(call, this.ibv.fn.attach_mcast, qp.ptr, b.ptr, lid);
    });
    qp.mcast.set(raw.toString('hex'), lid);
  }

  async detachMcast(ref: QpRef, gid: string, lid: number): Promise<void> {
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

  async createAh(pdRef: PdRef, attr: AhAttr, tag: number): Promise<AhRef> {
    const call = 'ibv_create_ah';
    this.live(call);
    const pd = this.own(pdRef, IbvPd, call);
    if (attr.grh && !normalizeGid(attr.grh.dgid)) throw new VerbsError(call, EINVAL, `${call}: bad dgid`);
    return withBlock(L.ahAttr.$size, async (b) => {
      encodeAh(b, 0, attr, call);
      const p = await this.ctor(call, this.ibv.fn.create_ah, pd.ptr, b.ptr);
      return this.add(new IbvAh(this, tag, p, pd));
    });
  }

  async destroyAh(ref: AhRef): Promise<void> {
    const ah = this.own(ref, IbvAh, 'ibv_destroy_ah');
    await this.destroy('ibv_destroy_ah', ah, this.ibv.fn.destroy_ah, ah.ptr);
  }

  // ----------------------------------------------------------------- xrcd

  async openXrcd(tag: number): Promise<XrcdRef> {
    const call = 'ibv_open_xrcd';
    this.live(call);
    this.unsupported(call, 'xrcd.create');
    const open = this.ops.open_xrcd;
    if (!open) throw new VerbsError(call, EOPNOTSUPP);
    return withBlock(L.xrcdInit.$size, async (b) => {
      writeXrcdInit(b);
      const p = await this.ctor(call, open, this.ptr, b.ptr);
      return this.add(new IbvXrcd(this, tag, p));
    });
  }

  async closeXrcd(ref: XrcdRef): Promise<void> {
    const x = this.own(ref, IbvXrcd, 'ibv_close_xrcd');
    const close = this.ops.close_xrcd;
    if (!close) throw new VerbsError('ibv_close_xrcd', EOPNOTSUPP);
    await this.destroy('ibv_close_xrcd', x, close, x.ptr);
  }

  // ----------------------------------------------------------------- flow

  async createFlow(qpRef: QpRef, attr: FlowAttr, tag: number): Promise<FlowRef> {
    const call = 'ibv_create_flow';
    this.live(call);
    const qp = this.own(qpRef, IbvQp, call);
    this.unsupported(call, 'flow.create');
    const create = this.ops.create_flow;
    if (!create) throw new VerbsError(call, EOPNOTSUPP);
    return withBlock(flowSize(attr), async (b) => {
      encodeFlow(b, attr, call);
      const p = await this.ctor(call, create, qp.ptr, b.ptr);
      return this.add(new IbvFlow(this, tag, p));
    });
  }

  async destroyFlow(ref: FlowRef): Promise<void> {
    const f = this.own(ref, IbvFlow, 'ibv_destroy_flow');
    const destroy = this.ops.destroy_flow;
    if (!destroy) throw new VerbsError('ibv_destroy_flow', EOPNOTSUPP);
    await this.destroy('ibv_destroy_flow', f, destroy, f.ptr);
  }

  // ---------------------------------------------------------------- close

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // Children first, as the kernel's cleanup ends up doing; a failure is logged
    // and left to ibv_close_device, where the kernel destroys whatever remains.
    // Windows before QPs: a type 2 window bound through a QP holds a reference
    // on it, and rxe's QP destroy waits for that reference (about 50 s) before
    // giving up on it.
    await destroyInOrder(this.objects, [
      step(IbvFlow, (o) => this.destroyFlow(o)),
      step(IbvMw, (o) => this.deallocMw(o)),
      step(IbvQp, async (o) => {
        for (const [hex, lid] of o.mcast) await this.detachMcast(o, gidText(Buffer.from(hex, 'hex')), lid).catch(() => {});
        await this.destroyQp(o);
      }),
      step(IbvAh, (o) => this.destroyAh(o)),
      step(IbvMr, (o) => this.deregMr(o)),
      step(IbvSrq, (o) => this.destroySrq(o)),
      step(IbvCq, (o) => this.destroyCq(o)),
      step(IbvChannel, (o) => this.destroyCompChannel(o)),
      step(IbvXrcd, (o) => this.closeXrcd(o)),
      step(IbvPd, (o) => this.deallocPd(o)),
    ], {
      skip: (o) => o.dead,
      onError: (o, e) => this.init.warn(`closing ${this.name}: destroying a ${o.constructor.name.replace(/^Ibv/, '').toLowerCase()} failed`, e),
    });
    this.closed = true;
    this.unwatchAsync();
    for (const o of this.objects) if (o instanceof IbvChannel) o.unwatch();
    const { res } = await callAsync(this.ibv.fn.close_device, this.ptr);
    if (res !== 0) this.init.warn(`ibv_close_device(${this.name}) answered ${res}`);
    for (const o of this.objects) if (o instanceof IbvMr) o.mem?.close();
    this.objects.clear();
    this.cqByPtr.clear();
    this.qpByPtr.clear();
    this.srqByPtr.clear();
    this.scratch.free();
    this.eventBlock.free();
    this.handler = null;
    this.init.onClosed(this);
  }
}

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

