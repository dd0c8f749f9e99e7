/**
 * The client's connection to the daemon: one gRPC channel shared by the four
 * services, device and inspection calls, and sessions (./session.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { api } from '../wire/proto.js';
import { clientSocket } from '../wire/defaults.js';
import { decodeAttrs, type PlainMap } from './values.js';
import { objectCallsConstructor, type ObjectCalls } from './codec.js';
import { RdmaError } from './errors.js';
import { Session, type OpenSessionOptions } from './session.js';
import { hostOf, probeTcp, TlsMismatchError, tlsContextOf, tlsCredentials, type TlsOptions } from './tls.js';

export { tlsCredentials, TlsMismatchError, type TlsOptions };
import type { DeviceServiceClient } from '../wire/gen/rdmabroker/v1/DeviceService.js';
import type { ObjectServiceClient } from '../wire/gen/rdmabroker/v1/ObjectService.js';
import type { SessionServiceClient } from '../wire/gen/rdmabroker/v1/SessionService.js';
import type { InspectionServiceClient } from '../wire/gen/rdmabroker/v1/InspectionService.js';
import type { DeviceSummary__Output } from '../wire/gen/rdmabroker/v1/DeviceSummary.js';
import type { DescribeDeviceResponse__Output } from '../wire/gen/rdmabroker/v1/DescribeDeviceResponse.js';
import type { ObjectInfo__Output } from '../wire/gen/rdmabroker/v1/ObjectInfo.js';
import type { ObjectChange__Output } from '../wire/gen/rdmabroker/v1/ObjectChange.js';
import type { SessionInfo__Output } from '../wire/gen/rdmabroker/v1/SessionInfo.js';
import type { Gid__Output } from '../wire/gen/rdmabroker/v1/Gid.js';
import type { AdminServiceClient } from '../wire/gen/rdmabroker/v1/AdminService.js';
import type { TenantUsage__Output } from '../wire/gen/rdmabroker/v1/TenantUsage.js';
import type { WhoAmIResponse__Output } from '../wire/gen/rdmabroker/v1/WhoAmIResponse.js';

/** Must match the daemon's limit: MR reads and writes carry up to 16 MiB. */
const MAX_MESSAGE_BYTES = 64 << 20;

export interface ConnectOptions {
  /** The daemon's unix socket (default: `$RDMA_BROKER_SOCKET`, else the daemon's default socket). */
  socket?: string;
  /** HOST:PORT of a daemon serving TCP (`--listen`). */
  addr?: string;
  /** Channel credentials (default insecure: unix sockets are protected by file permissions). */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent on every call (for example an identity token). */
  metadata?: Record<string, string>;
  /** How long to wait for the daemon to answer (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /** A bearer token for TCP (sent as `authorization: Bearer TOKEN` on every call). */
  token?: string;
  /**
   * TLS for TCP (ignored when `credentials` is given): `true` for the system's
   * CAs, or PEM files (paths or contents): `ca` to verify the daemon, `cert`
   * and `key` for a client certificate; `serverName` overrides the name checked.
   */
  tls?: boolean | TlsOptions;
}

export type DeviceSummary = DeviceSummary__Output;
export type DescribeResult = DescribeDeviceResponse__Output;
export type SessionInfo = SessionInfo__Output;
export type Gid = Gid__Output;
/** A tenant's usage, as AdminService.GetAccounting answers (counts are decimal strings). */
export type TenantUsage = TenantUsage__Output;
export type WhoAmI = WhoAmIResponse__Output;

/** What SetQuota answered: the tenant's limits now, and those of them its usage is already above. */
export interface QuotaUpdate {
  limits: Record<string, number>;
  overLimit: { name: string; current: number; limit: number }[];
}

export interface PortInfo {
  port: number;
  /** struct ibv_port_attr: state, active_mtu, lid, link_layer, gid_tbl_len, ... */
  attrs: PlainMap;
  gids: Gid[];
}

export interface DeviceInfo {
  device: DeviceSummary;
  /** struct ibv_device_attr: max_qp, max_cqe, max_mr_size, ... */
  attrs: PlainMap;
  ports: PortInfo[];
}

/** An object as listings show it. */
export interface ObjectRecord {
  handle: number;
  type: string;
  device: string;
  session: string;
  tenant: string;
  userHandle: string;
  parents: number[];
  createdUnixMs: number;
  attrs: PlainMap;
  /** The Kubernetes pod of the owning session (opened on a pod's allocation socket), else absent. */
  pod?: PodRef;
}

/** A container of a Kubernetes pod. */
export interface PodRef {
  namespace: string;
  name: string;
  container: string;
}

export interface ObjectFilter {
  device?: string;
  session?: string;
  type?: string;
  tenant?: string;
}

export interface ObjectChange {
  kind: 'CREATED' | 'MODIFIED' | 'DESTROYED' | 'SYNCED';
  /** null for SYNCED. */
  object: ObjectRecord | null;
}

export function objectRecord(o: ObjectInfo__Output): ObjectRecord {
  return {
    handle: Number(o.handle),
    type: o.type,
    device: o.device,
    session: o.session,
    tenant: o.tenant,
    userHandle: o.user_handle,
    parents: o.parents.map(Number),
    createdUnixMs: Number(o.created_unix_ms),
    attrs: decodeAttrs(o.attrs),
    ...(o.pod ? { pod: { namespace: o.pod.namespace, name: o.pod.name, container: o.pod.container } } : {}),
  };
}

type Callback<R> = (e: grpc.ServiceError | null, r?: R) => void;

/**
 * A connection to rdma-brokerd. Open it with {@link connect}; close it with
 * {@link Client.close} (which also ends its sessions' streams).
 */
export class Client {
  /** The gRPC target, e.g. "unix:/run/rdma-broker/broker.sock". */
  readonly target: string;
  /** The unix socket path, or null over TCP (fd-passing needs a local socket). */
  readonly socketPath: string | null;
  /** @internal */
  readonly objectService: ObjectServiceClient;
  /** @internal ObjectService with the library's one-pass codec (codec.ts): what the sessions' verbs call. */
  readonly objectCalls: ObjectCalls;
  /** @internal */
  readonly sessionService: SessionServiceClient;
  private readonly deviceService: DeviceServiceClient;
  private readonly inspectionService: InspectionServiceClient;
  private readonly adminService: AdminServiceClient;
  private readonly baseMetadata: Record<string, string>;
  private readonly sessions = new Set<Session>();
  private closed = false;

  /** @internal use {@link connect} */
  constructor(o: { target: string; socketPath: string | null; credentials: grpc.ChannelCredentials; metadata?: Record<string, string>; channelOptions?: grpc.ChannelOptions }) {
    this.target = o.target;
    this.socketPath = o.socketPath;
    this.baseMetadata = { ...o.metadata };
    const pkg = api().rdmabroker.v1;
    const options: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // No channelz (the library neither serves nor reads it): grpc-js keeps no
      // per-call counters and timestamps for it. A caller's options may turn it on.
      'grpc.enable_channelz': 0,
      ...o.channelOptions,
    };
    this.deviceService = new pkg.DeviceService(o.target, o.credentials, options);
    const shared = { ...options, channelOverride: this.deviceService.getChannel() };
    this.objectService = new pkg.ObjectService(o.target, o.credentials, shared);
    this.objectCalls = new (objectCallsConstructor())(o.target, o.credentials, shared);
    this.sessionService = new pkg.SessionService(o.target, o.credentials, shared);
    this.inspectionService = new pkg.InspectionService(o.target, o.credentials, shared);
    this.adminService = new pkg.AdminService(o.target, o.credentials, shared);
  }

  /** Metadata for a call: the connection's own, plus `extra` (a session token). */
  metadata(extra?: Record<string, string>): grpc.Metadata {
    const md = new grpc.Metadata();
    // The connection's own, then `extra` (a later set of a key replaces its value, in its place).
    for (const k in this.baseMetadata) if (Object.hasOwn(this.baseMetadata, k)) md.set(k, this.baseMetadata[k] as string);
    if (extra) for (const k in extra) if (Object.hasOwn(extra, k)) md.set(k, extra[k] as string);
    return md;
  }

  /** @internal Runs one unary call and turns its error into an {@link RdmaError}. */
  unary<Req, Res>(what: string, fn: (req: Req, md: grpc.Metadata, cb: Callback<Res>) => unknown, req: Req, md?: grpc.Metadata): Promise<Res> {
    if (this.closed) return Promise.reject(new RdmaError({ code: grpc.status.CANCELLED, details: 'the client is closed', what }));
    return new Promise((resolve, reject) => {
      fn(req, md ?? this.metadata(), (e, r) => (e ? reject(RdmaError.fromServiceError(e, what)) : resolve(r as Res)));
    });
  }

  /** Waits until the daemon answers (the channel is ready). */
  waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.deviceService.waitForReady(Date.now() + timeoutMs, (e) => {
        if (!e) {
          resolve();
          return;
        }
        reject(new RdmaError({
          code: grpc.status.UNAVAILABLE,
          details: `cannot reach rdma-brokerd at ${this.socketPath ?? this.target} within ${timeoutMs} ms (is it running?)`,
        }));
      });
    });
  }

  // ---------------------------------------------------------------- devices

  /** The devices the daemon serves. */
  async devices(): Promise<DeviceSummary[]> {
    const s = this.deviceService;
    const r = await this.unary('DeviceService.List', s.List.bind(s) as never, {});
    return (r as { devices: DeviceSummary[] }).devices;
  }

  /** A device's attributes and limits, and its ports with their GID tables. */
  async queryDevice(device: string): Promise<DeviceInfo> {
    const s = this.deviceService;
    const r = await this.unary<object, import('../wire/gen/rdmabroker/v1/QueryDeviceResponse.js').QueryDeviceResponse__Output>(
      'DeviceService.Query', s.Query.bind(s) as never, { device });
    return {
      device: r.device as DeviceSummary,
      attrs: decodeAttrs(r.attrs),
      ports: r.ports.map((p) => ({ port: p.port, attrs: decodeAttrs(p.attrs), gids: p.gids })),
    };
  }

  /**
   * Discovery: the object types, methods and attributes the device supports.
   * Without a device (`''`), the daemon's: the types that exist on at least
   * one of its devices.
   */
  describe(device = ''): Promise<DescribeResult> {
    const s = this.deviceService;
    return this.unary('DeviceService.Describe', s.Describe.bind(s) as never, { device });
  }

  // ------------------------------------------------------------- inspection

  /** One page of objects, in handle order. */
  async listObjectsPage(filter: ObjectFilter = {}, startHandle = 0, maxResults = 1000): Promise<{ objects: ObjectRecord[]; end: boolean; nextStartHandle: number }> {
    const s = this.inspectionService;
    const r = await this.unary<object, import('../wire/gen/rdmabroker/v1/ListObjectsResponse.js').ListObjectsResponse__Output>(
      'InspectionService.ListObjects', s.ListObjects.bind(s) as never,
      { filter, start_handle: String(startHandle), max_results: maxResults });
    return { objects: r.objects.map(objectRecord), end: r.end, nextStartHandle: Number(r.next_start_handle) };
  }

  /** Every object that matches the filter (pages through the listing). */
  async listObjects(filter: ObjectFilter = {}): Promise<ObjectRecord[]> {
    const all: ObjectRecord[] = [];
    let start = 0;
    for (;;) {
      const page = await this.listObjectsPage(filter, start, 1000);
      all.push(...page.objects);
      if (page.end || page.nextStartHandle <= start) return all;
      start = page.nextStartHandle;
    }
  }

  /** Live sessions (with their object counts). */
  async listSessions(tenant = ''): Promise<SessionInfo[]> {
    const s = this.inspectionService;
    const r = await this.unary<object, { sessions: SessionInfo[] }>('InspectionService.ListSessions', s.ListSessions.bind(s) as never, { tenant });
    return r.sessions;
  }

  /**
   * Streams object changes. With `initial`, first every matching object as
   * CREATED, then one SYNCED. Iterate it; `return()` (or `break`) cancels.
   */
  watchObjects(filter: ObjectFilter = {}, o: { initial?: boolean } = {}): AsyncIterableIterator<ObjectChange> & { cancel(): void } {
    const call = this.inspectionService.WatchObjects({ filter, initial: o.initial ?? false }, this.metadata());
    const q = new AsyncQueue<ObjectChange>(() => call.cancel());
    call.on('data', (c: ObjectChange__Output) => q.push({ kind: c.kind as ObjectChange['kind'], object: c.object ? objectRecord(c.object) : null }));
    call.on('error', (e: grpc.ServiceError) => {
      if (e.code === grpc.status.CANCELLED) q.end();
      else q.fail(RdmaError.fromServiceError(e, 'InspectionService.WatchObjects'));
    });
    call.on('end', () => q.end());
    return q;
  }

  // ---------------------------------------------------------------- tenants

  /** The caller's tenant and role, as the daemon identified them. */
  whoami(): Promise<WhoAmI> {
    const s = this.adminService;
    return this.unary('AdminService.WhoAmI', s.WhoAmI.bind(s) as never, {});
  }

  /** Usage per tenant (a tenant sees only itself; viewers and admins every tenant, or `tenant`). */
  async accounting(tenant = ''): Promise<TenantUsage[]> {
    const s = this.adminService;
    const r = await this.unary<object, { tenants: TenantUsage[] }>('AdminService.GetAccounting', s.GetAccounting.bind(s) as never, { tenant });
    return r.tenants;
  }

  /** Quota limits by tenant: objects, sessions, registered_bytes and per object type (absent: no limit). */
  async quotas(tenant = ''): Promise<{ tenant: string; limits: Record<string, number> }[]> {
    const s = this.adminService;
    const r = await this.unary<object, { quotas: { tenant: string; limits: Record<string, string> }[] }>('AdminService.GetQuotas', s.GetQuotas.bind(s) as never, { tenant });
    return r.quotas.map((q) => ({ tenant: q.tenant, limits: Object.fromEntries(Object.entries(q.limits).map(([k, v]) => [k, Number(v)])) }));
  }

  /** Admins: sets and clears quota limits of a tenant; returns the new limits. */
  async setQuota(tenant: string, set: Record<string, number>, clear: string[] = []): Promise<Record<string, number>> {
    return (await this.updateQuota(tenant, set, clear)).limits;
  }

  /**
   * Admins: sets and clears limits like {@link setQuota}, and also returns
   * the new limits the tenant already uses more of (`overLimit`): its
   * existing objects are kept, new ones are refused until usage drops.
   */
  async updateQuota(tenant: string, set: Record<string, number>, clear: string[] = []): Promise<QuotaUpdate> {
    const s = this.adminService;
    const r = await this.unary<object, { quota: { limits: Record<string, string> }; over_limit?: { name: string; current: string; limit: string }[] }>('AdminService.SetQuota', s.SetQuota.bind(s) as never, {
      tenant, set: Object.fromEntries(Object.entries(set).map(([k, v]) => [k, String(v)])), clear,
    });
    return {
      limits: Object.fromEntries(Object.entries(r.quota.limits).map(([k, v]) => [k, Number(v)])),
      overLimit: (r.over_limit ?? []).map((o) => ({ name: o.name, current: Number(o.current), limit: Number(o.limit) })),
    };
  }

  /** Admins: ends a session now (its objects are destroyed); returns its tenant and how many objects went. */
  async evictSession(sessionId: string): Promise<{ tenant: string; objectsDestroyed: number }> {
    const s = this.adminService;
    const r = await this.unary<object, { tenant: string; objects_destroyed: number }>('AdminService.EvictSession', s.EvictSession.bind(s) as never, { session_id: sessionId });
    return { tenant: r.tenant, objectsDestroyed: r.objects_destroyed };
  }

  // --------------------------------------------------------------- sessions

  /**
   * Opens a session (or resumes one with `resumeToken`). Its objects live
   * until the session ends: `session.close()`, the stream breaking, or the
   * lease running out (the library sends keepalives).
   */
  async openSession(o: OpenSessionOptions = {}): Promise<Session> {
    const s = new Session(this, o);
    await s.open();
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    return s;
  }

  /** Ends every session's stream and closes the channel. */
  close(): void {
    if (this.closed) return;
    for (const s of [...this.sessions]) s.close();
    this.closed = true;
    this.objectService.close();
    this.objectCalls.close();
    this.sessionService.close();
    this.inspectionService.close();
    this.adminService.close();
    this.deviceService.close();
  }
}

/** A minimal push/pull queue behind an async iterator. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private done = false;
  private error: unknown = null;

  constructor(private readonly onCancel: () => void = () => {}) {}

  push(v: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: v, done: false });
    else this.items.push(v);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  fail(e: unknown): void {
    if (this.done) return;
    this.error = e;
    this.done = true;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  next(): Promise<IteratorResult<T>> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve({ value: v, done: false });
    if (this.done) {
      if (this.error) {
        const e = this.error;
        this.error = null;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  cancel(): void {
    if (!this.done) this.onCancel();
    this.items = [];
    this.end();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * Says what keeps this process from a socket it got EACCES on: the first
 * directory on the way that it cannot search, else the socket itself (a
 * connect needs write permission on it). Bounded by the path's components.
 */
function accessProblem(socketPath: string): string {
  const who = typeof process.getuid === 'function' ? `uid ${process.getuid()}, gid ${process.getgid?.()}` : 'this process';
  const abs = path.resolve(socketPath);
  const dirs = ['/'];
  for (const part of path.dirname(abs).split('/').filter(Boolean)) dirs.push(path.join(dirs[dirs.length - 1]!, part));
  for (const dir of dirs) {
    try {
      fs.accessSync(dir, fs.constants.X_OK);
    } catch {
      return `permission denied: directory ${dir}${modeOf(dir)} is not searchable by ${who}, so ${socketPath} cannot be reached`;
    }
  }
  return `permission denied on ${socketPath}${modeOf(abs)} for ${who} (a connect needs write access to the socket: ask for its owner or group)`;
}

function modeOf(p: string): string {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st ? ` (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid})` : '';
}

/**
 * Checks that something accepts connections on a unix socket: a missing
 * path, a stale socket left by a killed daemon (ECONNREFUSED) or a permission
 * problem is reported at once, where gRPC would retry until its deadline.
 */
function probeSocket(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    sock.once('connect', () => {
      sock.destroy();
      resolve();
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.destroy();
      const why: Record<string, string> = {
        ENOENT: `no daemon socket at ${socketPath} (is rdma-brokerd running?)`,
        ECONNREFUSED: `nothing listens on ${socketPath} (is rdma-brokerd running?)`,
        EACCES: accessProblem(socketPath),
        ENOTSOCK: `${socketPath} is not a socket`,
      };
      const code = e.code === 'EACCES' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAVAILABLE;
      reject(new RdmaError({ code, details: why[e.code ?? ''] ?? `cannot connect to ${socketPath}: ${e.message}` }));
    });
  });
}

/**
 * Connects to rdma-brokerd and waits until it answers. With neither `socket`
 * nor `addr`: `$RDMA_BROKER_SOCKET` (what a Kubernetes pod is given), else the
 * daemon's default socket.
 */
export async function connect(o: ConnectOptions = {}): Promise<Client> {
  if (o.socket && o.addr) throw new TypeError('connect: give socket or addr, not both');
  let target: string;
  let socketPath: string | null = null;
  if (o.addr) {
    target = o.addr.startsWith('dns:') || o.addr.startsWith('ipv4:') || o.addr.startsWith('ipv6:') ? o.addr : `dns:${o.addr}`;
  } else {
    socketPath = o.socket ?? clientSocket();
    // Fail fast with a clear message instead of retrying a path nobody serves.
    await probeSocket(socketPath);
    target = `unix:${socketPath}`;
  }
  let credentials = o.credentials ?? grpc.credentials.createInsecure();
  let channelOptions = o.channelOptions;
  if (!o.credentials && o.tls) {
    const t = tlsCredentials(o.tls);
    credentials = t.credentials;
    channelOptions = { ...t.options, ...channelOptions };
  }
  const metadata = { ...o.metadata };
  if (o.token) metadata.authorization = `Bearer ${o.token}`;
  const c = new Client({ target, socketPath, credentials, metadata, channelOptions });
  try {
    if (o.addr) await waitTcp(c, o.addr, credentials, o.tls, o.connectTimeoutMs ?? 5000);
    else await c.waitReady(o.connectTimeoutMs ?? 5000);
  } catch (e) {
    c.close();
    throw e;
  }
  return c;
}

/**
 * Waits for a TCP daemon. A daemon that answers in the other transport (TLS
 * against plain text or the reverse) or with an untrusted certificate never
 * becomes ready, so after a short while the endpoint is probed and such a
 * mismatch fails at once, in words; when the wait times out, the probe says
 * why (nothing listening, the mismatch, the certificate) rather than
 * "cannot reach".
 */
async function waitTcp(c: Client, addr: string, credentials: grpc.ChannelCredentials, tlsOpt: ConnectOptions['tls'], timeoutMs: number): Promise<void> {
  // In slices: a pending grpc-js readiness wait keeps its deadline timer (and so the process) alive
  // after the client is closed, so none may outlive a failure by more than a slice.
  const deadline = Date.now() + timeoutMs;
  let probed = false;
  for (;;) {
    try {
      await c.waitReady(Math.max(1, Math.min(250, deadline - Date.now())));
      return;
    } catch (e) {
      if (Date.now() >= deadline) {
        throw (await whyTcpFailed(addr, credentials, tlsOpt))?.error
          ?? new RdmaError({ code: grpc.status.UNAVAILABLE, details: `cannot reach rdma-brokerd at ${c.target} within ${timeoutMs} ms (is it running?)` });
      }
    }
    if (!probed) {
      probed = true;
      const why = await whyTcpFailed(addr, credentials, tlsOpt);
      if (why?.definite) throw why.error;
    }
  }
}

/**
 * What listens at a TCP daemon's address, as an error: nothing (refused),
 * the other transport, or a certificate this client does not trust; `definite`
 * when waiting longer cannot help. Null when the probe learns nothing.
 */
async function whyTcpFailed(addr: string, credentials: grpc.ChannelCredentials, tlsOpt: ConnectOptions['tls']): Promise<{ error: RdmaError; definite: boolean } | null> {
  const a = addr.replace(/^(dns|ipv4|ipv6):/, '');
  const port = Number(/:(\d+)$/.exec(a)?.[1]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  const context = tlsContextOf(credentials);
  const secure = credentials._isSecure();
  const serverName = typeof tlsOpt === 'object' ? tlsOpt.serverName : undefined;
  const p = await probeTcp(hostOf(a), port, context, serverName);
  const unavailable = (details: string): RdmaError => new RdmaError({ code: grpc.status.UNAVAILABLE, details });
  if (p.kind === 'refused') return { error: unavailable(`cannot reach rdma-brokerd at ${a}: ${p.reason} (is it running with --listen?)`), definite: false };
  if (p.kind === 'plaintext' && secure) return { error: new TlsMismatchError(a, false), definite: true };
  if (p.kind === 'tls' && !secure) return { error: new TlsMismatchError(a, true), definite: true };
  if (p.kind === 'tls' && !p.trusted && context) return { error: unavailable(`TLS with rdma-brokerd at ${a} failed: ${p.reason}`), definite: true };
  return null;
}
