/**
 * The daemon's config file (`--config FILE`, JSON or YAML): tenants, how each
 * is recognised, its role and its quotas. Validated whole at load; an error
 * names the field (`tenants[1].quotas.qp: expected a non-negative integer`),
 * so a broken file on SIGHUP can be reported and the old table kept.
 * docs/tenants.md describes the format.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { socketPathProblem, tenantFdSocket } from './paths.js';
import { OBJECT_TYPES } from '../core/types/index.js';
import type { TenantQuota } from '../core/accounting.js';
import {
  DEFAULT_TENANT, QUOTA_KEYS, ROLES, tokenDigest,
  type CertMatch, type Role, type TenantSocket, type TenantSpec, type TenantsConfig,
} from '../core/tenants.js';
import { NAMESPACE_TENANT_PREFIX, defaultTenancy, type NamespaceTenancy } from '../k8s/tenancy.js';

/** The whole config: the tenant table and how Kubernetes namespaces map onto it. */
export interface DaemonConfig extends TenantsConfig {
  kubernetes: NamespaceTenancy;
}

export class ConfigError extends Error {
  constructor(readonly field: string, problem: string) {
    super(field ? `${field}: ${problem}` : problem);
    this.name = 'ConfigError';
  }
}

/** Object types a quota may name: those a client can create. */
const CREATABLE = new Set(OBJECT_TYPES.filter((t) => !t.readOnly && t.create).map((t) => t.name));

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(o: Obj, at: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new ConfigError(at ? `${at}.${k}` : k, `unknown field (expected one of: ${keys.join(', ')})`);
  }
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(at, 'expected a non-empty string');
  return v;
}

function nonNegInt(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(at, 'expected a non-negative integer');
  return v;
}

function list(v: unknown, at: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(at, 'expected a list');
  return v;
}

const UNITS: Record<string, number> = {
  '': 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30, ti: 2 ** 40, tib: 2 ** 40,
};

/** A byte count: an integer, or a string such as "512MiB" or "2G". */
export function parseBytes(v: unknown, at: string): number {
  if (typeof v === 'number') return nonNegInt(v, at);
  const m = typeof v === 'string' ? /^\s*(\d+)\s*([A-Za-z]*)\s*$/.exec(v) : null;
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(at, 'expected a non-negative integer or a size such as "512MiB"');
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new ConfigError(at, 'size too large');
  return n;
}

function quotas(v: unknown, at: string): TenantQuota {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new ConfigError(at, 'expected a map of quota name to limit');
  const q: TenantQuota = { types: {} };
  for (const [k, val] of Object.entries(v)) {
    const f = `${at}.${k}`;
    if (k === QUOTA_KEYS.objects) q.objects = nonNegInt(val, f);
    else if (k === QUOTA_KEYS.sessions) q.sessions = nonNegInt(val, f);
    else if (k === QUOTA_KEYS.bytes) q.bytes = parseBytes(val, f);
    else if (k === QUOTA_KEYS.fds) q.fds = nonNegInt(val, f);
    else if (CREATABLE.has(k)) q.types![k] = nonNegInt(val, f);
    else throw new ConfigError(f, `unknown quota (objects, sessions, registered_bytes, fds or an object type: ${[...CREATABLE].join(', ')})`);
  }
  return q;
}

function octalMode(v: unknown, at: string): number {
  if (typeof v !== 'string' || !/^(0o?)?[0-7]{3,4}$/.test(v)) throw new ConfigError(at, 'expected an octal mode string such as "0660"');
  return parseInt(v.replace(/^0o/, ''), 8);
}

function idOf(v: unknown, at: string): number {
  return nonNegInt(v, at);
}

/**
 * A tenant socket path, resolved against the config's directory and checked
 * (paths.ts): not under /proc, /sys or /dev (also not through a symlink),
 * short enough for sun_path with its ".fd" twin, and its deepest existing
 * ancestor a directory, so that the daemon can make the rest.
 */
function socketPath(v: unknown, at: string, base: string): string {
  const p = path.resolve(base, str(v, at));
  const problem = socketPathProblem(p, tenantFdSocket(p).length - p.length);
  if (problem) throw new ConfigError(at, problem);
  return p;
}

function socket(v: unknown, at: string, base: string): TenantSocket {
  if (typeof v === 'string') return { path: socketPath(v, at, base), mode: 0o660, uid: null, gid: null };
  if (!isObj(v)) throw new ConfigError(at, 'expected a path or { path, mode, owner, group }');
  only(v, at, ['path', 'mode', 'owner', 'group']);
  return {
    path: socketPath(v.path, `${at}.path`, base),
    mode: v.mode === undefined ? 0o660 : octalMode(v.mode, `${at}.mode`),
    uid: v.owner === undefined ? null : idOf(v.owner, `${at}.owner`),
    gid: v.group === undefined ? null : idOf(v.group, `${at}.group`),
  };
}

function subject(s: string, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(/\s*[,/]\s*/).filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9.]*)\s*=\s*(.+)$/.exec(part);
    if (!m) throw new ConfigError(at, `expected "CN=name,O=org", got ${JSON.stringify(s)}`);
    out[m[1]!] = m[2]!;
  }
  if (Object.keys(out).length === 0) throw new ConfigError(at, 'empty subject');
  return out;
}

function cert(v: unknown, at: string): CertMatch {
  if (!isObj(v)) throw new ConfigError(at, 'expected { subject: "CN=..." } and/or { fingerprint: "AB:CD:..." }');
  only(v, at, ['subject', 'fingerprint']);
  let fp: string | null = null;
  if (v.fingerprint !== undefined) {
    const hex = str(v.fingerprint, `${at}.fingerprint`).replace(/^sha256:/i, '').replace(/:/g, '').toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(hex)) throw new ConfigError(`${at}.fingerprint`, 'expected a SHA-256 fingerprint (64 hex digits, ":" separators allowed)');
    fp = hex.match(/../g)!.join(':');
  }
  const sub = v.subject === undefined ? null : subject(str(v.subject, `${at}.subject`), `${at}.subject`);
  if (fp === null && sub === null) throw new ConfigError(at, 'give a subject, a fingerprint or both');
  return { subject: sub, fingerprint256: fp };
}

function tenant(v: unknown, at: string, base: string): TenantSpec {
  if (!isObj(v)) throw new ConfigError(at, 'expected a map');
  only(v, at, ['name', 'role', 'socket', 'uids', 'gids', 'certs', 'tokens', 'token_sha256', 'quotas']);
  const name = str(v.name, `${at}.name`);
  if (!NAME_RE.test(name)) throw new ConfigError(`${at}.name`, 'letters, digits, ".", "_" and "-" only (at most 64)');
  const role = v.role === undefined ? 'tenant' : str(v.role, `${at}.role`);
  if (!ROLES.includes(role as Role)) throw new ConfigError(`${at}.role`, `expected one of ${ROLES.join(', ')}`);
  const tokens = list(v.tokens, `${at}.tokens`).map((t, i) => {
    const s = str(t, `${at}.tokens[${i}]`);
    if (s.length < 16) throw new ConfigError(`${at}.tokens[${i}]`, 'a token needs at least 16 characters');
    return tokenDigest(s);
  });
  const digests = list(v.token_sha256, `${at}.token_sha256`).map((t, i) => {
    const s = str(t, `${at}.token_sha256[${i}]`).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(s)) throw new ConfigError(`${at}.token_sha256[${i}]`, 'expected 64 hex digits');
    return s;
  });
  return {
    name,
    role: role as Role,
    quota: quotas(v.quotas, `${at}.quotas`),
    sockets: v.socket === undefined ? [] : [socket(v.socket, `${at}.socket`, base)],
    uids: list(v.uids, `${at}.uids`).map((x, i) => idOf(x, `${at}.uids[${i}]`)),
    gids: list(v.gids, `${at}.gids`).map((x, i) => idOf(x, `${at}.gids[${i}]`)),
    certs: list(v.certs, `${at}.certs`).map((x, i) => cert(x, `${at}.certs[${i}]`)),
    tokenDigests: [...tokens, ...digests],
  };
}

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `kubernetes:` namespaces (namespace -> tenant) and the template for the others. */
function kubernetes(v: unknown, tenantNames: ReadonlyMap<string, number>): NamespaceTenancy {
  if (v === undefined || v === null) return defaultTenancy();
  if (!isObj(v)) throw new ConfigError('kubernetes', 'expected a map with "namespaces" and/or "template"');
  only(v, 'kubernetes', ['namespaces', 'template']);
  const namespaces = new Map<string, string>();
  if (v.namespaces !== undefined && v.namespaces !== null) {
    if (!isObj(v.namespaces)) throw new ConfigError('kubernetes.namespaces', 'expected a map of namespace to tenant name');
    for (const [ns, t] of Object.entries(v.namespaces)) {
      const at = `kubernetes.namespaces.${ns}`;
      if (!NAMESPACE_RE.test(ns)) throw new ConfigError(at, 'not a Kubernetes namespace name (lower-case letters, digits and "-", at most 63)');
      const name = str(t, at);
      if (!tenantNames.has(name)) throw new ConfigError(at, `no tenant named ${JSON.stringify(name)}`);
      namespaces.set(ns, name);
    }
  }
  const template = defaultTenancy().template;
  if (v.template !== undefined && v.template !== null) {
    if (!isObj(v.template)) throw new ConfigError('kubernetes.template', 'expected a map with "role" and/or "quotas"');
    only(v.template, 'kubernetes.template', ['role', 'quotas']);
    if (v.template.role !== undefined) {
      const role = str(v.template.role, 'kubernetes.template.role');
      // A namespace nobody named must not become an admin (or a viewer of everything) by existing.
      if (role !== 'tenant') throw new ConfigError('kubernetes.template.role', 'only "tenant" (name a namespace in kubernetes.namespaces to give it another role)');
    }
    template.quota = quotas(v.template.quotas, 'kubernetes.template.quotas');
  }
  return { namespaces, template };
}

/**
 * Validates a parsed config document. `base` resolves relative socket paths
 * (the config file's directory).
 */
export function validateConfig(doc: unknown, base = process.cwd()): DaemonConfig {
  if (!isObj(doc)) throw new ConfigError('', 'the config must be a map with a "tenants" list');
  only(doc, '', ['tenants', 'socket_tenant', 'kubernetes']);
  if (!Array.isArray(doc.tenants)) throw new ConfigError('tenants', 'expected a list');
  const tenants = doc.tenants.map((t, i) => tenant(t, `tenants[${i}]`, base));
  const names = new Map<string, number>();
  const sockets = new Map<string, number>();
  const tokens = new Map<string, number>();
  const uids = new Map<number, number>();
  tenants.forEach((t, i) => {
    const at = `tenants[${i}]`;
    if (names.has(t.name)) throw new ConfigError(`${at}.name`, `duplicate tenant ${JSON.stringify(t.name)} (also tenants[${names.get(t.name)}])`);
    if (t.name.startsWith(NAMESPACE_TENANT_PREFIX)) throw new ConfigError(`${at}.name`, `names starting with "${NAMESPACE_TENANT_PREFIX}" are the Kubernetes namespaces' (map a namespace to a tenant in kubernetes.namespaces)`);
    names.set(t.name, i);
    for (const s of t.sockets) {
      if (sockets.has(s.path)) throw new ConfigError(`${at}.socket`, `socket ${s.path} is also tenants[${sockets.get(s.path)}]'s`);
      sockets.set(s.path, i);
    }
    for (const d of t.tokenDigests) {
      if (tokens.has(d)) throw new ConfigError(`${at}.tokens`, `a token is also tenants[${tokens.get(d)}]'s`);
      tokens.set(d, i);
    }
    for (const u of t.uids) {
      if (uids.has(u)) throw new ConfigError(`${at}.uids`, `uid ${u} is also tenants[${uids.get(u)}]'s`);
      uids.set(u, i);
    }
  });
  let socketTenant = DEFAULT_TENANT;
  if (doc.socket_tenant !== undefined) {
    socketTenant = str(doc.socket_tenant, 'socket_tenant');
    if (!names.has(socketTenant)) throw new ConfigError('socket_tenant', `no tenant named ${JSON.stringify(socketTenant)}`);
  } else if (!names.has(DEFAULT_TENANT)) {
    // Callers on the main socket (root-only by default) stay the built-in admin.
    tenants.push({ name: DEFAULT_TENANT, role: 'admin', quota: {}, sockets: [], uids: [], gids: [], certs: [], tokenDigests: [] });
  }
  return { tenants, socketTenant, kubernetes: kubernetes(doc.kubernetes, names) };
}

/** Parses JSON (`.json`) or YAML (anything else; YAML also reads JSON). */
export function parseConfigText(text: string, file: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new ConfigError('', `${file}: not valid JSON: ${(e as Error).message}`);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError('', `${file}: not valid YAML: ${doc.errors[0]!.message}`);
  return doc.toJS() as unknown;
}

export function loadConfig(file: string): DaemonConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read ${file}: ${(e as Error).message}`);
  }
  return validateConfig(parseConfigText(text, file), path.dirname(path.resolve(file)));
}
