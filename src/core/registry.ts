/**
 * The object table: every brokered object with its owner session and tenant,
 * the objects it holds (parents: PD of an MR, CQs of a QP) and the count of
 * objects holding it. The kernel bills every object to the daemon, so this
 * table is the only place that knows who owns what.
 *
 * Handles are opaque and never reused while the daemon runs, and they tell a
 * tenant nothing about anyone else's activity: they are a keyed permutation
 * of the creation count (handles.ts), not the count itself. Creation order is
 * kept apart from handle values: cleanup goes by commit order (the maps'
 * insertion order: a child always commits after what it holds) and listings
 * page by creation sequence (which a handle decodes back to).
 */
import { HANDLE_SPACE, HandleCipher } from './handles.js';
import type { PlainMap } from '../wire/values.js';
import type { ObjectRef } from '../verbs/abi.js';
import type { DeviceContext } from '../verbs/backend.js';
import type { Access } from './attrs.js';
import { BrokerError } from './errors.js';
import type { ObjectTypeSpec } from './types/spec.js';

export interface OwnerRef {
  readonly id: string;
  readonly tenant: string;
  /** Where the owner runs, as its listener named it (see {@link SessionLabels}). */
  readonly labels?: SessionLabels;
}

/**
 * Free-form names a listener attaches to the sessions opened on it (for
 * example the workload a per-allocation socket was made for: `namespace`,
 * `pod`, `container`). The core only carries them into listings, logs and
 * audit records.
 */
export type SessionLabels = Readonly<Record<string, string>>;

export interface BrokerObject {
  readonly handle: number;
  readonly spec: ObjectTypeSpec;
  readonly type: string;
  readonly device: string;
  readonly dev: DeviceContext;
  readonly owner: OwnerRef;
  readonly userHandle: string;
  readonly parents: readonly BrokerObject[];
  readonly created: number;
  ref: ObjectRef;
  attrs: PlainMap;
  bytes: number;
  /** The lkey under which the object's registered memory is in the session's memory index (objects whose create returned a range). */
  readonly memKey?: number;
  /** Live objects holding this one (its children). */
  users: number;
  /** Shared holders (verbs using it) and whether a writer/destroyer holds it. */
  readers: number;
  writer: boolean;
  dead: boolean;
}

export type ChangeKind = 'CREATED' | 'MODIFIED' | 'DESTROYED';
export type ChangeListener = (kind: ChangeKind, obj: BrokerObject) => void;

export interface ListFilter {
  device?: string;
  session?: string;
  type?: string;
  tenant?: string;
}

export function matches(o: BrokerObject, f: ListFilter): boolean {
  return (!f.device || o.device === f.device)
    && (!f.session || o.owner.id === f.session)
    && (!f.type || o.type === f.type)
    && (!f.tenant || o.owner.tenant === f.tenant);
}

/**
 * How many handles the registry computes at once: the cipher's calls and
 * buffers are the cost of a run, so a longer one is cheaper per handle
 * (64: 250 ns a handle, 256: 140 ns; one run of 256 takes about 40 µs).
 */
const HANDLE_RUN = 256;

export class Registry {
  private readonly cipher: HandleCipher;
  private next = 0;
  /** Handles computed ahead ({@link HandleCipher.handlesFrom}); `next` counts them as issued, `aheadAt` is the next one to hand out. */
  private ahead: number[] = [];
  private aheadAt = 0;
  /** The sequence number of `ahead[0]`. */
  private aheadBase = 0;
  /** Live (and not yet compacted dead) objects by creation sequence, for listings; `seqs` runs beside. */
  private ordered: BrokerObject[] = [];
  private seqs: number[] = [];
  private deadInOrder = 0;
  private readonly objects = new Map<number, BrokerObject>();
  private readonly byOwner = new Map<string, Map<number, BrokerObject>>();
  private readonly listeners = new Set<ChangeListener>();

  /** `key`: the handle permutation's key (tests); default a random one per run. */
  constructor(key?: Buffer) {
    this.cipher = new HandleCipher(key);
  }

  get size(): number {
    return this.objects.size;
  }

  /** Reserves a fresh handle (a create that fails just skips it). */
  allocHandle(): number {
    if (this.aheadAt === this.ahead.length) {
      // A run of handles at a time: one cipher call per Feistel round for all of them (handles.ts).
      this.ahead = this.cipher.handlesFrom(this.next, Math.min(HANDLE_RUN, HANDLE_SPACE - this.next));
      this.aheadAt = 0;
      this.aheadBase = this.next;
      this.next += this.ahead.length;
    }
    return this.ahead[this.aheadAt++]!;
  }

  get(handle: number): BrokerObject | undefined {
    return this.objects.get(handle);
  }

  /** Looks up an object the owner may use; everything else is NO_SUCH_HANDLE, never "not yours". */
  lookup(handle: number, owner: OwnerRef): BrokerObject {
    const o = this.objects.get(handle);
    if (!o || o.dead || o.owner.id !== owner.id) throw new BrokerError('NO_SUCH_HANDLE', `no such object: handle ${handle}`);
    return o;
  }

  commit(o: BrokerObject): void {
    this.objects.set(o.handle, o);
    let m = this.byOwner.get(o.owner.id);
    if (!m) this.byOwner.set(o.owner.id, (m = new Map()));
    m.set(o.handle, o);
    this.addOrdered(o);
    for (const p of o.parents) p.users++;
    this.emit('CREATED', o);
  }

  remove(o: BrokerObject): void {
    if (o.dead) return;
    o.dead = true;
    this.objects.delete(o.handle);
    this.byOwner.get(o.owner.id)?.delete(o.handle);
    this.deadInOrder++;
    if (this.deadInOrder > 1024 && this.deadInOrder * 2 > this.ordered.length) this.compactOrdered();
    for (const p of o.parents) p.users--;
    this.emit('DESTROYED', o);
  }

  modified(o: BrokerObject): void {
    this.emit('MODIFIED', o);
  }

  /**
   * The owner's objects, newest first: a valid children-first destroy order.
   * Memory windows come first whatever their age: nothing depends on one, and
   * a type 2 window bound through a QP holds that QP (rxe's QP destroy waits
   * about 50 s for the window's reference).
   */
  ownedNewestFirst(ownerId: string): BrokerObject[] {
    const m = this.byOwner.get(ownerId);
    return m ? cleanupOrder([...m.values()].reverse()) : [];
  }

  countOwned(ownerId: string): number {
    return this.byOwner.get(ownerId)?.size ?? 0;
  }

  dropOwner(ownerId: string): void {
    if (this.byOwner.get(ownerId)?.size === 0) this.byOwner.delete(ownerId);
  }

  /** Objects on a device in cleanup order (see cleanupOrder). */
  onDeviceNewestFirst(device: string): BrokerObject[] {
    return cleanupOrder([...this.objects.values()].filter((o) => o.device === device).reverse());
  }

  /**
   * A page of objects in creation order, channelz style: `start` is 0 or a
   * handle (the previous page's `next`), the page begins at that object's
   * place in creation order even if it was destroyed meanwhile.
   */
  list(filter: ListFilter, start: number, max: number): { objects: BrokerObject[]; end: boolean; next: number } {
    const out: BrokerObject[] = [];
    const from = start > 0 ? this.cipher.seqOf(start) : 0;
    if (from === null) return { objects: out, end: true, next: 0 };
    for (let i = this.lowerBound(from); i < this.ordered.length; i++) {
      const o = this.ordered[i]!;
      if (o.dead || !matches(o, filter)) continue;
      if (out.length === max) return { objects: out, end: false, next: o.handle };
      out.push(o);
    }
    return { objects: out, end: true, next: 0 };
  }

  /** The first index of `ordered` whose sequence is at least `seq`. */
  private lowerBound(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Commits come nearly in sequence order (creates that overlap can finish out of order). */
  private addOrdered(o: BrokerObject): void {
    // Mostly the handle just issued (a create commits before the next one
    // takes a handle); else decoded, which costs four cipher calls.
    const seq = this.aheadAt > 0 && this.ahead[this.aheadAt - 1] === o.handle ? this.aheadBase + this.aheadAt - 1 : this.cipher.seqOf(o.handle) ?? this.next;
    if (this.seqs.length === 0 || this.seqs[this.seqs.length - 1]! < seq) {
      this.ordered.push(o);
      this.seqs.push(seq);
      return;
    }
    const i = this.lowerBound(seq);
    this.ordered.splice(i, 0, o);
    this.seqs.splice(i, 0, seq);
  }

  private compactOrdered(): void {
    const ordered: BrokerObject[] = [];
    const seqs: number[] = [];
    this.ordered.forEach((o, i) => {
      if (o.dead) return;
      ordered.push(o);
      seqs.push(this.seqs[i]!);
    });
    this.ordered = ordered;
    this.seqs = seqs;
    this.deadInOrder = 0;
  }

  all(): IterableIterator<BrokerObject> {
    return this.objects.values();
  }

  onChange(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(kind: ChangeKind, o: BrokerObject): void {
    for (const l of this.listeners) {
      try {
        l(kind, o);
      } catch {
        // A listener must not break the verb that changed the table.
      }
    }
  }
}

/**
 * The one cleanup order, for session end, shutdown and device loss: by the
 * type table's destroyOrder (lower first), then newest first, which is
 * children first (a child is always created after what it holds).
 * `newestFirst` must already be newest first; the sort is stable.
 */
export function cleanupOrder(newestFirst: BrokerObject[]): BrokerObject[] {
  return newestFirst.sort((a, b) => (a.spec.destroyOrder ?? 1) - (b.spec.destroyOrder ?? 1));
}

/** Who waits for an object's locks to be released (see lockReleased). */
const releaseWaiters = new WeakMap<BrokerObject, (() => void)[]>();

/**
 * Resolves once no verb holds the object (no reader, no writer), or after
 * `maxMs`: the fence cleanup waits on for in-flight verbs instead of a sleep.
 */
export function lockReleased(o: BrokerObject, maxMs: number): Promise<void> {
  if (!o.writer && o.readers === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, maxMs);
    timer.unref?.();
    const list = releaseWaiters.get(o) ?? [];
    list.push(done);
    releaseWaiters.set(o, list);
    function done(): void {
      clearTimeout(timer);
      resolve();
    }
  });
}

/**
 * Object locks, as the kernel's uverbs_try_lock_object: shared for read
 * access, exclusive for write and destroy, and never waiting: a conflicting
 * verb gets LOCKED (ABORTED: retry works) at once.
 */
export function tryLock(o: BrokerObject, access: Access): void {
  if (access === 'read') {
    if (o.writer) throw new BrokerError('LOCKED', `${o.type} ${o.handle} is being modified or destroyed`);
    o.readers++;
  } else {
    if (o.writer || o.readers > 0) throw new BrokerError('LOCKED', `${o.type} ${o.handle} is in use by another verb`);
    o.writer = true;
  }
}

export function unlock(o: BrokerObject, access: Access): void {
  if (access === 'read') o.readers--;
  else o.writer = false;
  if (o.writer || o.readers > 0) return;
  const waiters = releaseWaiters.get(o);
  if (!waiters) return;
  releaseWaiters.delete(o);
  for (const w of waiters) w();
}
