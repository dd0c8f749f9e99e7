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
import type { Access, AttrKind, AttrSpec, Validated } from '../attrs.js';
import type { MemoryRangeInit, SessionMemory } from '../memory-check.js';

/** A live object as handlers see it. */
export interface ObjectHandle<R extends ObjectRef = ObjectRef> {
  readonly handle: number;
  readonly type: string;
  readonly ref: R;
  readonly device: string;
}

export interface CallCtx<A = Validated> {
  readonly dev: DeviceContext;
  readonly device: string;
  readonly attrs: A;
}

// ------------------------------------------------------- typed attributes

/**
 * Object refs by type name, for typed handle attributes: each type's file
 * adds its own (`declare module './spec.js' { interface RefTypes { pd: PdRef } }`),
 * so a handle attribute declared `types: ['pd']` reads as an ObjectHandle<PdRef>.
 */
export interface RefTypes {}

type RefOf<T> = T extends keyof RefTypes ? RefTypes[T] : ObjectRef;

/** The validated value of one attribute, from its declaration (what the generic validator in ../attrs.ts returns for it). */
export type ValueOf<S> =
  S extends { readonly kind: 'u32' | 'flags' } ? number
  : S extends { readonly kind: 'u64' | 's64' } ? bigint
  : S extends { readonly kind: 'bool' } ? boolean
  : S extends { readonly kind: 'str' | 'gid' } ? string
  : S extends { readonly kind: 'bytes' } ? Buffer
  : S extends { readonly kind: 'enum'; readonly names: infer N } ? Extract<keyof N, string>
  : S extends { readonly kind: 'handle'; readonly types: readonly (infer T)[] } ? ObjectHandle<RefOf<T>>
  : S extends { readonly kind: 'handle' } ? ObjectHandle
  : S extends { readonly kind: 'struct'; readonly members: infer M extends readonly AttrSpec[] } ? AttrsOf<M>
  : S extends { readonly kind: 'list'; readonly members: infer M extends readonly AttrSpec[] } ? AttrsOf<M>[]
  : S extends { readonly kind: 'list'; readonly element: infer E extends AttrKind } ? ValueOf<{ readonly kind: E }>[]
  : S extends { readonly kind: 'list' } ? bigint[]
  : unknown;

type Inputs<S extends readonly AttrSpec[]> = Exclude<S[number], { readonly dir: 'out' }>;

/** A validated attribute map, typed from its declarations: mandatory attributes present, the others optional. */
export type AttrsOf<S extends readonly AttrSpec[]> = {
  readonly [A in Inputs<S> as A extends { readonly mandatory: true } ? A['name'] : never]: ValueOf<A>;
} & {
  readonly [A in Inputs<S> as A extends { readonly mandatory: true } ? never : A['name']]?: ValueOf<A>;
};

/** Memory a client handed in (over the fd channel) for an MR: its pages, not a copy. */
export type HandedMemory =
  | { readonly kind: 'memfd'; readonly fd: number; readonly offset: number }
  | { readonly kind: 'dmabuf'; readonly fd: number; readonly offset: number; readonly iova: bigint };

export interface CreateCtx<A = Validated> extends CallCtx<A> {
  /** The handle the new object will have; pass it to the backend as its tag. */
  readonly tag: number;
  /** Handed-in memory, for types whose create declares `takesMemory`. */
  readonly memory: HandedMemory | null;
}

export interface TargetCtx<R extends ObjectRef = ObjectRef, A = Validated> extends CallCtx<A> {
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
  /** The handler (method syntax: a typed handler from {@link typed} is one of these). */
  run(c: TargetCtx): Promise<PlainMap>;
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
   * Driver-specific types: whether a device has this type, from its context
   * (whether it implements the driver's ops). Describe lists the type only
   * on such devices, and everything else about it answers UNSUPPORTED
   * there. Without it a type exists on every device.
   */
  readonly availableOn?: (dev: DeviceContext) => boolean;
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
    charge?(attrs: Validated): number;
    run(c: CreateCtx): Promise<CreateResult>;
  };
  /** Destroy cannot take attributes; it may fail (EBUSY) only when the reason is an explicit destroy. */
  destroy?(obj: ObjectHandle, dev: DeviceContext): Promise<PlainMap | void>;
  readonly query?: OpsSpec & {
    readonly out?: readonly AttrSpec[];
    run(c: TargetCtx): Promise<PlainMap>;
  };
  readonly modify?: OpsSpec & {
    readonly attrs: readonly AttrSpec[];
    run(c: TargetCtx): Promise<PlainMap>;
  };
  readonly methods: Readonly<Record<string, MethodSpec>>;
}

/** The namespace bit for driver-specific object and method ids (as UVERBS_API_NS_FLAG). */
export const DRIVER_NAMESPACE = 0x1000;

/** Method ids of the generic verbs; type-specific methods start at 16. */
export const METHOD_IDS = { create: 0, destroy: 1, query: 2, modify: 3 } as const;

type AttrMore = Omit<AttrSpec, 'name' | 'id' | 'kind'>;
/** A declared attribute with its literal name, kind and options kept (for {@link AttrsOf}). */
export type Attr<N extends string, K extends AttrKind, M> = { readonly name: N; readonly id: number; readonly kind: K } & M;

/** Helper for declaring attribute specs tersely; the literal types are kept, so handlers read them typed. */
export function attr<const N extends string, const K extends AttrKind, const M extends AttrMore = {}>(name: N, id: number, kind: K, more?: M): Attr<N, K, M> {
  // One of the casts that stay: without `more`, M is its default {} and
  // spreading undefined adds nothing; TypeScript types the spread of
  // `M | undefined` as partial, which it cannot see is M here.
  return { name, id, kind, ...(more as M) };
}
export function out<const N extends string, const K extends AttrKind, const M extends Omit<AttrMore, 'dir'> = {}>(name: N, id: number, kind: K, more?: M): Attr<N, K, M & { readonly dir: 'out' }> {
  // The cast that stays in attr(), for the same reason.
  return { name, id, kind, dir: 'out', ...(more as M) };
}

/**
 * An enum's name table from its names in value order (each name's value is
 * its index, as enum ibv_event_type's), keeping the names' literal type so an
 * enum attribute declared with it reads as their union.
 */
export function indexedNames<const N extends string>(names: readonly N[]): Readonly<Record<N, number>> {
  // A cast that stays: Object.fromEntries types its keys as string; it cannot see they are exactly the names.
  return Object.fromEntries(names.map((n, i) => [n, i])) as Record<N, number>;
}

/**
 * Typed declarations for a type whose objects hold refs of type R: each
 * helper returns its argument unchanged, typed so that the handler's
 * attributes are {@link AttrsOf} its declarations and `c.obj.ref` is an R.
 * The tables store the wide forms (MethodSpec and the create / query /
 * modify / destroy members of ObjectTypeSpec); handlers are declared with
 * method syntax there, so a typed handler is one of them without a cast.
 */
export function typed<R extends ObjectRef>() {
  return {
    method<const A extends readonly AttrSpec[]>(m: Omit<MethodSpec, 'attrs' | 'run'> & { readonly attrs: A; run(c: TargetCtx<R, AttrsOf<A>>): Promise<PlainMap> }): MethodSpec {
      return m;
    },
    create<const A extends readonly AttrSpec[]>(c: Omit<NonNullable<ObjectTypeSpec['create']>, 'attrs' | 'run' | 'charge'> & {
      readonly attrs: A;
      charge?(attrs: AttrsOf<A>): number;
      run(c: CreateCtx<AttrsOf<A>>): Promise<CreateResult>;
    }): NonNullable<ObjectTypeSpec['create']> {
      return c;
    },
    modify<const A extends readonly AttrSpec[]>(m: OpsSpec & { readonly attrs: A; run(c: TargetCtx<R, AttrsOf<A>>): Promise<PlainMap> }): NonNullable<ObjectTypeSpec['modify']> {
      return m;
    },
    query(q: OpsSpec & { readonly out?: readonly AttrSpec[]; run(c: TargetCtx<R, Validated>): Promise<PlainMap> }): NonNullable<ObjectTypeSpec['query']> {
      return q;
    },
    destroy(fn: (obj: ObjectHandle<R>, dev: DeviceContext) => Promise<PlainMap | void>): NonNullable<ObjectTypeSpec['destroy']> {
      return fn;
    },
  };
}
