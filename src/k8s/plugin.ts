/**
 * rdma-brokerd as a kubelet device plugin (`--kubelet-dir DIR`). It offers
 * `--k8s-slots` session slots of one extended resource (rdma-broker.io/session
 * by default): a slot is a session slot, not a NIC; pods share the host's
 * devices through the broker, each allocation with its own socket and tenant.
 *
 * - Registration: the plugin serves DevicePlugin on its own socket in
 *   DIR/device-plugins/ and registers at DIR/device-plugins/kubelet.sock. A
 *   restarting kubelet deletes every socket there and makes kubelet.sock
 *   anew; fs.watch on the directory plus a periodic check notice either, and
 *   the plugin binds and registers again (the same slots, the allocations
 *   untouched).
 * - Allocate: per container, a fresh directory STATE/pods/ID holding a gRPC
 *   socket and its fd channel, mounted at /run/rdma-broker in the container.
 * - Pod identity: the kubelet's pod-resources List names the pod and
 *   container of each slot; sessions on an allocation's socket belong to the
 *   tenant of the pod's namespace and carry the pod's names as labels.
 * - Release: a pod that leaves pod-resources, or an allocation no pod claims
 *   within the claim timeout, has its sessions evicted (objects destroyed),
 *   its directory removed and its slots freed.
 * - Daemon restart: allocations are kept in STATE/k8s-allocations.json and
 *   served again, then checked against pod-resources.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import type { TenantDirectory } from '../core/tenants.js';
import type { Authenticator, CallerIdentity } from '../rpc/auth.js';
import { toServiceError } from '../rpc/status.js';
import { SOCKET_ENV } from '../wire/defaults.js';
import { checkOwnDir, ensureOwnDir, freshDir, removeTree, writeFileAtomic } from './fsafe.js';
import { PodResources, slotOwners } from './pods.js';
import { DEVICE_PLUGIN_VERSION, HEALTHY, UNHEALTHY, devicePluginApi } from './proto.js';
import { STATE_FILE, loadState, saveState, type AllocationRecord, type PodIdentity } from './state.js';
import { tenantForNamespace, type NamespaceTenancy } from './tenancy.js';
import type { DevicePluginHandlers } from './gen/deviceplugin/v1beta1/DevicePlugin.js';
import type { ContainerAllocateResponse } from './gen/deviceplugin/v1beta1/ContainerAllocateResponse.js';
import type { ListAndWatchResponse } from './gen/deviceplugin/v1beta1/ListAndWatchResponse.js';
import type { Empty__Output } from './gen/deviceplugin/v1beta1/Empty.js';
import type { RegistrationClient } from './gen/deviceplugin/v1beta1/Registration.js';

/** Where the allocation's directory is mounted in the container. */
export const CONTAINER_DIR = '/run/rdma-broker';
export const CONTAINER_SOCKET = `${CONTAINER_DIR}/broker.sock`;
/** The plugin's socket file name in DIR/device-plugins/. */
export const PLUGIN_ENDPOINT = 'rdma-broker.sock';
/** The annotation that names the allocation in the container's runtime config. */
export const ALLOCATION_ANNOTATION = 'rdma-broker.io/allocation';
/** Label keys of sessions opened on an allocation's socket. */
export const LABELS = { namespace: 'namespace', pod: 'pod', container: 'container', allocation: 'allocation' } as const;

export interface KubeletOptions {
  kubeletDir: string;
  resourceName: string;
  slots: number;
  stateDir: string;
  cdiDir: string | null;
  /** An allocation no pod claims within this time is released. */
  claimTimeoutMs: number;
  /** pod-resources List interval. */
  podPollMs: number;
  /** The periodic check of the kubelet's sockets (beside fs.watch) and of device health. */
  checkMs: number;
}

export const KUBELET_DEFAULTS = {
  kubeletDir: '/var/lib/kubelet',
  resourceName: 'rdma-broker.io/session',
  slots: 64,
  stateDir: '/var/lib/rdma-broker',
  claimTimeoutMs: 120_000,
  podPollMs: 1000,
  checkMs: 500,
} as const;

/** A socket the daemon's listeners serve for one allocation (structurally the daemon's ExtraSocket). */
export interface AllocationSocket {
  path: string;
  mode: number;
  auth: Authenticator;
  advertisedFdSocket: string;
  fdTenant: () => string;
}

export interface KubeletDeps {
  broker: Broker;
  tenants: TenantDirectory;
  /** The config's namespace mapping (read at each use, so a reload applies). */
  tenancy: () => NamespaceTenancy;
  log: Logger;
  serveSocket(s: AllocationSocket): Promise<void>;
  closeSocket(path: string): void;
}

/** Resource names are `domain/name`; the CDI kind is the same string. */
const RESOURCE_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function validResourceName(n: string): boolean {
  return n.length <= 253 && RESOURCE_RE.test(n);
}

interface Allocation extends AllocationRecord {
  dir: string;
  socket: string;
  cdiFile: string | null;
  labels: Record<string, string> | null;
}

/** What the plugin's socket and the kubelet's looked like at the last check. */
interface Bound {
  server: grpc.Server;
  ino: number;
}

export class KubeletPlugin {
  private readonly pluginDir: string;
  private readonly pluginSocket: string;
  private readonly kubeletSocket: string;
  private readonly podsDir: string;
  private readonly stateFile: string;
  private readonly slotIds: string[];
  private readonly slotSet: Set<string>;
  private readonly allocs = new Map<string, Allocation>();
  private readonly bySlot = new Map<string, Allocation>();
  private readonly streams = new Set<grpc.ServerWritableStream<Empty__Output, ListAndWatchResponse>>();
  private readonly pods: PodResources;
  private bound: Bound | null = null;
  /** kubelet.sock's inode when the plugin last registered (0: not registered). */
  private registeredIno = 0;
  private registering = false;
  private lastRegisterError = '';
  private nextRegisterAt = 0;
  private watcher: fs.FSWatcher | null = null;
  private watchedIno = 0;
  private healthy: boolean | null = null;
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private lastPollError = '';
  private stopped = false;
  private syncQueued = false;

  constructor(private readonly opts: KubeletOptions, private readonly deps: KubeletDeps) {
    if (!validResourceName(opts.resourceName)) throw new Error(`--k8s-resource: ${JSON.stringify(opts.resourceName)} is not a resource name (domain/name)`);
    if (!Number.isInteger(opts.slots) || opts.slots < 1 || opts.slots > 4096) throw new Error(`--k8s-slots: expected 1..4096, got ${opts.slots}`);
    this.pluginDir = path.join(opts.kubeletDir, 'device-plugins');
    this.pluginSocket = path.join(this.pluginDir, PLUGIN_ENDPOINT);
    this.kubeletSocket = path.join(this.pluginDir, 'kubelet.sock');
    this.podsDir = path.join(opts.stateDir, 'pods');
    this.stateFile = path.join(opts.stateDir, STATE_FILE);
    this.slotIds = Array.from({ length: opts.slots }, (_, i) => `slot-${i}`);
    this.slotSet = new Set(this.slotIds);
    this.pods = new PodResources(path.join(opts.kubeletDir, 'pod-resources', 'kubelet.sock'));
  }

  private get log(): Logger {
    return this.deps.log;
  }

  /** Makes the state directory, serves the recovered allocations, then binds and registers. */
  async start(): Promise<void> {
    // The state directory holds every pod's directory: root's, not listable by others (0711).
    ensureOwnDir(this.opts.stateDir, 0o711);
    ensureOwnDir(this.podsDir, 0o711);
    if (this.opts.cdiDir) ensureOwnDir(this.opts.cdiDir, 0o755);
    await this.recover();
    this.healthy = this.deviceHealthy();
    this.sync();
    this.timers.push(setInterval(() => this.sync(), this.opts.checkMs));
    this.timers.push(setInterval(() => void this.poll(), this.opts.podPollMs));
    void this.poll();
    this.log.info({ kubeletDir: this.opts.kubeletDir, resource: this.opts.resourceName, slots: this.opts.slots, stateDir: this.opts.stateDir, allocations: this.allocs.size },
      'kubernetes device plugin started');
  }

  /** Stops registering and serving the plugin socket; allocations stay on disk for the next start. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.watcher?.close();
    this.watcher = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.unbindPlugin();
    this.pods.close();
    for (const a of this.allocs.values()) this.deps.closeSocket(a.socket);
  }

  // ------------------------------------------------------------ allocations

  isSlot = (id: string): boolean => this.slotSet.has(id);

  /** Allocations, for tests and logs. */
  list(): readonly AllocationRecord[] {
    return [...this.allocs.values()].map((a) => ({ id: a.id, slots: [...a.slots], created: a.created, pod: a.pod, tenant: a.tenant }));
  }

  private allocationFrom(r: AllocationRecord): Allocation {
    const dir = path.join(this.podsDir, r.id);
    const a: Allocation = {
      ...r, dir, socket: path.join(dir, 'broker.sock'),
      cdiFile: this.opts.cdiDir ? path.join(this.opts.cdiDir, `${this.cdiVendorClass()}-${r.id}.json`) : null,
      labels: null,
    };
    if (r.pod) a.labels = labelsOf(r.pod, r.id);
    return a;
  }

  private save(): void {
    try {
      saveState(this.stateFile, this.opts.resourceName, [...this.allocs.values()].map(({ id, slots, created, pod, tenant }) => ({ id, slots, created, pod, tenant })));
    } catch (e) {
      this.log.error({ error: (e as Error).message, stateFile: this.stateFile }, 'cannot write the allocation state; a daemon restart would lose allocations');
    }
  }

  private async recover(): Promise<void> {
    const { records, problems } = loadState(this.stateFile, this.opts.resourceName, this.isSlot);
    for (const p of problems) this.log.error({ stateFile: this.stateFile, error: p }, 'allocation state: entry ignored');
    for (const r of records) {
      const a = this.allocationFrom(r);
      if (a.slots.some((s) => this.bySlot.has(s))) {
        this.log.error({ allocation: a.id, slots: a.slots }, 'allocation state: a slot appears twice; dropping the later allocation');
        removeTree(a.dir);
        continue;
      }
      try {
        checkOwnDir(a.dir);
        if (a.tenant) a.tenant = this.tenantOf(a.pod!);
        this.track(a);
        await this.serve(a);
        this.log.info({ allocation: a.id, slots: a.slots, pod: a.pod, tenant: a.tenant }, 'allocation recovered; its socket is served again');
      } catch (e) {
        this.log.error({ allocation: a.id, dir: a.dir, error: (e as Error).message }, 'allocation not recovered; releasing it');
        await this.release(a, 'unrecoverable');
      }
    }
    // Directories no record names (a crash between mkdir and the state write) are removed.
    for (const name of safeReaddir(this.podsDir)) {
      if (this.allocs.has(name)) continue;
      this.log.warn({ dir: path.join(this.podsDir, name) }, 'removing an allocation directory no allocation names');
      removeTree(path.join(this.podsDir, name));
    }
    this.save();
  }

  private track(a: Allocation): void {
    this.allocs.set(a.id, a);
    for (const s of a.slots) this.bySlot.set(s, a);
  }

  private untrack(a: Allocation): void {
    this.allocs.delete(a.id);
    for (const s of a.slots) if (this.bySlot.get(s) === a) this.bySlot.delete(s);
  }

  /**
   * After a config reload: each claimed allocation's namespace is mapped
   * again (a new mapping or template quota applies to the sessions opened
   * from now on; open sessions keep their tenant).
   */
  reloaded(): void {
    let changed = false;
    for (const a of this.allocs.values()) {
      if (!a.pod) continue;
      const t = this.tenantOf(a.pod, true);
      if (t !== a.tenant) {
        a.tenant = t;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private tenantOf(pod: PodIdentity, refresh = false): string {
    return tenantForNamespace(this.deps.tenancy(), this.deps.tenants, pod.namespace, refresh);
  }

  /** The authenticator of an allocation's socket: its pod's tenant, once pod-resources has named the pod. */
  private authFor(id: string): Authenticator {
    return (): CallerIdentity => {
      const a = this.allocs.get(id);
      if (!a) throw new BrokerError('UNAUTHENTICATED', 'this allocation has been released');
      if (!a.tenant || !a.labels) {
        void this.poll();
        throw new BrokerError('NOT_READY', 'the kubelet has not yet named the pod of this allocation (pod-resources); retry shortly');
      }
      const t = this.deps.tenants.get(a.tenant);
      if (!t) throw new BrokerError('UNAUTHENTICATED', `tenant ${JSON.stringify(a.tenant)} is no longer configured`);
      return { tenant: t.name, role: t.role, via: 'k8s-allocation', labels: a.labels };
    };
  }

  private async serve(a: Allocation): Promise<void> {
    await this.deps.serveSocket({
      path: a.socket,
      // The pod's user may be any uid: the directory's random name under a
      // directory nobody else can list (0711) is what keeps other host users out.
      mode: 0o666,
      auth: this.authFor(a.id),
      advertisedFdSocket: `${CONTAINER_SOCKET}.fd`,
      // No tenant has this name: an unclaimed allocation binds no session's fds.
      fdTenant: () => this.allocs.get(a.id)?.tenant ?? '\u0000unclaimed',
    });
    if (a.cdiFile) this.writeCdi(a);
  }

  private cdiVendorClass(): string {
    return this.opts.resourceName.replace('/', '_');
  }

  /** A CDI spec naming the allocation as device `RESOURCE=ID`: the same mount and variable as the Allocate answer. */
  private writeCdi(a: Allocation): void {
    const spec = {
      cdiVersion: '0.6.0',
      kind: this.opts.resourceName,
      devices: [{
        name: a.id,
        containerEdits: {
          env: [`${SOCKET_ENV}=${CONTAINER_SOCKET}`],
          mounts: [{ hostPath: a.dir, containerPath: CONTAINER_DIR, options: ['bind', 'rw'] }],
        },
      }],
    };
    writeFileAtomic(a.cdiFile!, `${JSON.stringify(spec, null, 1)}\n`, 0o644);
  }

  /**
   * Ends an allocation: no new calls on its socket, its sessions evicted
   * (their objects destroyed), its directory and CDI spec removed, its slots
   * free. Never throws: a step that fails is logged and the rest still run.
   */
  private async release(a: Allocation, reason: string): Promise<void> {
    this.untrack(a);
    this.deps.closeSocket(a.socket);
    const ended: Promise<void>[] = [];
    for (const s of [...this.deps.broker.sessions.all()]) {
      if (s.labels?.[LABELS.allocation] !== a.id || s.state === 'closing' || s.state === 'closed') continue;
      ended.push(this.deps.broker.evict(s.id).catch((e: unknown) => {
        if (!(e instanceof BrokerError && e.code === 'NO_SUCH_SESSION')) this.log.error({ err: e, session: s.id }, 'evicting a released allocation\'s session failed');
      }));
    }
    await Promise.all(ended);
    try {
      removeTree(a.dir);
    } catch (e) {
      this.log.error({ allocation: a.id, dir: a.dir, error: (e as Error).message }, 'cannot remove the allocation directory');
    }
    if (a.cdiFile) {
      try {
        removeTree(a.cdiFile);
      } catch (e) {
        this.log.error({ allocation: a.id, file: a.cdiFile, error: (e as Error).message }, 'cannot remove the CDI spec');
      }
    }
    this.save();
    this.deps.broker.auditRecord({ allocation: a.id, slots: a.slots, pod: a.pod, tenant: a.tenant, reason, sessions: ended.length }, 'kubernetes allocation released');
  }

  private async allocateOne(ids: readonly string[]): Promise<{ a: Allocation; resp: ContainerAllocateResponse }> {
    // A slot the kubelet hands out again is one it considers free: its old pod is gone.
    const stale = new Set<Allocation>();
    for (const id of ids) {
      const old = this.bySlot.get(id);
      if (old) stale.add(old);
    }
    for (const old of stale) await this.release(old, 'slot reallocated by the kubelet');
    const a = this.allocationFrom({ id: randomBytes(16).toString('hex'), slots: [...ids], created: Date.now(), pod: null, tenant: null });
    freshDir(a.dir, 0o755);
    this.track(a);
    try {
      await this.serve(a);
    } catch (e) {
      await this.release(a, 'allocation failed');
      throw e;
    }
    const resp: ContainerAllocateResponse = {
      envs: { [SOCKET_ENV]: CONTAINER_SOCKET },
      mounts: [{ container_path: CONTAINER_DIR, host_path: a.dir, read_only: false }],
      devices: [],
      annotations: { [ALLOCATION_ANNOTATION]: a.id },
      cdi_devices: a.cdiFile ? [{ name: `${this.opts.resourceName}=${a.id}` }] : [],
    };
    return { a, resp };
  }

  /** Checks a request's device IDs before anything is made: known, not repeated, not empty. */
  private checkIds(reqs: readonly { devices_ids: string[] }[]): void {
    if (reqs.length === 0 || reqs.length > 256) throw new BrokerError('INVALID_ATTR', `Allocate: expected 1..256 container requests, got ${reqs.length}`);
    const seen = new Set<string>();
    for (const [i, r] of reqs.entries()) {
      if (r.devices_ids.length === 0) throw new BrokerError('INVALID_ATTR', `Allocate: container request ${i} names no device`);
      for (const id of r.devices_ids) {
        if (!this.isSlot(id)) throw new BrokerError('INVALID_ATTR', `Allocate: unknown device ID ${JSON.stringify(id.slice(0, 80))} (this plugin has ${this.slotIds[0]} .. ${this.slotIds[this.slotIds.length - 1]})`);
        if (seen.has(id)) throw new BrokerError('INVALID_ATTR', `Allocate: device ID ${id} is requested twice`);
        seen.add(id);
      }
    }
  }

  // ------------------------------------------------------------ pod identity

  /** One pod-resources List and what follows from it; calls while one runs fold into one more. */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        await this.pollOnce();
      } while (this.pollAgain && !this.stopped);
    })().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let owners: Map<string, PodIdentity>;
    try {
      owners = slotOwners(await this.pods.list(), this.opts.resourceName, this.isSlot);
    } catch (e) {
      const msg = (e as Error).message;
      // One error line per outage (the reason may change from call to call while it lasts).
      if (!this.lastPollError) this.log.error({ error: msg }, 'pod-resources unreachable; keeping every allocation as it is until it answers');
      else if (msg !== this.lastPollError) this.log.debug({ error: msg }, 'pod-resources still unreachable');
      this.lastPollError = msg;
      return;
    }
    if (this.lastPollError) this.log.info('pod-resources answers again');
    this.lastPollError = '';
    let changed = false;
    const now = Date.now();
    for (const a of [...this.allocs.values()]) {
      const named = a.slots.map((s) => owners.get(s)).filter((p): p is PodIdentity => p !== undefined);
      const pod = named[0];
      if (!pod) {
        if (a.pod) await this.release(a, 'pod gone from pod-resources');
        else if (now - a.created > this.opts.claimTimeoutMs) await this.release(a, `no pod claimed it within ${this.opts.claimTimeoutMs} ms`);
        continue;
      }
      if (named.some((p) => !samePod(p, pod))) {
        this.log.error({ allocation: a.id, slots: a.slots }, 'pod-resources names several pods for one allocation\'s slots; releasing it');
        await this.release(a, 'slots split between pods');
        continue;
      }
      if (a.pod && !samePod(a.pod, pod)) {
        await this.release(a, 'its slots now belong to another pod');
        continue;
      }
      if (!a.pod) {
        a.pod = pod;
        a.tenant = this.tenantOf(pod);
        a.labels = labelsOf(pod, a.id);
        changed = true;
        this.log.info({ allocation: a.id, slots: a.slots, namespace: pod.namespace, pod: pod.name, container: pod.container, tenant: a.tenant }, 'allocation claimed by its pod');
      }
    }
    if (changed) this.save();
  }

  // ------------------------------------------------------------ health

  private deviceHealthy(): boolean {
    return this.deps.broker.devices.list().some((d) => d.state === 'live');
  }

  private deviceList(): ListAndWatchResponse {
    const health = this.healthy ? HEALTHY : UNHEALTHY;
    return { devices: this.slotIds.map((ID) => ({ ID, health })) };
  }

  private checkHealth(): void {
    const h = this.deviceHealthy();
    if (h === this.healthy) return;
    this.healthy = h;
    this.log.warn({ healthy: h, resource: this.opts.resourceName }, h ? 'an RDMA device is live again: slots Healthy' : 'no live RDMA device: slots Unhealthy');
    const list = this.deviceList();
    for (const s of this.streams) s.write(list);
  }

  // ------------------------------------------------------------ the kubelet

  private handlers(): DevicePluginHandlers {
    const fail = (name: string, cb: grpc.sendUnaryData<never>, e: unknown): void => cb(toServiceError(e, this.log, `DevicePlugin.${name}`));
    return {
      GetDevicePluginOptions: (_call, cb) => cb(null, { pre_start_required: true, get_preferred_allocation_available: true }),
      ListAndWatch: (call) => {
        this.streams.add(call);
        const drop = (): void => {
          this.streams.delete(call);
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
        call.write(this.deviceList());
      },
      GetPreferredAllocation: (call, cb) => {
        try {
          const reqs = call.request.container_requests.slice(0, 256);
          cb(null, { container_responses: reqs.map((r) => ({ deviceIDs: this.prefer(r.available_deviceIDs, r.must_include_deviceIDs, r.allocation_size) })) });
        } catch (e) {
          fail('GetPreferredAllocation', cb, e);
        }
      },
      Allocate: (call, cb) => {
        void (async () => {
          const reqs = call.request.container_requests;
          this.checkIds(reqs);
          const made: Allocation[] = [];
          const out: ContainerAllocateResponse[] = [];
          try {
            for (const r of reqs) {
              const { a, resp } = await this.allocateOne(r.devices_ids);
              made.push(a);
              out.push(resp);
            }
          } catch (e) {
            // All of the request or none of it.
            for (const a of made) await this.release(a, 'allocation failed');
            throw e;
          }
          this.save();
          for (const a of made) this.log.info({ allocation: a.id, slots: a.slots, dir: a.dir }, 'allocated');
          return { container_responses: out };
        })().then((r) => cb(null, r), (e: unknown) => {
          this.log.warn({ error: (e as Error).message }, 'Allocate refused');
          fail('Allocate', cb, e);
        });
      },
      PreStartContainer: (call, cb) => {
        void (async () => {
          const ids = call.request.devices_ids.slice(0, 1024);
          const unknown = ids.filter((id) => !this.bySlot.has(id));
          if (unknown.length > 0) throw new BrokerError('INVALID_ATTR', `PreStartContainer: no allocation holds ${unknown.slice(0, 4).join(', ')}`);
          // The kubelet lists the pod by now: name it before the container can connect.
          await this.poll();
          return {};
        })().then((r) => cb(null, r), (e: unknown) => fail('PreStartContainer', cb, e));
      },
    };
  }

  /** must_include first, then free slots (no live allocation), then the rest, lowest first. */
  private prefer(available: readonly string[], must: readonly string[], size: number): string[] {
    const n = Math.max(0, Math.min(size, available.length, 4096));
    const out = [...new Set(must.filter(this.isSlot))].slice(0, n);
    const rest = available.filter((id) => this.isSlot(id) && !out.includes(id)).sort((x, y) => slotIndex(x) - slotIndex(y));
    for (const id of [...rest.filter((id) => !this.bySlot.has(id)), ...rest.filter((id) => this.bySlot.has(id))]) {
      if (out.length >= n) break;
      out.push(id);
    }
    return out;
  }

  private unbindPlugin(): void {
    if (!this.bound) return;
    const b = this.bound;
    this.bound = null;
    this.registeredIno = 0;
    b.server.forceShutdown();
    try {
      const st = fs.lstatSync(this.pluginSocket);
      if (st.isSocket() && st.ino === b.ino) fs.unlinkSync(this.pluginSocket);
    } catch {
      // the kubelet deleted it
    }
  }

  private async bindPlugin(): Promise<void> {
    try {
      const st = fs.lstatSync(this.pluginSocket);
      if (!st.isSocket()) throw new Error(`${this.pluginSocket} exists and is not a socket; leaving it alone`);
      fs.unlinkSync(this.pluginSocket);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = new grpc.Server();
    server.addService(devicePluginApi().v1beta1.DevicePlugin.service, this.handlers());
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${this.pluginSocket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    this.bound = { server, ino: fs.lstatSync(this.pluginSocket).ino };
  }

  private ino(p: string): number {
    try {
      const st = fs.lstatSync(p);
      return st.isSocket() || st.isDirectory() ? st.ino : 0;
    } catch {
      return 0;
    }
  }

  /** fs.watch on device-plugins/ (re-armed when the directory is re-created). */
  private watchDir(dirIno: number): void {
    if (this.watchedIno === dirIno && this.watcher) return;
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = dirIno;
    if (!dirIno) return;
    try {
      this.watcher = fs.watch(this.pluginDir, () => this.syncSoon());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // the periodic check still runs
    }
  }

  private syncSoon(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    setImmediate(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /**
   * Brings the plugin's socket and registration in line with the kubelet's
   * directory: our socket gone (the kubelet deleted it) or kubelet.sock new
   * means bind again and register again.
   */
  private sync(): void {
    if (this.stopped) return;
    this.checkHealth();
    const dirIno = this.ino(this.pluginDir);
    this.watchDir(dirIno);
    if (!dirIno) {
      if (this.bound) this.log.warn({ dir: this.pluginDir }, 'the kubelet\'s device-plugins directory is gone; waiting for it');
      this.unbindPlugin();
      return;
    }
    if (this.bound && this.ino(this.pluginSocket) !== this.bound.ino) {
      this.log.warn({ socket: this.pluginSocket }, 'the plugin socket was deleted (a kubelet restart); serving and registering again');
      this.unbindPlugin();
    }
    const kubeletIno = this.ino(this.kubeletSocket);
    if (this.registeredIno && kubeletIno !== this.registeredIno) {
      this.log.warn({ socket: this.kubeletSocket }, kubeletIno ? 'kubelet.sock was re-created (a kubelet restart); registering again' : 'kubelet.sock is gone; waiting for the kubelet');
      this.registeredIno = 0;
      this.nextRegisterAt = 0;
    }
    if (this.registering || !kubeletIno || this.registeredIno) return;
    if (Date.now() < this.nextRegisterAt) return;
    this.registering = true;
    void this.register(kubeletIno).finally(() => {
      this.registering = false;
    });
  }

  private async register(kubeletIno: number): Promise<void> {
    try {
      if (!this.bound) await this.bindPlugin();
      const Registration = devicePluginApi().v1beta1.Registration;
      const client: RegistrationClient = new Registration(`unix:${this.kubeletSocket}`, grpc.credentials.createInsecure());
      try {
        await new Promise<void>((resolve, reject) => {
          client.Register({
            version: DEVICE_PLUGIN_VERSION,
            endpoint: PLUGIN_ENDPOINT,
            resource_name: this.opts.resourceName,
            options: { pre_start_required: true, get_preferred_allocation_available: true },
          }, { deadline: Date.now() + 2000 }, (e) => (e ? reject(new Error(`the kubelet refused or did not answer the registration: ${e.details || e.message}`)) : resolve()));
        });
      } finally {
        client.close();
      }
      if (this.stopped) return;
      this.registeredIno = kubeletIno;
      this.lastRegisterError = '';
      this.log.info({ resource: this.opts.resourceName, endpoint: this.pluginSocket, slots: this.opts.slots }, 'registered with the kubelet');
    } catch (e) {
      const msg = (e as Error).message;
      if (!this.lastRegisterError) this.log.error({ error: msg, kubelet: this.kubeletSocket }, 'device plugin registration failed; retrying');
      else if (msg !== this.lastRegisterError) this.log.debug({ error: msg }, 'device plugin registration still failing');
      this.lastRegisterError = msg;
      // Retried from the periodic check; a refusing kubelet is asked again once a second, not in a loop.
      this.nextRegisterAt = Date.now() + 1000;
    }
    // Something may have changed while the call was out (another restart).
    this.syncSoon();
  }
}

function samePod(a: PodIdentity, b: PodIdentity): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.container === b.container;
}

function labelsOf(p: PodIdentity, id: string): Record<string, string> {
  return Object.freeze({ [LABELS.namespace]: p.namespace, [LABELS.pod]: p.name, [LABELS.container]: p.container, [LABELS.allocation]: id }) as Record<string, string>;
}

function slotIndex(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).slice(0, 100_000);
  } catch {
    return [];
  }
}
