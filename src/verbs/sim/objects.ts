/**
 * The sim's object classes. Each implements its `*Ref` from the backend
 * interface, and carries what the kernel tracks about it: the parent
 * (a PD, a CQ), a use count of children (`usecnt`, as `ib_pd.usecnt`), and a
 * `dead` flag so a stale ref is refused rather than acted on.
 */
import type {
  AhAttr, AhRef, ChannelRef, CqRef, DmRef, MrRef, MwRef, PdRef, QpAttr, QpCap, QpRef, QpState, QpType, RecvWr, SendWr,
  SrqRef, Wc, XrcdRef, FlowRef,
} from '../abi.js';
import type { SharedMemory } from '../../sys/memory.js';
import type { SimContext } from './context.js';

/** A FIFO with O(1) push/shift that reuses its backing array. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the dead prefix dominates, so memory stays O(size).
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  clear(): void {
    // An empty queue (most, on a reset or destroy) keeps its array.
    if (this.items.length !== 0) this.items = [];
    this.head = 0;
  }
  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.clear();
    return out;
  }
}

export abstract class SimObject {
  dead = false;
  constructor(
    readonly ctx: SimContext,
    readonly tag: number,
  ) {}
}

export class SimPd extends SimObject implements PdRef {
  readonly kind = 'pd' as const;
  /** MRs, MWs, QPs, SRQs and AHs on this PD: dealloc answers EBUSY while > 0. */
  usecnt = 0;
}

export class SimMr extends SimObject implements MrRef {
  readonly kind = 'mr' as const;
  /** Memory windows bound to this MR: rxe refuses dereg (EINVAL) while > 0. */
  numMw = 0;
  /** An MR on device memory (ibv_reg_dm_mr): its bytes are the DM's, from {@link memOffset}; the DM owns them. */
  dm: SimDm | null = null;
  /** Where the MR's first byte lies in {@link memory} (0 but for DM MRs). */
  memOffset = 0;
  constructor(
    ctx: SimContext,
    tag: number,
    readonly pd: SimPd,
    readonly addr: bigint,
    readonly length: number,
    readonly lkey: number,
    readonly rkey: number,
    readonly access: number,
    readonly memory: SharedMemory,
  ) {
    super(ctx, tag);
  }
}

/** Device memory (ibv_alloc_dm): bytes of the device's pool, simulated by a memfd of their size. */
export class SimDm extends SimObject implements DmRef {
  readonly kind = 'dm' as const;
  /** MRs registered on it: ibv_free_dm answers EBUSY while > 0. */
  usecnt = 0;
  constructor(
    ctx: SimContext,
    tag: number,
    readonly length: number,
    /** Bytes taken from the device's pool (the length rounded up to DM_UNIT). */
    readonly pooled: number,
    readonly memory: SharedMemory,
  ) {
    super(ctx, tag);
  }
}

export interface MwBinding {
  mr: SimMr;
  addr: bigint;
  length: number;
  access: number;
}

export class SimMw extends SimObject implements MwRef {
  readonly kind = 'mw' as const;
  rkey: number;
  binding: MwBinding | null = null;
  /** Type 2 windows are bound to one QP. */
  qp: SimQp | null = null;
  constructor(ctx: SimContext, tag: number, readonly pd: SimPd, readonly type: 1 | 2, rkey: number) {
    super(ctx, tag);
    this.rkey = rkey;
  }
}

export class SimChannel extends SimObject implements ChannelRef {
  readonly kind = 'comp_channel' as const;
  /** CQs using this channel: libibverbs refuses destroy (EBUSY) while > 0. */
  refcnt = 0;
}

/** How a CQ is armed by reqNotifyCq: 0 not armed, 1 next completion, 2 next solicited one. */
export type Arm = 0 | 1 | 2;

export class SimCq extends SimObject implements CqRef {
  readonly kind = 'cq' as const;
  /** QPs (and SRQ-less uses) referring to this CQ: destroy answers EBUSY while > 0. */
  usecnt = 0;
  readonly wcs = new Fifo<Wc>();
  arm: Arm = 0;
  /** CQ_ERR was raised and the CQ has not been polled below full since: one event per overflow episode. */
  overflowed = false;
  /** Completions still to be dropped as by a full CQ (an injected overflow, ./faults.ts). */
  dropNext = 0;
  constructor(ctx: SimContext, tag: number, public cqe: number, readonly channel: SimChannel | null) {
    super(ctx, tag);
  }
}

export class SimSrq extends SimObject implements SrqRef {
  readonly kind = 'srq' as const;
  usecnt = 0;
  readonly rq = new Fifo<RecvWr>();
  /** QPs stalled on an RNR NAK from a QP of this SRQ: a post_srq_recv retries them. */
  readonly rnrWaiters = new Set<SimQp>();
  constructor(ctx: SimContext, tag: number, readonly pd: SimPd, public maxWr: number, readonly maxSge: number, public limit: number) {
    super(ctx, tag);
  }
}

/** Why a send queue is stalled. */
export interface SqWait {
  kind: 'rnr' | 'retry' | 'rd_atomic';
  timer: ReturnType<typeof setTimeout> | null;
  /** The QP whose receive queue would unblock an RNR wait. */
  on: SimQp | null;
}

export class SimQp extends SimObject implements QpRef {
  readonly kind = 'qp' as const;
  state: QpState = 'RESET';
  readonly sq = new Fifo<SendWr>();
  readonly rq = new Fifo<RecvWr>();
  /** Multicast groups attached (UD): made on the first attach, as most QPs never join one. */
  mcast: Set<string> | null = null;
  /** QPs stalled on an RNR NAK from this QP: made when the first one parks. */
  rnrWaiters: Set<SimQp> | null = null;
  wait: SqWait | null = null;
  /** RNR retries left for the WR at the head of the SQ (null: a fresh WR); rxe's comp.rnr_retry. */
  rnrLeft: number | null = null;
  /** Transport retries left for that WR (null: a fresh WR); rxe's comp.retry_cnt. */
  retryLeft: number | null = null;
  /** The next wait of an endless (7) retry loop, in ms: it backs off so a stuck QP costs nearly nothing. */
  backoffMs = 0;
  /** Set while the send queue is being processed (a QP can be its own peer). */
  busy = false;
  /** COMM_EST was reported (the first packet arrived in RTR). */
  commEst = false;
  constructor(
    ctx: SimContext,
    tag: number,
    readonly qp_num: number,
    readonly qp_type: QpType,
    readonly pd: SimPd,
    readonly sendCq: SimCq,
    readonly recvCq: SimCq,
    readonly srq: SimSrq | null,
    public cap: QpCap,
    readonly sqSigAll: boolean,
    readonly attr: QpAttr,
  ) {
    super(ctx, tag);
  }
}

export class SimAh extends SimObject implements AhRef {
  readonly kind = 'ah' as const;
  constructor(ctx: SimContext, tag: number, readonly pd: SimPd, readonly attr: AhAttr, readonly dgid: string) {
    super(ctx, tag);
  }
}

/** Never created (rxe has no XRC domains or flow steering); declared so refs type-check. */
export type SimXrcd = XrcdRef;
export type SimFlow = FlowRef;
