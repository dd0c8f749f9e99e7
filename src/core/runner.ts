/**
 * The one method runner, as the kernel's uverbs_ioctl: every verb (create,
 * query, modify, destroy, invoke; each Batch step; the fd channel's and the
 * fast lane's calls) goes through {@link Runner.run} or, for the fast lane's
 * pre-decoded work requests, through its lean entry {@link Runner.enter} and
 * {@link Runner.finish}, so each rule is written once:
 *
 *   1. look the method up in the type table (./types/),
 *   2. check the session, the device state and the device's capability,
 *   3. validate the attributes and resolve their handles to the session's
 *      objects, each with the access its table declares (new, read, write,
 *      destroy),
 *   4. lock them all (never waiting: a conflict is LOCKED at once),
 *   5. run the handler,
 *   6. commit (create: the object enters the table) or abort (nothing left),
 *   7. account and audit, once.
 *
 * Create follows the kernel's alloc-begin -> commit | abort: validate and
 * resolve every handle, take the object locks, charge the tenant, call the
 * device, and only then commit the object to the table. A failure anywhere
 * leaves nothing behind.
 *
 * The runner names no object type: what differs between types is declared
 * in their tables (deviceScoped, importable, create.charge, posts,
 * destroyOrder, fds, takesMemory).
 */
import pino, { type Logger } from 'pino';
import type { DeviceContext } from '../verbs/backend.js';
import type { PlainMap } from '../wire/values.js';
import type { RefValue } from '../wire/values.js';
import { validateMap, type Access, type AttrSpec, type ResolveCtx, type Validated } from './attrs.js';
import type { Accounting } from './accounting.js';
import type { Audit } from './audit.js';
import type { DataPath } from './datapath.js';
import type { DeviceEntry, DeviceTable } from './devices.js';
import { BrokerError, asBrokerError, mixedDevices, quote, type Placed } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import { checkAttrTree, checkName, checkUserHandle, LIMITS } from './limits.js';
import type { MemoryIndex } from './memory-check.js';
import { tryLock, unlock, type BrokerObject, type Registry } from './registry.js';
import type { Session } from './sessions.js';
import { OBJECT_TYPES, TYPES_BY_NAME } from './types/index.js';
import type { HandedMemory, MethodSpec, ObjectHandle, ObjectTypeSpec, TargetCtx } from './types/spec.js';

export interface CreateArgs {
  type: string;
  device: string;
  attrs: PlainMap;
  userHandle: string;
  /** Objects whose create declares `takesMemory`: memory a client handed in over the fd channel (the caller keeps and closes the fd). */
  memory?: HandedMemory;
}

/** One call of a generic verb, as every transport hands it to the runner. */
export type VerbCall =
  | { readonly verb: 'create'; readonly args: CreateArgs }
  | { readonly verb: 'query' | 'destroy'; readonly handle: number }
  | { readonly verb: 'modify'; readonly handle: number; readonly attrs: PlainMap }
  | { readonly verb: 'invoke'; readonly handle: number; readonly device: string; readonly method: string; readonly attrs: PlainMap };

export type Verb = VerbCall['verb'];

/** What a verb gives back: the object (create, query, modify) or output attributes (destroy, invoke). */
export interface VerbResult {
  readonly object: BrokerObject | null;
  readonly attrs: PlainMap;
}

export type BatchStep =
  | { verb: 'create'; args: CreateArgs }
  | { verb: 'query'; handle: number | RefValue }
  | { verb: 'modify'; handle: number | RefValue; attrs: PlainMap }
  | { verb: 'destroy'; handle: number | RefValue }
  | { verb: 'invoke'; handle: number | RefValue; device: string; method: string; attrs: PlainMap }
  /** A step the transport could not decode (no verb, say): the Batch stops there with this error. */
  | { verb: 'invalid'; error: BrokerError };

export type StepResult =
  | { verb: 'create' | 'query' | 'modify'; object: BrokerObject }
  | { verb: 'destroy'; attrs: PlainMap }
  | { verb: 'invoke'; attrs: PlainMap };

export interface BatchOutcome {
  results: StepResult[];
  failed: { index: number; error: BrokerError } | null;
}

/** What the runner needs of the broker. */
export interface RunnerHost {
  readonly registry: Registry;
  readonly devices: DeviceTable;
  readonly accounting: Accounting;
  readonly memory: MemoryIndex;
  readonly lifecycle: Lifecycle;
  readonly audit: Audit;
  readonly log: Logger;
  readonly dataPath: DataPath;
  readonly stopping: boolean;
}

/**
 * A verb of one type, from its table: the generic verbs and the type's own
 * methods in one shape. `access` is what the verb takes on its target (the
 * kernel's UVERBS_ACCESS_NEW / READ / WRITE / DESTROY).
 */
export interface Method {
  readonly type: ObjectTypeSpec;
  /** The name capabilities and accounting use: create, query, modify, destroy or the method's own. */
  readonly name: string;
  /** "type.name": the key of capabilities and accounting, built once. */
  readonly key: string;
  readonly attrs: readonly AttrSpec[];
  readonly access: Access | 'new';
  readonly posts: boolean;
  readonly run: ((c: TargetCtx) => Promise<PlainMap>) | null;
}

interface Held {
  obj: BrokerObject;
  access: Access;
  /** The attribute that named it (none for the target): for a refusal's message only. */
  path?: () => string;
}

/** A held object as {@link mixedDevices} names it. */
function placed(x: Held): Placed {
  return x.path ? { obj: x.obj, attribute: x.path() } : { obj: x.obj };
}

/** Per call: what the audit record and the accounting name, filled in as the call is resolved. */
interface Trace {
  readonly verb: Verb;
  type: string;
  handle: number;
  device: string;
  method: string;
  /** The method's "type.method" key, once known. */
  key: string;
  audited: boolean;
  /** Type and method known: the outcome is accounted under them. */
  accounted: boolean;
}

const NO_REFS: readonly (number | null)[] = [];
/** The parents of an object that holds none (most creates: PD, CQ, ...): one shared empty list. */
const NO_PARENTS: readonly BrokerObject[] = Object.freeze([]);
const NO_ATTRS: PlainMap = {};

export class Runner {
  /** The type whose methods name the device itself (handle 0), from the table. */
  private readonly deviceType: ObjectTypeSpec | undefined = OBJECT_TYPES.find((t) => t.deviceScoped);
  /** Per device entry: the handle device-scoped methods see as their target. */
  private readonly deviceHandles = new WeakMap<DeviceEntry, ObjectHandle>();
  /** Per type: its generic verbs as {@link Method}s (the tables are static data). */
  private readonly generic = new WeakMap<ObjectTypeSpec, Map<string, Method>>();
  /** Per method table entry: its {@link Method}. */
  private readonly invokable = new WeakMap<MethodSpec, Method>();
  private readonly resolver: Resolver;
  /** The log's level value when {@link debugOn} last asked, and whether it logged debug then. */
  private debugAt: unknown = undefined;
  private debugWas = false;

  constructor(private readonly h: RunnerHost) {
    this.resolver = new Resolver(h.registry);
  }

  /** The name events use for the device itself (the device-scoped type's). */
  get deviceTypeName(): string {
    return this.deviceType?.name ?? 'device';
  }

  // ------------------------------------------------------------- the tables

  typeSpec(name: string): ObjectTypeSpec {
    const t = TYPES_BY_NAME.get(name);
    if (!t) throw new BrokerError('UNKNOWN_TYPE', `unknown object type ${quote(name)} (known: ${[...TYPES_BY_NAME.keys()].join(', ')})`);
    return t;
  }

  /** The type's verb (`verb` a generic one, or invoke with `method`), or UNKNOWN_METHOD / READ_ONLY. */
  private method(spec: ObjectTypeSpec, verb: Verb, method: string): Method {
    if (verb === 'invoke') {
      const m = Object.hasOwn(spec.methods, method) ? spec.methods[method] : undefined;
      if (!m) throw new BrokerError('UNKNOWN_METHOD', `${spec.name} has no method ${quote(method)} (methods: ${Object.keys(spec.methods).join(', ') || 'none'})`);
      let r = this.invokable.get(m);
      if (!r) {
        r = { type: spec, name: method, key: `${spec.name}.${method}`, attrs: m.attrs, access: m.lock, posts: m.posts === true, run: m.run };
        this.invokable.set(m, r);
      }
      return r;
    }
    let verbs = this.generic.get(spec);
    if (!verbs) {
      verbs = new Map();
      if (spec.create && !spec.readOnly) verbs.set('create', { type: spec, name: 'create', key: `${spec.name}.create`, attrs: spec.create.attrs, access: 'new', posts: false, run: null });
      verbs.set('query', { type: spec, name: 'query', key: `${spec.name}.query`, attrs: [], access: 'read', posts: false, run: spec.query?.run ?? null });
      if (spec.modify) verbs.set('modify', { type: spec, name: 'modify', key: `${spec.name}.modify`, attrs: spec.modify.attrs, access: 'write', posts: false, run: spec.modify.run });
      verbs.set('destroy', { type: spec, name: 'destroy', key: `${spec.name}.destroy`, attrs: [], access: 'destroy', posts: false, run: null });
      this.generic.set(spec, verbs);
    }
    const r = verbs.get(verb);
    if (r) return r;
    if (verb === 'create') throw new BrokerError('READ_ONLY', `${spec.name} objects are pre-existing and cannot be created`);
    throw new BrokerError('UNKNOWN_METHOD', `${spec.name} objects cannot be modified`);
  }

  private checkSupported(d: DeviceEntry, m: Method): void {
    // A driver-specific type exists only on its driver's devices: there, as any method the device lacks.
    if (m.type.availableOn && !m.type.availableOn(d.probe)) {
      throw new BrokerError('UNSUPPORTED', `device ${d.name} (${d.listing.provider}) has no ${m.type.name} objects (a driver-specific type)`);
    }
    if (d.caps.unsupported.has(m.key)) {
      throw new BrokerError('UNSUPPORTED', `${m.key} is not supported by device ${d.name} (${d.listing.provider})`);
    }
  }

  checkSession(s: Session): void {
    if (s.state === 'closing' || s.state === 'closed') throw new BrokerError('NO_SESSION', 'the session ended');
    if (this.h.stopping) throw new BrokerError('SHUTTING_DOWN', 'the daemon is shutting down');
  }

  /** The session's live object with this handle; another session's object answers NO_SUCH_HANDLE, as a missing one. */
  target(s: Session, handle: number): BrokerObject {
    this.checkSession(s);
    return this.h.registry.lookup(handle, s);
  }

  private ownedOrNull(s: Session, handle: number): BrokerObject | null {
    const o = this.h.registry.get(handle);
    return o && !o.dead && o.owner.id === s.id ? o : null;
  }

  // ------------------------------------------------------------- the runner

  /**
   * Runs one verb: the seven steps above, each once. The steps that need no
   * device run synchronously here ({@link execute}); the rest is one async
   * function per kind of verb ({@link create}, {@link operate}) that accounts
   * and audits its own outcome, so a verb is one promise deep in the broker
   * (each async level costs a promise and its microtasks, per verb).
   */
  run(s: Session, call: VerbCall, refs: readonly (number | null)[] = NO_REFS): Promise<VerbResult> {
    const t: Trace = {
      verb: call.verb,
      type: call.verb === 'create' ? call.args.type : '',
      handle: call.verb === 'create' ? 0 : call.handle,
      device: call.verb === 'create' ? call.args.device : call.verb === 'invoke' ? call.device : '',
      method: call.verb === 'invoke' ? call.method : '',
      key: '',
      // Verbs that change the table are audited whatever happens; others once known to (see below).
      audited: call.verb === 'create' || call.verb === 'modify' || call.verb === 'destroy',
      accounted: false,
    };
    try {
      return this.execute(s, call, refs, t);
    } catch (e) {
      // Refused before anything reached the device.
      this.settle(s, t, e);
      return Promise.reject(e);
    }
  }

  /** Step 7: the outcome (`e` undefined: ok) accounted and audited, as far as the call was resolved. */
  private settle(s: Session, t: Trace, e?: unknown): void {
    const label = e === undefined ? 'ok' : errorLabel(e);
    if (t.accounted) this.h.accounting.recordKey(s.tenant, t.key, label);
    if (t.audited) this.h.audit.verb(s, t.verb, t.type, t.handle, t.device, label, t.verb === 'invoke' ? t.method : '');
  }

  /**
   * Steps 1 and 2, synchronously: the target, its method, the device and
   * its capability. Throws what it refuses (the caller settles); what it
   * returns settles itself.
   */
  private execute(s: Session, call: VerbCall, refs: readonly (number | null)[], t: Trace): Promise<VerbResult> {
    const h = this.h;
    this.checkSession(s);
    let input: PlainMap = NO_ATTRS;
    if (call.verb === 'create') {
      checkName(call.args.type, 'type');
      checkName(call.args.device, 'device');
      input = call.args.attrs;
      checkAttrTree(input, 'create');
    } else if (call.verb === 'invoke') {
      checkName(call.method, 'method');
      checkName(call.device, 'device');
      input = call.attrs;
      checkAttrTree(input, 'invoke');
    }

    // 1. The target and its type's method.
    let target: BrokerObject | null = null;
    let spec: ObjectTypeSpec;
    let d: DeviceEntry | null = null;
    if (call.verb === 'create') {
      spec = this.typeSpec(call.args.type);
    } else if (call.verb === 'invoke' && call.handle === 0 && this.deviceType) {
      spec = this.deviceType;
      d = h.devices.live(call.device);
      s.openDevice(d.name);
    } else {
      try {
        target = h.registry.lookup(call.handle, s);
      } catch (e) {
        // An attempt on a handle the caller does not own (or a stale one) is audited.
        t.audited = true;
        throw e;
      }
      spec = target.spec;
      t.type = target.type;
      t.device = target.device;
    }
    const m = this.method(spec, call.verb, call.verb === 'invoke' ? call.method : '');
    t.method = m.name;
    t.key = m.key;
    t.accounted = true;
    t.type = spec.name;
    if (m.access !== 'read') t.audited = true;
    if (call.verb === 'modify') {
      input = call.attrs;
      checkAttrTree(input, `${spec.name}.modify`);
    }

    // Destroy of an object others hold: EBUSY, retry is pointless until they go (FAILED_PRECONDITION).
    if (m.access === 'destroy' && target && target.users > 0) {
      throw new BrokerError('BUSY', `${target.type} ${target.handle} is still used by ${target.users} object(s)`, 16, `destroy ${target.type}`);
    }

    // 2. The device and its capability.
    if (target) d = h.devices.live(target.device);
    if (d) this.checkSupported(d, m);
    // WRs the session queued on its fast lane before this call reach the device first.
    if (m.posts && target) return this.flushThen(s, call, refs, t, spec, m, target, d, input);
    return this.prepare(s, call, refs, t, spec, m, target, d, input);
  }

  /** A posting method: the session's fast lane flushed first, then the rest of the verb. */
  private async flushThen(
    s: Session, call: VerbCall, refs: readonly (number | null)[], t: Trace, spec: ObjectTypeSpec, m: Method, target: BrokerObject, d: DeviceEntry | null, input: PlainMap,
  ): Promise<VerbResult> {
    let rest: Promise<VerbResult>;
    try {
      await this.h.dataPath.flush(s);
      rest = this.prepare(s, call, refs, t, spec, m, target, d, input);
    } catch (e) {
      this.settle(s, t, e);
      throw e;
    }
    // The rest settles itself.
    return await rest;
  }

  /** Step 3, synchronously: the attributes and their handles; then the verb's device part. Throws what it refuses. */
  private prepare(
    s: Session, call: VerbCall, refs: readonly (number | null)[], t: Trace, spec: ObjectTypeSpec, m: Method, target: BrokerObject | null, d: DeviceEntry | null, input: PlainMap,
  ): Promise<VerbResult> {
    const h = this.h;
    const where = m.key;
    // Without attribute specs nothing can add a handle: the shared empty list (most creates: PD, CQ).
    const held: Held[] = target ? [{ obj: target, access: m.access as Access }] : m.attrs.length === 0 ? NO_HELD : [];
    let memory: HandedMemory | null = null;
    let userHandle = '0';
    if (call.verb === 'create') {
      userHandle = checkUserHandle(call.args.userHandle);
      if (call.args.memory) {
        if (!spec.create?.takesMemory) throw new BrokerError('INVALID_ATTR', `${where}: this object type takes no memory fd`);
        memory = call.args.memory;
      }
    }
    const v = m.attrs.length === 0 && isEmpty(input) ? NO_VALIDATED : this.resolveAttrs(s, m.attrs, input, where, held, refs);
    if (call.verb === 'create') {
      const device = this.deviceOf(held, call.args.device, where);
      t.device = device;
      const dc = h.devices.live(device);
      s.openDevice(device);
      this.checkSupported(dc, m);
      return this.create(s, spec, dc, v, held, userHandle, memory, t);
    }
    for (const x of held) {
      if (x.obj.device !== d!.name) throw target ? mixedDevices(where, placed(held[0]!), placed(x)) : mixedDevices(where, placed(x), d!.name);
    }
    return this.operate(s, call, t, m, target, d!, v, held);
  }

  /** Query, modify, destroy and invoke: 4. locks, 5. the handler, 6. commit or abort, 7. settle. */
  private async operate(s: Session, call: VerbCall, t: Trace, m: Method, target: BrokerObject | null, d: DeviceEntry, v: Validated, held: Held[]): Promise<VerbResult> {
    const h = this.h;
    let r: VerbResult;
    try {
      this.lockAll(held);
      try {
        if (m.access === 'destroy') {
          const out = await h.lifecycle.removeObject(target!, 'destroy');
          this.debug(s, call.verb, t);
          r = { object: null, attrs: out };
        } else {
          const obj: ObjectHandle = target ?? this.deviceHandle(d);
          const dev: DeviceContext = target ? target.dev : d.probe;
          const out = m.run ? await m.run({ dev, device: d.name, attrs: v, obj, mem: h.memory.of(s) }) : NO_ATTRS;
          this.debug(s, call.verb, t);
          if (call.verb === 'invoke') r = { object: null, attrs: out };
          else {
            // Query and modify: the object's attributes as the device now has them.
            if (m.run) target!.attrs = { ...target!.attrs, ...out };
            if (call.verb === 'modify') h.registry.modified(target!);
            r = { object: target, attrs: NO_ATTRS };
          }
        }
      } finally {
        this.unlockAll(held);
      }
    } catch (e) {
      this.settle(s, t, e);
      throw e;
    }
    this.settle(s, t);
    return r;
  }

  /** Create's steps 4 to 7: charge, lock, call the device, commit (or undo it all), settle. */
  private async create(
    s: Session, spec: ObjectTypeSpec, d: DeviceEntry, attrs: Validated, held: Held[], userHandle: string, memory: HandedMemory | null, t: Trace,
  ): Promise<VerbResult> {
    const h = this.h;
    const c = spec.create!;
    let bytes = 0;
    let charged = false;
    let committed = false;
    let locked = false;
    let obj: BrokerObject;
    try {
      const parentSet = parentAttrsOf(c.attrs);
      // A QP whose send and receive CQ are one CQ holds it once (one parent, one user).
      let parents: readonly BrokerObject[] = NO_PARENTS;
      for (const x of held) {
        if (parents.includes(x.obj) || !parentSet.has(attrNameOf(attrs, x.obj))) continue;
        if (parents === NO_PARENTS) parents = [x.obj];
        else (parents as BrokerObject[]).push(x.obj);
      }
      bytes = c.charge?.(attrs) ?? 0;
      h.accounting.charge(s.tenant, spec.name, bytes, spec.fds ?? 0);
      charged = true;
      this.lockAll(held);
      locked = true;
      const dev = h.devices.openedContext(d, s.tenant) ?? await h.devices.contextFor(d.name, s.tenant);
      const handle = h.registry.allocHandle();
      const res = await c.run({ dev, device: d.name, attrs, tag: handle, memory });
      // One shape for every object (memKey undefined without memory): no spread, no second hidden class.
      obj = {
        handle, spec, type: spec.name, device: d.name, dev, owner: s, userHandle, parents,
        created: Date.now(), ref: res.ref, attrs: res.attrs, bytes: res.bytes ?? 0, memKey: res.memory ? res.memory.lkey : undefined,
        users: 0, readers: 0, writer: false, dead: false,
      };
      if (res.bytes !== undefined && res.bytes !== bytes) h.accounting.adjustBytes(s.tenant, res.bytes - bytes);
      h.registry.commit(obj);
      committed = true;
      t.handle = handle;
      if (res.memory) {
        // Field by field: a spread with more fields after it was a third of an MR's JS work here.
        const m = res.memory;
        h.memory.add(s.id, { handle, device: d.name, addr: m.addr, length: m.length, lkey: m.lkey, access: m.access, mapped: m.mapped });
      }
      if (this.debugOn()) h.log.debug({ session: s.id, tenant: s.tenant, verb: 'create', type: spec.name, handle, device: d.name }, 'verb');
      if (s.state === 'closing' || s.state === 'closed') {
        // The session ended while the device call ran: its cleanup pass has
        // already gone by, so this object is released here.
        this.unlockAll(held);
        locked = false;
        await h.lifecycle.removeObject(obj, 'session_end');
        // Released, not failed: nothing to undo, nothing to account.
        t.accounted = false;
        throw new BrokerError('NO_SESSION', 'the session ended');
      }
    } catch (e) {
      if (charged && !committed) h.accounting.uncharge(s.tenant, spec.name, bytes, spec.fds ?? 0);
      if (locked) this.unlockAll(held);
      this.settle(s, t, e);
      throw e;
    }
    if (locked) this.unlockAll(held);
    this.settle(s, t);
    return { object: obj, attrs: NO_ATTRS };
  }

  /**
   * Whether verbs are logged (debug), asked of pino only when the log's
   * level value has changed since the last answer: a level set at run time
   * on the log (or, inherited, on its parent) shows at once, and pino fixes
   * the levels and their order when a logger is made.
   */
  private debugOn(): boolean {
    const v = (this.h.log as unknown as Record<symbol, unknown>)[pino.symbols.levelValSym];
    if (v !== this.debugAt) {
      this.debugWas = this.h.log.isLevelEnabled('debug');
      this.debugAt = v;
    }
    return this.debugWas;
  }

  private debug(s: Session, verb: Verb, t: Trace): void {
    if (this.debugOn()) this.h.log.debug({ session: s.id, verb, type: t.type || this.deviceTypeName, method: t.method, handle: t.handle }, 'verb');
  }

  private deviceHandle(d: DeviceEntry): ObjectHandle {
    let o = this.deviceHandles.get(d);
    if (!o) {
      o = { handle: 0, type: this.deviceTypeName, ref: { tag: 0 }, device: d.name };
      this.deviceHandles.set(d, o);
    }
    return o;
  }

  /** Validates attributes, resolving handles to the session's objects and recording the locks to take. */
  private resolveAttrs(s: Session, specs: readonly AttrSpec[], attrs: PlainMap, where: string, held: Held[], refs: readonly (number | null)[]): Validated {
    // Validation is synchronous: one resolver serves every call in turn.
    const r = this.resolver;
    r.s = s;
    r.held = held;
    r.refs = refs;
    try {
      return validateMap(specs, attrs, where, r);
    } finally {
      r.s = null;
      r.held = NO_HELD;
      r.refs = NO_REFS;
    }
  }

  /** Takes every lock of `held`, in order, or none: on LOCKED the ones taken are released again. */
  private lockAll(held: readonly Held[]): void {
    let i = 0;
    try {
      for (; i < held.length; i++) tryLock(held[i]!.obj, held[i]!.access);
    } catch (e) {
      for (let j = 0; j < i; j++) unlock(held[j]!.obj, held[j]!.access);
      throw e;
    }
  }

  private unlockAll(held: readonly Held[]): void {
    for (const x of held) unlock(x.obj, x.access);
  }

  private deviceOf(held: Held[], requested: string, where: string): string {
    let device = '';
    for (const x of held) {
      if (!device) device = x.obj.device;
      else if (x.obj.device !== device) throw mixedDevices(where, placed(held[0]!), placed(x));
    }
    if (requested && device && requested !== device) throw mixedDevices(where, placed(held[0]!), requested);
    device ||= requested;
    if (!device) {
      const all = this.h.devices.list().filter((x) => x.state === 'live');
      if (all.length === 1 && all[0]) return all[0].name;
      throw new BrokerError('MISSING_ATTR', `${where}: name the device (the object has no parent handle)`);
    }
    return device;
  }

  // ------------------------------------------------------ the lean entries

  /**
   * A method for the lean entries, looked up in the table once (by the
   * transport, when it starts): UNKNOWN_METHOD if the table has no such one.
   */
  lean(type: ObjectTypeSpec, method: string): Method {
    return this.method(type, 'invoke', method);
  }

  /**
   * The fast lane's entry (./datapath.ts): steps 1 and 2 of the runner for
   * a method on a session's object whose attributes the transport decoded
   * itself: the session, the handle (NO_SUCH_HANDLE for another session's),
   * the type (WRONG_TYPE), the device state and the capability (a refusal
   * from there on is accounted here). The caller locks (the method's
   * declared access), runs, and reports with {@link finish}.
   */
  enter(s: Session, handle: number, m: Method, what: string): BrokerObject {
    this.checkSession(s);
    const o = this.h.registry.lookup(handle, s);
    if (o.spec !== m.type) throw new BrokerError('WRONG_TYPE', `${what}: handle ${handle} is a ${o.type}, expected ${m.type.name}`);
    try {
      this.checkSupported(this.h.devices.live(o.device), m);
    } catch (e) {
      // Type and method known: the refusal is accounted, as on the full path.
      this.finish(s, m, e);
      throw e;
    }
    return o;
  }

  /** Step 7 for a lean entry: the outcome accounted under the method (lean methods take read locks: not audited). */
  finish(s: Session, m: Method, e?: unknown): void {
    this.h.accounting.recordKey(s.tenant, m.key, e === undefined ? 'ok' : errorLabel(e));
  }

  // ------------------------------------------------------------------ Batch

  /**
   * Refuses, before any step runs, a Batch over {@link LIMITS.batchSteps}
   * steps or one whose reply could exceed {@link LIMITS.batchReplyBytes}
   * (the sum of its steps' {@link MethodSpec.replyBytes} bounds).
   */
  checkBatch(s: Session, steps: readonly BatchStep[]): void {
    if (steps.length > LIMITS.batchSteps) {
      throw new BrokerError('TOO_LARGE', `a Batch has at most ${LIMITS.batchSteps} steps, this one has ${steps.length}`);
    }
    let bytes = 0;
    for (let i = 0; i < steps.length; i++) {
      bytes += this.stepReplyBound(s, steps, i);
      if (bytes > LIMITS.batchReplyBytes) {
        throw new BrokerError('TOO_LARGE', `the reply of this Batch could exceed ${LIMITS.batchReplyBytes >> 20} MiB by step ${i}: split it (MR reads and polls count their length)`);
      }
    }
  }

  private stepReplyBound(s: Session, steps: readonly BatchStep[], i: number): number {
    const st = steps[i]!;
    if (st.verb !== 'invoke') return STEP_REPLY_BYTES;
    let spec: ObjectTypeSpec | undefined;
    if (typeof st.handle === 'number') spec = st.handle === 0 ? this.deviceType : this.ownedOrNull(s, st.handle)?.spec;
    else {
      const ref = steps[st.handle.step];
      if (st.handle.step < i && ref?.verb === 'create') spec = TYPES_BY_NAME.get(ref.args.type);
    }
    const m = spec && Object.hasOwn(spec.methods, st.method) ? spec.methods[st.method] : undefined;
    return STEP_REPLY_BYTES + (m?.replyBytes?.(st.attrs) ?? 0);
  }

  /**
   * Runs steps in order, each through {@link run}; a later step may name an
   * object created earlier (RefValue). Stops at the first error. Between
   * chunks of steps it yields to the event loop, so one Batch never holds
   * other sessions up for long.
   */
  async batch(s: Session, steps: BatchStep[]): Promise<BatchOutcome> {
    this.checkBatch(s, steps);
    const refs: (number | null)[] = [];
    const results: StepResult[] = [];
    const handleOf = (x: number | RefValue, i: number): number => {
      if (typeof x === 'number') return x;
      const r = refs[x.step];
      if (x.step >= i || r === undefined || r === null) throw new BrokerError('INVALID_ATTR', `step ${i}: step ${x.step} did not create an object before it`);
      return r;
    };
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i]!;
      if (i > 0 && i % LIMITS.batchChunk === 0) await yieldToLoop();
      try {
        // Step i sees only the refs of steps before it: refs holds exactly
        // i entries here (one per finished step), so no copy is needed.
        const visible = refs;
        switch (st.verb) {
          case 'create': {
            const r = await this.run(s, st, visible);
            refs.push(r.object!.handle);
            results.push({ verb: 'create', object: r.object! });
            break;
          }
          case 'query':
          case 'modify': {
            const call = callOf(st, handleOf(st.handle, i));
            refs.push(null);
            results.push({ verb: st.verb, object: (await this.run(s, call, visible)).object! });
            break;
          }
          case 'destroy':
          case 'invoke': {
            const call = callOf(st, handleOf(st.handle, i));
            refs.push(null);
            results.push({ verb: st.verb, attrs: (await this.run(s, call, visible)).attrs });
            break;
          }
          case 'invalid':
            throw st.error;
        }
      } catch (e) {
        const be = asBrokerError(e);
        if (!be) throw e;
        return { results, failed: { index: i, error: be } };
      }
    }
    return { results, failed: null };
  }
}

const NO_HELD: Held[] = [];

/**
 * The handle resolver of {@link Runner.resolveAttrs}: a handle attribute
 * names one of the session's objects (of a type the attribute accepts), a
 * Batch reference a step before this one that created an object. Set for
 * one validation at a time (validation never awaits).
 */
class Resolver implements ResolveCtx {
  s: Session | null = null;
  held: Held[] = NO_HELD;
  refs: readonly (number | null)[] = NO_REFS;

  constructor(private readonly registry: Registry) {}

  resolve(handle: number, spec: AttrSpec, path: () => string): BrokerObject {
    const o = this.registry.lookup(handle, this.s!);
    if (spec.types && !spec.types.includes(o.type)) {
      throw new BrokerError('WRONG_TYPE', `attribute ${path()}: handle ${handle} is a ${o.type}, expected ${spec.types.join(' or ')}`);
    }
    this.held.push({ obj: o, access: spec.access ?? 'read', path });
    return o;
  }

  ref(step: number, path: () => string): number {
    const r = this.refs[step];
    if (r === undefined || r === null) throw new BrokerError('INVALID_ATTR', `attribute ${path()}: batch step ${step} did not create an object`);
    return r;
  }
}

/** A Batch step's reply without a {@link MethodSpec.replyBytes} bound: an ObjectInfo with its attributes, or a few output attributes. */
const STEP_REPLY_BYTES = 8 << 10;

const NO_VALIDATED: Validated = Object.freeze({}) as Validated;

function isEmpty(m: PlainMap): boolean {
  for (const k in m) if (Object.hasOwn(m, k)) return false;
  return true;
}

/**
 * A Batch step on an object as the verb call it is: the step itself when it
 * names the handle as a number (the same fields), else a copy naming the
 * handle an earlier step created.
 */
function callOf(st: Exclude<BatchStep, { verb: 'create' | 'invalid' }>, handle: number): VerbCall {
  if (st.handle === handle) return st as VerbCall;
  switch (st.verb) {
    case 'query':
    case 'destroy':
      return { verb: st.verb, handle };
    case 'modify':
      return { verb: 'modify', handle, attrs: st.attrs };
    case 'invoke':
      return { verb: 'invoke', handle, device: st.device, method: st.method, attrs: st.attrs };
  }
}

/** Lets the event loop run timers and I/O (other sessions' calls, keepalives) before going on. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Per create attribute table (static data): the names of the attributes that name the parents. */
const parentAttrs = new WeakMap<readonly AttrSpec[], ReadonlySet<string>>();

function parentAttrsOf(specs: readonly AttrSpec[]): ReadonlySet<string> {
  let set = parentAttrs.get(specs);
  if (!set) {
    set = new Set(specs.filter((x) => x.parent).map((x) => x.name));
    parentAttrs.set(specs, set);
  }
  return set;
}

function attrNameOf(attrs: Validated, o: BrokerObject): string {
  for (const k in attrs) if (attrs[k] === o) return k;
  return '';
}

export function errorLabel(e: unknown): string {
  const b = asBrokerError(e);
  return b ? b.code : 'INTERNAL';
}
