/**
 * The tenant table: who the callers are, what they may do and their quotas.
 * It is data loaded from the daemon's config (or the one built-in default
 * tenant without a config), replaced whole on reload, and the broker's
 * {@link QuotaPolicy}. How a caller is recognised (which socket, which
 * certificate, which token, which uid) is declared here; the transports only
 * ask this table.
 */
import { createHash } from 'node:crypto';
import type { QuotaPolicy, TenantQuota } from './accounting.js';
import { BrokerError, quote } from './errors.js';

/**
 * tenant: its own objects only; viewer: read-only inspection of everything;
 * admin: its own objects, inspection of everything, quotas and eviction.
 */
export type Role = 'tenant' | 'viewer' | 'admin';
export const ROLES: readonly Role[] = ['tenant', 'viewer', 'admin'];

/** A per-tenant unix socket: connecting to it is the tenant's identity. */
export interface TenantSocket {
  path: string;
  /** File mode of the socket (default 0o660). */
  mode: number;
  /** Owner and group of the socket (default: the daemon's). */
  uid: number | null;
  gid: number | null;
}

/** A client certificate that identifies the tenant: every given field must match. */
export interface CertMatch {
  /** Subject fields, e.g. { CN: 'team-a', O: 'acme' }. */
  subject: Record<string, string> | null;
  /** SHA-256 fingerprint, upper-case hex pairs joined by ':' (as node's fingerprint256). */
  fingerprint256: string | null;
}

export interface TenantSpec {
  name: string;
  role: Role;
  quota: TenantQuota;
  sockets: TenantSocket[];
  /** Peer credentials that identify the tenant on the local fd channel. */
  uids: number[];
  gids: number[];
  certs: CertMatch[];
  /** SHA-256 digests (hex) of the tenant's bearer tokens: the tokens themselves are not kept. */
  tokenDigests: string[];
}

export interface TenantsConfig {
  tenants: TenantSpec[];
  /** The tenant that callers on the daemon's main socket (--socket) act as. */
  socketTenant: string;
}

/** The tenant of a daemon without a config file: admin on the main socket, as before tenants existed. */
export const DEFAULT_TENANT = 'default';

export function defaultTenantsConfig(): TenantsConfig {
  return {
    tenants: [{ name: DEFAULT_TENANT, role: 'admin', quota: {}, sockets: [], uids: [], gids: [], certs: [], tokenDigests: [] }],
    socketTenant: DEFAULT_TENANT,
  };
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The quota keys that are not object types. */
export const QUOTA_KEYS = { objects: 'objects', sessions: 'sessions', bytes: 'registered_bytes', fds: 'fds' } as const;

/** A quota as a flat map: objects, sessions, registered_bytes and one key per object type. */
export function quotaToMap(q: TenantQuota): Record<string, number> {
  const out: Record<string, number> = {};
  if (q.objects !== undefined) out[QUOTA_KEYS.objects] = q.objects;
  if (q.sessions !== undefined) out[QUOTA_KEYS.sessions] = q.sessions;
  if (q.bytes !== undefined) out[QUOTA_KEYS.bytes] = q.bytes;
  if (q.fds !== undefined) out[QUOTA_KEYS.fds] = q.fds;
  for (const [t, n] of Object.entries(q.types ?? {})) out[t] = n;
  return out;
}

/**
 * Applies `set` and `clear` (keys as in {@link quotaToMap}) to a quota and
 * returns the new one. `typeNames` are the keys allowed besides the three totals.
 */
export function patchQuota(q: TenantQuota, set: Record<string, number>, clear: readonly string[], typeNames: ReadonlySet<string>): TenantQuota {
  const next: TenantQuota = { ...q, types: { ...(q.types ?? {}) } };
  const known = (k: string): void => {
    if (k !== QUOTA_KEYS.objects && k !== QUOTA_KEYS.sessions && k !== QUOTA_KEYS.bytes && k !== QUOTA_KEYS.fds && !typeNames.has(k)) {
      throw new BrokerError('INVALID_ATTR', `unknown quota ${quote(k)} (objects, sessions, registered_bytes, fds or an object type)`);
    }
  };
  for (const k of clear) {
    known(k);
    if (k === QUOTA_KEYS.objects) delete next.objects;
    else if (k === QUOTA_KEYS.sessions) delete next.sessions;
    else if (k === QUOTA_KEYS.bytes) delete next.bytes;
    else if (k === QUOTA_KEYS.fds) delete next.fds;
    else delete next.types![k];
  }
  for (const [k, v] of Object.entries(set)) {
    known(k);
    if (!Number.isSafeInteger(v) || v < 0) throw new BrokerError('INVALID_ATTR', `quota ${k}: expected a non-negative integer`);
    if (k === QUOTA_KEYS.objects) next.objects = v;
    else if (k === QUOTA_KEYS.sessions) next.sessions = v;
    else if (k === QUOTA_KEYS.bytes) next.bytes = v;
    else if (k === QUOTA_KEYS.fds) next.fds = v;
    else next.types![k] = v;
  }
  return next;
}

/** What a transport knows about a TLS client certificate (node's PeerCertificate has these). */
export interface PeerCert {
  subject?: Record<string, string | string[] | undefined> | null;
  fingerprint256?: string;
}

function certMatches(m: CertMatch, c: PeerCert): boolean {
  if (m.fingerprint256 !== null && (c.fingerprint256 ?? '').toUpperCase() !== m.fingerprint256) return false;
  if (m.subject !== null) {
    for (const [k, v] of Object.entries(m.subject)) {
      const have = c.subject?.[k];
      const values = Array.isArray(have) ? have : have === undefined ? [] : [have];
      if (!values.includes(v)) return false;
    }
  }
  return m.fingerprint256 !== null || m.subject !== null;
}

export class TenantDirectory implements QuotaPolicy {
  private byName = new Map<string, TenantSpec>();
  private byToken = new Map<string, TenantSpec>();
  private cfg: TenantsConfig;
  /** Tenants made at run time (see {@link addDynamic}); they outlive reloads. */
  private readonly dynamic = new Map<string, TenantSpec>();

  constructor(cfg: TenantsConfig = defaultTenantsConfig()) {
    this.cfg = cfg;
    this.index();
  }

  get config(): TenantsConfig {
    return this.cfg;
  }

  /** Replaces the whole table (a reload): quotas changed at run time are replaced by the file's. */
  replace(cfg: TenantsConfig): void {
    this.cfg = cfg;
    this.index();
  }

  private index(): void {
    this.byName = new Map(this.cfg.tenants.map((t) => [t.name, t]));
    // A tenant the file names wins over a run-time one of the same name.
    for (const [n, t] of this.dynamic) if (!this.byName.has(n)) this.byName.set(n, t);
    this.byToken = new Map();
    for (const t of this.cfg.tenants) for (const d of t.tokenDigests) this.byToken.set(d, t);
  }

  list(): readonly TenantSpec[] {
    if (this.dynamic.size === 0) return this.cfg.tenants;
    return [...this.cfg.tenants, ...[...this.dynamic.values()].filter((t) => !this.cfg.tenants.some((c) => c.name === t.name))];
  }

  /**
   * Adds (or updates the role and quota of) a tenant made at run time, such
   * as one per Kubernetes namespace from a template. It has no sockets,
   * tokens, certificates or uids: only a listener that names it reaches it.
   */
  addDynamic(name: string, role: Role, quota: TenantQuota): TenantSpec {
    let t = this.dynamic.get(name);
    if (t) {
      t.role = role;
      t.quota = quota;
    } else {
      t = { name, role, quota, sockets: [], uids: [], gids: [], certs: [], tokenDigests: [] };
      this.dynamic.set(name, t);
    }
    if (!this.cfg.tenants.some((c) => c.name === name)) this.byName.set(name, t);
    return this.byName.get(name)!;
  }

  /** Drops a run-time tenant (its sessions must have ended). */
  removeDynamic(name: string): void {
    if (!this.dynamic.delete(name)) return;
    if (!this.cfg.tenants.some((c) => c.name === name)) this.byName.delete(name);
  }

  get(name: string): TenantSpec | undefined {
    return this.byName.get(name);
  }

  quotaFor(tenant: string): TenantQuota | undefined {
    return this.byName.get(tenant)?.quota;
  }

  /** Changes a tenant's quota at run time (until the config is reloaded). */
  setQuota(tenant: string, q: TenantQuota): void {
    const t = this.byName.get(tenant);
    if (!t) throw new BrokerError('NO_SUCH_TENANT', `no such tenant: ${quote(tenant)}`);
    t.quota = q;
  }

  fromToken(token: string): TenantSpec | undefined {
    return this.byToken.get(tokenDigest(token));
  }

  fromCert(c: PeerCert): TenantSpec | undefined {
    for (const t of this.cfg.tenants) if (t.certs.some((m) => certMatches(m, c))) return t;
    return undefined;
  }

  /**
   * Whether a local process (its SO_PEERCRED) may receive the fds of a
   * session of `tenant` over the fd channel. A peer whose credentials name a
   * tenant may serve only that tenant; a peer named by none may serve a tenant
   * that lists no uids/gids (the one-time token is then the only key).
   */
  peerMayServe(uid: number, gid: number, tenant: string): boolean {
    const byPeer = this.fromPeer(uid, gid);
    if (byPeer) return byPeer.name === tenant;
    const t = this.byName.get(tenant);
    return !t || (t.uids.length === 0 && t.gids.length === 0);
  }

  /** The tenant of a local peer: a uid match wins over a gid match. */
  fromPeer(uid: number, gid: number): TenantSpec | undefined {
    return this.cfg.tenants.find((t) => t.uids.includes(uid)) ?? this.cfg.tenants.find((t) => t.gids.includes(gid));
  }
}
