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
import { createServer, setNotServing } from '../rpc/server.js';
import { TlsCertificates, type TlsFiles } from './tls.js';
import type { FdChannelServer } from '../fdpass/server.js';

export type { TlsFiles } from './tls.js';

export interface ListenerOptions {
  socket: string;
  listen: string | null;
  tls: TlsFiles | null;
  /** TCP callers without credentials act as the main socket's tenant (trusted networks, tests). */
  insecureTcp: boolean;
  /**
   * The fd channel: served at `fdSocket` beside the main socket, and at
   * `PATH.fd` beside each tenant socket (same directory, mode and owner, so a
   * container that mounts its tenant's directory reaches both). Null: none.
   */
  fdChannel?: FdChannelServer | null;
  fdSocket?: string | null;
}

/** The fd-channel socket beside a tenant's gRPC socket. */
export function tenantFdSocket(grpcSocket: string): string {
  return `${grpcSocket}.fd`;
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))));
}

/** Removes a stale socket from an earlier run (the daemon owns the path) and makes its directory. */
function prepareSocket(p: string, dirMode: number, uid: number | null, gid: number | null): void {
  const dir = path.dirname(p);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: dirMode });
    // The directory is what a tenant can reach or mount: give it to the socket's owner.
    if (uid !== null || gid !== null) fs.chownSync(dir, uid ?? -1, gid ?? -1);
  }
  try {
    const st = fs.lstatSync(p);
    if (!st.isSocket()) throw new Error(`${p} exists and is not a socket`);
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function applyMode(s: TenantSocket): void {
  fs.chmodSync(s.path, s.mode);
  if (s.uid !== null || s.gid !== null) fs.chownSync(s.path, s.uid ?? -1, s.gid ?? -1);
}

function unlinkQuiet(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // already gone
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
  /** The bound TCP port (useful with --listen HOST:0). */
  tcpPort: number | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly tenants: TenantDirectory,
    private readonly log: Logger,
    private readonly opts: ListenerOptions,
  ) {}

  private server(auth: Authenticator, fdSocket: string | null = null): grpc.Server {
    return createServer({ broker: this.broker, log: this.log, tenants: this.tenants, auth, fdSocket });
  }

  private get fd(): FdChannelServer | null {
    return this.opts.fdChannel ?? null;
  }

  async start(): Promise<void> {
    const { opts, tenants } = this;
    const mainFd = this.fd && opts.fdSocket ? opts.fdSocket : null;
    this.main = this.server(fixedTenant(tenants, () => tenants.config.socketTenant, 'socket'), mainFd);
    prepareSocket(opts.socket, 0o755, null, null);
    await bind(this.main, `unix:${opts.socket}`, grpc.ServerCredentials.createInsecure());
    fs.chmodSync(opts.socket, 0o660);
    if (mainFd) {
      fs.mkdirSync(path.dirname(mainFd), { recursive: true, mode: 0o755 });
      this.fd!.listen(mainFd, { mode: 0o660 });
    }
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
    this.certs = new TlsCertificates(this.opts.tls);
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
      unlinkQuiet(p);
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
    if (have) {
      if (have.socket.mode !== socket.mode || have.socket.uid !== socket.uid || have.socket.gid !== socket.gid) {
        applyMode(socket);
        this.fd?.chmod(tenantFdSocket(p), { mode: socket.mode, uid: socket.uid, gid: socket.gid });
        have.socket = socket;
      }
      return;
    }
    // Before the try below: a path that is not a socket must be left alone, not unlinked.
    try {
      prepareSocket(p, 0o750, socket.uid, socket.gid);
    } catch (e) {
      throw new Error(`tenant ${tenant}: cannot serve ${p}: ${(e as Error).message}`);
    }
    const server = this.server(fixedTenant(this.tenants, () => tenant, 'tenant-socket'), this.fd ? tenantFdSocket(p) : null);
    try {
      await bind(server, `unix:${p}`, grpc.ServerCredentials.createInsecure());
      applyMode(socket);
      this.fd?.listen(tenantFdSocket(p), { mode: socket.mode, uid: socket.uid, gid: socket.gid, tenant });
    } catch (e) {
      server.forceShutdown();
      unlinkQuiet(p);
      this.fd?.unlisten(tenantFdSocket(p));
      throw new Error(`tenant ${tenant}: cannot serve ${p}: ${(e as Error).message}`);
    }
    this.perTenant.set(p, { tenant, socket, server });
    this.log.info({ socket: p, tenant, mode: socket.mode.toString(8) }, 'tenant socket serving');
  }

  private all(): grpc.Server[] {
    return [this.main, this.tcp, ...[...this.perTenant.values()].map((l) => l.server)].filter((s): s is grpc.Server => s !== null);
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
    this.fd?.stopAccepting();
  }

  close(): void {
    for (const s of this.all()) s.forceShutdown();
    unlinkQuiet(this.opts.socket);
    for (const p of this.perTenant.keys()) unlinkQuiet(p);
    this.perTenant.clear();
    this.main = this.tcp = null;
  }

  /** Tenant socket paths being served (for tests and logs). */
  tenantSockets(): string[] {
    return [...this.perTenant.keys()];
  }
}
