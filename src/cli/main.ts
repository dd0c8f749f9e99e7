/**
 * rdmactl: inspect a running rdma-brokerd, in the manner of iproute2's `rdma`
 * tool (one line per item, `key value` pairs) or as JSON with -j.
 */
import { parseArgs } from 'node:util';
import { connect, RdmaError, toJson, type Client, type ObjectFilter, type ObjectRecord, type PlainMap } from '../client/index.js';
import { defaultSocket } from '../wire/defaults.js';
import type { AttrInfo__Output } from '../wire/gen/rdmabroker/v1/AttrInfo.js';

const VERSION = '0.1.0';

export const USAGE = `Usage: rdmactl [--socket PATH | --addr HOST:PORT] [-j] [-p] COMMAND [ARGS]

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

Options:
  --socket PATH            the daemon's unix socket (default: ${defaultSocket()})
  --addr HOST:PORT         a daemon serving TCP (--listen)
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
  };
}

function objectLine(o: ObjectRecord): string {
  const attrs: [string, unknown][] = KEY_ATTRS.filter((k) => o.attrs[k] !== undefined).map((k) => [k, o.attrs[k]]);
  return kv([
    ['dev', o.device], ['type', o.type], ['handle', o.handle], ['session', o.session], ['tenant', o.tenant],
    ['user_handle', o.userHandle === '0' ? '' : o.userHandle], ['parents', o.parents.join(',')], ...attrs,
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
      ['name', s.name], ['tenant', s.tenant], ['state', s.state], ['objects', s.object_count], ['age', `${age}s`], ['peer', s.peer],
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
        socket: { type: 'string' }, addr: { type: 'string' },
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
  let run: (c: Client) => Promise<void>;
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
        run = (c) => devices(c, out);
        break;
      case 'ports':
      case 'link': {
        const d = oneArg() ?? v.device;
        run = (c) => ports(c, out, d);
        break;
      }
      case 'objects':
      case 'resource':
        noArgs();
        run = (c) => objects(c, out, filterOf(v));
        break;
      case 'sessions':
        noArgs();
        run = (c) => sessions(c, out);
        break;
      case 'watch':
        noArgs();
        run = (c) => watch(c, out, filterOf(v), v.initial ?? false);
        break;
      case 'types': {
        const d = oneArg() ?? v.device;
        run = (c) => types(c, out, d, v.verbose ?? false);
        break;
      }
      case undefined:
        throw new UsageError('a command is required');
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
    if (v.socket && v.addr) throw new UsageError('give --socket or --addr, not both');
  } catch (e) {
    writeErr(`rdmactl: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let client: Client | null = null;
  try {
    client = await connect(v.addr ? { addr: v.addr, connectTimeoutMs: 3000 } : { socket: v.socket, connectTimeoutMs: 3000 });
    await run(client);
    return 0;
  } catch (e) {
    writeErr(`rdmactl: ${e instanceof RdmaError ? e.message : (e as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

export type { PlainMap };
