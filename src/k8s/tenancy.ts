/**
 * Which tenant a pod's sessions belong to: its namespace, mapped by the
 * config's `kubernetes.namespaces` to a tenant the config declares, or else
 * a tenant made from `kubernetes.template` for that namespace alone
 * (`k8s.<namespace>`, with the template's role and default quotas).
 */
import type { TenantQuota } from '../core/accounting.js';
import type { Role, TenantDirectory } from '../core/tenants.js';

/** The prefix of the tenants made from the template; configured tenant names may not start with it. */
export const NAMESPACE_TENANT_PREFIX = 'k8s.';

export interface NamespaceTenancy {
  /** namespace -> the name of a tenant in the config. */
  namespaces: ReadonlyMap<string, string>;
  /** Role and quotas of the tenants made for namespaces the map does not name. */
  template: { role: Role; quota: TenantQuota };
}

/** Without a `kubernetes` section: every namespace its own tenant, no quotas. */
export function defaultTenancy(): NamespaceTenancy {
  return { namespaces: new Map(), template: { role: 'tenant', quota: {} } };
}

/**
 * The tenant of a namespace. A template one is made in the directory on
 * first use; `refresh` (after a config reload) sets its role and quota from
 * the template again, otherwise a quota changed at run time (SetQuota) stays.
 */
export function tenantForNamespace(t: NamespaceTenancy, dir: TenantDirectory, namespace: string, refresh = false): string {
  const named = t.namespaces.get(namespace);
  if (named !== undefined) return named;
  const name = `${NAMESPACE_TENANT_PREFIX}${namespace}`;
  if (!refresh && dir.get(name)) return name;
  // Each namespace gets its own copy of the quota: SetQuota on one changes that one only.
  const q = t.template.quota;
  dir.addDynamic(name, t.template.role, { ...q, types: { ...(q.types ?? {}) } });
  return name;
}
