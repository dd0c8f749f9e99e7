/** Command-line options of rdma-brokerd. */
import path from 'node:path';
import { defaultSocket } from '../wire/defaults.js';
import { parseCommandLine, UsageError } from '../wire/usage.js';
import { KUBELET_DEFAULTS, validResourceName, type KubeletOptions } from '../k8s/plugin.js';

export { defaultSocket, UsageError };

/** How the daemon's log lines look: text for a person at a terminal, JSON lines for machines. */
export type LogFormat = 'text' | 'json';

export interface DaemonOptions {
  socket: string;
  listen: string | null;
  device: 'auto' | 'sim' | 'ibverbs';
  /** --sim-devices: how many simulated devices (sim0 ...) `--device sim` serves; default 1. */
  simDevices?: number;
  logLevel: string;
  /** null: text when stdout is a terminal, JSON otherwise. */
  logFormat?: LogFormat | null;
  leaseMs: number;
  maxResumeGraceMs: number;
  config: string | null;
  metricsListen: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsCa: string | null;
  insecureTcp: boolean;
  /** --fast-lane-spin: a worker thread busy-polls the fast lanes (docs/fast-lane.md, "Spin mode"). */
  fastLaneSpin?: boolean;
  /** Also write audit records here (JSON lines; reopened on SIGHUP for log rotation). */
  auditLog?: string | null;
  /** The fd channel's socket path (null or absent: no fd channel, on any socket). */
  fdSocket?: string | null;
  /** The kubelet device plugin (--kubernetes / --kubelet-dir); null or absent: off. */
  kubelet?: KubeletOptions | null;
  /** A Connect stream without `open` within this time is ended (DEADLINE_EXCEEDED); default 5000. */
  openTimeoutMs?: number;
}

/** The most simulated devices --sim-devices takes (each is opened, probed and listed at start). */
export const MAX_SIM_DEVICES = 16;

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
                           sim: force the simulated device, a test device whose
                           sessions may also take its port down or fail it
                           (docs/fault-injection.md); ibverbs: require real devices
  --sim-devices N          with --device sim: serve N simulated devices, sim0 to
                           sim(N-1), on one simulated fabric (1..${MAX_SIM_DEVICES}, default 1)
  --lease-ms N             default session lease (default 30000)
  --max-resume-grace-ms N  longest resume grace a session may ask for (default 300000)
  --open-timeout-ms N      a Connect stream must send open within N ms (default 5000)
  --config FILE            tenants, identities, roles and quotas (JSON or YAML;
                           SIGHUP reloads it); see docs/tenants.md
  --tls-cert FILE          serve TCP with TLS: the server certificate (PEM;
                           SIGHUP re-reads the TLS files)
  --tls-key FILE           ... and its private key (PEM)
  --tls-ca FILE            ask TCP clients for certificates signed by this CA
                           (mapped to tenants in the config)
  --fast-lane-spin         a worker thread busy-polls the fast lanes' rings and
                           the daemon's CQs instead of waiting for doorbells and
                           channel events (one core while lanes are busy; off
                           by default; for the libibverbs backend; see
                           docs/fast-lane.md, "Spin mode")
  --insecure-tcp           TCP callers without credentials act as the main
                           socket's tenant (trusted networks and tests only);
                           otherwise they get UNAUTHENTICATED
  --metrics-listen HOST:PORT
                           serve Prometheus metrics on /metrics
  --check-config FILE      validate a config file and exit (0: valid)
  --audit-log FILE         also append audit records (every mutating verb) to
                           FILE as JSON lines; SIGHUP reopens it (log rotation)
  --log-level LEVEL        trace|debug|info|warn|error (default info; RDMA_BROKER_LOG_LEVEL)
  --log-format text|json   text: ISO time, level, message, key=value (default on a
                           terminal); json: one JSON object per line (default
                           otherwise: services, journald, files; RDMA_BROKER_LOG_FORMAT)

Kubernetes (a kubelet device plugin; docs in deploy/README.md):
  --kubernetes             serve the device plugin under ${KUBELET_DEFAULTS.kubeletDir}
  --kubelet-dir DIR        ... under DIR instead (implies --kubernetes): the
                           plugin socket in DIR/device-plugins/, registration at
                           DIR/device-plugins/kubelet.sock, pod identity from
                           DIR/pod-resources/kubelet.sock
  --k8s-resource NAME      the extended resource (default ${KUBELET_DEFAULTS.resourceName})
  --k8s-slots N            session slots offered (default ${KUBELET_DEFAULTS.slots})
  --k8s-claim-timeout-ms N release an allocation no pod claims within N ms
                           (default ${KUBELET_DEFAULTS.claimTimeoutMs})
  --k8s-poll-ms N          pod-resources List interval (default ${KUBELET_DEFAULTS.podPollMs})
  --state-dir DIR          allocations' directories and state (default ${KUBELET_DEFAULTS.stateDir})
  --cdi-dir DIR            also write a CDI spec per allocation (e.g. /var/run/cdi)
  -h, --help               this text
  --version                print the version
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function num(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function parseOptions(argv: string[]): DaemonOptions | 'help' | 'version' | { checkConfig: string } {
  const v = parseCommandLine({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      socket: { type: 'string' },
      'fd-socket': { type: 'string' },
      listen: { type: 'string' },
      device: { type: 'string' },
      'sim-devices': { type: 'string' },
      'lease-ms': { type: 'string' },
      'max-resume-grace-ms': { type: 'string' },
      'open-timeout-ms': { type: 'string' },
      config: { type: 'string' },
      'metrics-listen': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'insecure-tcp': { type: 'boolean' },
      'fast-lane-spin': { type: 'boolean' },
      'check-config': { type: 'string' },
      'audit-log': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      kubernetes: { type: 'boolean' },
      'kubelet-dir': { type: 'string' },
      'k8s-resource': { type: 'string' },
      'k8s-slots': { type: 'string' },
      'k8s-claim-timeout-ms': { type: 'string' },
      'k8s-poll-ms': { type: 'string' },
      'state-dir': { type: 'string' },
      'cdi-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
  } }).values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  if (v['check-config'] !== undefined) return { checkConfig: v['check-config'] };
  const device = v.device ?? 'auto';
  if (device !== 'auto' && device !== 'sim' && device !== 'ibverbs') {
    throw new UsageError(`--device: expected auto, sim or ibverbs, got ${JSON.stringify(device)}`);
  }
  const simText = v['sim-devices'];
  if (simText !== undefined && device !== 'sim') throw new UsageError('--sim-devices applies to the simulated devices: give --device sim');
  const simDevices = simText === undefined ? 1 : /^\d{1,6}$/.test(simText) ? Number(simText) : NaN;
  if (!(simDevices >= 1 && simDevices <= MAX_SIM_DEVICES)) {
    throw new UsageError(`--sim-devices: expected 1..${MAX_SIM_DEVICES}, got ${JSON.stringify(simText)}`);
  }
  if (v.listen !== undefined && !/^.+:\d+$/.test(v.listen)) throw new UsageError(`--listen: expected HOST:PORT, got ${JSON.stringify(v.listen)}`);
  const ml = v['metrics-listen'];
  if (ml !== undefined && !/^.*:\d+$/.test(ml)) throw new UsageError(`--metrics-listen: expected HOST:PORT, got ${JSON.stringify(ml)}`);
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (v['tls-ca'] !== undefined && v['tls-cert'] === undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
  if ((v['tls-cert'] !== undefined || v['insecure-tcp']) && v.listen === undefined) throw new UsageError('--tls-cert and --insecure-tcp apply to TCP: give --listen HOST:PORT');
  const logFormat = v['log-format'] ?? (process.env.RDMA_BROKER_LOG_FORMAT || undefined);
  if (logFormat !== undefined && logFormat !== 'text' && logFormat !== 'json') {
    throw new UsageError(`--log-format: expected text or json, got ${JSON.stringify(logFormat)}`);
  }
  const logLevel = v['log-level'] ?? process.env.RDMA_BROKER_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: expected ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const k8sOn = v.kubernetes === true || v['kubelet-dir'] !== undefined;
  if (!k8sOn) {
    const stray = ['k8s-resource', 'k8s-slots', 'k8s-claim-timeout-ms', 'k8s-poll-ms', 'state-dir', 'cdi-dir'].find((k) => v[k as keyof typeof v] !== undefined);
    if (stray) throw new UsageError(`--${stray} applies to the device plugin: give --kubernetes or --kubelet-dir DIR`);
  }
  let kubelet: KubeletOptions | null = null;
  if (k8sOn) {
    const resourceName = v['k8s-resource'] ?? KUBELET_DEFAULTS.resourceName;
    if (!validResourceName(resourceName)) throw new UsageError(`--k8s-resource: expected DOMAIN/NAME (e.g. ${KUBELET_DEFAULTS.resourceName}), got ${JSON.stringify(resourceName)}`);
    const slots = num(v['k8s-slots'], 'k8s-slots', KUBELET_DEFAULTS.slots);
    if (slots < 1 || slots > 4096) throw new UsageError(`--k8s-slots: expected 1..4096, got ${slots}`);
    const pollMs = num(v['k8s-poll-ms'], 'k8s-poll-ms', KUBELET_DEFAULTS.podPollMs);
    if (pollMs < 50) throw new UsageError(`--k8s-poll-ms: at least 50, got ${pollMs}`);
    const abs = (p: string | undefined, def: string | null): string | null => (p === undefined ? def : path.resolve(p));
    kubelet = {
      kubeletDir: abs(v['kubelet-dir'], KUBELET_DEFAULTS.kubeletDir)!,
      resourceName,
      slots,
      stateDir: abs(v['state-dir'], KUBELET_DEFAULTS.stateDir)!,
      cdiDir: abs(v['cdi-dir'], null),
      claimTimeoutMs: num(v['k8s-claim-timeout-ms'], 'k8s-claim-timeout-ms', KUBELET_DEFAULTS.claimTimeoutMs),
      podPollMs: pollMs,
      checkMs: KUBELET_DEFAULTS.checkMs,
    };
  }
  const socket = v.socket ?? defaultSocket();
  const fdSocket = v['fd-socket'] === 'none' ? null : v['fd-socket'] ?? `${socket}.fd`;
  return {
    socket,
    fdSocket,
    listen: v.listen ?? null,
    device,
    simDevices,
    logLevel,
    logFormat: logFormat ?? null,
    leaseMs: num(v['lease-ms'], 'lease-ms', 30_000),
    maxResumeGraceMs: num(v['max-resume-grace-ms'], 'max-resume-grace-ms', 300_000),
    openTimeoutMs: num(v['open-timeout-ms'], 'open-timeout-ms', 5000),
    config: v.config ?? null,
    metricsListen: v['metrics-listen'] ?? null,
    tlsCert: v['tls-cert'] ?? null,
    tlsKey: v['tls-key'] ?? null,
    tlsCa: v['tls-ca'] ?? null,
    insecureTcp: v['insecure-tcp'] ?? false,
    fastLaneSpin: v['fast-lane-spin'] ?? false,
    auditLog: v['audit-log'] ?? null,
    kubelet,
  };
}
