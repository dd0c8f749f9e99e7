/**
 * Who is calling and what they may do: the one place roles are enforced.
 *
 * Every listener has an {@link Authenticator}: a per-tenant unix socket names
 * its tenant; the main socket names the config's `socket_tenant`; TCP asks
 * for a client certificate (TLS) or an `authorization: Bearer` token and
 * answers UNAUTHENTICATED without one. Each RPC has one {@link Access} level in
 * {@link RPC_ACCESS}; {@link guardService} wraps every handler of a service
 * with the check, so a handler never runs for a caller who may not call it.
 * Tenant isolation of objects is the core's (handles resolve only inside the
 * caller's session, so another tenant's object is NOT_FOUND); listings filter
 * by the caller's tenant unless the caller is a viewer or an admin.
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { BrokerError, quote } from '../core/errors.js';
import type { Role, TenantDirectory, TenantSpec } from '../core/tenants.js';
import type { SessionLabels } from '../core/registry.js';
import { toServiceError, undecodable } from './status.js';

/** How a caller was identified. */
export interface CallerIdentity {
  tenant: string;
  role: Role;
  /** How: "socket", "tenant-socket", "token", "cert", "insecure-tcp", "k8s-allocation". */
  via?: string;
  /** Names the listener attaches to the sessions its callers open (a pod's namespace, name, container). */
  labels?: SessionLabels;
}

/**
 * read: devices, inspection and accounting (every role; tenants see only theirs);
 * act: sessions and object verbs (tenant and admin: a viewer only looks);
 * admin: quotas and eviction.
 */
export type Access = 'read' | 'act' | 'admin';

export const RPC_ACCESS: Readonly<Record<string, Readonly<Record<string, Access>>>> = {
  DeviceService: { List: 'read', Query: 'read', Describe: 'read' },
  ObjectService: { Create: 'act', Query: 'act', Modify: 'act', Destroy: 'act', Invoke: 'act', Batch: 'act' },
  SessionService: { Connect: 'act', IssueFdToken: 'act' },
  InspectionService: { ListObjects: 'read', WatchObjects: 'read', ListSessions: 'read' },
  AdminService: { WhoAmI: 'read', GetAccounting: 'read', GetQuotas: 'read', SetQuota: 'admin', EvictSession: 'admin' },
};

export function permits(role: Role, access: Access): boolean {
  switch (access) {
    case 'read':
      return true;
    case 'act':
      return role === 'tenant' || role === 'admin';
    case 'admin':
      return role === 'admin';
  }
}

/** Anything a call object offers that identification needs. */
export interface CallLike {
  metadata: grpc.Metadata;
  getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } | null;
}

export type Authenticator = (call: CallLike) => CallerIdentity;

function asCaller(t: TenantSpec, via: string): CallerIdentity {
  return { tenant: t.name, role: t.role, via };
}

/** Callers on this listener are `tenant` (looked up at call time, so a reload applies). */
export function fixedTenant(dir: TenantDirectory, tenant: () => string, via: string): Authenticator {
  return () => {
    const name = tenant();
    const t = dir.get(name);
    if (!t) throw new BrokerError('UNAUTHENTICATED', `tenant ${quote(name)} is no longer configured`);
    return asCaller(t, via);
  };
}

export const AUTHORIZATION_HEADER = 'authorization';

function bearer(md: grpc.Metadata): string | null {
  const v = md.get(AUTHORIZATION_HEADER)[0];
  if (v === undefined) return null;
  const m = typeof v === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(v) : null;
  if (!m) throw new BrokerError('UNAUTHENTICATED', 'malformed authorization header (expected "Bearer TOKEN")');
  return m[1]!;
}

/**
 * TCP: a verified client certificate mapped to a tenant, and/or a bearer
 * token. Both given must agree. `fallback` (insecure TCP, for trusted
 * networks and tests) names the tenant of callers without credentials.
 */
export function tcpAuthenticator(dir: TenantDirectory, fallback: (() => string) | null = null): Authenticator {
  return (call) => {
    // grpc-js gives the peer certificate only when it verified against --tls-ca.
    const cert = call.getAuthContext?.()?.sslPeerCertificate;
    const byCert = cert ? dir.fromCert(cert) : undefined;
    const token = bearer(call.metadata);
    const byToken = token !== null ? dir.fromToken(token) : undefined;
    if (token !== null && !byToken) throw new BrokerError('UNAUTHENTICATED', 'unknown bearer token');
    if (byCert && byToken && byCert !== byToken) throw new BrokerError('UNAUTHENTICATED', 'the client certificate and the bearer token name different tenants');
    if (byToken) return asCaller(byToken, 'token');
    if (byCert) return asCaller(byCert, 'cert');
    if (fallback) return fixedTenant(dir, fallback, 'insecure-tcp')(call);
    throw new BrokerError('UNAUTHENTICATED', cert
      ? 'the client certificate is not mapped to any tenant'
      : 'authenticate with a client certificate (TLS) or an "authorization: Bearer TOKEN" header');
  };
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>;

/** Identifies callers once per call; handlers read the result with {@link callerOf}. */
const CALLER = Symbol('rdma-caller');

export function callerOf(call: unknown): CallerIdentity {
  const c = (call as { [CALLER]?: CallerIdentity })[CALLER];
  if (!c) throw new Error('callerOf: the call did not go through guardService');
  return c;
}

/**
 * Wraps every handler of `service` with authentication and the role check
 * of {@link RPC_ACCESS}. A method missing from the table is refused: a new
 * RPC must be given an access level before anyone can call it.
 */
export function guardService<H extends object>(service: string, handlers: H, auth: Authenticator, log: Logger): H {
  const table = RPC_ACCESS[service] ?? {};
  const out: Record<string, unknown> = {};
  for (const [method, h] of Object.entries(handlers)) {
    const access = table[method];
    const name = `${service}.${method}`;
    const check = (call: AnyCall): void => {
      const who = auth(call as CallLike);
      // A unary or server-streaming request that did not decode (streams check each message).
      const bad = undecodable((call as { request?: unknown }).request);
      if (bad) throw bad;
      if (access === undefined || !permits(who.role, access)) {
        throw new BrokerError('PERMISSION_DENIED', `${name}: not allowed for role ${who.role} (tenant ${who.tenant})`);
      }
      (call as unknown as { [CALLER]?: CallerIdentity })[CALLER] = who;
    };
    const fn = h as (call: AnyCall, cb?: grpc.sendUnaryData<unknown>) => void;
    out[method] = (call: AnyCall, cb?: grpc.sendUnaryData<unknown>): void => {
      try {
        check(call);
      } catch (e) {
        const se = toServiceError(e, log, name);
        if (cb) cb(se);
        else call.emit('error', se);
        return;
      }
      fn(call, cb);
    };
  }
  return out as H;
}
