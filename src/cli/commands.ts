/** rdmactl's commands: each reads from the daemon and writes text or JSON through an Out. */
import { type Client, type ObjectFilter, type SessionInfo } from '../client/index.js';
import type { AttrInfo__Output } from '../wire/gen/rdmabroker/v1/AttrInfo.js';
import { UsageError } from '../wire/usage.js';
import { changeJson, changeLine, jsonText, kv, objectJson, objectLine, podName, portFields, printJson, type Out } from './format.js';

export async function devices(c: Client, o: Out): Promise<void> {
  const list = await c.devices();
  if (o.json) {
    printJson(o, list);
    return;
  }
  list.forEach((d, i) => {
    o.write(`${i}: ${d.name}: ${kv([
      ['backend', d.backend], ['provider', d.provider], ['transport', d.transport], ['node_guid', d.node_guid],
      ['ports', d.port_count], ['state', d.state],
    ])}\n`);
  });
}

export async function ports(c: Client, o: Out, device: string | undefined): Promise<void> {
  const names = device ? [device] : (await c.devices()).map((d) => d.name);
  const rows: Record<string, unknown>[] = [];
  for (const name of names) {
    const info = await c.queryDevice(name);
    for (const p of info.ports) {
      const fields = portFields(p);
      if (o.json) {
        // The same keys and values as the text line; the whole GID table after them.
        rows.push({ device: name, port: p.port, ...Object.fromEntries(fields.filter(([, v]) => v !== undefined && v !== '')), gids: p.gids });
        continue;
      }
      o.write(`link ${name}/${p.port} ${kv(fields)}\n`);
    }
  }
  if (o.json) printJson(o, rows);
}

/**
 * A --type filter must name a type some device has: a misspelt one would
 * match nothing and look like an empty table.
 */
export async function checkType(c: Client, type: string | undefined): Promise<void> {
  if (!type) return;
  // The daemon-wide Describe lists the types that exist on at least one of its devices.
  const known = new Set((await c.describe()).types.map((t) => t.name));
  if (known.has(type)) return;
  throw new UsageError(`unknown object type ${JSON.stringify(type)}; known types: ${known.size ? [...known].sort().join(', ') : 'none (the daemon has no devices)'}`);
}

export async function objects(c: Client, o: Out, f: ObjectFilter): Promise<void> {
  await checkType(c, f.type);
  const list = await c.listObjects(f);
  if (o.json) {
    printJson(o, list.map(objectJson));
    return;
  }
  for (const x of list) o.write(`${objectLine(x)}\n`);
}

/**
 * A session as `sessions` shows it: the same keys in text and JSON; uid, gid
 * and pid are what the daemon read from the caller's socket (SO_PEERCRED)
 * on a unix socket, absent over TCP; pod is the Kubernetes pod it came from.
 */
function sessionFields(s: SessionInfo): [string, unknown][] {
  const cred = s.peer_cred;
  return [
    ['name', s.name], ['tenant', s.tenant], ['state', s.state], ['objects', s.object_count],
    // grpc-js names no peer on a unix socket ("unknown"); the credentials say who it is.
    ['peer', s.peer === 'unknown' && cred ? 'unix' : s.peer],
    ['uid', cred?.uid], ['gid', cred?.gid], ['pid', cred?.pid], ['cred_via', cred?.via], ['pod', podName(s.pod)],
  ];
}

export async function sessions(c: Client, o: Out): Promise<void> {
  const list = await c.listSessions();
  if (o.json) {
    printJson(o, list.map((s) => ({
      session_id: s.session_id, ...Object.fromEntries(sessionFields(s).filter(([k, v]) => v !== undefined && v !== '' && k !== 'pod' && k !== 'objects')),
      object_count: s.object_count, created_unix_ms: Number(s.created_unix_ms), ...(s.pod ? { pod: s.pod } : {}),
    })));
    return;
  }
  const now = Date.now();
  for (const s of list) {
    const age = Math.max(0, Math.round((now - Number(s.created_unix_ms)) / 1000));
    o.write(`session ${s.session_id} ${kv([...sessionFields(s).slice(0, 4), ['age', `${age}s`], ...sessionFields(s).slice(4)])}\n`);
  }
}

/** The daemon ended a watch (it stopped, or the connection broke): rdmactl says so and exits 1. */
export class StreamClosed extends Error {}

export async function watch(c: Client, o: Out, f: ObjectFilter, initial: boolean): Promise<void> {
  await checkType(c, f.type);
  const it = c.watchObjects(f, { initial });
  let interrupted = false;
  const stop = (): void => {
    interrupted = true;
    it.cancel();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const ch of it) {
      if (o.json) o.write(`${jsonText(changeJson(ch))}\n`);
      else o.write(changeLine(ch));
    }
  } catch (e) {
    if (interrupted) return;
    throw new StreamClosed(`daemon closed the stream: ${(e as Error).message}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  // Every change the daemon sent is printed; an end the user did not ask for is not success.
  if (!interrupted) throw new StreamClosed('daemon closed the stream');
}

function attrLine(a: AttrInfo__Output, indent: string): string {
  const range = a.min || a.max ? `${a.min || '0'}..${a.max || ''}` : '';
  let s = `${indent}attr ${a.name} ${kv([
    ['id', a.id], ['kind', a.kind], ['dir', a.direction], ['mandatory', a.mandatory ? 'yes' : ''],
    ['types', a.handle_types.join(',')], ['access', a.kind === 'handle' ? a.access : ''], ['range', range],
    ['names', a.names.join(',')],
  ])}\n`;
  for (const m of a.members) s += attrLine(m, `${indent}  `);
  return s;
}

export async function types(c: Client, o: Out, device: string | undefined, verbose: boolean): Promise<void> {
  const names = device ? [device] : (await c.devices()).map((d) => d.name);
  const all = [];
  for (const name of names) {
    const d = await c.describe(name);
    if (o.json) {
      all.push(d);
      continue;
    }
    o.write(`dev ${d.device} ${kv([['import', d.supports_import ? 'yes' : 'no'], ['capabilities', d.capabilities.join(',')]])}\n`);
    for (const t of d.types) {
      o.write(`  type ${t.name} ${kv([
        ['id', t.id], ['read_only', t.read_only ? 'yes' : ''], ['driver', t.driver_specific ? 'yes' : ''],
        ['supported', t.supported ? '' : 'no'], ['parents', t.parent_types.join(',')],
        ['methods', verbose ? '' : t.methods.map((m) => (m.supported ? m.name : `${m.name}(unsupported)`)).join(',')],
      ])}\n`);
      if (!verbose) continue;
      for (const m of t.methods) {
        o.write(`    method ${m.name} ${kv([['id', m.id], ['supported', m.supported ? 'yes' : 'no'], ['doc', m.doc]])}\n`);
        for (const a of m.attrs) o.write(attrLine(a, '      '));
      }
    }
  }
  if (o.json) printJson(o, all);
}

export async function whoami(c: Client, o: Out): Promise<void> {
  const w = await c.whoami();
  if (o.json) printJson(o, w);
  else o.write(`${kv([['tenant', w.tenant], ['role', w.role], ['via', w.via]])}\n`);
}

export async function accounting(c: Client, o: Out, tenant: string): Promise<void> {
  const list = await c.accounting(tenant);
  const n = (x: string): number => Number(x);
  if (o.json) {
    printJson(o, list.map((u) => ({
      tenant: u.tenant, role: u.role,
      objects: n(u.objects), objects_high_water: n(u.objects_high_water),
      sessions: n(u.sessions), sessions_high_water: n(u.sessions_high_water),
      registered_bytes: n(u.registered_bytes), registered_bytes_high_water: n(u.registered_bytes_high_water),
      types: u.types.map((t) => ({ type: t.type, current: n(t.current), high_water: n(t.high_water) })),
      verbs: u.verbs.map((v) => ({ ...v, count: n(v.count) })),
      quota: Object.fromEntries(Object.entries(u.quota).map(([k, v]) => [k, n(v)])),
    })));
    return;
  }
  const limit = (u: (typeof list)[number], k: string): string => (u.quota[k] !== undefined ? `/${u.quota[k]}` : '');
  for (const u of list) {
    o.write(`tenant ${u.tenant} ${kv([
      ['role', u.role], ['objects', `${u.objects}${limit(u, 'objects')}`], ['high', u.objects_high_water],
      ['sessions', `${u.sessions}${limit(u, 'sessions')}`], ['sessions_high', u.sessions_high_water],
      ['registered_bytes', `${u.registered_bytes}${limit(u, 'registered_bytes')}`], ['bytes_high', u.registered_bytes_high_water],
    ])}\n`);
    for (const t of u.types) o.write(`  type ${t.type} ${kv([['current', `${t.current}${limit(u, t.type)}`], ['high', t.high_water]])}\n`);
  }
}

export async function quotas(c: Client, o: Out, tenant: string): Promise<void> {
  const list = await c.quotas(tenant);
  if (o.json) {
    printJson(o, list);
    return;
  }
  for (const q of list) {
    const limits = Object.entries(q.limits);
    o.write(`tenant ${q.tenant} ${limits.length ? kv(limits) : 'unlimited'}\n`);
  }
}

/** NAME=N sets a limit, NAME=none clears it. */
export function quotaArgs(args: string[]): { set: Record<string, number>; clear: string[] } {
  const set: Record<string, number> = {};
  const clear: string[] = [];
  for (const a of args) {
    const m = /^([A-Za-z_]+)=(.*)$/.exec(a);
    if (!m) throw new UsageError(`quota: expected NAME=N or NAME=none, got ${JSON.stringify(a)}`);
    if (!/^(\d+|none)$/.test(m[2]!)) throw new UsageError(`quota: ${m[1]!}: expected a non-negative integer or none, got ${JSON.stringify(m[2])}`);
    if (m[2] === 'none') clear.push(m[1]!);
    else set[m[1]!] = Number(m[2]);
  }
  if (clear.length + Object.keys(set).length === 0) throw new UsageError('quota: give at least one NAME=N or NAME=none');
  return { set, clear };
}

export async function setQuota(c: Client, o: Out, tenant: string, q: { set: Record<string, number>; clear: string[] }): Promise<void> {
  const { limits, overLimit } = await c.updateQuota(tenant, q.set, q.clear);
  if (o.json) printJson(o, { tenant, limits, over_limit: overLimit });
  else o.write(`tenant ${tenant} ${Object.keys(limits).length ? kv(Object.entries(limits)) : 'unlimited'}\n`);
  // Accepted, but not silently: a limit below usage does not take anything away.
  for (const x of overLimit) {
    o.warn(`tenant ${tenant} uses ${x.current} ${x.name}, above the new limit ${x.limit}: its existing objects are kept; creating more is refused until usage is below the limit`);
  }
}

export async function evict(c: Client, o: Out, session: string): Promise<void> {
  const r = await c.evictSession(session);
  if (o.json) printJson(o, { session, tenant: r.tenant, objects_destroyed: r.objectsDestroyed });
  else o.write(`evicted ${session} ${kv([['tenant', r.tenant], ['objects_destroyed', r.objectsDestroyed]])}\n`);
}
