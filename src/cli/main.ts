/**
 * rdmactl: inspect a running rdma-brokerd, in the manner of iproute2's `rdma`
 * tool (one line per item, `key value` pairs) or as JSON with -j.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { connect, RdmaError, toJson, type Client, type ObjectFilter, type ObjectRecord, type PlainMap } from '../client/index.js';
import { defaultSocket } from '../wire/defaults.js';
import type { AttrInfo__Output } from '../wire/gen/rdmabroker/v1/AttrInfo.js';

const VERSION = '0.1.0';

export const USAGE = `Usage: rdmactl [--socket PATH | --addr HOST:PORT ...] [-j] [-p] COMMAND [ARGS]

Inspects a running rdma-brokerd.

Commands:
  devices                  devices, their backend, provider and ports
  ports [DEVICE]           port state, link layer, MTU, LID, GID 0
  objects [--type T] [--session S] [--device D] [--tenant T]
                           brokered objects (like \`rdma resource show\`)
  sessions                 live sessions with their object counts
  watch [--initial] [filters]
                           stream object changes until interrupted
  types [DEVICE] [-v]      discovery: object types, methods (-v: and attributes)
  whoami                   the tenant and role the daemon sees for this caller
  accounting [--tenant T]  usage per tenant and type: current, high-water, bytes, quota
  quotas [--tenant T]      quota limits per tenant
  quota TENANT NAME=N|none ...
                           (admin) set or clear quota limits: objects, sessions,
                           registered_bytes, or an object type (qp=64 mr=none)
  evict SESSION            (admin) end a session now, destroying its objects

Options:
  --socket PATH            the daemon's unix socket (default: $RDMA_BROKER_SOCKET,
                           else ${defaultSocket()})
  --addr HOST:PORT         a daemon serving TCP (--listen); give it several times
                           to merge the nodes' tables (a node column is added)
  --token TOKEN            bearer token for TCP (or --token-file FILE, or
                           RDMACTL_TOKEN in the environment)
  --tls                    TCP with TLS (implied by the --tls-* options)
  --tls-ca FILE            CA that signed the daemon's certificate
  --tls-cert FILE          client certificate (with --tls-key)
  --tls-key FILE           client certificate's key
  --tls-server-name NAME   the name to check in the daemon's certificate
  -j, --json               JSON output (watch: one JSON object per line)
  -p, --pretty             indented JSON
  -v, --verbose            more detail (types: every attribute)
  -h, --help               this text
  --version                print the version
`;

class UsageError extends Error {}

interface Out {
  json: boolean;
  pretty: boolean;
  write(s: string): void;
}

function printJson(o: Out, v: unknown): void {
  o.write(`${JSON.stringify(v, null, o.pretty ? 2 : undefined)}\n`);
}

/** `key value` pairs; values with spaces are quoted, empty ones left out. */
function kv(pairs: [string, unknown][]): string {
  const parts: string[] = [];
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    const s = typeof v === 'object' ? JSON.stringify(toJson(v as never)) : String(v);
    parts.push(`${k} ${/\s/.test(s) ? JSON.stringify(s) : s}`);
  }
  return parts.join(' ');
}

const PHYS_STATE: Record<number, string> = {
  1: 'SLEEP', 2: 'POLLING', 3: 'DISABLED', 4: 'PORT_CONFIGURATION_TRAINING', 5: 'LINK_UP', 6: 'LINK_ERROR_RECOVERY', 7: 'PHY_TEST',
};
const MTU: Record<number, number> = { 1: 256, 2: 512, 3: 1024, 4: 2048, 5: 4096 };

/** The attributes rdmactl shows first for each object type (the rest follow in -j). */
const KEY_ATTRS = ['qp_num', 'qp_type', 'qp_state', 'lkey', 'rkey', 'length', 'cqe', 'srq_limit', 'max_wr'];

function objectJson(o: ObjectRecord): Record<string, unknown> {
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
function podName(p: { namespace: string; name: string; container: string } | null | undefined): string | undefined {
  return p ? `${p.namespace}/${p.name}/${p.container}` : undefined;
}

function objectLine(o: ObjectRecord): string {
  const attrs: [string, unknown][] = KEY_ATTRS.filter((k) => o.attrs[k] !== undefined).map((k) => [k, o.attrs[k]]);
  return kv([
    ['dev', o.device], ['type', o.type], ['handle', o.handle], ['session', o.session], ['tenant', o.tenant],
    ['user_handle', o.userHandle === '0' ? '' : o.userHandle], ['pod', podName(o.pod)], ['parents', o.parents.join(',')], ...attrs,
  ]);
}

async function devices(c: Client, o: Out): Promise<void> {
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

async function ports(c: Client, o: Out, device: string | undefined): Promise<void> {
  const names = device ? [device] : (await c.devices()).map((d) => d.name);
  const rows: Record<string, unknown>[] = [];
  for (const name of names) {
    const info = await c.queryDevice(name);
    for (const p of info.ports) {
      const a = p.attrs;
      const gid0 = p.gids.find((g) => g.index === 0);
      if (o.json) {
        rows.push({ device: name, port: p.port, ...(toJson(a) as object), gids: p.gids });
        continue;
      }
      o.write(`link ${name}/${p.port} ${kv([
        ['state', a.state], ['physical_state', PHYS_STATE[Number(a.phys_state)] ?? a.phys_state], ['link_layer', a.link_layer],
        ['mtu', MTU[Number(a.active_mtu)] ?? a.active_mtu], ['lid', a.lid], ['gid', gid0?.gid], ['gid_type', gid0?.type],
        ['netdev', gid0?.netdev],
      ])}\n`);
    }
  }
  if (o.json) printJson(o, rows);
}

async function objects(c: Client, o: Out, f: ObjectFilter): Promise<void> {
  const list = await c.listObjects(f);
  if (o.json) {
    printJson(o, list.map(objectJson));
    return;
  }
  for (const x of list) o.write(`${objectLine(x)}\n`);
}

async function sessions(c: Client, o: Out): Promise<void> {
  const list = await c.listSessions();
  if (o.json) {
    printJson(o, list.map((s) => ({ ...s, created_unix_ms: Number(s.created_unix_ms) })));
    return;
  }
  const now = Date.now();
  for (const s of list) {
    const age = Math.max(0, Math.round((now - Number(s.created_unix_ms)) / 1000));
    o.write(`session ${s.session_id} ${kv([
      ['name', s.name], ['tenant', s.tenant], ['state', s.state], ['objects', s.object_count], ['age', `${age}s`], ['peer', s.peer], ['pod', podName(s.pod)],
    ])}\n`);
  }
}

async function watch(c: Client, o: Out, f: ObjectFilter, initial: boolean): Promise<void> {
  const it = c.watchObjects(f, { initial });
  const stop = (): void => it.cancel();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const ch of it) {
      if (o.json) {
        o.write(`${JSON.stringify({ kind: ch.kind, object: ch.object ? objectJson(ch.object) : null })}\n`);
      } else {
        o.write(ch.object ? `${ch.kind.toLowerCase()} ${objectLine(ch.object)}\n` : `${ch.kind.toLowerCase()}\n`);
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
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

async function types(c: Client, o: Out, device: string | undefined, verbose: boolean): Promise<void> {
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

async function whoami(c: Client, o: Out): Promise<void> {
  const w = await c.whoami();
  if (o.json) printJson(o, w);
  else o.write(`${kv([['tenant', w.tenant], ['role', w.role], ['via', w.via]])}\n`);
}

async function accounting(c: Client, o: Out, tenant: string): Promise<void> {
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

async function quotas(c: Client, o: Out, tenant: string): Promise<void> {
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
function quotaArgs(args: string[]): { set: Record<string, number>; clear: string[] } {
  const set: Record<string, number> = {};
  const clear: string[] = [];
  for (const a of args) {
    const m = /^([A-Za-z_]+)=(\d+|none)$/.exec(a);
    if (!m) throw new UsageError(`quota: expected NAME=N or NAME=none, got ${JSON.stringify(a)}`);
    if (m[2] === 'none') clear.push(m[1]!);
    else set[m[1]!] = Number(m[2]);
  }
  if (clear.length + Object.keys(set).length === 0) throw new UsageError('quota: give at least one NAME=N or NAME=none');
  return { set, clear };
}

async function setQuota(c: Client, o: Out, tenant: string, q: { set: Record<string, number>; clear: string[] }): Promise<void> {
  const limits = await c.setQuota(tenant, q.set, q.clear);
  if (o.json) printJson(o, { tenant, limits });
  else o.write(`tenant ${tenant} ${Object.keys(limits).length ? kv(Object.entries(limits)) : 'unlimited'}\n`);
}

async function evict(c: Client, o: Out, session: string): Promise<void> {
  const r = await c.evictSession(session);
  if (o.json) printJson(o, { session, tenant: r.tenant, objects_destroyed: r.objectsDestroyed });
  else o.write(`evicted ${session} ${kv([['tenant', r.tenant], ['objects_destroyed', r.objectsDestroyed]])}\n`);
}

/**
 * Runs a command on several daemons and merges their output with a node
 * column: JSON arrays are concatenated (each item gets `node`), JSON objects
 * get `node`; text lines are prefixed with `node ADDR`. Streaming output
 * (watch) is merged line by line as it comes. A node that fails is reported
 * on stderr; the others still print. Resolves with how many nodes failed.
 */
async function onNodes(nodes: string[], out: Out, streaming: boolean, writeErr: (s: string) => void, run: (addr: string, o: Out) => Promise<void>): Promise<number> {
  const tag = (addr: string, line: string): string => {
    if (!out.json) return `node ${addr} ${line}`;
    try {
      const v = JSON.parse(line) as unknown;
      return JSON.stringify(v !== null && typeof v === 'object' && !Array.isArray(v) ? { node: addr, ...v } : { node: addr, value: v });
    } catch {
      return line;
    }
  };
  const captured = new Map<string, string>();
  let failed = 0;
  await Promise.all(nodes.map(async (addr) => {
    let buf = '';
    const o: Out = {
      json: out.json,
      pretty: streaming ? false : out.pretty,
      write: (s) => {
        buf += s;
        if (!streaming) return;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          out.write(`${tag(addr, buf.slice(0, i))}\n`);
          buf = buf.slice(i + 1);
        }
      },
    };
    try {
      await run(addr, o);
      captured.set(addr, buf);
    } catch (e) {
      failed++;
      writeErr(`rdmactl: ${addr}: ${(e as Error).message}\n`);
    }
  }));
  if (streaming) return failed;
  if (out.json) {
    const merged: unknown[] = [];
    for (const addr of nodes) {
      const text = captured.get(addr);
      if (text === undefined || !text.trim()) continue;
      const v = JSON.parse(text) as unknown;
      const items = Array.isArray(v) ? v : [v];
      for (const x of items) merged.push(x !== null && typeof x === 'object' && !Array.isArray(x) ? { node: addr, ...x } : { node: addr, value: x });
    }
    printJson(out, merged);
  } else {
    for (const addr of nodes) {
      for (const line of (captured.get(addr) ?? '').split('\n')) if (line) out.write(`node ${addr} ${line}\n`);
    }
  }
  return failed;
}

function filterOf(v: { type?: string; session?: string; device?: string; tenant?: string }): ObjectFilter {
  const f: ObjectFilter = {};
  if (v.type) f.type = v.type;
  if (v.session) f.session = v.session;
  if (v.device) f.device = v.device;
  if (v.tenant) f.tenant = v.tenant;
  return f;
}

/** Runs rdmactl; returns the exit code. */
export async function main(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s), writeErr: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  // `rdmactl objects | head`: a closed pipe ends the output, not the process with a stack trace.
  process.stdout.once('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  let v;
  let pos: string[];
  try {
    const r = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' }, addr: { type: 'string', multiple: true },
        token: { type: 'string' }, 'token-file': { type: 'string' }, tls: { type: 'boolean' },
        'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
        json: { type: 'boolean', short: 'j' }, pretty: { type: 'boolean', short: 'p' }, verbose: { type: 'boolean', short: 'v' },
        type: { type: 'string' }, session: { type: 'string' }, device: { type: 'string' }, tenant: { type: 'string' },
        initial: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
    v = r.values;
    pos = r.positionals;
  } catch (e) {
    writeErr(`rdmactl: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    write(USAGE);
    return 0;
  }
  if (v.version) {
    write(`rdmactl ${VERSION}\n`);
    return 0;
  }
  const [cmd, ...args] = pos;
  const out: Out = { json: v.json ?? false, pretty: v.pretty ?? false, write };
  let run: (c: Client, o: Out) => Promise<void>;
  try {
    const noArgs = (): void => {
      if (args.length > 0) throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(args[0])}`);
    };
    const oneArg = (): string | undefined => {
      if (args.length > 1) throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(args[1])}`);
      return args[0];
    };
    switch (cmd) {
      case 'devices':
      case 'dev':
        noArgs();
        run = (c, o) => devices(c, o);
        break;
      case 'ports':
      case 'link': {
        const d = oneArg() ?? v.device;
        run = (c, o) => ports(c, o, d);
        break;
      }
      case 'objects':
      case 'resource':
        noArgs();
        run = (c, o) => objects(c, o, filterOf(v));
        break;
      case 'sessions':
        noArgs();
        run = (c, o) => sessions(c, o);
        break;
      case 'watch':
        noArgs();
        run = (c, o) => watch(c, o, filterOf(v), v.initial ?? false);
        break;
      case 'types': {
        const d = oneArg() ?? v.device;
        run = (c, o) => types(c, o, d, v.verbose ?? false);
        break;
      }
      case 'whoami':
        noArgs();
        run = (c, o) => whoami(c, o);
        break;
      case 'accounting':
      case 'usage':
        noArgs();
        run = (c, o) => accounting(c, o, v.tenant ?? '');
        break;
      case 'quotas':
        noArgs();
        run = (c, o) => quotas(c, o, v.tenant ?? '');
        break;
      case 'quota': {
        const [tenant, ...rest] = args;
        if (!tenant) throw new UsageError('quota: name the tenant');
        const q = quotaArgs(rest);
        run = (c, o) => setQuota(c, o, tenant, q);
        break;
      }
      case 'evict': {
        const id = oneArg();
        if (!id) throw new UsageError('evict: name the session');
        run = (c, o) => evict(c, o, id);
        break;
      }
      case undefined:
        throw new UsageError('a command is required');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
    if (v.socket && v.addr?.length) throw new UsageError('give --socket or --addr, not both');
    if (v.token && v['token-file']) throw new UsageError('give --token or --token-file, not both');
    if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  } catch (e) {
    writeErr(`rdmactl: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const addrs = v.addr ?? [];
  let token: string | undefined;
  try {
    token = v.token ?? (v['token-file'] ? fs.readFileSync(v['token-file'], 'utf8').trim() : process.env.RDMACTL_TOKEN || undefined);
  } catch (e) {
    writeErr(`rdmactl: ${(e as Error).message}\n`);
    return 1;
  }
  const useTls = v.tls || v['tls-ca'] !== undefined || v['tls-cert'] !== undefined || v['tls-server-name'] !== undefined;
  const tcp = (addr: string) => ({
    addr, connectTimeoutMs: 3000, token,
    tls: useTls ? { ca: v['tls-ca'], cert: v['tls-cert'], key: v['tls-key'], serverName: v['tls-server-name'] } : undefined,
  });
  if (addrs.length > 1) {
    const failed = await onNodes(addrs, out, cmd === 'watch', writeErr, async (addr, o) => {
      const c = await connect(tcp(addr));
      try {
        await run(c, o);
      } finally {
        c.close();
      }
    });
    return failed > 0 ? 1 : 0;
  }
  let client: Client | null = null;
  try {
    client = await connect(addrs[0] !== undefined ? tcp(addrs[0]) : { socket: v.socket, connectTimeoutMs: 3000 });
    await run(client, out);
    return 0;
  } catch (e) {
    writeErr(`rdmactl: ${e instanceof RdmaError ? e.message : (e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

export type { PlainMap };
