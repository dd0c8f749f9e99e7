/**
 * AdminService: who am I, accounting, quotas and eviction. Roles are checked
 * by auth.ts before these run; here a tenant caller is only narrowed to its
 * own tenant (another tenant is NOT_FOUND for it, never "not yours").
 */
import type { Broker } from '../core/broker.js';
import { BrokerError, quote } from '../core/errors.js';
import { checkName, checkNames } from '../core/limits.js';
import { patchQuota, quotaToMap, type TenantDirectory } from '../core/tenants.js';
import type { TenantUsage as CoreUsage } from '../core/accounting.js';
import { OBJECT_TYPES } from '../core/types/index.js';
import type { AdminServiceHandlers } from '../wire/gen/rdmabroker/v1/AdminService.js';
import type { TenantUsage } from '../wire/gen/rdmabroker/v1/TenantUsage.js';
import { callerOf, type CallerIdentity } from './auth.js';

type Unary = <Req, Res>(name: string, fn: (call: import('@grpc/grpc-js').ServerUnaryCall<Req, Res>) => Promise<Res> | Res) => import('@grpc/grpc-js').handleUnaryCall<Req, Res>;

const CREATABLE = new Set(OBJECT_TYPES.filter((t) => !t.readOnly && t.create).map((t) => t.name));

function toStrings(m: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
}

/** The tenants a caller may read: a tenant sees itself only. */
function visibleTenants(who: CallerIdentity, requested: string, all: Iterable<string>): string[] {
  if (who.role === 'tenant') {
    if (requested && requested !== who.tenant) throw new BrokerError('NO_SUCH_TENANT', `no such tenant: ${quote(requested)}`);
    return [who.tenant];
  }
  const names = [...new Set(all)].sort();
  if (requested) {
    if (!names.includes(requested)) throw new BrokerError('NO_SUCH_TENANT', `no such tenant: ${quote(requested)}`);
    return [requested];
  }
  return names;
}

export function usageOut(tenant: string, role: string, u: CoreUsage, quota: Record<string, number>): TenantUsage {
  const verbs: NonNullable<TenantUsage['verbs']> = [];
  for (const [key, results] of u.verbs) {
    const dot = key.indexOf('.');
    for (const [result, count] of results) verbs.push({ type: key.slice(0, dot), method: key.slice(dot + 1), result, count: String(count) });
  }
  return {
    tenant,
    role,
    objects: String(u.objects),
    objects_high_water: String(u.objectsHigh),
    sessions: String(u.sessions),
    sessions_high_water: String(u.sessionsHigh),
    registered_bytes: String(u.bytes),
    registered_bytes_high_water: String(u.bytesHigh),
    fds: String(u.fds),
    fds_high_water: String(u.fdsHigh),
    types: [...u.types].sort(([a], [b]) => a.localeCompare(b)).map(([type, t]) => ({ type, current: String(t.current), high_water: String(t.high) })),
    verbs,
    quota: toStrings(quota),
  };
}

/** The limits just set that the tenant already uses more of (its objects are kept; SetQuota says so). */
function overLimits(u: CoreUsage, set: Record<string, number>): { name: string; current: number; limit: number }[] {
  const out: { name: string; current: number; limit: number }[] = [];
  for (const [name, limit] of Object.entries(set).sort(([a], [b]) => a.localeCompare(b))) {
    const current = name === 'objects' ? u.objects : name === 'sessions' ? u.sessions : name === 'registered_bytes' ? u.bytes : (u.types.get(name)?.current ?? 0);
    if (current > limit) out.push({ name, current, limit });
  }
  return out;
}

export function adminHandlers(broker: Broker, tenants: TenantDirectory, unary: Unary): AdminServiceHandlers {
  const known = (): string[] => [...tenants.list().map((t) => t.name), ...[...broker.accounting.tenants()].map(([n]) => n)];
  return {
    WhoAmI: unary('AdminService.WhoAmI', (call) => {
      const who = callerOf(call);
      return { tenant: who.tenant, role: who.role, via: who.via ?? '' };
    }),
    GetAccounting: unary('AdminService.GetAccounting', (call) => {
      const who = callerOf(call);
      const out = visibleTenants(who, checkName(call.request.tenant, 'tenant'), known()).map((name) => usageOut(
        name, tenants.get(name)?.role ?? '', broker.accounting.of(name), quotaToMap(tenants.quotaFor(name) ?? {}),
      ));
      return { tenants: out };
    }),
    GetQuotas: unary('AdminService.GetQuotas', (call) => {
      const who = callerOf(call);
      const names = visibleTenants(who, checkName(call.request.tenant, 'tenant'), tenants.list().map((t) => t.name));
      return { quotas: names.map((tenant) => ({ tenant, limits: toStrings(quotaToMap(tenants.quotaFor(tenant) ?? {})) })) };
    }),
    SetQuota: unary('AdminService.SetQuota', (call) => {
      const who = callerOf(call);
      const r = call.request;
      const t = tenants.get(checkName(r.tenant, 'tenant'));
      if (!t) throw new BrokerError('NO_SUCH_TENANT', `no such tenant: ${quote(r.tenant)}`);
      const set: Record<string, number> = {};
      checkNames(Object.keys(r.set), 'set');
      checkNames(r.clear, 'clear');
      for (const [k, v] of Object.entries(r.set)) {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new BrokerError('INVALID_ATTR', `quota ${quote(k)}: too large`);
        set[k] = n;
      }
      const next = patchQuota(t.quota, set, r.clear, CREATABLE);
      tenants.setQuota(t.name, next);
      const overLimit = overLimits(broker.accounting.of(t.name), set);
      broker.auditRecord({ by: who.tenant, tenant: t.name, quota: quotaToMap(next), ...(overLimit.length ? { overLimit } : {}) }, 'quota changed');
      return {
        quota: { tenant: t.name, limits: toStrings(quotaToMap(next)) },
        over_limit: overLimit.map((o) => ({ name: o.name, current: String(o.current), limit: String(o.limit) })),
      };
    }),
    EvictSession: unary('AdminService.EvictSession', async (call) => {
      const who = callerOf(call);
      const s = broker.sessions.get(checkName(call.request.session_id, 'session_id'));
      if (!s) throw new BrokerError('NO_SUCH_SESSION', `no such session: ${quote(call.request.session_id)}`);
      const objects = broker.registry.countOwned(s.id);
      broker.auditRecord({ by: who.tenant, session: s.id, tenant: s.tenant, objects }, 'session evicted');
      await broker.evict(s.id);
      return { tenant: s.tenant, objects_destroyed: objects };
    }),
  };
}
