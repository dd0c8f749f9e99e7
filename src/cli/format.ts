/** rdmactl's output: `key value` text lines in the manner of iproute2's `rdma`, or JSON (-j). */
import { toJson, type ObjectChange, type ObjectRecord } from '../client/index.js';

/** Where a command writes, and how. */
export interface Out {
  json: boolean;
  pretty: boolean;
  write(s: string): void;
  /** A warning for the user (stderr, `rdmactl: warning: ...`); the command still succeeds. */
  warn(s: string): void;
}

export function printJson(o: Out, v: unknown): void {
  o.write(`${JSON.stringify(v, null, o.pretty ? 2 : undefined)}\n`);
}

/** `key value` pairs; values with spaces are quoted, empty ones left out. */
export function kv(pairs: [string, unknown][]): string {
  const parts: string[] = [];
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    const s = typeof v === 'object' ? JSON.stringify(toJson(v as never)) : String(v);
    parts.push(`${k} ${/\s/.test(s) ? JSON.stringify(s) : s}`);
  }
  return parts.join(' ');
}

export const PHYS_STATE: Record<number, string> = {
  1: 'SLEEP', 2: 'POLLING', 3: 'DISABLED', 4: 'PORT_CONFIGURATION_TRAINING', 5: 'LINK_UP', 6: 'LINK_ERROR_RECOVERY', 7: 'PHY_TEST',
};
export const MTU: Record<number, number> = { 1: 256, 2: 512, 3: 1024, 4: 2048, 5: 4096 };

/** The attributes rdmactl shows first for each object type (the rest follow in -j). */
export const KEY_ATTRS = ['qp_num', 'qp_type', 'qp_state', 'lkey', 'rkey', 'length', 'cqe', 'srq_limit', 'max_wr'];

export function objectJson(o: ObjectRecord): Record<string, unknown> {
  return {
    type: o.type,
    handle: o.handle,
    device: o.device,
    session: o.session,
    tenant: o.tenant,
    user_handle: o.userHandle,
    parents: o.parents,
    created_unix_ms: o.createdUnixMs,
    attrs: toJson(o.attrs),
    ...(o.pod ? { pod: o.pod } : {}),
  };
}

/** namespace/pod/container, or undefined (kv leaves it out). */
export function podName(p: { namespace: string; name: string; container: string } | null | undefined): string | undefined {
  return p ? `${p.namespace}/${p.name}/${p.container}` : undefined;
}

export function objectLine(o: ObjectRecord): string {
  const attrs: [string, unknown][] = KEY_ATTRS.filter((k) => o.attrs[k] !== undefined).map((k) => [k, o.attrs[k]]);
  return kv([
    ['dev', o.device], ['type', o.type], ['handle', o.handle], ['session', o.session], ['tenant', o.tenant],
    ['user_handle', o.userHandle === '0' ? '' : o.userHandle], ['pod', podName(o.pod)], ['parents', o.parents.join(',')], ...attrs,
  ]);
}

/** A watch event's word, the same in text and JSON: created, modified, destroyed, synced. */
export function changeKind(ch: ObjectChange): string {
  return ch.kind.toLowerCase();
}

export function changeJson(ch: ObjectChange): Record<string, unknown> {
  return { kind: changeKind(ch), object: ch.object ? objectJson(ch.object) : null };
}

export function changeLine(ch: ObjectChange): string {
  return ch.object ? `${changeKind(ch)} ${objectLine(ch.object)}\n` : `${changeKind(ch)}\n`;
}
