/**
 * The daemon's gRPC listeners. Each is its own grpc.Server over the one
 * broker, because the listener is part of the caller's identity: the main
 * socket (--socket) is the config's socket_tenant, a tenant's own socket is
 * that tenant, and TCP (--listen) asks for a certificate or a token. On a
 * config reload, tenant sockets are added, re-moded or closed; the others
 * stay up, so no session is dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';
import type { TenantDirectory, TenantSocket } from '../core/tenants.js';
import { fixedTenant, tcpAuthenticator, type Authenticator } from '../rpc/auth.js';
import { createServer, endWatchStreams, setNotServing } from '../rpc/server.js';
import { TlsCertificates, type TlsFiles } from './tls.js';
import { blockingDir, claimSocketPath, describeDir, makeDirs, socketPathProblem, tenantFdSocket } from './paths.js';
import type { FdChannelServer } from '../fdpass/server.js';

export type { TlsFiles } from './tls.js';

export interface ListenerOptions {
  socket: string;
  listen: string | null;
  tls: TlsFiles | null;
  /** The TLS files already loaded (the daemon checks them before it opens anything); loaded from `tls` when absent. */
  certs?: TlsCertificates | null;
  /** TCP callers without credentials act as the main socket's tenant (trusted networks, tests). */
  insecureTcp: boolean;
  /**
   * The fd channel: served at `fdSocket` beside the main socket, and at
   * `PATH.fd` beside each tenant socket (same directory, mode and owner, so a
   * container that mounts its tenant's directory reaches both). Null: none.
   */
  fdChannel?: FdChannelServer | null;
  fdSocket?: string | null;
  /** How long a Connect stream may wait before its `open` (default: the server's, 5 s). */
  openTimeoutMs?: number;
}

export { tenantFdSocket } from './paths.js';

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))));
}

/**
 * Makes a socket's directory (0755 directories owned by the daemon: a tenant
 * never owns a directory the daemon later chmods in, so it cannot swap its
 * socket for a symlink) and clears a stale socket from an earlier run. A
 * socket another daemon serves is refused ({@link SocketInUseError}); the
 * path is checked first, so a bad one fails at once instead of spinning.
 */
async function prepareSocket(p: string, suffixBytes = 0): Promise<void> {
  const problem = socketPathProblem(p, suffixBytes);
  if (problem) throw new Error(problem);
  makeDirs(path.dirname(p));
  await claimSocketPath(p);
}

/** Sets a socket's mode and owner, refusing anything but the socket the daemon bound there. */
function applyMode(p: string, mode: number, uid: number | null, gid: number | null): void {
  if (!fs.lstatSync(p).isSocket()) throw new Error(`${p} is no longer a socket; not changing its mode`);
  fs.chmodSync(p, mode);
  if (uid !== null || gid !== null) fs.lchownSync(p, uid ?? -1, gid ?? -1);
}

function unlinkQuiet(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // already gone
  }
}

/**
 * A socket the daemon serves on behalf of another module (a Kubernetes
 * allocation's): its callers are whoever `auth` says, and the fd channel sits
 * beside it at `PATH.fd`. The directory is the caller's to create and check.
 */
export interface ExtraSocket {
  path: string;
  /** Mode of both sockets. */
  mode: number;
  auth: Authenticator;
  /** The fd-channel path told to clients (where they see it, e.g. inside a container). */
  advertisedFdSocket: string;
  /** The tenant whose sessions may bind on the fd channel (asked per connection). */
  fdTenant: () => string;
}

/** chmod without following a symlink: through an O_PATH descriptor of the socket itself. */
function chmodSocketNoFollow(p: string, mode: number): void {
  const O_PATH = 0o10000000;
  const fd = fs.openSync(p, O_PATH | fs.constants.O_NOFOLLOW);
  try {
    if (!fs.fstatSync(fd).isSocket()) throw new Error(`${p} is not a socket`);
    fs.chmodSync(`/proc/self/fd/${fd}`, mode);
  } finally {
    fs.closeSync(fd);
  }
}

interface TenantListener {
  tenant: string;
  socket: TenantSocket;
  server: grpc.Server;
}

export class Listeners {
  private main: grpc.Server | null = null;
  private tcp: grpc.Server | null = null;
  private certs: TlsCertificates | null = null;
  private readonly perTenant = new Map<string, TenantListener>();
  /** gRPC socket paths this daemon bound: the only ones it ever removes. */
  private readonly bound = new Set<string>();
  /** Sockets served for other modules ({@link serveSocket}), by path. */
  private readonly extra = new Map<string, grpc.Server>();
  /** The bound TCP port (useful with --listen HOST:0). */
  tcpPort: number | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly tenants: TenantDirectory,
    private readonly log: Logger,
    private readonly opts: ListenerOptions,
  ) {}

  private server(auth: Authenticator, fdSocket: string | null = null): grpc.Server {
    return createServer({ broker: this.broker, log: this.log, tenants: this.tenants, auth, fdSocket, openTimeoutMs: this.opts.openTimeoutMs });
  }

  private get fd(): FdChannelServer | null {
    return this.opts.fdChannel ?? null;
  }

  async start(): Promise<void> {
    const { opts, tenants } = this;
    const mainFd = this.fd && opts.fdSocket ? opts.fdSocket : null;
    // Both of the daemon's own paths are checked before either is bound: a
    // second daemon refused here has bound, and so removes, nothing.
    await prepareSocket(opts.socket);
    if (mainFd) await prepareSocket(mainFd);
    this.main = this.server(fixedTenant(tenants, () => tenants.config.socketTenant, 'socket'), mainFd);
    await bind(this.main, `unix:${opts.socket}`, grpc.ServerCredentials.createInsecure());
    this.bound.add(opts.socket);
    fs.chmodSync(opts.socket, 0o660);
    if (mainFd) this.fd!.listen(mainFd, { mode: 0o660 });
    if (opts.listen) {
      this.tcp = this.server(tcpAuthenticator(tenants, opts.insecureTcp ? () => tenants.config.socketTenant : null));
      this.tcpPort = await bind(this.tcp, opts.listen, this.tcpCredentials());
      if (!opts.tls) this.log.warn({ listen: opts.listen }, 'TCP without TLS: bearer tokens travel in clear text (use --tls-cert/--tls-key)');
      if (opts.insecureTcp) this.log.warn({ listen: opts.listen }, `--insecure-tcp: TCP callers without credentials act as tenant ${tenants.config.socketTenant}`);
    }
    await this.reconcile();
  }

  private tcpCredentials(): grpc.ServerCredentials {
    if (!this.opts.tls) return grpc.ServerCredentials.createInsecure();
    this.certs = this.opts.certs ?? new TlsCertificates(this.opts.tls);
    return this.certs.credentials();
  }

  /** Re-reads the TLS files (SIGHUP); throws, keeping the old certificates, when they do not load. */
  reloadTls(): boolean {
    if (!this.certs) return false;
    this.certs.reload();
    return true;
  }

  /** Opens, re-modes or closes tenant sockets to match the tenant table. */
  async reconcile(): Promise<void> {
    const want = new Map<string, { tenant: string; socket: TenantSocket }>();
    // The daemon's own sockets are never a tenant's: binding there would unlink them.
    const own = new Set([this.opts.socket, this.opts.fdSocket ?? ''].map((x) => path.resolve(x || '/')));
    for (const t of this.tenants.list()) {
      for (const s of t.sockets) {
        if (own.has(path.resolve(s.path)) || own.has(path.resolve(tenantFdSocket(s.path)))) {
          this.log.error({ tenant: t.name, socket: s.path }, 'a tenant socket cannot be the daemon\'s own socket; not serving it');
          continue;
        }
        want.set(s.path, { tenant: t.name, socket: s });
      }
    }
    for (const [p, l] of [...this.perTenant]) {
      const w = want.get(p);
      if (w && w.tenant === l.tenant) continue;
      // A socket that went away or changed hands: its callers are cut off.
      this.perTenant.delete(p);
      l.server.forceShutdown();
      this.unlinkOwn(p);
      this.fd?.unlisten(tenantFdSocket(p));
      this.log.info({ socket: p, tenant: l.tenant }, 'tenant socket closed');
    }
    // One tenant's socket failing (a bad directory, a chown without root)
    // does not keep the others from being served; the failures are reported together.
    const failures: string[] = [];
    for (const [p, w] of want) {
      try {
        await this.serveTenant(p, w.tenant, w.socket);
      } catch (e) {
        failures.push((e as Error).message);
        this.log.error({ tenant: w.tenant, socket: p, error: (e as Error).message }, 'tenant socket not served');
      }
    }
    if (failures.length > 0) throw new Error(failures.join('; '));
  }

  private async serveTenant(p: string, tenant: string, socket: TenantSocket): Promise<void> {
    const have = this.perTenant.get(p);
    const { uid, gid } = this.ownerOf(tenant, socket);
    if (have) {
      if (have.socket.mode !== socket.mode || have.socket.uid !== socket.uid || have.socket.gid !== socket.gid) {
        applyMode(p, socket.mode, uid, gid);
        this.fd?.chmod(tenantFdSocket(p), { mode: socket.mode, uid, gid });
        have.socket = socket;
      }
      return;
    }
    // Before the try below: a path that is not ours (not a socket, or another
    // daemon's live socket) must be left alone, not unlinked.
    const fdPath = this.fd ? tenantFdSocket(p) : null;
    try {
      await prepareSocket(p, fdPath ? fdPath.length - p.length : 0);
      if (fdPath) await claimSocketPath(fdPath);
    } catch (e) {
      throw new Error(`tenant ${tenant}: cannot serve ${p}: ${(e as Error).message}`);
    }
    const server = this.server(fixedTenant(this.tenants, () => tenant, 'tenant-socket'), fdPath);
    try {
      await bind(server, `unix:${p}`, grpc.ServerCredentials.createInsecure());
      this.bound.add(p);
      applyMode(p, socket.mode, uid, gid);
      if (fdPath) this.fd!.listen(fdPath, { mode: socket.mode, uid, gid, tenant });
    } catch (e) {
      server.forceShutdown();
      this.unlinkOwn(p);
      if (fdPath) this.fd!.unlisten(fdPath);
      throw new Error(`tenant ${tenant}: cannot serve ${p}: ${(e as Error).message}`);
    }
    this.perTenant.set(p, { tenant, socket, server });
    this.log.info({ socket: p, tenant, mode: socket.mode.toString(8), uid, gid }, 'tenant socket serving');
    const blocked = blockingDir(p, uid, gid);
    if (blocked) {
      this.log.warn({ socket: p, tenant, uid, gid, dir: blocked.dir }, `tenant ${tenant} (uid ${uid ?? '-'}, gid ${gid ?? '-'}) cannot reach its socket ${p}: directory ${describeDir(blocked)} is not searchable by it`);
    }
  }

  /**
   * Who a tenant socket belongs to: the config's owner/group, else the
   * tenant's first uid/gid (its processes run as those), else the daemon's.
   */
  private ownerOf(tenant: string, socket: TenantSocket): { uid: number | null; gid: number | null } {
    const spec = this.tenants.get(tenant);
    return { uid: socket.uid ?? spec?.uids[0] ?? null, gid: socket.gid ?? spec?.gids[0] ?? null };
  }

  /** Removes a socket file only if this daemon bound it. */
  private unlinkOwn(p: string): void {
    if (!this.bound.delete(p)) return;
    unlinkQuiet(p);
  }

  private all(): grpc.Server[] {
    return [this.main, this.tcp, ...[...this.perTenant.values()].map((l) => l.server), ...this.extra.values()].filter((s): s is grpc.Server => s !== null);
  }

  /**
   * Serves one more socket (see {@link ExtraSocket}). Whatever is at the path
   * must be a stale socket (it is replaced); anything else (a file, a
   * symlink) is an error and is left alone.
   */
  async serveSocket(s: ExtraSocket): Promise<void> {
    if (this.extra.has(s.path)) return;
    const problem = socketPathProblem(s.path, '.fd'.length);
    if (problem) throw new Error(problem);
    for (const f of [s.path, tenantFdSocket(s.path)]) {
      const st = fs.lstatSync(f, { throwIfNoEntry: false });
      if (st && !st.isSocket()) throw new Error(`${f} exists and is not a socket (${st.isSymbolicLink() ? 'a symlink' : 'a file'}); leaving it alone`);
    }
    await claimSocketPath(s.path);
    const fdPath = tenantFdSocket(s.path);
    const server = this.server(s.auth, this.fd ? s.advertisedFdSocket : null);
    try {
      await bind(server, `unix:${s.path}`, grpc.ServerCredentials.createInsecure());
      chmodSocketNoFollow(s.path, s.mode);
      this.fd?.listen(fdPath, { mode: s.mode, tenant: s.fdTenant });
    } catch (e) {
      server.forceShutdown();
      this.fd?.unlisten(fdPath);
      throw new Error(`cannot serve ${s.path}: ${(e as Error).message}`);
    }
    this.extra.set(s.path, server);
  }

  /** Stops serving a socket of {@link serveSocket}: its connections are cut, both socket files removed. */
  closeSocket(p: string): void {
    const server = this.extra.get(p);
    if (!server) return;
    this.extra.delete(p);
    server.forceShutdown();
    this.fd?.unlisten(tenantFdSocket(p));
    for (const f of [p, tenantFdSocket(p)]) {
      try {
        if (fs.lstatSync(f).isSocket()) fs.unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }

  /** Stops taking new connections (health says NOT_SERVING); streams stay until {@link close}. */
  stopAccepting(): void {
    for (const s of this.all()) setNotServing(s);
    this.main?.unbind(`unix:${this.opts.socket}`);
    if (this.opts.listen && this.tcp) {
      // grpc-js unbinds by the bound address: HOST:0 became HOST:PORT.
      this.tcp.unbind(this.opts.listen.replace(/:0$/, `:${this.tcpPort}`));
    }
    for (const [p, l] of this.perTenant) l.server.unbind(`unix:${p}`);
    for (const [p, server] of this.extra) server.unbind(`unix:${p}`);
    this.fd?.stopAccepting();
  }

  /** Ends the WatchObjects streams once what is queued on them is written (before {@link close}). */
  async endStreams(ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    await Promise.all(this.all().map((s) => endWatchStreams(s, ms)));
    // An ended call's status is still in the HTTP/2 session's buffers; a
    // forced shutdown would reset the stream first and the watcher would see
    // UNAVAILABLE instead of the end. A graceful shutdown sends GOAWAY and
    // closes each connection once its calls are done (bounded: close()
    // forces whatever is left at the deadline).
    await Promise.all(this.all().map((s) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      s.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    })));
  }

  close(): void {
    for (const s of this.all()) s.forceShutdown();
    for (const p of [...this.bound]) this.unlinkOwn(p);
    this.perTenant.clear();
    // Sockets of other modules stay on disk: a restarted daemon serves them again
    // (a Kubernetes pod keeps its mounted directory across a daemon restart).
    this.extra.clear();
    this.main = this.tcp = null;
  }

  /** Tenant socket paths being served (for tests and logs). */
  tenantSockets(): string[] {
    return [...this.perTenant.keys()];
  }
}
