/**
 * rdmactl: inspect a running rdma-brokerd, in the manner of iproute2's `rdma`
 * tool (one line per item, `key value` pairs) or as JSON with -j.
 */
import fs from 'node:fs';
import { connect, TlsMismatchError, type Client, type ObjectFilter, type PlainMap } from '../client/index.js';
import { defaultSocket } from '../wire/defaults.js';
import { parseCommandLine, UsageError, usageLine } from '../wire/usage.js';
import { printJson, type Out } from './format.js';
import { top } from './top.js';
import { accounting, devices, evict, objects, ports, quotaArgs, quotas, sessions, setQuota, types, watch, whoami } from './commands.js';

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
  top [--interval S]       live view of sessions and tenants: objects per type,
                           registered bytes, verbs/s (refreshed every S seconds,
                           default 1; q quits; on a pipe: one frame)

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
      warn: (s) => out.warn(`${addr}: ${s}`),
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
      writeErr(`rdmactl: ${addr}: ${errorText(e)}\n`);
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

/** One line for a failure, naming the rdmactl option that fixes a TLS mismatch. */
function errorText(e: unknown): string {
  if (e instanceof TlsMismatchError) {
    return e.daemonTls
      ? `the daemon at ${e.addr} speaks TLS (try --tls, and --tls-ca FILE when a private CA signed its certificate)`
      : `the daemon at ${e.addr} does not speak TLS (try without --tls)`;
  }
  return (e as Error).message;
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
    const r = parseCommandLine({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      socket: { type: 'string' }, addr: { type: 'string', multiple: true },
      token: { type: 'string' }, 'token-file': { type: 'string' }, tls: { type: 'boolean' },
      'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
      json: { type: 'boolean', short: 'j' }, pretty: { type: 'boolean', short: 'p' }, verbose: { type: 'boolean', short: 'v' },
      type: { type: 'string' }, session: { type: 'string' }, device: { type: 'string' }, tenant: { type: 'string' },
      initial: { type: 'boolean' }, interval: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' },
    } });
    v = r.values;
    pos = r.positionals;
  } catch (e) {
    writeErr(usageLine('rdmactl', (e as Error).message));
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
  const out: Out = { json: v.json ?? false, pretty: v.pretty ?? false, write, warn: (s) => writeErr(`rdmactl: warning: ${s}\n`) };
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
      case 'top': {
        noArgs();
        if (v.json) throw new UsageError('top: no JSON output (accounting -j and sessions -j have the same data)');
        if ((v.addr?.length ?? 0) > 1) throw new UsageError('top: one daemon at a time (give one --addr)');
        const secs = v.interval === undefined ? 1 : Number(v.interval);
        if (!Number.isFinite(secs) || secs < 0.1 || secs > 3600) throw new UsageError(`top: --interval: expected 0.1..3600 seconds, got ${JSON.stringify(v.interval)}`);
        run = (c) => top(c, { output: process.stdout, input: process.stdin }, { intervalMs: secs * 1000, target: c.socketPath ?? v.addr![0]! });
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
    if (!(e instanceof UsageError)) throw e;
    writeErr(usageLine('rdmactl', e.message));
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
    if (e instanceof UsageError) {
      writeErr(usageLine('rdmactl', e.message));
      return 2;
    }
    writeErr(`rdmactl: ${errorText(e)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

export type { PlainMap };
