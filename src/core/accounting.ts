/**
 * Per-tenant accounting and quotas. The kernel's rdma cgroup offers only
 * hca_handle and hca_object, charged to the daemon; the broker counts per
 * tenant and per type, registered bytes and sessions, and refuses a verb
 * that would exceed a limit before it reaches the device (nothing partial).
 */
import { BrokerError } from './errors.js';

export interface TenantQuota {
  /** Total objects (like the rdma cgroup's hca_object). */
  objects?: number;
  /** Sessions (like hca_handle: each session may open contexts). */
  sessions?: number;
  /** Bytes of registered memory. */
  bytes?: number;
  /** Per object type: { qp: 64, mr: 1024 }. */
  types?: Record<string, number>;
}

export interface QuotaPolicy {
  quotaFor(tenant: string): TenantQuota | undefined;
}

export interface TenantUsage {
  objects: number;
  objectsHigh: number;
  sessions: number;
  sessionsHigh: number;
  bytes: number;
  bytesHigh: number;
  types: Map<string, { current: number; high: number }>;
  /** "type.method" -> result ("ok", or an error code) -> count */
  verbs: Map<string, Map<string, number>>;
}

function newUsage(): TenantUsage {
  return { objects: 0, objectsHigh: 0, sessions: 0, sessionsHigh: 0, bytes: 0, bytesHigh: 0, types: new Map(), verbs: new Map() };
}

export class Accounting {
  private readonly usage = new Map<string, TenantUsage>();

  constructor(public policy: QuotaPolicy | undefined) {}

  of(tenant: string): TenantUsage {
    let u = this.usage.get(tenant);
    if (!u) this.usage.set(tenant, (u = newUsage()));
    return u;
  }

  tenants(): IterableIterator<[string, TenantUsage]> {
    return this.usage.entries();
  }

  checkSession(tenant: string): void {
    const q = this.policy?.quotaFor(tenant);
    const u = this.of(tenant);
    if (q?.sessions !== undefined && u.sessions + 1 > q.sessions) {
      throw new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant}: session quota ${q.sessions} reached`);
    }
  }

  sessionOpened(tenant: string): void {
    const u = this.of(tenant);
    u.sessions++;
    u.sessionsHigh = Math.max(u.sessionsHigh, u.sessions);
  }

  sessionClosed(tenant: string): void {
    this.of(tenant).sessions--;
  }

  /** Reserves one object of `type` (and `bytes`) or throws QUOTA_EXCEEDED, changing nothing. */
  charge(tenant: string, type: string, bytes: number): void {
    const u = this.of(tenant);
    const q = this.policy?.quotaFor(tenant);
    let t = u.types.get(type);
    if (!t) u.types.set(type, (t = { current: 0, high: 0 }));
    if (q) {
      if (q.objects !== undefined && u.objects + 1 > q.objects) {
        throw new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant}: object quota ${q.objects} reached`);
      }
      const tq = q.types?.[type];
      if (tq !== undefined && t.current + 1 > tq) {
        throw new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant}: ${type} quota ${tq} reached`);
      }
      if (q.bytes !== undefined && bytes > 0 && u.bytes + bytes > q.bytes) {
        throw new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant}: registered-memory quota ${q.bytes} bytes would be exceeded`);
      }
    }
    u.objects++;
    t.current++;
    u.bytes += bytes;
    u.objectsHigh = Math.max(u.objectsHigh, u.objects);
    t.high = Math.max(t.high, t.current);
    u.bytesHigh = Math.max(u.bytesHigh, u.bytes);
  }

  uncharge(tenant: string, type: string, bytes: number): void {
    this.released(tenant, type, bytes);
  }

  adjustBytes(tenant: string, delta: number): void {
    const u = this.of(tenant);
    u.bytes += delta;
    u.bytesHigh = Math.max(u.bytesHigh, u.bytes);
  }

  released(tenant: string, type: string, bytes: number): void {
    const u = this.of(tenant);
    u.objects--;
    u.bytes -= bytes;
    const t = u.types.get(type);
    if (t) t.current--;
  }

  record(tenant: string, type: string, method: string, result: string): void {
    const u = this.of(tenant);
    const key = `${type}.${method}`;
    let m = u.verbs.get(key);
    if (!m) u.verbs.set(key, (m = new Map()));
    m.set(result, (m.get(result) ?? 0) + 1);
  }
}
