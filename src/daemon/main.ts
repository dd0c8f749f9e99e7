/**
 * rdma-brokerd: serves the broker over a unix socket, per-tenant sockets and
 * optionally TCP. SIGTERM/SIGINT: stop accepting, destroy every object
 * children-first, exit 0. SIGHUP: reload --config (a broken file is reported
 * and the running config kept; sessions are never dropped by a reload).
 */
import path from 'node:path';
import type http from 'node:http';
import pino, { type Logger } from 'pino';
import { Broker } from '../core/broker.js';
import { TenantDirectory } from '../core/tenants.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { KubeletPlugin } from '../k8s/plugin.js';
import { defaultTenancy } from '../k8s/tenancy.js';
import type { Backend } from '../verbs/backend.js';
import { Listeners } from './listeners.js';
import { brokerMetrics, serveMetrics } from './metrics.js';
import { parseOptions, UsageError, USAGE, type DaemonOptions } from './options.js';
import { selectBackend } from './backend.js';
import { FdChannelServer } from '../fdpass/server.js';
import { LaneServer } from '../lane/server.js';
import { coalescingDestination, fdSink, type LineSink } from './logdest.js';
import { forbiddenRoot, makeDirs } from './paths.js';
import { raiseNofileLimit } from '../sys/libc.js';
import type { FdLimits } from '../core/accounting.js';
import { preflight } from './preflight.js';
import { resolveLogFormat, textDestination } from './logformat.js';
import { usageLine } from '../wire/usage.js';

const VERSION = '0.1.0';

/** A running daemon (what main() drives with signals; tests drive it directly). */
export interface Daemon {
  broker: Broker;
  tenants: TenantDirectory;
  listeners: Listeners;
  tcpPort: number | null;
  metricsPort: number | null;
  /** The kubelet device plugin (--kubernetes / --kubelet-dir), or null. */
  kubelet: KubeletPlugin | null;
  /** Re-reads --config; a broken file keeps the current table (and says why). */
  reload(): { ok: true } | { ok: false; error: string };
  /** Stops accepting, destroys every object children-first, closes the listeners. */
  stop(signal?: string): Promise<void>;
}

/** What a test may hand in instead of what the options select. */
export interface DaemonDeps {
  /** The verbs backend (default: selected by --device). */
  backend?: Backend;
}

export async function startDaemon(opts: DaemonOptions, log: Logger = pino({ level: opts.logLevel, base: { pid: process.pid } }), deps: DaemonDeps = {}): Promise<Daemon> {
  // A broken config at start is fatal (ConfigError names the field).
  let config: DaemonConfig | null = opts.config ? loadConfig(opts.config) : null;
  const tenants = new TenantDirectory(config ?? undefined);
  // Everything that can fail without side effects fails before a device or a socket is opened.
  const { certs } = preflight(opts, tenants, log);
  // The audit file is opened first: a daemon that cannot audit does not start.
  // Its directory is made here, bounded (paths.ts): a recursive mkdir under /proc never returns.
  if (opts.auditLog) {
    const where = path.resolve(opts.auditLog);
    const root = forbiddenRoot(where);
    if (root) throw new Error(`--audit-log ${opts.auditLog}: under ${root} (a kernel file system)`);
    try {
      makeDirs(path.dirname(where));
    } catch (e) {
      throw new Error(`--audit-log ${opts.auditLog}: ${(e as Error).message}`);
    }
  }
  const auditDest = opts.auditLog ? pino.destination({ dest: opts.auditLog, append: true, mkdir: false, sync: false }) : null;
  if (auditDest) {
    await new Promise<void>((resolve, reject) => {
      auditDest.once('ready', resolve);
      auditDest.once('error', (e: Error) => reject(new Error(`--audit-log ${opts.auditLog}: ${e.message}`)));
    });
  }
  const auditLines = auditDest ? coalescingDestination(auditDest) : null;
  const auditLog = auditLines ? pino({ level: 'info', base: { pid: process.pid } }, auditLines) : undefined;
  const backend = deps.backend ?? await selectBackend(opts.device, log, opts.simDevices);
  const broker = new Broker({
    backend,
    log,
    sessions: { defaultLeaseMs: opts.leaseMs, maxResumeGraceMs: opts.maxResumeGraceMs },
    quotas: tenants,
    auditLog,
  });
  await broker.start();
  broker.accounting.fdLimits = fdLimits(log);
  // The fast lane (docs/fast-lane.md) is opened over the fd channel, which carries its fds.
  const lanes = opts.fdSocket ? new LaneServer({ broker, log, spin: opts.fastLaneSpin ?? false }) : null;
  const fdChannel = opts.fdSocket
    ? new FdChannelServer({ broker, log, authorize: (peer, s) => tenants.peerMayServe(peer.uid, peer.gid, s.tenant), ops: lanes?.ops })
    : null;
  const listeners = new Listeners(broker, tenants, log, {
    socket: opts.socket,
    fdSocket: opts.fdSocket,
    fdChannel,
    listen: opts.listen,
    tls: opts.tlsCert && opts.tlsKey ? { cert: opts.tlsCert, key: opts.tlsKey, ca: opts.tlsCa } : null,
    certs,
    insecureTcp: opts.insecureTcp,
    openTimeoutMs: opts.openTimeoutMs,
  });
  let metrics: http.Server | null = null;
  const kubelet = opts.kubelet
    ? new KubeletPlugin(opts.kubelet, {
      broker, tenants, log,
      tenancy: () => config?.kubernetes ?? defaultTenancy(),
      serveSocket: (s) => listeners.serveSocket(s),
      closeSocket: (p) => listeners.closeSocket(p),
    })
    : null;
  try {
    await listeners.start();
    await kubelet?.start();
    if (opts.metricsListen) metrics = await serveMetrics(brokerMetrics(broker, tenants), opts.metricsListen, log);
  } catch (e) {
    kubelet?.stop();
    listeners.close();
    fdChannel?.close();
    await lanes?.close();
    await broker.shutdown();
    throw e;
  }
  log.info({
    socket: opts.socket, fdSocket: opts.fdSocket, listen: opts.listen, tcpPort: listeners.tcpPort, backend: backend.kind, config: opts.config,
    tenants: tenants.list().map((t) => t.name), tenantSockets: listeners.tenantSockets(),
    devices: broker.devices.list().map((d) => d.name),
  }, 'rdma-brokerd serving');

  let reloading = Promise.resolve();
  const reload = (): { ok: true } | { ok: false; error: string } => {
    if (auditDest) {
      // After logrotate moved the file away, write to a new one at the same path.
      auditLines?.drain();
      auditDest.reopen();
      log.info({ auditLog: opts.auditLog }, 'audit log reopened');
    }
    try {
      if (listeners.reloadTls()) log.info({ cert: opts.tlsCert, ca: opts.tlsCa }, 'TLS certificates reloaded');
    } catch (e) {
      log.error({ error: (e as Error).message }, 'TLS reload failed; keeping the current certificates');
    }
    if (!opts.config) {
      log.info('reload: no --config; nothing to reload');
      return { ok: true };
    }
    let cfg: DaemonConfig;
    try {
      cfg = loadConfig(opts.config);
    } catch (e) {
      const error = (e as Error).message;
      log.error({ config: opts.config, error }, 'config reload failed; keeping the current config');
      return { ok: false, error };
    }
    tenants.replace(cfg);
    config = cfg;
    kubelet?.reloaded();
    log.info({ config: opts.config, tenants: cfg.tenants.map((t) => t.name) }, 'config reloaded');
    // A tenant taken out of the config is revoked: its sessions end and their
    // objects are destroyed (its calls would be UNAUTHENTICATED from now on anyway).
    const revoked = [...broker.sessions.all()].filter((s) => s.state !== 'closing' && s.state !== 'closed' && !tenants.get(s.tenant));
    for (const s of revoked) {
      broker.auditRecord({ session: s.id, tenant: s.tenant }, 'tenant removed from the config: ending its session');
      void broker.evict(s.id).catch((e: unknown) => log.error({ err: e, session: s.id }, 'ending a removed tenant\'s session failed'));
    }
    reloading = reloading.then(() => listeners.reconcile()).catch((e: unknown) => {
      log.error({ err: e }, 'reload: tenant sockets could not all be served');
    });
    return { ok: true };
  };

  let stopped: Promise<void> | null = null;
  const stop = (signal?: string): Promise<void> => {
    stopped ??= (async () => {
      log.info({ signal, sessions: broker.sessions.size, objects: broker.registry.size }, 'shutting down');
      // Stop accepting first, then release everything, then drop the streams.
      kubelet?.stop();
      listeners.stopAccepting();
      await reloading;
      await broker.shutdown();
      // Watchers get the DESTROYED of every object torn down, then an orderly end of their stream.
      await listeners.endStreams();
      listeners.close();
      fdChannel?.close();
      await lanes?.close();
      if (metrics) await new Promise((r) => metrics!.close(r));
      if (auditDest) {
        auditLines?.drain();
        // end() writes what is buffered, then closes the file.
        await new Promise<void>((resolve) => {
          auditDest.once('close', () => resolve());
          auditDest.end();
        });
      }
      const left = broker.registry.size;
      log.info({ objects: left, sessions: broker.sessions.size }, left === 0 ? 'stopped: every object destroyed' : 'stopped with objects left');
    })();
    return stopped;
  };
  const mp = metrics?.address();
  return {
    broker, tenants, listeners, kubelet, tcpPort: listeners.tcpPort,
    metricsPort: mp && typeof mp === 'object' ? mp.port : null,
    reload, stop,
  };
}

/**
 * Raises RLIMIT_NOFILE to its hard limit and splits it: tenants together may
 * hold all but a reserve (an eighth, at least 256) that keeps the daemon able
 * to accept connections, log and open devices; one tenant without an `fds`
 * quota may hold a quarter of that (at least 64).
 */
function fdLimits(log: Logger): FdLimits {
  const lim = raiseNofileLimit();
  if (!lim) {
    log.warn('cannot read RLIMIT_NOFILE; fds are limited by the tenants\' fds quotas only');
    return { usable: Number.MAX_SAFE_INTEGER, perTenant: Number.MAX_SAFE_INTEGER };
  }
  if (lim.errno) log.warn({ soft: lim.soft, hard: lim.hard, errno: lim.errno }, 'could not raise the fd limit to the hard limit');
  const reserve = Math.max(256, Math.floor(lim.soft / 8));
  const usable = Math.max(0, lim.soft - reserve);
  const perTenant = Math.max(64, Math.floor(usable / 4));
  log.info({ soft: lim.soft, hard: lim.hard, reserve, tenantFds: usable, perTenantFds: perTenant }, 'fd limit');
  return { usable, perTenant };
}

/**
 * Where the log goes: stdout, written once per event-loop turn (logdest.ts):
 * a regular file synchronously (fileSink), a pipe, socket or terminal
 * (journald, a log shipper) asynchronously, as pino does by default, so a
 * stalled reader never blocks the event loop (fdSink).
 */
function stdoutSink(): LineSink {
  return fdSink(process.stdout.fd || 1);
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  // A person at a terminal reads text lines; journald, files and log shippers get JSON.
  const out = stdoutSink();
  const format = resolveLogFormat(opts.logFormat, process.stdout.isTTY === true);
  const log = pino({ level: opts.logLevel, base: { pid: process.pid } }, coalescingDestination(format === 'text' ? textDestination(out) : out));
  const d = await startDaemon(opts, log);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      log.error('shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    timer.unref();
    // pino writes stdout asynchronously: exit once the last lines are out,
    // or a line still in flight lands after (or never beside) the final ones.
    const exit = (code: number): void => {
      const t = setTimeout(() => process.exit(code), 2000);
      log.flush(() => {
        clearTimeout(t);
        process.exit(code);
      });
    };
    d.stop(sig).then(() => exit(0), (e: unknown) => {
      log.error({ err: e }, 'shutdown failed');
      exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (!stopping) d.reload();
  });
}

export async function main(argv: string[]): Promise<void> {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(usageLine('rdma-brokerd', e.message));
      process.exit(2);
    }
    throw e;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (opts === 'version') {
    process.stdout.write(`rdma-brokerd ${VERSION}\n`);
    return;
  }
  if ('checkConfig' in opts) {
    try {
      const cfg = loadConfig(opts.checkConfig);
      process.stdout.write(`${opts.checkConfig}: ok (${cfg.tenants.length} tenants: ${cfg.tenants.map((t) => `${t.name} (${t.role})`).join(', ')}; main socket: ${cfg.socketTenant})\n`);
      return;
    } catch (e) {
      process.stderr.write(`rdma-brokerd: ${(e as Error).message}\n`);
      process.exit(1);
    }
  }
  try {
    await runDaemon(opts);
  } catch (e) {
    process.stderr.write(`rdma-brokerd: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
