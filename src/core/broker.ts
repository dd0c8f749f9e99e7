/**
 * The broker: the core's one entry for the transports (gRPC, the fd
 * channel, the fast lane). It holds the tables (objects, sessions, devices,
 * accounting, registered memory) and hands every verb to the one runner
 * (./runner.ts); session end, device loss and shutdown go through the
 * lifecycle (./lifecycle.ts), audit records through ./audit.ts. The gRPC
 * layer calls only this class; it never sees gRPC types, and it sees the
 * device only through the backend interface.
 */
import type { Logger } from 'pino';
import { ASYNC_EVENT_NAMES, type MrRef } from '../verbs/abi.js';
import type { Backend, BackendEvent } from '../verbs/backend.js';
import { HandleValue, type PlainMap } from '../wire/values.js';
import { Audit } from './audit.js';
import { BrokerError, mixedDevices, quote } from './errors.js';
import { DeviceTable } from './devices.js';
import { Lifecycle } from './lifecycle.js';
import { Registry, matches, type BrokerObject, type ChangeKind, type ListFilter, type SessionLabels } from './registry.js';
import { Runner, type BatchOutcome, type BatchStep, type CreateArgs } from './runner.js';
import { DEFAULT_SESSION_LIMITS, SessionTable, type EndReason, type Session, type SessionLimits } from './sessions.js';
import { OBJECT_TYPES } from './types/index.js';
import { METHOD_IDS, type ObjectTypeSpec } from './types/spec.js';
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

export type { BatchOutcome, BatchStep, CreateArgs, StepResult, VerbCall, VerbResult } from './runner.js';

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
  /** The one method runner every verb goes through. */
  readonly runner: Runner;
  readonly lifecycle: Lifecycle;
  private readonly log: Logger;
  private readonly audit: Audit;
  private stopping = false;

  constructor(private readonly opts: BrokerOptions) {
    this.log = opts.log;
    this.audit = new Audit(opts.log, opts.auditLog);
    this.sessions = new SessionTable({ ...DEFAULT_SESSION_LIMITS, ...opts.sessions }, (s, r) => this.endSession(s, r));
    this.devices = new DeviceTable(opts.backend, opts.log, (d, t, e) => this.onDeviceEvent(d, t, e));
    this.accounting = new Accounting(opts.quotas);
    this.lifecycle = new Lifecycle({ registry: this.registry, devices: this.devices, accounting: this.accounting, memory: this.memory, sessions: this.sessions, log: this.log });
    const self = this;
    const host = {
      registry: this.registry,
      devices: this.devices,
      accounting: this.accounting,
      memory: this.memory,
      lifecycle: this.lifecycle,
      audit: this.audit,
      log: this.log,
      get dataPath(): DataPath {
        return self.dataPath;
      },
      get stopping(): boolean {
        return self.stopping;
      },
    };
    this.runner = new Runner(host);
    this.dataPath = new DataPath({ registry: this.registry, memory: this.memory, runner: this.runner });
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
    s.closed = this.lifecycle.releaseOwned(s, reason === 'shutdown' ? 'shutdown' : 'session_end').finally(() => {
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

  // ------------------------------------------------------------------ verbs

  /** Writes one audit record (`"audit": true`) to the log and to the audit log, if any. */
  auditRecord(fields: Record<string, unknown>, msg: string): void {
    this.audit.record(fields, msg);
  }

  async create(s: Session, a: CreateArgs, refs?: readonly (number | null)[]): Promise<BrokerObject> {
    return (await this.runner.run(s, { verb: 'create', args: a }, refs)).object!;
  }

  async query(s: Session, handle: number): Promise<BrokerObject> {
    return (await this.runner.run(s, { verb: 'query', handle })).object!;
  }

  async modify(s: Session, handle: number, attrs: PlainMap, refs?: readonly (number | null)[]): Promise<BrokerObject> {
    return (await this.runner.run(s, { verb: 'modify', handle, attrs }, refs)).object!;
  }

  async destroy(s: Session, handle: number): Promise<PlainMap> {
    return (await this.runner.run(s, { verb: 'destroy', handle })).attrs;
  }

  async invoke(s: Session, handle: number, device: string, method: string, attrs: PlainMap, refs?: readonly (number | null)[]): Promise<PlainMap> {
    return (await this.runner.run(s, { verb: 'invoke', handle, device, method, attrs }, refs)).attrs;
  }

  /** See {@link Runner.checkBatch}. */
  checkBatch(s: Session, steps: readonly BatchStep[]): void {
    this.runner.checkBatch(s, steps);
  }

  /** See {@link Runner.batch}. */
  batch(s: Session, steps: BatchStep[]): Promise<BatchOutcome> {
    return this.runner.batch(s, steps);
  }

  /** The session's live object with this handle; another session's object answers NO_SUCH_HANDLE, as a missing one. */
  resolve(s: Session, handle: number): BrokerObject {
    return this.runner.target(s, handle);
  }

  /**
   * For ibv_import_device: the command fd of the tenant's own context on a
   * device (owned by the context: send or dup it, never close it) and the
   * kernel handles of the session's objects named (of the types whose table
   * says `importable`). Only where the device supports import; the context
   * is the tenant's alone (DeviceTable opens one per tenant), since any
   * holder of the fd reaches every object in it.
   */
  async importDevice(s: Session, device: string, handles: readonly number[]): Promise<{ fd: number; objects: { handle: number; type: string; kernelHandle: number }[] }> {
    this.runner.checkSession(s);
    const d = this.devices.live(device);
    if (!d.caps.supportsImport) throw new BrokerError('UNSUPPORTED', `device ${device} (${d.listing.provider}) does not support ibv_import_device`);
    const objs = handles.map((h, i) => {
      const o = this.runner.target(s, h);
      if (!o.spec.importable) {
        const can = OBJECT_TYPES.filter((t) => t.importable).map((t) => t.name);
        throw new BrokerError('WRONG_TYPE', `handle ${h} is a ${o.type}: only ${can.join(', ')} objects can be imported`);
      }
      if (o.device !== device) throw mixedDevices('import', { obj: o, attribute: `import.handles[${i}]` }, device);
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

  // ------------------------------------------------------------------ events

  private onDeviceEvent(device: string, tenant: string | null, e: BackendEvent): void {
    if (e.kind === 'device_lost') {
      void this.lifecycle.deviceLost(device, this.runner.deviceTypeName);
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
    // Device and port events go to the sessions that opened the device (a
    // verb of theirs named it, Session.openDevice), as a uverbs async fd
    // hears only its own device's; once: the probe context and the tenants'
    // contexts all receive them, and only the probe's copy is delivered.
    if (tenant !== null) return;
    this.log.info({ device, event: e.type, port: e.port }, 'device event');
    const type = this.runner.deviceTypeName;
    const fanOut = (): void => {
      for (const s of this.sessions.all()) {
        if (s.hearsDevice(device)) s.emit({ kind: 'async', handle: 0, userHandle: '0', type, eventType: e.type, device, port: e.port ?? 0, time: now });
      }
      if (e.type === 'DEVICE_FATAL') void this.lifecycle.deviceLost(device, type);
    };
    // A port event changed what the port reports: listings show the new reading by the time a client hears of it.
    if (e.port !== null && e.type !== 'DEVICE_FATAL') void this.devices.refreshPort(device, e.port).then(fanOut);
    else fanOut();
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

  /** The object types for discovery: with a device, only those it has (driver-specific types where they exist). */
  describeTypes(device?: string): readonly ObjectTypeSpec[] {
    return this.describe(device).types;
  }

  /**
   * Discovery. With a device: its types (driver-specific ones where it has
   * them), the verbs it cannot serve, whether it imports. Without one, the
   * daemon's: every type that exists on at least one of its devices (a
   * driver-specific type only where some device has it; none without
   * devices), a verb unsupported only where no device that has its type
   * serves it, and import where some device has it.
   */
  describe(device?: string): Discovery {
    if (device !== undefined) {
      const d = this.devices.get(device);
      return { types: OBJECT_TYPES.filter((t) => !t.availableOn || t.availableOn(d.probe)), unsupported: d.caps.unsupported, supportsImport: d.caps.supportsImport };
    }
    const all = this.devices.list();
    const types = OBJECT_TYPES.filter((t) => all.some((d) => !t.availableOn || t.availableOn(d.probe)));
    const unsupported = new Set<string>();
    for (const t of types) {
      const having = all.filter((d) => !t.availableOn || t.availableOn(d.probe));
      for (const m of ['create', 'destroy', 'query', 'modify', ...Object.keys(t.methods)]) {
        const verb = `${t.name}.${m}`;
        if (having.length > 0 && having.every((d) => d.caps.unsupported.has(verb))) unsupported.add(verb);
      }
    }
    return { types, unsupported, supportsImport: all.some((d) => d.caps.supportsImport) };
  }

  // ---------------------------------------------------------------- shutdown

  /** Stops taking verbs, ends every session (destroying its objects) and closes the devices. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.lifecycle.shutdown();
  }
}

/** What Describe reports of a device, or of the whole daemon ({@link Broker.describe}). */
export interface Discovery {
  readonly types: readonly ObjectTypeSpec[];
  /** "type.method" of the verbs that answer UNSUPPORTED. */
  readonly unsupported: ReadonlySet<string>;
  readonly supportsImport: boolean;
}

export { METHOD_IDS };
/** What the adapters need of the backend's vocabulary, through the core (they never import verbs/). */
export { ASYNC_EVENT_NAMES, type MrRef };

export { HandleValue };
