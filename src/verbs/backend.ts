/**
 * The one interface every verbs backend implements: the simulated device
 * (`sim/`) and the libibverbs binding (`ibverbs/`). The core only sees this
 * interface, the ABI it takes (abi.ts) and the errors it throws (errno.ts);
 * raw C names never appear above them.
 *
 * Conventions, taken from libibverbs:
 * - Every failure is a {@link VerbsError} carrying the positive errno and the
 *   verb name. Constructors never return a half-made object.
 * - Every call returns a Promise: a backend runs anything that can block in
 *   the kernel off the main thread.
 * - Each created object gets a `tag` (the broker's handle), echoed in events,
 *   like libibverbs' cq_context / qp_context.
 */
import type {
  AhAttr, AhRef, AllocDmAttr, AsyncEventType, ChannelRef, CqRef, DeviceAttr, DeviceListing, DmRef, FlowAttr,
  FlowRef, GidEntry, MemorySource, MrRef, MwBind, MwRef, PdRef, PortAttr, QpAttr, QpCap, QpInitAttr, QpRef, QpType,
  RecvWr, SendWr, SrqAttr, SrqInitAttr, SrqRef, Wc, XrcdRef,
} from './abi.js';
import { Errno, VerbsError } from './errno.js';
import type { FaultInjector } from './faults.js';

/** What a device can do, for discovery. */
export interface DeviceCaps {
  /** ibv_import_device works (mlx5: yes, rxe: no). */
  supportsImport: boolean;
}

// ------------------------------------------------------------------ events

export type BackendEvent =
  /** A CQ's completion channel fired (the backend has already acked it). */
  | { kind: 'completion'; cq: number; channel: number }
  /** A kernel async event on an object (tag) or a port. */
  | { kind: 'async'; type: AsyncEventType; tag: number | null; port: number | null }
  /** The device went away: every call but destroy now fails with EIO. */
  | { kind: 'device_lost' };

// ----------------------------------------------------------------- backend

export interface Backend {
  readonly kind: 'sim' | 'ibverbs';
  listDevices(): Promise<DeviceListing[]>;
  openDevice(name: string): Promise<DeviceContext>;
  /**
   * Calls back when devices appear or disappear. Returns a function that
   * stops watching.
   */
  watchDevices(onChange: (change: { kind: 'added' | 'removed'; name: string }) => void): () => void;
}

/**
 * The verbs a device may lack: rdma-core's optional context ops (the ones
 * libibverbs fills with dummies that answer EOPNOTSUPP when a provider leaves
 * them out). A backend implements those it supports and inherits
 * {@link DummyOps} for the rest; the core derives what Describe calls
 * `supported` from {@link DeviceContext.implemented}, so discovery and calls
 * cannot disagree.
 */
export interface OptionalOps {
  allocMw(pd: PdRef, type: 1 | 2, tag: number): Promise<MwRef>;
  deallocMw(mw: MwRef): Promise<void>;
  /** Type 1 MW bind (ibv_bind_mw); returns the new rkey. */
  bindMw(qp: QpRef, mw: MwRef, bind: MwBind): Promise<number>;

  createSrq(pd: PdRef, attr: SrqInitAttr, tag: number): Promise<SrqRef>;
  modifySrq(srq: SrqRef, attr: Partial<SrqAttr>, mask: number): Promise<void>;
  querySrq(srq: SrqRef): Promise<SrqAttr>;
  destroySrq(srq: SrqRef): Promise<void>;
  postSrqRecv(srq: SrqRef, wrs: RecvWr[]): Promise<void>;

  attachMcast(qp: QpRef, gid: string, lid: number): Promise<void>;
  detachMcast(qp: QpRef, gid: string, lid: number): Promise<void>;

  createAh(pd: PdRef, attr: AhAttr, tag: number): Promise<AhRef>;
  destroyAh(ah: AhRef): Promise<void>;

  openXrcd(tag: number): Promise<XrcdRef>;
  closeXrcd(xrcd: XrcdRef): Promise<void>;

  createFlow(qp: QpRef, attr: FlowAttr, tag: number): Promise<FlowRef>;
  destroyFlow(flow: FlowRef): Promise<void>;

  /** ibv_alloc_dm: device memory of `attr.length` bytes (ENOMEM above the device's max_dm_size). */
  allocDm(attr: AllocDmAttr, tag: number): Promise<DmRef>;
  /** ibv_free_dm (EBUSY while an MR is registered on it). */
  freeDm(dm: DmRef): Promise<void>;
  /** ibv_memcpy_to_dm: `data` into the DM at `offset` (EINVAL when the range leaves it). */
  copyToDm(dm: DmRef, offset: bigint, data: Uint8Array): Promise<void>;
  /** ibv_memcpy_from_dm: `length` bytes of the DM at `offset` (EINVAL when the range leaves it). */
  copyFromDm(dm: DmRef, offset: bigint, length: number): Promise<Buffer>;
  /** ibv_reg_dm_mr: an MR over [offset, offset+length) of the DM; access must include ZERO_BASED. */
  regDmMr(pd: PdRef, dm: DmRef, offset: bigint, length: number, access: number, tag: number): Promise<MrRef>;
}
export type OptionalOp = keyof OptionalOps;

function notSupported(call: string): Promise<never> {
  return Promise.reject(new VerbsError(call, Errno.EOPNOTSUPP, `${call}: not supported by this device`));
}

/**
 * The defaults of the optional ops, as rdma-core's dummy ops: every one
 * answers EOPNOTSUPP. A backend's context class extends this and overrides
 * what it implements; {@link DummyOps.implemented} then tells them apart.
 */
export abstract class DummyOps implements OptionalOps {
  allocMw(_pd: PdRef, _type: 1 | 2, _tag: number): Promise<MwRef> { return notSupported('ibv_alloc_mw'); }
  deallocMw(_mw: MwRef): Promise<void> { return notSupported('ibv_dealloc_mw'); }
  bindMw(_qp: QpRef, _mw: MwRef, _bind: MwBind): Promise<number> { return notSupported('ibv_bind_mw'); }
  createSrq(_pd: PdRef, _attr: SrqInitAttr, _tag: number): Promise<SrqRef> { return notSupported('ibv_create_srq'); }
  modifySrq(_srq: SrqRef, _attr: Partial<SrqAttr>, _mask: number): Promise<void> { return notSupported('ibv_modify_srq'); }
  querySrq(_srq: SrqRef): Promise<SrqAttr> { return notSupported('ibv_query_srq'); }
  destroySrq(_srq: SrqRef): Promise<void> { return notSupported('ibv_destroy_srq'); }
  postSrqRecv(_srq: SrqRef, _wrs: RecvWr[]): Promise<void> { return notSupported('ibv_post_srq_recv'); }
  attachMcast(_qp: QpRef, _gid: string, _lid: number): Promise<void> { return notSupported('ibv_attach_mcast'); }
  detachMcast(_qp: QpRef, _gid: string, _lid: number): Promise<void> { return notSupported('ibv_detach_mcast'); }
  createAh(_pd: PdRef, _attr: AhAttr, _tag: number): Promise<AhRef> { return notSupported('ibv_create_ah'); }
  destroyAh(_ah: AhRef): Promise<void> { return notSupported('ibv_destroy_ah'); }
  openXrcd(_tag: number): Promise<XrcdRef> { return notSupported('ibv_open_xrcd'); }
  closeXrcd(_xrcd: XrcdRef): Promise<void> { return notSupported('ibv_close_xrcd'); }
  createFlow(_qp: QpRef, _attr: FlowAttr, _tag: number): Promise<FlowRef> { return notSupported('ibv_create_flow'); }
  destroyFlow(_flow: FlowRef): Promise<void> { return notSupported('ibv_destroy_flow'); }
  allocDm(_attr: AllocDmAttr, _tag: number): Promise<DmRef> { return notSupported('ibv_alloc_dm'); }
  freeDm(_dm: DmRef): Promise<void> { return notSupported('ibv_free_dm'); }
  copyToDm(_dm: DmRef, _offset: bigint, _data: Uint8Array): Promise<void> { return notSupported('ibv_memcpy_to_dm'); }
  copyFromDm(_dm: DmRef, _offset: bigint, _length: number): Promise<Buffer> { return notSupported('ibv_memcpy_from_dm'); }
  regDmMr(_pd: PdRef, _dm: DmRef, _offset: bigint, _length: number, _access: number, _tag: number): Promise<MrRef> {
    return notSupported('ibv_reg_dm_mr');
  }

  /** Whether this context implements `op` (overrides the dummy); a backend whose support varies at run time narrows it. */
  implemented(op: OptionalOp): boolean {
    return this[op] !== DummyOps.prototype[op];
  }
}

/**
 * An open device context (a uverbs fd and its object table). Closing it
 * destroys whatever is left in it, as the kernel does on close.
 */
export interface DeviceContext extends OptionalOps {
  readonly name: string;
  readonly backend: 'sim' | 'ibverbs';
  readonly provider: string;

  /** Receives async events, completion notifications and device loss. */
  setEventHandler(handler: (event: BackendEvent) => void): void;
  capabilities(): DeviceCaps;
  /** Whether `op` is implemented on this device; the others answer EOPNOTSUPP (see {@link OptionalOps}). */
  implemented(op: OptionalOp): boolean;

  queryDevice(): Promise<DeviceAttr>;
  queryPort(port: number): Promise<PortAttr>;
  queryGidTable(port: number): Promise<GidEntry[]>;

  allocPd(tag: number): Promise<PdRef>;
  deallocPd(pd: PdRef): Promise<void>;

  regMr(pd: PdRef, source: MemorySource, access: number, tag: number): Promise<MrRef>;
  deregMr(mr: MrRef): Promise<void>;

  createCompChannel(tag: number): Promise<ChannelRef>;
  destroyCompChannel(channel: ChannelRef): Promise<void>;

  createCq(cqe: number, channel: ChannelRef | null, compVector: number, tag: number): Promise<CqRef>;
  resizeCq(cq: CqRef, cqe: number): Promise<number>;
  destroyCq(cq: CqRef): Promise<void>;
  pollCq(cq: CqRef, max: number): Promise<Wc[]>;
  reqNotifyCq(cq: CqRef, solicitedOnly: boolean): Promise<void>;

  createQp(pd: PdRef, init: QpInitAttr, tag: number): Promise<QpRef>;
  modifyQp(qp: QpRef, attr: Partial<QpAttr>, mask: number): Promise<void>;
  queryQp(qp: QpRef): Promise<{ attr: QpAttr; init: { cap: QpCap; qp_type: QpType; sq_sig_all: boolean } }>;
  destroyQp(qp: QpRef): Promise<void>;
  /**
   * Posts in order; on a bad WR throws with `badIndex` set on the error. An
   * empty list goes to the device as such (rxe refuses it: EINVAL).
   */
  postSend(qp: QpRef, wrs: SendWr[]): Promise<void>;
  postRecv(qp: QpRef, wrs: RecvWr[]): Promise<void>;

  /**
   * For ibv_import_device: the context's uverbs command fd. The context owns
   * it (callers send or dup it, never close it). Implemented only by
   * backends whose devices can report `supportsImport`.
   */
  commandFd?(): number;
  /** The kernel's handle of a PD or MR of this context (pd->handle, mr->handle), for ibv_import_pd / ibv_import_mr. */
  kernelHandle?(ref: PdRef | MrRef): number;

  /**
   * The device's fault injector, on devices that can fake failures (the
   * sim): what the driver-specific `sim_fault` object type calls. Absent on
   * real devices, where that type does not exist.
   */
  readonly faults?: FaultInjector;

  /** Closes the context: whatever objects remain are destroyed. */
  close(): Promise<void>;
}
