/** Command-line options of rdma-brokerd. */
import { parseArgs } from 'node:util';
import { defaultSocket } from '../wire/defaults.js';

export { defaultSocket };

export interface DaemonOptions {
  socket: string;
  listen: string | null;
  device: 'auto' | 'sim' | 'ibverbs';
  logLevel: string;
  leaseMs: number;
  maxResumeGraceMs: number;
  config: string | null;
  metricsListen: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsCa: string | null;
  insecureTcp: boolean;
  /** Also write audit records here (JSON lines; reopened on SIGHUP for log rotation). */
  auditLog?: string | null;
  /** The fd channel's socket path (null or absent: no fd channel, on any socket). */
  fdSocket?: string | null;
}

export const USAGE = `Usage: rdma-brokerd [options]

Owns the host's RDMA (uverbs) devices and brokers their objects over gRPC.

Options:
  --socket PATH            gRPC unix socket (default: ${defaultSocket()})
  --fd-socket PATH|none    the fd channel (SCM_RIGHTS; docs/fd-channel.md)
                           (default: the gRPC socket path + ".fd"; each tenant
                           socket gets one beside it, PATH.fd)
  --listen HOST:PORT       also serve gRPC over TCP
  --device auto|sim|ibverbs
                           auto: the kernel's devices through libibverbs, or the
                           simulated device sim0 when the host has none (default);
                           sim: force the simulated device; ibverbs: require real devices
  --lease-ms N             default session lease (default 30000)
  --max-resume-grace-ms N  longest resume grace a session may ask for (default 300000)
  --config FILE            tenants, identities, roles and quotas (JSON or YAML;
                           SIGHUP reloads it); see docs/tenants.md
  --tls-cert FILE          serve TCP with TLS: the server certificate (PEM;
                           SIGHUP re-reads the TLS files)
  --tls-key FILE           ... and its private key (PEM)
  --tls-ca FILE            ask TCP clients for certificates signed by this CA
                           (mapped to tenants in the config)
  --insecure-tcp           TCP callers without credentials act as the main
                           socket's tenant (trusted networks and tests only);
                           otherwise they get UNAUTHENTICATED
  --metrics-listen HOST:PORT
                           serve Prometheus metrics on /metrics
  --check-config FILE      validate a config file and exit (0: valid)
  --audit-log FILE         also append audit records (every mutating verb) to
                           FILE as JSON lines; SIGHUP reopens it (log rotation)
  --log-level LEVEL        trace|debug|info|warn|error (default info; RDMA_BROKER_LOG_LEVEL)
  -h, --help               this text
  --version                print the version
`;

export class UsageError extends Error {}

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function parseOptions(argv: string[]): DaemonOptions | 'help' | 'version' | { checkConfig: string } {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        'fd-socket': { type: 'string' },
        listen: { type: 'string' },
        device: { type: 'string' },
        'lease-ms': { type: 'string' },
        'max-resume-grace-ms': { type: 'string' },
        config: { type: 'string' },
        'metrics-listen': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'insecure-tcp': { type: 'boolean' },
        'check-config': { type: 'string' },
        'audit-log': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (v['check-config'] !== undefined) return { checkConfig: v['check-config'] };
  const device = v.device ?? 'auto';
  if (device !== 'auto' && device !== 'sim' && device !== 'ibverbs') {
    throw new UsageError(`--device: expected auto, sim or ibverbs, got ${JSON.stringify(device)}`);
  }
  if (v.listen !== undefined && !/^.+:\d+$/.test(v.listen)) throw new UsageError(`--listen: expected HOST:PORT, got ${JSON.stringify(v.listen)}`);
  const ml = v['metrics-listen'];
  if (ml !== undefined && !/^.*:\d+$/.test(ml)) throw new UsageError(`--metrics-listen: expected HOST:PORT, got ${JSON.stringify(ml)}`);
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (v['tls-ca'] !== undefined && v['tls-cert'] === undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
  if ((v['tls-cert'] !== undefined || v['insecure-tcp']) && v.listen === undefined) throw new UsageError('--tls-cert and --insecure-tcp apply to TCP: give --listen HOST:PORT');
  const socket = v.socket ?? defaultSocket();
  const fdSocket = v['fd-socket'] === 'none' ? null : v['fd-socket'] ?? `${socket}.fd`;
  return {
    socket,
    fdSocket,
    listen: v.listen ?? null,
    device,
    logLevel: v['log-level'] ?? process.env.RDMA_BROKER_LOG_LEVEL ?? 'info',
    leaseMs: num(v['lease-ms'], 'lease-ms', 30_000),
    maxResumeGraceMs: num(v['max-resume-grace-ms'], 'max-resume-grace-ms', 300_000),
    config: v.config ?? null,
    metricsListen: v['metrics-listen'] ?? null,
    tlsCert: v['tls-cert'] ?? null,
    tlsKey: v['tls-key'] ?? null,
    tlsCa: v['tls-ca'] ?? null,
    insecureTcp: v['insecure-tcp'] ?? false,
    auditLog: v['audit-log'] ?? null,
  };
}
