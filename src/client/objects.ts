/**
 * What a session's verbs act on and give back: the objects (RdmaObject, an MR
 * mapped here too as SharedMr), the targets and options of the verbs, Batch
 * steps and results, and their conversion to the wire's fields.
 */
import { checkHandle, checkRef, RefValue, shown, type AttrMap, type ObjectLike, type PlainMap } from './values.js';
import { invalidArgument, type RdmaError } from './errors.js';
import type { SharedMemory } from '../sys/memory.js';
import type { Session } from './session.js';

/** What a verb acts on: an object, its handle, or (in a Batch) an earlier step. */
export type Target = ObjectLike | number | RefValue | { ref: number };

export interface CreateOptions {
  /** The device, for objects without a parent handle (pd, cq, comp_channel, xrcd). */
  device?: string;
  /** Stored by the daemon, echoed in events and listings. */
  userHandle?: number | bigint | string;
}

export type BatchStepInput =
  | { create: string; device?: string; attrs?: AttrMap; userHandle?: number | bigint | string }
  | { query: Target }
  | { modify: Target; attrs: AttrMap }
  | { destroy: Target }
  | { invoke: Target; method: string; attrs?: AttrMap; device?: string };

export type BatchStepResult = RdmaObject | PlainMap;

export interface BatchResult {
  /** One per step that succeeded: the object (create, query, modify) or the output attributes. */
  results: BatchStepResult[];
  /** The step that failed (the steps after it did not run), or null. */
  failed: { index: number; error: RdmaError } | null;
}

/**
 * An MR whose memory is mapped in this process too (a memfd shared with the
 * daemon): write and read `memory` directly; `addr + i` is byte `i` for the
 * device (SGEs, remote_addr). {@link close} unmaps it here; the MR itself
 * lives until it is destroyed (or the session ends).
 */
export class SharedMr {
  constructor(
    readonly mr: RdmaObject,
    readonly memory: SharedMemory,
    readonly addr: bigint,
    readonly length: number,
    readonly lkey: number,
    readonly rkey: number,
  ) {}

  get handle(): number {
    return this.mr.handle;
  }

  /** Unmaps the memory in this process. */
  close(): void {
    this.memory.close();
  }
}

/** A completion (struct ibv_wc): wr_id, status ("SUCCESS", ...), opcode, byte_len, qp_num, ... */
export type WorkCompletion = PlainMap & { status: string; opcode: string; byte_len: number };

/** An object this session owns. Its attributes are the daemon's key attributes (lkey, rkey, qp_num, ...). */
export class RdmaObject implements ObjectLike {
  constructor(
    readonly session: Session,
    readonly handle: number,
    readonly type: string,
    readonly device: string,
    public attrs: PlainMap,
    readonly userHandle: string,
    readonly parents: readonly number[],
  ) {}

  /** A key attribute as a number (throws when absent). */
  num(name: string): number {
    const v = this.attrs[name];
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    throw new TypeError(`${this.type} ${this.handle} has no numeric attribute ${name}`);
  }

  /** A key attribute as a bigint (for 64-bit addresses). */
  big(name: string): bigint {
    const v = this.attrs[name];
    if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
    throw new TypeError(`${this.type} ${this.handle} has no numeric attribute ${name}`);
  }

  query(): Promise<RdmaObject> {
    return this.session.query(this);
  }
  modify(attrs: AttrMap): Promise<RdmaObject> {
    return this.session.modify(this, attrs);
  }
  destroy(): Promise<PlainMap> {
    return this.session.destroy(this);
  }
  invoke(method: string, attrs?: AttrMap): Promise<PlainMap> {
    return this.session.invoke(this, method, attrs);
  }

  toJSON(): object {
    return { handle: this.handle, type: this.type, device: this.device, userHandle: this.userHandle, parents: this.parents };
  }
}

/**
 * A target as the wire's handle (or, in a Batch, handle_ref: 1 + the step
 * index). `argument` names it in a refusal ({@link checkHandle}, {@link checkRef}):
 * nothing that is not a handle, an object or a step reference is sent.
 */
export function targetOf(t: Target, argument = 'handle'): { handle: string; handle_ref: number } {
  if (typeof t === 'number') return { handle: String(checkHandle(t, argument)), handle_ref: 0 };
  if (t instanceof RefValue) return { handle: '0', handle_ref: checkRef(t.step, argument) + 1 };
  if (typeof t === 'object' && t !== null) {
    if ('ref' in t && !('handle' in t)) return { handle: '0', handle_ref: checkRef(t.ref, argument) + 1 };
    if ('handle' in t) return { handle: String(checkHandle(t.handle, argument)), handle_ref: 0 };
  }
  throw invalidArgument(argument, `expected an object, a handle or (in a Batch) a step reference, got ${shown(t)}`);
}

/** A user_handle as the wire's u64: refused here when out of range (protobufjs would wrap -1 or 2^70 silently). */
export function userHandleOf(u: number | bigint | string | undefined, argument = 'userHandle'): string {
  if (u === undefined) return '0';
  let b: bigint | null = null;
  try {
    b = typeof u === 'number' && !Number.isSafeInteger(u) ? null : BigInt(u);
  } catch {
    b = null;
  }
  if (b === null || b < 0n || b >= 1n << 64n) throw invalidArgument(argument, `expected an unsigned 64-bit integer, got ${String(u).slice(0, 64)}`);
  return b.toString();
}
