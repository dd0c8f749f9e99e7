/**
 * The broker: the dispatcher of the generic verbs (create, query, modify,
 * destroy, invoke, batch), session lifecycle and cleanup, device loss, and
 * the inspection views. The gRPC layer calls only this class; it never sees
 * gRPC types, and it sees the device only through the backend interface.
 *
 * Create follows the kernel's alloc-begin -> commit | abort: validate and
 * resolve every handle, take the object locks, charge the tenant, call the
 * device, and only then commit the object to the table. A failure anywhere
 * leaves nothing behind.
 */
import type { Logger } from 'pino';
import { ASYNC_EVENT_NAMES, type MrRef } from '../verbs/abi.js';
import type { Backend, BackendEvent, DeviceContext } from '../verbs/backend.js';
import { VerbsError } from '../verbs/errno.js';
import { HandleValue, RefValue, type PlainMap } from '../wire/values.js';
import { validateMap, type Access, type AttrSpec, type ResolveCtx } from './attrs.js';
import { BrokerError, asBrokerError, quote } from './errors.js';
import { checkAttrTree, checkName, checkUserHandle, clip, LIMITS } from './limits.js';
import { DeviceTable, type DeviceEntry } from './devices.js';
import { Registry, lockReleased, matches, tryLock, unlock, type BrokerObject, type ChangeKind, type ListFilter, type SessionLabels } from './registry.js';
import { DEFAULT_SESSION_LIMITS, SessionTable, type EndReason, type Session, type SessionLimits } from './sessions.js';
import { TYPES_BY_NAME, OBJECT_TYPES } from './types/index.js';
import { METHOD_IDS, type HandedMemory, type MethodSpec, type ObjectTypeSpec } from './types/spec.js';
import { Accounting, type QuotaPolicy } from './accounting.js';
import { MemoryIndex } from './memory-check.js';
import { DataPath } from './datapath.js';


export interface BrokerOptions {
  backend: Backend;
  log: Logger;
  sessions?: Partial<SessionLimits>;
  quotas?: QuotaPolicy;
  /** A second destination for audit records (the daemon's --audit-log), besides the log. */
  auditLog?: Logger;
}

export interface CreateArgs {
  type: string;
  device: string;
  attrs: PlainMap;
  userHandle: string;
  /** MRs only: memory a client handed in over the fd channel (the caller keeps and closes the fd). */
  memory?: HandedMemory;
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

/** Why an object is being destroyed: only an explicit destroy may fail. */
type RemoveReason = 'destroy' | 'session_end' | 'device_lost' | 'shutdown';

/** How long cleanup waits for the in-flight verbs on an object before forcing its destroy. */
const FENCE_MS = 2000;

interface Held {
  obj: BrokerObject;
  access: Access;
}

export class Broker {
  readonly registry = new Registry();
  readonly sessions: SessionTable;
  readonly devices: DeviceTable;
  readonly accounting: Accounting;
  /**
   * Each session's MRs by device, lkey and address: what its work requests
   * may name (./memory-check.ts). Every path that posts work requests checks
   * against `memory.of(session)` before the backend sees them.
   */
  readonly memory = new MemoryIndex();
  /** The lean data-path entry points (post decoded WRs, poll, arm) for the fast lane. */
  readonly dataPath: DataPath;
  private readonly log: Logger;
  private readonly auditLog: Logger;
  private readonly auditExtra: Logger | null;
  /** Per session: the audit loggers with its tenant and id bound. */
  private readonly auditLoggers = new WeakMap<Session, { main: Logger; extra: Logger | null }>();
  private stopping = false;

  constructor(private readonly opts: BrokerOptions) {
    this.log = opts.log;
    this.auditLog = opts.log.child({ audit: true });
    this.auditExtra = opts.auditLog ?? null;
    this.sessions = new SessionTable({ ...DEFAULT_SESSION_LIMITS, ...opts.sessions }, (s, r) => this.endSession(s, r));
    this.devices = new DeviceTable(opts.backend, opts.log, (d, t, e) => this.onDeviceEvent(d, t, e));
    this.accounting = new Accounting(opts.quotas);
    const self = this;
    this.dataPath = new DataPath({
      registry: this.registry,
      devices: this.devices,
      accounting: this.accounting,
      memory: this.memory,
      get stopping() {
        return self.stopping;
      },
    });
  }

  get backendKind(): string {
    return this.opts.backend.kind;
  }

  async start(): Promise<void> {
    await this.devices.start();
  }

  // ---------------------------------------------------------------- sessions

  openSession(o: { name: string; tenant: string; peer: string; leaseMs: number; resumeGraceMs: number; labels?: SessionLabels }): Session {
    if (this.stopping) throw new BrokerError('SHUTTING_DOWN', 'the daemon is shutting down');
    this.accounting.checkSession(o.tenant);
    const s = this.sessions.open(o);
    this.accounting.sessionOpened(o.tenant);
    this.log.info({ session: s.id, tenant: s.tenant, name: s.name, peer: o.peer, labels: o.labels, leaseMs: s.opts.leaseMs, resumeGraceMs: s.opts.resumeGraceMs }, 'session opened');
    return s;
  }

  private endSession(s: Session, reason: EndReason): void {
    const count = this.registry.countOwned(s.id);
    this.log.info({ session: s.id, tenant: s.tenant, reason, objects: count }, 'session ending');
    s.closed = this.releaseOwned(s, reason === 'shutdown' ? 'shutdown' : 'session_end').finally(() => {
      this.sessions.forget(s);
      this.accounting.sessionClosed(s.tenant);
      this.registry.dropOwner(s.id);
      this.memory.drop(s.id);
      this.log.info({ session: s.id, tenant: s.tenant, reason, destroyed: count }, 'session ended');
    });
  }

  /** Ends a session at once (admin eviction). */
  async evict(sessionId: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s || s.state === 'closed') throw new BrokerError('NO_SUCH_SESSION', `no such session: ${quote(sessionId)}`);
    this.sessions.end(s, 'evicted');
    await s.closed;
  }

  /**
   * Destroys a session's objects in the one cleanup order (cleanupOrder in
   * src/core/registry.ts: the type tables' destroyOrder, then newest first).
   * Like the kernel's uverbs_destroy_ufile_hw, an object still in use is
   * retried in the next pass; a pass without progress waits for the in-flight
   * verbs on those objects (bounded), then ends with a forced pass.
   */
  private async releaseOwned(s: Session, reason: RemoveReason): Promise<void> {
    let pending = this.registry.ownedNewestFirst(s.id);
    while (pending.length > 0) {
      const retry: BrokerObject[] = [];
      for (const o of pending) {
        if (o.dead) continue;
        if (o.users > 0 || o.writer || o.readers > 0) {
          retry.push(o);
          continue;
        }
        await this.removeObject(o, reason);
      }
      if (retry.length === pending.length) {
        // No progress: a verb still holds something. Fence: wait (bounded) for the in-flight verbs to let go, then force.
        await Promise.all(retry.map((o) => lockReleased(o, FENCE_MS)));
        for (const o of retry) {
          if (!o.dead && o.users === 0) await this.removeObject(o, reason);
        }
        const left = retry.filter((o) => !o.dead);
        if (left.length === retry.length) {
          for (const o of left) await this.removeObject(o, reason, true);
          break;
        }
        pending = left;
        continue;
      }
      pending = retry;
    }
  }

  // ------------------------------------------------------------- dispatcher

  private typeSpec(name: string): ObjectTypeSpec {
    const t = TYPES_BY_NAME.get(name);
    if (!t) throw new BrokerError('UNKNOWN_TYPE', `unknown object type ${quote(name)} (known: ${[...TYPES_BY_NAME.keys()].join(', ')})`);
    return t;
  }

  private checkSupported(d: DeviceEntry, type: string, method: string): void {
    if (d.caps.unsupported.has(`${type}.${method}`)) {
      throw new BrokerError('UNSUPPORTED', `${type}.${method} is not supported by device ${d.name} (${d.listing.provider})`);
    }
  }

  /** Validates attributes, resolving handles to the session's objects and recording the locks to take. */
  private resolveAttrs(s: Session, specs: readonly AttrSpec[], attrs: PlainMap, where: string, held: Held[], refs: readonly (number | null)[]): PlainMap & Record<string, unknown> {
    const ctx: ResolveCtx = {
      resolve: (handle, spec, path) => {
        const o = this.registry.lookup(handle, s);
        if (spec.types && !spec.types.includes(o.type)) {
          throw new BrokerError('WRONG_TYPE', `attribute ${path}: handle ${handle} is a ${o.type}, expected ${spec.types.join(' or ')}`);
        }
        held.push({ obj: o, access: spec.access ?? 'read' });
        return o;
      },
      ref: (step, path) => {
        const h = refs[step];
        if (h === undefined || h === null) throw new BrokerError('INVALID_ATTR', `attribute ${path}: batch step ${step} did not create an object`);
        return h;
      },
    };
    return validateMap(specs, attrs, where, ctx) as PlainMap & Record<string, unknown>;
  }

  private lockAll(held: Held[]): Held[] {
    const taken: Held[] = [];
    try {
      for (const h of held) {
        tryLock(h.obj, h.access);
        taken.push(h);
      }
    } catch (e) {
      for (const h of taken) unlock(h.obj, h.access);
      throw e;
    }
    return taken;
  }

  private unlockAll(held: Held[]): void {
    for (const h of held) unlock(h.obj, h.access);
  }

  private deviceOf(held: Held[], requested: string, where: string): string {
    let device = '';
    for (const h of held) {
      if (!device) device = h.obj.device;
      else if (h.obj.device !== device) throw new BrokerError('INVALID_ATTR', `${where}: handles on different devices (${device}, ${h.obj.device})`);
    }
    if (requested && device && requested !== device) {
      throw new BrokerError('INVALID_ATTR', `${where}: device ${requested} does not match its parent's device ${device}`);
    }
    device ||= requested;
    if (!device) {
      const all = this.devices.list().filter((d) => d.state === 'live');
      if (all.length === 1 && all[0]) return all[0].name;
      throw new BrokerError('MISSING_ATTR', `${where}: name the device (the object has no parent handle)`);
    }
    return device;
  }

  // ------------------------------------------------------------------ audit

  /**
   * The audit trail: every mutating verb (create, modify, destroy, and the
   * methods that take a write lock: resize, attach/detach multicast) is
   * logged once, with its result, whether it succeeded or not. Data-path
   * methods (post, poll, notify, MR reads and writes) and queries are not.
   */
  private audit(s: Session, verb: string, type: string, handle: number, device: string, result: string, method = ''): void {
    // The session's loggers carry tenant and session pre-serialised (pino
    // child bindings), so a record serialises only the verb's own fields.
    let l = this.auditLoggers.get(s);
    if (!l) {
      const bound = s.labels ? { tenant: s.tenant, session: s.id, labels: s.labels } : { tenant: s.tenant, session: s.id };
      l = { main: this.auditLog.child(bound), extra: this.auditExtra?.child({ audit: true, ...bound }) ?? null };
      this.auditLoggers.set(s, l);
    }
    // type, device and method may be the client's own (unknown) names: logged as bounded prefixes.
    const rec = method
      ? { verb, type: clip(type), method: clip(method), handle, device: device ? clip(device) : undefined, result }
      : { verb, type: clip(type), handle, device: device ? clip(device) : undefined, result };
    l.main.info(rec, 'audit');
    l.extra?.info(rec, 'audit');
  }

  /** Writes one audit record (`"audit": true`) to the log and to the audit log, if any. */
  auditRecord(fields: Record<string, unknown>, msg: string): void {
    this.auditLog.info(fields, msg);
    this.auditExtra?.info({ audit: true, ...fields }, msg);
  }

  async create(s: Session, a: CreateArgs, refs: readonly (number | null)[] = []): Promise<BrokerObject> {
    try {
      const o = await this.doCreate(s, a, refs);
      this.audit(s, 'create', o.type, o.handle, o.device, 'ok');
      return o;
    } catch (e) {
      this.audit(s, 'create', a.type, 0, a.device, errorLabel(e));
      throw e;
    }
  }

  async modify(s: Session, handle: number, attrs: PlainMap, refs: readonly (number | null)[] = []): Promise<BrokerObject> {
    try {
      const o = await this.doModify(s, handle, attrs, refs);
      this.audit(s, 'modify', o.type, handle, o.device, 'ok');
      return o;
    } catch (e) {
      const o = this.ownedOrNull(s, handle);
      this.audit(s, 'modify', o?.type ?? '', handle, o?.device ?? '', errorLabel(e));
      throw e;
    }
  }

  async destroy(s: Session, handle: number): Promise<PlainMap> {
    const o = this.ownedOrNull(s, handle);
    try {
      const out = await this.doDestroy(s, handle);
      this.audit(s, 'destroy', o?.type ?? '', handle, o?.device ?? '', 'ok');
      return out;
    } catch (e) {
      this.audit(s, 'destroy', o?.type ?? '', handle, o?.device ?? '', errorLabel(e));
      throw e;
    }
  }

  async invoke(s: Session, handle: number, device: string, method: string, attrs: PlainMap, refs: readonly (number | null)[] = []): Promise<PlainMap> {
    const o = handle === 0 ? null : this.ownedOrNull(s, handle);
    const m = o && Object.hasOwn(o.spec.methods, method) ? o.spec.methods[method] : undefined;
    // A method on a handle the caller does not own is audited too: it is an
    // attempt on someone else's object (or a stale handle).
    const audited = handle !== 0 && (!o || (m !== undefined && m.lock !== 'read'));
    try {
      const out = await this.doInvoke(s, handle, device, method, attrs, refs);
      if (audited) this.audit(s, 'invoke', o?.type ?? '', handle, o?.device ?? device, 'ok', method);
      return out;
    } catch (e) {
      if (audited) this.audit(s, 'invoke', o?.type ?? '', handle, o?.device ?? device, errorLabel(e), method);
      throw e;
    }
  }

  private ownedOrNull(s: Session, handle: number): BrokerObject | null {
    const o = this.registry.get(handle);
    return o && o.owner.id === s.id ? o : null;
  }

  private async doCreate(s: Session, a: CreateArgs, refs: readonly (number | null)[] = []): Promise<BrokerObject> {
    this.checkSession(s);
    checkName(a.type, 'type');
    checkName(a.device, 'device');
    checkAttrTree(a.attrs, 'create');
    const userHandle = checkUserHandle(a.userHandle);
    const spec = this.typeSpec(a.type);
    if (spec.readOnly || !spec.create) throw new BrokerError('READ_ONLY', `${spec.name} objects are pre-existing and cannot be created`);
    const where = `${spec.name}.create`;
    if (a.memory && !spec.create.takesMemory) throw new BrokerError('INVALID_ATTR', `${where}: this object type takes no memory fd`);
    const held: Held[] = [];
    const attrs = this.resolveAttrs(s, spec.create.attrs, a.attrs, where, held, refs);
    const deviceName = this.deviceOf(held, a.device, where);
    const d = this.devices.live(deviceName);
    this.checkSupported(d, spec.name, 'create');
    const parentSet = parentAttrsOf(spec.create.attrs);
    // A QP whose send and receive CQ are one CQ holds it once (one parent, one user).
    const parents: BrokerObject[] = [];
    for (const h of held) if (!parents.includes(h.obj) && parentSet.has(attrNameOf(attrs, h.obj))) parents.push(h.obj);
    const bytes = spec.name === 'mr' ? Number(attrs.length as bigint) : 0;
    this.accounting.charge(s.tenant, spec.name, bytes, spec.fds ?? 0);
    let taken: Held[] = [];
    try {
      taken = this.lockAll(held);
      const dev = await this.devices.contextFor(deviceName, s.tenant);
      const handle = this.registry.allocHandle();
      const res = await spec.create.run({ dev, device: deviceName, attrs, tag: handle, memory: a.memory ?? null });
      const obj: BrokerObject = {
        handle, spec, type: spec.name, device: deviceName, dev, owner: s, userHandle, parents,
        created: Date.now(), ref: res.ref, attrs: res.attrs, bytes: res.bytes ?? 0, users: 0, readers: 0, writer: false, dead: false,
      };
      if (res.bytes !== undefined && res.bytes !== bytes) this.accounting.adjustBytes(s.tenant, res.bytes - bytes);
      this.registry.commit(obj);
      if (res.memory) this.memory.add(s.id, { ...res.memory, handle, device: deviceName });
      this.accounting.record(s.tenant, spec.name, 'create', 'ok');
      this.log.debug({ session: s.id, tenant: s.tenant, verb: 'create', type: spec.name, handle, device: deviceName }, 'verb');
      if (s.state === 'closing' || s.state === 'closed') {
        // The session ended while the device call ran: its cleanup pass has
        // already gone by, so this object is released here.
        this.unlockAll(taken);
        taken = [];
        await this.removeObject(obj, 'session_end');
        throw new BrokerError('NO_SESSION', 'the session ended');
      }
      return obj;
    } catch (e) {
      if (!(e instanceof BrokerError && e.code === 'NO_SESSION')) {
        this.accounting.uncharge(s.tenant, spec.name, bytes, spec.fds ?? 0);
        this.accounting.record(s.tenant, spec.name, 'create', errorLabel(e));
      }
      throw e;
    } finally {
      this.unlockAll(taken);
    }
  }

  private target(s: Session, handle: number): BrokerObject {
    this.checkSession(s);
    return this.registry.lookup(handle, s);
  }

  /** The session's live object with this handle; another session's object answers NO_SUCH_HANDLE, as a missing one. */
  resolve(s: Session, handle: number): BrokerObject {
    return this.target(s, handle);
  }

  /**
   * For ibv_import_device: the command fd of the tenant's own context on a
   * device (owned by the context: send or dup it, never close it) and the
   * kernel handles of the session's PDs and MRs named. Only where the
   * device supports import; the context is the tenant's alone (DeviceTable
   * opens one per tenant), since any holder of the fd reaches every object
   * in it.
   */
  async importDevice(s: Session, device: string, handles: readonly number[]): Promise<{ fd: number; objects: { handle: number; type: string; kernelHandle: number }[] }> {
    this.checkSession(s);
    const d = this.devices.live(device);
    if (!d.caps.supportsImport) throw new BrokerError('UNSUPPORTED', `device ${device} (${d.listing.provider}) does not support ibv_import_device`);
    const objs = handles.map((h) => {
      const o = this.target(s, h);
      if (o.type !== 'pd' && o.type !== 'mr') throw new BrokerError('WRONG_TYPE', `handle ${h} is a ${o.type}: only PDs and MRs can be imported`);
      if (o.device !== device) throw new BrokerError('INVALID_ATTR', `handle ${h} is on device ${o.device}, not ${device}`);
      return o;
    });
    const dev = await this.devices.contextFor(device, s.tenant);
    if (!dev.commandFd || !dev.kernelHandle) throw new BrokerError('UNSUPPORTED', `the ${dev.backend} backend cannot export a command fd`);
    const kh = dev.kernelHandle.bind(dev);
    return {
      fd: dev.commandFd(),
      objects: objs.map((o) => ({ handle: o.handle, type: o.type, kernelHandle: kh(o.ref as never) })),
    };
  }

  async query(s: Session, handle: number): Promise<BrokerObject> {
    const o = this.target(s, handle);
    if (!o.spec.query) return o;
    const held = this.lockAll([{ obj: o, access: 'read' }]);
    try {
      this.devices.live(o.device);
      const fresh = await o.spec.query.run({ dev: o.dev, device: o.device, attrs: {}, obj: o, mem: this.memory.of(s) });
      o.attrs = { ...o.attrs, ...fresh };
      this.accounting.record(s.tenant, o.type, 'query', 'ok');
      return o;
    } catch (e) {
      this.accounting.record(s.tenant, o.type, 'query', errorLabel(e));
      throw e;
    } finally {
      this.unlockAll(held);
    }
  }

  private async doModify(s: Session, handle: number, attrs: PlainMap, refs: readonly (number | null)[] = []): Promise<BrokerObject> {
    const o = this.target(s, handle);
    if (!o.spec.modify) throw new BrokerError('UNKNOWN_METHOD', `${o.type} objects cannot be modified`);
    const d = this.devices.live(o.device);
    this.checkSupported(d, o.type, 'modify');
    const held: Held[] = [{ obj: o, access: 'write' }];
    checkAttrTree(attrs, `${o.type}.modify`);
    const v = this.resolveAttrs(s, o.spec.modify.attrs, attrs, `${o.type}.modify`, held, refs);
    const taken = this.lockAll(held);
    try {
      const outAttrs = await o.spec.modify.run({ dev: o.dev, device: o.device, attrs: v, obj: o, mem: this.memory.of(s) });
      o.attrs = { ...o.attrs, ...outAttrs };
      this.registry.modified(o);
      this.accounting.record(s.tenant, o.type, 'modify', 'ok');
      this.log.debug({ session: s.id, verb: 'modify', type: o.type, handle }, 'verb');
      return o;
    } catch (e) {
      this.accounting.record(s.tenant, o.type, 'modify', errorLabel(e));
      throw e;
    } finally {
      this.unlockAll(taken);
    }
  }

  private async doDestroy(s: Session, handle: number): Promise<PlainMap> {
    const o = this.target(s, handle);
    if (o.users > 0) {
      this.accounting.record(s.tenant, o.type, 'destroy', 'BUSY');
      throw new BrokerError('BUSY', `${o.type} ${handle} is still used by ${o.users} object(s)`, 16, `destroy ${o.type}`);
    }
    tryLock(o, 'destroy');
    try {
      const out = await this.removeObject(o, 'destroy');
      this.accounting.record(s.tenant, o.type, 'destroy', 'ok');
      this.log.debug({ session: s.id, verb: 'destroy', type: o.type, handle }, 'verb');
      return out;
    } catch (e) {
      this.accounting.record(s.tenant, o.type, 'destroy', errorLabel(e));
      throw e;
    } finally {
      unlock(o, 'destroy');
    }
  }

  /**
   * Destroys one object on the device and drops it from the table. An
   * explicit destroy may fail and changes nothing then; any other reason
   * cannot fail: a device error is logged and the object is dropped (closing
   * the tenant's context reclaims it in the kernel), as libibverbs treats EIO
   * from a dead device as a successful destroy.
   */
  private async removeObject(o: BrokerObject, reason: RemoveReason, forced = false): Promise<PlainMap> {
    if (o.dead) return {};
    let out: PlainMap = {};
    // An MR leaves the memory index before the device lets go of it (and the
    // daemon unmaps it): no work request checked from here on may name it.
    const range = o.type === 'mr' ? this.memory.remove(o.owner.id, o.device, o.handle, (o.ref as MrRef).lkey) : undefined;
    try {
      if (o.spec.destroy) out = (await o.spec.destroy(o, o.dev)) ?? {};
    } catch (e) {
      const lost = this.devices.list().find((d) => d.name === o.device)?.state === 'lost';
      const eio = e instanceof VerbsError && e.errno === 5;
      if (reason === 'destroy' && !lost && !eio) {
        if (range) this.memory.add(o.owner.id, range);
        throw e;
      }
      if (!lost && !eio) this.log.warn({ err: e, handle: o.handle, type: o.type, reason, forced }, 'destroy failed during cleanup; dropping the object');
    }
    this.registry.remove(o);
    this.accounting.released(o.owner.tenant, o.type, o.bytes, o.spec.fds ?? 0);
    if (reason !== 'destroy') {
      this.log.debug({ session: o.owner.id, tenant: o.owner.tenant, handle: o.handle, type: o.type, device: o.device, reason, forced }, 'object released');
    }
    return out;
  }

  private async doInvoke(s: Session, handle: number, device: string, method: string, attrs: PlainMap, refs: readonly (number | null)[] = []): Promise<PlainMap> {
    this.checkSession(s);
    checkName(method, 'method');
    checkName(device, 'device');
    checkAttrTree(attrs, 'invoke');
    let spec: ObjectTypeSpec;
    let target: BrokerObject | null = null;
    let d: DeviceEntry;
    if (handle === 0) {
      spec = this.typeSpec('device');
      d = this.devices.live(device);
    } else {
      target = this.target(s, handle);
      spec = target.spec;
      d = this.devices.live(target.device);
    }
    const m: MethodSpec | undefined = Object.hasOwn(spec.methods, method) ? spec.methods[method] : undefined;
    if (!m) {
      throw new BrokerError('UNKNOWN_METHOD', `${spec.name} has no method ${quote(method)} (methods: ${Object.keys(spec.methods).join(', ') || 'none'})`);
    }
    this.checkSupported(d, spec.name, method);
    // WRs the session queued on its fast lane before this call reach the device first.
    if (target && (method === 'post_send' || method === 'post_recv')) await this.dataPath.flush(s);
    const held: Held[] = target ? [{ obj: target, access: m.lock }] : [];
    const v = this.resolveAttrs(s, m.attrs, attrs, `${spec.name}.${method}`, held, refs);
    for (const h of held) {
      if (h.obj.device !== d.name) throw new BrokerError('INVALID_ATTR', `${spec.name}.${method}: handle ${h.obj.handle} is on another device`);
    }
    const taken = this.lockAll(held);
    try {
      const dev: DeviceContext = target ? target.dev : d.probe;
      const out = await m.run({ dev, device: d.name, attrs: v, obj: target ?? { handle: 0, type: 'device', ref: { tag: 0 }, device: d.name }, mem: this.memory.of(s) });
      this.accounting.record(s.tenant, spec.name, method, 'ok');
      if (this.log.isLevelEnabled('debug')) this.log.debug({ session: s.id, verb: 'invoke', type: spec.name, method, handle }, 'verb');
      return out;
    } catch (e) {
      this.accounting.record(s.tenant, spec.name, method, errorLabel(e));
      throw e;
    } finally {
      this.unlockAll(taken);
    }
  }

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
    let type: string | undefined;
    if (typeof st.handle === 'number') type = st.handle === 0 ? 'device' : this.ownedOrNull(s, st.handle)?.type;
    else {
      const ref = steps[st.handle.step];
      if (st.handle.step < i && ref?.verb === 'create') type = ref.args.type;
    }
    const spec = type !== undefined ? TYPES_BY_NAME.get(type) : undefined;
    const m = spec && Object.hasOwn(spec.methods, st.method) ? spec.methods[st.method] : undefined;
    return STEP_REPLY_BYTES + (m?.replyBytes?.(st.attrs) ?? 0);
  }

  /**
   * Runs steps in order; a later step may name an object created earlier
   * (RefValue). Stops at the first error. Between chunks of steps it yields
   * to the event loop, so one Batch never holds other sessions up for long.
   */
  async batch(s: Session, steps: BatchStep[]): Promise<BatchOutcome> {
    this.checkBatch(s, steps);
    const refs: (number | null)[] = [];
    const results: StepResult[] = [];
    const handleOf = (h: number | RefValue, i: number): number => {
      if (typeof h === 'number') return h;
      const r = refs[h.step];
      if (h.step >= i || r === undefined || r === null) throw new BrokerError('INVALID_ATTR', `step ${i}: step ${h.step} did not create an object before it`);
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
            const o = await this.create(s, st.args, visible);
            refs.push(o.handle);
            results.push({ verb: 'create', object: o });
            break;
          }
          case 'query':
            refs.push(null);
            results.push({ verb: 'query', object: await this.query(s, handleOf(st.handle, i)) });
            break;
          case 'modify':
            refs.push(null);
            results.push({ verb: 'modify', object: await this.modify(s, handleOf(st.handle, i), st.attrs, visible) });
            break;
          case 'destroy':
            refs.push(null);
            results.push({ verb: 'destroy', attrs: await this.destroy(s, handleOf(st.handle, i)) });
            break;
          case 'invoke':
            refs.push(null);
            results.push({ verb: 'invoke', attrs: await this.invoke(s, handleOf(st.handle, i), st.device, st.method, st.attrs, visible) });
            break;
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

  private checkSession(s: Session): void {
    if (s.state === 'closing' || s.state === 'closed') throw new BrokerError('NO_SESSION', 'the session ended');
    if (this.stopping) throw new BrokerError('SHUTTING_DOWN', 'the daemon is shutting down');
  }

  // ------------------------------------------------------------------ events

  private onDeviceEvent(device: string, tenant: string | null, e: BackendEvent): void {
    if (e.kind === 'device_lost') {
      void this.deviceLost(device);
      return;
    }
    const now = Date.now();
    if (e.kind === 'completion') {
      const o = this.registry.get(e.cq);
      if (!o) return;
      // A CQ a fast lane drains: the event is the lane's trigger, not the client's.
      if (this.dataPath.claimCompletion(o)) return;
      this.sessions.get(o.owner.id)?.emit({
        kind: 'completion', handle: o.handle, userHandle: o.userHandle, type: o.type, eventType: '', device, port: 0, time: now, channel: e.channel,
      });
      return;
    }
    if (e.tag !== null && e.tag !== 0) {
      const o = this.registry.get(e.tag);
      if (!o) return;
      this.log.info({ device, handle: o.handle, type: o.type, event: e.type, session: o.owner.id }, 'async event');
      this.sessions.get(o.owner.id)?.emit({
        kind: 'async', handle: o.handle, userHandle: o.userHandle, type: o.type, eventType: e.type, device, port: e.port ?? 0, time: now,
      });
      return;
    }
    // Device and port events go to every session of the device's tenants,
    // once: the probe context and the tenants' contexts all receive them.
    if (tenant !== null) return;
    this.log.info({ device, event: e.type, port: e.port }, 'device event');
    for (const s of this.sessions.all()) {
      s.emit({ kind: 'async', handle: 0, userHandle: '0', type: 'device', eventType: e.type, device, port: e.port ?? 0, time: now });
    }
    if (e.type === 'DEVICE_FATAL') void this.deviceLost(device);
  }

  private async deviceLost(device: string): Promise<void> {
    const d = this.devices.list().find((x) => x.name === device);
    if (!d || d.state === 'lost') return;
    this.devices.markLost(device);
    const objs = this.registry.onDeviceNewestFirst(device);
    this.log.warn({ device, objects: objs.length }, 'device lost: releasing its objects');
    const told = new Set<string>();
    const now = Date.now();
    for (const o of objs) {
      const s = this.sessions.get(o.owner.id);
      if (s && !told.has(s.id)) {
        told.add(s.id);
        s.emit({ kind: 'device_lost', handle: 0, userHandle: '0', type: 'device', eventType: 'DEVICE_FATAL', device, port: 0, time: now });
      }
    }
    for (const o of objs) {
      if (o.dead) continue;
      await this.removeObject(o, 'device_lost');
      this.sessions.get(o.owner.id)?.emit({
        kind: 'object_released', handle: o.handle, userHandle: o.userHandle, type: o.type, eventType: '', device, port: 0, time: now,
      });
    }
    await this.devices.closeContexts(d, true);
  }

  // -------------------------------------------------------------- inspection

  list(filter: ListFilter, start: number, max: number): { objects: BrokerObject[]; end: boolean; next: number } {
    return this.registry.list(filter, start, Math.min(Math.max(max || 100, 1), 10_000));
  }

  watch(filter: ListFilter, cb: (kind: ChangeKind, o: BrokerObject) => void): () => void {
    return this.registry.onChange((k, o) => {
      if (matches(o, filter)) cb(k, o);
    });
  }

  describeTypes(): readonly ObjectTypeSpec[] {
    return OBJECT_TYPES;
  }

  // ---------------------------------------------------------------- shutdown

  /** Stops taking verbs, ends every session (destroying its objects) and closes the devices. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const all = [...this.sessions.all()];
    for (const s of all) this.sessions.end(s, 'shutdown');
    await Promise.all(all.map((s) => s.closed));
    this.sessions.stop();
    await this.devices.stop();
  }
}

export { METHOD_IDS };
/** What the adapters need of the backend's vocabulary, through the core (they never import verbs/). */
export { ASYNC_EVENT_NAMES, type MrRef };

/** A Batch step's reply without a {@link MethodSpec.replyBytes} bound: an ObjectInfo with its attributes, or a few output attributes. */
const STEP_REPLY_BYTES = 8 << 10;

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

function attrNameOf(attrs: Record<string, unknown>, o: BrokerObject): string {
  for (const [k, v] of Object.entries(attrs)) if (v === o) return k;
  return '';
}

function errorLabel(e: unknown): string {
  const b = asBrokerError(e);
  return b ? b.code : 'INTERNAL';
}

export { HandleValue };
