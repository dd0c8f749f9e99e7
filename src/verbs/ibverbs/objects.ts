/**
 * The objects of an open libibverbs context, and what every verb of it uses
 * to find and make them: the context's table of live objects, the checks that
 * a reference is a live object of this context, and the wrappers that run a
 * constructor, a verb or a destroy on a libuv worker.
 *
 * The context is split by thread: this file (objects), events.ts (the async
 * event fd and the completion channels, read on the main thread),
 * datapath.ts (post, poll, arm: ring operations on the main thread),
 * control.ts (create, modify, query, destroy: on workers) and context.ts
 * (the assembled context, and close).
 */
import { DummyOps, type DeviceCaps, type OptionalOp } from '../backend.js';
import type {
  AhRef, ChannelRef, CqRef, DmRef, FlowRef, MemoryView, MrRef, MwRef, PdRef, QpRef, QpType, SrqRef, XrcdRef,
} from '../abi.js';
import { Errno, VerbsError } from '../errno.js';
import type { SharedMemory } from '../../sys/memory.js';
import { L, callAsync, readU32, type Ibv, type IbvOps, type Ptr } from './binding.js';
import { wcFlagsAbi, wcFlagsTable } from './codec.js';
import type { IbvContext } from './context.js';
import type { FdPoller } from './poller.js';

const { EINVAL, EIO, EOPNOTSUPP } = Errno;

// ---------------------------------------------------------------- objects

export abstract class IbvObject {
  dead = false;
  constructor(
    readonly ctx: ContextBase,
    readonly tag: number,
    readonly ptr: Ptr,
  ) {}
}

export class IbvPd extends IbvObject implements PdRef {
  readonly kind = 'pd' as const;
}

export class IbvMr extends IbvObject implements MrRef {
  readonly kind = 'mr' as const;
  constructor(
    ctx: ContextBase,
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
  /** An MR on device memory (ibv_reg_dm_mr): closed before its DM. */
  dm: IbvDm | null = null;
  get memory(): MemoryView | null {
    return this.mem;
  }
}

export class IbvMw extends IbvObject implements MwRef {
  readonly kind = 'mw' as const;
  constructor(ctx: ContextBase, tag: number, ptr: Ptr, readonly pd: IbvPd, readonly type: 1 | 2) {
    super(ctx, tag, ptr);
  }
  /** libibverbs keeps the current rkey in the struct (a bind bumps it). */
  get rkey(): number {
    return this.dead ? 0 : readU32(this.ptr, L.mw.rkey);
  }
}

/** Device memory (struct ibv_dm). */
export class IbvDm extends IbvObject implements DmRef {
  readonly kind = 'dm' as const;
  constructor(ctx: ContextBase, tag: number, ptr: Ptr, readonly length: number) {
    super(ctx, tag, ptr);
  }
}

export class IbvChannel extends IbvObject implements ChannelRef {
  readonly kind = 'comp_channel' as const;
  unwatch: () => void = () => {};
  constructor(ctx: ContextBase, tag: number, ptr: Ptr, readonly fd: number) {
    super(ctx, tag, ptr);
  }
}

export class IbvCq extends IbvObject implements CqRef {
  readonly kind = 'cq' as const;
  constructor(ctx: ContextBase, tag: number, ptr: Ptr, public cqe: number, readonly channel: IbvChannel | null) {
    super(ctx, tag, ptr);
  }
}

export class IbvSrq extends IbvObject implements SrqRef {
  readonly kind = 'srq' as const;
  /** XRC SRQs: the number XRC_SEND WRs name (ibv_get_srq_num). */
  srq_num?: number;
}

export class IbvQp extends IbvObject implements QpRef {
  readonly kind = 'qp' as const;
  /** Multicast groups attached (raw GIDs as hex, with the lid): detached before a forced destroy. */
  readonly mcast = new Map<string, number>();
  constructor(
    ctx: ContextBase,
    tag: number,
    ptr: Ptr,
    readonly qp_num: number,
    readonly qp_type: QpType,
    readonly sqSigAll: boolean,
  ) {
    super(ctx, tag, ptr);
  }
}

export class IbvAh extends IbvObject implements AhRef {
  readonly kind = 'ah' as const;
  constructor(ctx: ContextBase, tag: number, ptr: Ptr, readonly pd: IbvPd) {
    super(ctx, tag, ptr);
  }
}

export class IbvXrcd extends IbvObject implements XrcdRef {
  readonly kind = 'xrcd' as const;
}

export class IbvFlow extends IbvObject implements FlowRef {
  readonly kind = 'flow' as const;
}

export type Cls<T> = abstract new (...a: never[]) => T;

/**
 * What the provider answers, found out once per device when it is first
 * opened (index.ts probeCaps): the import capability, and the optional ops
 * the provider leaves to libibverbs' dummies.
 */
export interface ProviderCaps extends DeviceCaps {
  /** Optional ops this device lacks: they answer EOPNOTSUPP, and Describe lists their verbs unsupported. */
  readonly lacks: Set<OptionalOp>;
}

/** What the backend tells a context about its device. */
export interface ContextInit {
  name: string;
  provider: string;
  caps: ProviderCaps;
  poller: FdPoller;
  onClosed: (ctx: IbvContext) => void;
  warn: (msg: string, err?: unknown) => void;
}

/** rxe-like pools answer a bad constructor with NULL + errno; 0 would be a library bug, reported as EIO. */
export function ctorErrno(e: number): number {
  return e > 0 ? e : EIO;
}


/**
 * The state every thread of a context shares: the device, its table of live
 * objects (and the pointer maps events resolve through), and the checks and
 * call wrappers of its verbs.
 */
export abstract class ContextBase extends DummyOps {
  readonly backend = 'ibverbs' as const;
  readonly name: string;
  readonly provider: string;
  /** The provider's wc_flags to the broker's (codec.ts's wcFlagsTable). */
  protected readonly wcFlags: Uint8Array;
  protected readonly caps: ProviderCaps;
  protected readonly objects = new Set<IbvObject>();
  protected readonly cqByPtr = new Map<Ptr, IbvCq>();
  protected readonly qpByPtr = new Map<Ptr, IbvQp>();
  protected readonly srqByPtr = new Map<Ptr, IbvSrq>();
  protected readonly ops: IbvOps;
  protected lost = false;
  protected closed = false;

  constructor(
    protected readonly ibv: Ibv,
    /** struct ibv_context * */
    readonly ptr: Ptr,
    protected readonly init: ContextInit,
  ) {
    super();
    this.name = init.name;
    this.provider = init.provider;
    this.wcFlags = wcFlagsTable(wcFlagsAbi(init.provider));
    this.caps = init.caps;
    this.ops = ibv.ops(ptr);
  }

  protected live(call: string): void {
    if (this.closed) throw new VerbsError(call, EINVAL, `${call}: the context is closed`);
    if (this.lost) throw new VerbsError(call, EIO);
  }

  protected own<T extends IbvObject>(ref: unknown, cls: Cls<T>, call: string): T {
    if (!(ref instanceof (cls as unknown as abstract new (...a: never[]) => IbvObject)) || (ref as IbvObject).ctx !== this || (ref as IbvObject).dead) {
      throw new VerbsError(call, EINVAL, `${call}: not a live ${cls.name.replace(/^Ibv/, '').toLowerCase()} of this context`);
    }
    return ref as T;
  }

  /**
   * Every op this backend has is written out (control.ts), so what this
   * device implements is what its provider answers: the ops the probe at
   * open found missing ({@link ProviderCaps.lacks}) are not implemented.
   */
  override implemented(op: OptionalOp): boolean {
    return super.implemented(op) && !this.caps.lacks.has(op);
  }

  /** Refuses an op the provider lacks with EOPNOTSUPP, as libibverbs' dummy ops do (and as Describe says). */
  protected require(op: OptionalOp, call: string): void {
    if (this.caps.lacks.has(op)) throw new VerbsError(call, EOPNOTSUPP, `${call}: ${this.provider} does not support it`);
  }

  /** Runs a constructor off the main thread; NULL means errno. */
  protected async ctor<A extends unknown[]>(call: string, f: Parameters<typeof callAsync<A, Ptr | null>>[0], ...args: A): Promise<Ptr> {
    const { res, errno } = await callAsync(f, ...args);
    if (res === null || res === 0n) throw new VerbsError(call, ctorErrno(errno));
    return res;
  }

  /** Runs an int-returning verb off the main thread; non-zero is the errno. */
  protected async verb<A extends unknown[]>(call: string, f: Parameters<typeof callAsync<A, number>>[0], ...args: A): Promise<void> {
    const { res } = await callAsync(f, ...args);
    if (res !== 0) throw new VerbsError(call, res < 0 ? -res : res);
  }

  /**
   * A destroy. EIO from a removed device means the kernel already destroyed
   * it (verbs_is_destroy_err), so it counts as done; other errors leave the
   * object alive (EBUSY: it still has users).
   */
  protected async destroy<A extends unknown[]>(call: string, o: IbvObject, f: Parameters<typeof callAsync<A, number>>[0], ...args: A): Promise<void> {
    const { res } = await callAsync(f, ...args);
    const e = res < 0 ? -res : res;
    if (e !== 0 && e !== EIO) throw new VerbsError(call, e);
    o.dead = true;
    this.objects.delete(o);
  }

  protected add<T extends IbvObject>(o: T): T {
    this.objects.add(o);
    return o;
  }
}
