/**
 * The allocations of running pods, kept in a state file under --state-dir so
 * a restarted daemon serves their sockets again. The file is the daemon's
 * own, but it is read as untrusted input all the same: every field is
 * checked and a bad entry is dropped (and reported), never half-used.
 */
import { readFileNoFollow, writeFileAtomic } from './fsafe.js';

/** The pod a kubelet's pod-resources List names for an allocation's slots. */
export interface PodIdentity {
  namespace: string;
  name: string;
  container: string;
}

export interface AllocationRecord {
  /** Random hex: the directory name under pods/ and the CDI device name. */
  id: string;
  /** The device IDs (slots) the kubelet allocated. */
  slots: string[];
  /** When Allocate made it (unix ms): the claim timeout counts from here. */
  created: number;
  /** Null until pod-resources names the pod. */
  pod: PodIdentity | null;
  /** The tenant its sessions belong to (from the pod's namespace); null until the pod is known. */
  tenant: string | null;
}

export const STATE_FILE = 'k8s-allocations.json';
const STATE_VERSION = 1;
/** Far above any node's pod count; a larger file is not ours. */
const MAX_STATE_BYTES = 4 << 20;
const MAX_RECORDS = 4096;

const ID_RE = /^[0-9a-f]{32}$/;
/** Kubernetes names: DNS labels / subdomains (at most 253). */
const K8S_NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function podOf(v: unknown): PodIdentity | null | undefined {
  if (v === null) return null;
  if (!isObj(v)) return undefined;
  const { namespace, name, container } = v;
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof container !== 'string') return undefined;
  if (![namespace, name, container].every((s) => K8S_NAME_RE.test(s))) return undefined;
  return { namespace, name, container };
}

/** Checks one record; undefined when any field is wrong. */
export function recordOf(v: unknown, isSlot: (id: string) => boolean): AllocationRecord | undefined {
  if (!isObj(v)) return undefined;
  const { id, slots, created, pod, tenant } = v;
  if (typeof id !== 'string' || !ID_RE.test(id)) return undefined;
  if (!Array.isArray(slots) || slots.length === 0 || slots.length > 1024) return undefined;
  if (!slots.every((s): s is string => typeof s === 'string' && isSlot(s))) return undefined;
  if (typeof created !== 'number' || !Number.isSafeInteger(created) || created < 0) return undefined;
  const p = podOf(pod);
  if (p === undefined) return undefined;
  if (tenant !== null && (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 128)) return undefined;
  if ((p === null) !== (tenant === null)) return undefined;
  return { id, slots: [...slots], created, pod: p, tenant: tenant as string | null };
}

/** Reads the state file: the valid records and a line per problem. */
export function loadState(file: string, resource: string, isSlot: (id: string) => boolean): { records: AllocationRecord[]; problems: string[] } {
  const problems: string[] = [];
  let text: string | null;
  try {
    text = readFileNoFollow(file, MAX_STATE_BYTES);
  } catch (e) {
    return { records: [], problems: [(e as Error).message] };
  }
  if (text === null) return { records: [], problems };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { records: [], problems: [`${file}: not valid JSON (${(e as Error).message})`] };
  }
  if (!isObj(doc) || doc.version !== STATE_VERSION || !Array.isArray(doc.allocations)) {
    return { records: [], problems: [`${file}: not a version ${STATE_VERSION} allocation state`] };
  }
  if (doc.resource !== resource) problems.push(`${file}: written for resource ${JSON.stringify(doc.resource)}, serving ${JSON.stringify(resource)}`);
  const records: AllocationRecord[] = [];
  const seen = new Set<string>();
  for (const [i, v] of doc.allocations.slice(0, MAX_RECORDS).entries()) {
    const r = recordOf(v, isSlot);
    if (!r || seen.has(r.id)) {
      problems.push(`${file}: allocations[${i}] is malformed; dropped`);
      continue;
    }
    seen.add(r.id);
    records.push(r);
  }
  return { records, problems };
}

export function saveState(file: string, resource: string, records: Iterable<AllocationRecord>): void {
  writeFileAtomic(file, `${JSON.stringify({ version: STATE_VERSION, resource, allocations: [...records] }, null, 1)}\n`);
}
