/**
 * The shape of an object type declaration. Each object type is one file in
 * this folder that exports one {@link ObjectTypeSpec}: its wire id, its
 * methods and their attributes as data, and thin handlers that only convert
 * validated attributes, call the backend and return output attributes. The
 * runner (../runner.ts) does everything else: lookup, session checks,
 * capability, validation, locks, quotas, registry commit/abort, accounting
 * and audit. What differs between types is declared here as data or as a
 * hook ({@link ObjectTypeSpec.deviceScoped}, {@link ObjectTypeSpec.importable},
 * {@link ObjectTypeSpec.destroyOrder}, `create.charge`, {@link MethodSpec.posts}),
 * so the runner names no type.
 */
import type { PlainMap } from '../../wire/values.js';
import type { ObjectRef } from '../../verbs/abi.js';
import type { DeviceContext, OptionalOp } from '../../verbs/backend.js';
import type { Access, AttrSpec, Validated } from '../attrs.js';
import type { MemoryRangeInit, SessionMemory } from '../memory-check.js';

/** A live object as handlers see it. */
export interface ObjectHandle<R extends ObjectRef = ObjectRef> {
  readonly handle: number;
  readonly type: string;
  readonly ref: R;
  readonly device: string;
}

export interface CallCtx {
  readonly dev: DeviceContext;
  readonly device: string;
  readonly attrs: Validated;
}

/** Memory a client handed in (over the fd channel) for an MR: its pages, not a copy. */
export type HandedMemory =
  | { readonly kind: 'memfd'; readonly fd: number; readonly offset: number }
  | { readonly kind: 'dmabuf'; readonly fd: number; readonly offset: number; readonly iova: bigint };

export interface CreateCtx extends CallCtx {
  /** The handle the new object will have; pass it to the backend as its tag. */
  readonly tag: number;
  /** Handed-in memory, for types whose create declares `takesMemory`. */
  readonly memory: HandedMemory | null;
}

export interface TargetCtx<R extends ObjectRef = ObjectRef> extends CallCtx {
  readonly obj: ObjectHandle<R>;
  /** The calling session's registered memory: what its work requests may name (../memory-check.ts). */
  readonly mem: SessionMemory;
}

export interface CreateResult {
  ref: ObjectRef;
  /** Output attributes, kept as the object's key attributes in listings. */
  attrs: PlainMap;
  /** Bytes of registered memory to account (MRs). */
  bytes?: number;
  /** Memory the session may now name in work requests (MRs): the broker indexes it for the memory checks. */
  memory?: MemoryRangeInit;
}

export interface MethodSpec {
  readonly id: number;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  readonly out?: readonly AttrSpec[];
  /** The lock taken on the target object (the kernel's access of the method's handle). */
  readonly lock: Access;
  /** The optional backend ops the method calls ({@link OpsSpec}). */
  readonly ops?: readonly OptionalOp[];
  readonly run: (c: TargetCtx<any>) => Promise<PlainMap>;
  /**
   * Methods whose reply can be large (MR reads, polls): an upper bound of the
   * encoded reply for these attributes, as the client sent them (not yet
   * validated; see {@link sizeArg}). A Batch adds the bounds of its steps up
   * and refuses, before doing any work, one whose reply could not be sent.
   * Without it a step's reply counts as small (a few KiB).
   */
  readonly replyBytes?: (attrs: PlainMap) => number;
  /**
   * The method posts work requests: WRs the session queued on another
   * transport (the fast lane) reach the device first, so one queue sees
   * them in the order the client issued them.
   */
  readonly posts?: boolean;
}

/**
 * A size attribute as a client sent it, for {@link MethodSpec.replyBytes}:
 * the value when it is an integer in [0, max], `dflt` when it is absent, and
 * `max` for anything else (validation refuses it later anyway).
 */
export function sizeArg(v: unknown, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'bigint' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max ? n : max;
}

/**
 * The optional backend ops (../../verbs/backend.ts OptionalOps) a verb
 * calls. A device that does not implement one of them lists the verb as
 * unsupported in Describe and refuses it (./index.ts unsupportedMethods):
 * support is derived from the backend's ops, never kept by hand.
 */
export interface OpsSpec {
  readonly ops?: readonly OptionalOp[];
}

export interface ObjectTypeSpec {
  readonly name: string;
  /**
   * Wire id: append, never renumber. The broker's own numbering, not the
   * kernel's UVERBS_OBJECT_* (see index.ts). Driver-specific types set DRIVER_NAMESPACE.
   */
  readonly id: number;
  readonly doc: string;
  readonly readOnly?: boolean;
  readonly driver?: boolean;
  /**
   * Where the type stands in cleanup (session end, shutdown, device loss):
   * lower goes first, newest first within one value; default 1. Memory
   * windows are 0: a bound type 2 window holds its QP and MR on the device,
   * so it goes before them whatever its age.
   */
  readonly destroyOrder?: number;
  /**
   * Daemon fds one object holds for its life (the memfd behind an MR, a
   * completion channel's fd), counted against the tenant's fd quota.
   */
  readonly fds?: number;
  /**
   * The type is the device itself: its methods are invoked with handle 0 and
   * a device name, on the device's probe context (no object to look up).
   */
  readonly deviceScoped?: boolean;
  /** Objects of this type may be shared through ibv_import_device (their kernel handle handed out). */
  readonly importable?: boolean;
  readonly create?: OpsSpec & {
    readonly doc: string;
    readonly attrs: readonly AttrSpec[];
    readonly out?: readonly AttrSpec[];
    /** Whether create accepts handed-in memory (CreateArgs.memory). */
    readonly takesMemory?: boolean;
    /**
     * Bytes of registered memory the new object will pin, from its validated
     * attributes: charged against the tenant's byte quota before the device
     * is called (and corrected by {@link CreateResult.bytes}). Default 0.
     */
    readonly charge?: (attrs: Validated) => number;
    readonly run: (c: CreateCtx) => Promise<CreateResult>;
  };
  /** Destroy cannot take attributes; it may fail (EBUSY) only when the reason is an explicit destroy. */
  readonly destroy?: (obj: ObjectHandle<any>, dev: DeviceContext) => Promise<PlainMap | void>;
  readonly query?: OpsSpec & {
    readonly out?: readonly AttrSpec[];
    readonly run: (c: TargetCtx<any>) => Promise<PlainMap>;
  };
  readonly modify?: OpsSpec & {
    readonly attrs: readonly AttrSpec[];
    readonly run: (c: TargetCtx<any>) => Promise<PlainMap>;
  };
  readonly methods: Readonly<Record<string, MethodSpec>>;
}

/** The namespace bit for driver-specific object and method ids (as UVERBS_API_NS_FLAG). */
export const DRIVER_NAMESPACE = 0x1000;

/** Method ids of the generic verbs; type-specific methods start at 16. */
export const METHOD_IDS = { create: 0, destroy: 1, query: 2, modify: 3 } as const;

/** Helper for declaring attribute specs tersely. */
export function attr(name: string, id: number, kind: AttrSpec['kind'], more: Omit<AttrSpec, 'name' | 'id' | 'kind'> = {}): AttrSpec {
  return { name, id, kind, ...more };
}
export function out(name: string, id: number, kind: AttrSpec['kind'], more: Omit<AttrSpec, 'name' | 'id' | 'kind' | 'dir'> = {}): AttrSpec {
  return { name, id, kind, dir: 'out', ...more };
}
