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
  /**
   * Daemon fds held for the tenant: the memfd behind each MR, completion
   * channels, fd-channel connections and event mirrors. Default: the
   * daemon's per-tenant share ({@link FdLimits.perTenant}).
   */
  fds?: number;
  /** Per object type: { qp: 64, mr: 1024 }. */
  types?: Record<string, number>;
}

/**
 * The daemon's fds as a pool: `usable` is what tenants may hold together
 * (RLIMIT_NOFILE less a reserve the daemon keeps for its own sockets, logs and
 * device files, so one tenant can never starve the others' connects), and
 * `perTenant` the default share of one tenant without an `fds` quota.
 */
export interface FdLimits {
  usable: number;
  perTenant: number;
}

/** Without {@link Accounting.fdLimits} set (tests, embedders): no fd limits beyond the quotas. */
const NO_FD_LIMITS: FdLimits = { usable: Number.MAX_SAFE_INTEGER, perTenant: Number.MAX_SAFE_INTEGER };

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
  fds: number;
  fdsHigh: number;
  types: Map<string, { current: number; high: number }>;
  /** "type.method" -> result ("ok", or an error code) -> count */
  verbs: Map<string, Map<string, number>>;
}

function newUsage(): TenantUsage {
  return { objects: 0, objectsHigh: 0, sessions: 0, sessionsHigh: 0, bytes: 0, bytesHigh: 0, fds: 0, fdsHigh: 0, types: new Map(), verbs: new Map() };
}

export class Accounting {
  private readonly usage = new Map<string, TenantUsage>();
  /** Fds held for all tenants together. */
  private fdsUsed = 0;
  fdLimits: FdLimits = NO_FD_LIMITS;

  constructor(public policy: QuotaPolicy | undefined) {}

  /** The tenant {@link of} answered last, and its usage: most calls in a row are one session's (a Batch's steps). */
  private lastTenant: string | null = null;
  private lastUsage: TenantUsage | null = null;

  of(tenant: string): TenantUsage {
    // A tenant's usage is never dropped from the map, so the last answer stays right.
    if (tenant === this.lastTenant) return this.lastUsage!;
    let u = this.usage.get(tenant);
    if (!u) this.usage.set(tenant, (u = newUsage()));
    this.lastTenant = tenant;
    this.lastUsage = u;
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

  /** The fd quota of a tenant: its own, else the daemon's default share. */
  fdQuota(tenant: string): number {
    return this.policy?.quotaFor(tenant)?.fds ?? this.fdLimits.perTenant;
  }

  /** Fds held for every tenant together. */
  get fdsInUse(): number {
    return this.fdsUsed;
  }

  private checkFds(tenant: string, u: TenantUsage, n: number, what: string): void {
    if (n <= 0) return;
    const q = this.fdQuota(tenant);
    if (u.fds + n > q) {
      throw new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant}: fd quota ${q} reached (${what} needs ${n} daemon fd${n > 1 ? 's' : ''}; ${u.fds} held)`);
    }
    if (this.fdsUsed + n > this.fdLimits.usable) {
      throw new BrokerError('QUOTA_EXCEEDED', `the daemon is at its fd limit for tenants (${this.fdsUsed} of ${this.fdLimits.usable} in use; the rest is kept for new connections): ${what} refused`);
    }
  }

  /** Takes `n` daemon fds for a tenant (a connection, a mirror) or throws QUOTA_EXCEEDED, changing nothing. */
  takeFds(tenant: string, n: number, what: string): void {
    const u = this.of(tenant);
    this.checkFds(tenant, u, n, what);
    u.fds += n;
    u.fdsHigh = Math.max(u.fdsHigh, u.fds);
    this.fdsUsed += n;
  }

  giveFds(tenant: string, n: number): void {
    if (n <= 0) return;
    this.of(tenant).fds -= n;
    this.fdsUsed -= n;
  }

  /** Reserves one object of `type` (and `bytes`, and `fds` daemon fds) or throws QUOTA_EXCEEDED, changing nothing. */
  charge(tenant: string, type: string, bytes: number, fds = 0): void {
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
    this.checkFds(tenant, u, fds, `a ${type}`);
    u.objects++;
    t.current++;
    u.bytes += bytes;
    u.objectsHigh = Math.max(u.objectsHigh, u.objects);
    t.high = Math.max(t.high, t.current);
    u.bytesHigh = Math.max(u.bytesHigh, u.bytes);
    if (fds > 0) {
      u.fds += fds;
      u.fdsHigh = Math.max(u.fdsHigh, u.fds);
      this.fdsUsed += fds;
    }
  }

  uncharge(tenant: string, type: string, bytes: number, fds = 0): void {
    this.released(tenant, type, bytes, fds);
  }

  adjustBytes(tenant: string, delta: number): void {
    const u = this.of(tenant);
    u.bytes += delta;
    u.bytesHigh = Math.max(u.bytesHigh, u.bytes);
  }

  released(tenant: string, type: string, bytes: number, fds = 0): void {
    const u = this.of(tenant);
    u.objects--;
    u.bytes -= bytes;
    this.giveFds(tenant, fds);
    const t = u.types.get(type);
    if (t) t.current--;
  }

  record(tenant: string, type: string, method: string, result: string): void {
    this.recordKey(tenant, `${type}.${method}`, result);
  }

  /** {@link record} with the "type.method" key already built (the runner keeps one per method). */
  recordKey(tenant: string, key: string, result: string): void {
    const u = this.of(tenant);
    let m = u.verbs.get(key);
    if (!m) u.verbs.set(key, (m = new Map()));
    m.set(result, (m.get(result) ?? 0) + 1);
  }
}
