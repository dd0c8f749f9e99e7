/**
 * The simulated verbs backend: devices named sim0, sim1, ... that follow the
 * kernel's and soft-RoCE's rules (see context.ts and datapath.ts), for tests
 * and for machines without RDMA.
 */
import type { DeviceListing } from '../abi.js';
import type { Backend, DeviceContext } from '../backend.js';
import { Errno, VerbsError } from '../errno.js';
import { SimContext } from './context.js';
import { SimDevice } from './device.js';
import { RXE_LIMITS, type SimLimits } from './limits.js';
import type { Fabric } from './datapath.js';

export { RXE_LIMITS, type SimLimits } from './limits.js';
export { SimContext } from './context.js';
export { modifyQpIsOk, QP_STATE_TABLE } from './qp-state.js';

export interface SimBackendOptions {
  /** How many devices (sim0 .. sim{n-1}); default 1. */
  devices?: number;
  /** Overrides of the rxe-like limits, for tests (e.g. a max_qp of 4). */
  limits?: Partial<SimLimits>;
  /**
   * Whether a session may inject the faults that hit every session of a
   * device (port down/up, port events, device fatal) through the `sim_fault`
   * object type (./faults.ts). Off by default: the daemon turns it on only
   * for `--device sim`, a device chosen for testing, not for the sim0 that
   * `--device auto` falls back to. Faults on a session's own objects are
   * always allowed.
   */
  deviceFaults?: boolean;
}

type Watcher = (change: { kind: 'added' | 'removed'; name: string }) => void;

/** The sim backend, with the test hooks the interface does not have (device removal). */
export class SimBackend implements Backend, Fabric {
  readonly kind = 'sim' as const;
  private readonly devices = new Map<string, SimDevice>();
  private readonly byGid = new Map<string, SimDevice>();
  private readonly watchers = new Set<Watcher>();
  private readonly limits: SimLimits;
  private readonly deviceFaults: boolean;

  constructor(opts: SimBackendOptions = {}) {
    this.limits = { ...RXE_LIMITS, ...opts.limits };
    this.deviceFaults = opts.deviceFaults ?? false;
    const n = opts.devices ?? 1;
    for (let i = 0; i < n; i++) this.install(`sim${i}`, i);
  }

  private install(name: string, index: number): SimDevice {
    // The device's own loss removes this device, never a newer one of the same name.
    const d: SimDevice = new SimDevice(name, index, this.limits, this.deviceFaults, () => {
      if (this.devices.get(name) === d) this.removeDevice(name);
    });
    this.devices.set(name, d);
    this.byGid.set(d.gid, d);
    return d;
  }

  deviceByGid(gid: string): SimDevice | undefined {
    return this.byGid.get(gid);
  }

  async listDevices(): Promise<DeviceListing[]> {
    return [...this.devices.values()].map((d) => d.listing());
  }

  async openDevice(name: string): Promise<DeviceContext> {
    const d = this.devices.get(name);
    if (!d) throw new VerbsError('ibv_open_device', Errno.ENODEV, `ibv_open_device: no device ${name}`);
    const ctx = new SimContext(d, this);
    d.contexts.add(ctx);
    return ctx;
  }

  watchDevices(onChange: Watcher): () => void {
    this.watchers.add(onChange);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  private notify(kind: 'added' | 'removed', name: string): void {
    for (const w of [...this.watchers]) queueMicrotask(() => w({ kind, name }));
  }

  /**
   * Simulates hot-unplug (`rdma link delete`): every open context gets
   * DEVICE_FATAL and device_lost, then fails every call but destroy/close
   * with EIO; the device leaves listDevices.
   */
  removeDevice(name: string): void {
    const d = this.devices.get(name);
    if (!d || d.lost) throw new VerbsError('remove_device', Errno.ENODEV);
    d.lost = true;
    this.devices.delete(name);
    this.byGid.delete(d.gid);
    for (const c of d.contexts) c.deviceLost();
    this.notify('removed', name);
  }

  /** Brings a removed device back (a fresh one: old contexts stay dead). */
  addDevice(name: string): void {
    if (this.devices.has(name)) throw new VerbsError('add_device', Errno.EEXIST);
    const m = /^sim(\d+)$/.exec(name);
    this.install(name, m ? Number(m[1]) : this.devices.size);
    this.notify('added', name);
  }
}

/** Creates the sim backend (one device, sim0, unless told otherwise). */
export function createSimBackend(opts?: SimBackendOptions): SimBackend {
  return new SimBackend(opts);
}
