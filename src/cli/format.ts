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

const U64_MARK = '\u0000u64:';

/**
 * JSON text in which a bigint is a plain JSON number with all its digits (a
 * u64 such as user_handle, as `rdma -j` prints its u64 fields), not a string
 * and not a rounded double.
 */
export function jsonText(v: unknown, pretty = false): string {
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${U64_MARK}${x.toString()}` : x), pretty ? 2 : undefined);
  return text.replace(/"\\u0000u64:(\d+)"/g, '$1');
}

export function printJson(o: Out, v: unknown): void {
  o.write(`${jsonText(v, o.pretty)}\n`);
}

/** lkey and rkey as `rdma` prints them: 0x and lower-case hex. */
export function hexKey(v: unknown): unknown {
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) && v >= 0 ? BigInt(v) : null;
  return n === null ? v : `0x${n.toString(16)}`;
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
    // A u64 like handle: a JSON number (exact digits), so both are numbers.
    user_handle: BigInt(o.userHandle || '0'),
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
  const attrs: [string, unknown][] = KEY_ATTRS.filter((k) => o.attrs[k] !== undefined)
    .map((k) => [k, k === 'lkey' || k === 'rkey' ? hexKey(o.attrs[k]) : o.attrs[k]]);
  return kv([
    ['dev', o.device], ['type', o.type], ['handle', o.handle], ['session', o.session], ['tenant', o.tenant],
    ['user_handle', o.userHandle === '0' ? '' : o.userHandle], ['pod', podName(o.pod)], ['parents', o.parents.join(',')], ...attrs,
  ]);
}

/** A watch event's word, the same in text and JSON: created, modified, destroyed, synced. */
export function changeKind(ch: ObjectChange): string {
  return ch.kind.toLowerCase();
}

/**
 * A port as `ports` shows it, the same names and values in text and JSON (as
 * `rdma link` and `rdma -j link` do): physical_state by name, mtu in bytes.
 */
export function portFields(p: { port: number; attrs: Record<string, unknown>; gids: { index: number; gid: string; type: string; netdev: string }[] }): [string, unknown][] {
  const a = p.attrs;
  const gid0 = p.gids.find((g) => g.index === 0);
  return [
    ['state', a.state], ['physical_state', PHYS_STATE[Number(a.phys_state)] ?? a.phys_state], ['link_layer', a.link_layer],
    ['mtu', MTU[Number(a.active_mtu)] ?? a.active_mtu], ['lid', a.lid], ['gid', gid0?.gid], ['gid_type', gid0?.type],
    ['netdev', gid0?.netdev],
  ];
}

export function changeJson(ch: ObjectChange): Record<string, unknown> {
  return { kind: changeKind(ch), object: ch.object ? objectJson(ch.object) : null };
}

export function changeLine(ch: ObjectChange): string {
  return ch.object ? `${changeKind(ch)} ${objectLine(ch.object)}\n` : `${changeKind(ch)}\n`;
}
