/**
 * The object table: every brokered object with its owner session and tenant,
 * the objects it holds (parents: PD of an MR, CQs of a QP) and the count of
 * objects holding it. The kernel bills every object to the daemon, so this
 * table is the only place that knows who owns what.
 *
 * Handles are opaque, only grow, and are never reused while the daemon runs:
 * a per-run random prefix in the high bits makes handles from an earlier run
 * answer NOT_FOUND instead of naming someone else's object.
 */
import { randomInt } from 'node:crypto';
import type { PlainMap } from '../wire/values.js';
import type { DeviceContext, ObjectRef } from '../verbs/backend.js';
import type { Access } from './attrs.js';
import { BrokerError } from './errors.js';
import type { ObjectTypeSpec } from './types/spec.js';

export interface OwnerRef {
  readonly id: string;
  readonly tenant: string;
}

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

export class Registry {
  private readonly prefix = randomInt(1, 0x10000) * 2 ** 32;
  private next = 1;
  private readonly objects = new Map<number, BrokerObject>();
  private readonly byOwner = new Map<string, Map<number, BrokerObject>>();
  private readonly listeners = new Set<ChangeListener>();

  get size(): number {
    return this.objects.size;
  }

  /** Reserves a fresh handle (a create that fails just skips it). */
  allocHandle(): number {
    return this.prefix + this.next++;
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
    for (const p of o.parents) p.users++;
    this.emit('CREATED', o);
  }

  remove(o: BrokerObject): void {
    if (o.dead) return;
    o.dead = true;
    this.objects.delete(o.handle);
    this.byOwner.get(o.owner.id)?.delete(o.handle);
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
    if (!m) return [];
    const all = [...m.values()].reverse();
    return [...all.filter((o) => o.type === 'mw'), ...all.filter((o) => o.type !== 'mw')];
  }

  countOwned(ownerId: string): number {
    return this.byOwner.get(ownerId)?.size ?? 0;
  }

  dropOwner(ownerId: string): void {
    if (this.byOwner.get(ownerId)?.size === 0) this.byOwner.delete(ownerId);
  }

  /** Objects on a device, newest first. */
  onDeviceNewestFirst(device: string): BrokerObject[] {
    return [...this.objects.values()].filter((o) => o.device === device).reverse();
  }

  /** A page of objects in handle order, channelz style. */
  list(filter: ListFilter, start: number, max: number): { objects: BrokerObject[]; end: boolean; next: number } {
    const out: BrokerObject[] = [];
    for (const o of this.objects.values()) {
      if (o.handle < start || !matches(o, filter)) continue;
      if (out.length === max) return { objects: out, end: false, next: o.handle };
      out.push(o);
    }
    return { objects: out, end: true, next: 0 };
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
 * Object locks, as the kernel's uverbs_try_lock_object: shared for read
 * access, exclusive for write and destroy, and never waiting: a conflicting
 * verb gets BUSY at once.
 */
export function tryLock(o: BrokerObject, access: Access): void {
  if (access === 'read') {
    if (o.writer) throw new BrokerError('BUSY', `${o.type} ${o.handle} is being modified or destroyed`);
    o.readers++;
  } else {
    if (o.writer || o.readers > 0) throw new BrokerError('BUSY', `${o.type} ${o.handle} is in use by another verb`);
    o.writer = true;
  }
}

export function unlock(o: BrokerObject, access: Access): void {
  if (access === 'read') o.readers--;
  else o.writer = false;
}
