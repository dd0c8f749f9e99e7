/**
 * The devices the daemon serves. Each tenant gets its own device context
 * (its own uverbs fd) per device: objects of one context are reachable by
 * anyone holding that fd, so tenants never share one, and closing a context
 * makes the kernel destroy whatever is left in it: the last line of defence.
 */
import type { Logger } from 'pino';
import type { DeviceAttr, DeviceListing, GidEntry, PortAttr } from '../verbs/abi.js';
import type { Backend, BackendEvent, DeviceCaps, DeviceContext } from '../verbs/backend.js';
import { BrokerError, quote } from './errors.js';
import { unsupportedMethods } from './types/index.js';

/** What a device can do: the backend's capabilities, and the verbs it cannot serve. */
export interface DeviceCapabilities extends DeviceCaps {
  /**
   * "type.method" of the verbs whose backend ops this device does not
   * implement (./types/index.ts unsupportedMethods): Describe lists them
   * unsupported, calls answer UNSUPPORTED.
   */
  readonly unsupported: ReadonlySet<string>;
}

export interface DeviceEntry {
  readonly name: string;
  listing: DeviceListing;
  state: 'live' | 'lost';
  /** The context used for queries; tenants' contexts are opened on demand. */
  probe: DeviceContext;
  caps: DeviceCapabilities;
  attr: DeviceAttr;
  ports: { port: number; attr: PortAttr; gids: GidEntry[] }[];
  contexts: Map<string, Promise<DeviceContext>>;
  /** The tenants' contexts that have opened (those of {@link contexts} that resolved), for {@link DeviceTable.openedContext}. */
  opened?: Map<string, DeviceContext>;
}

export type DeviceEventSink = (device: string, tenant: string | null, e: BackendEvent) => void;

export class DeviceTable {
  private readonly devices = new Map<string, DeviceEntry>();
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly log: Logger,
    private readonly sink: DeviceEventSink,
    private readonly onAdded: (name: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    for (const l of await this.backend.listDevices()) await this.add(l);
    this.unwatch = this.backend.watchDevices((c) => {
      if (c.kind === 'added') {
        void this.backend.listDevices().then(async (all) => {
          const l = all.find((d) => d.name === c.name);
          if (l) await this.add(l);
        }).catch((e: unknown) => this.log.error({ err: e, device: c.name }, 'device add failed'));
      } else {
        const d = this.devices.get(c.name);
        if (d && d.state === 'live') this.sink(c.name, null, { kind: 'device_lost' });
      }
    });
  }

  private async add(l: DeviceListing): Promise<void> {
    const old = this.devices.get(l.name);
    if (old && old.state === 'live') return;
    try {
      const probe = await this.backend.openDevice(l.name);
      probe.setEventHandler((e) => this.sink(l.name, null, e));
      const attr = await probe.queryDevice();
      const ports: DeviceEntry['ports'] = [];
      for (let p = 1; p <= attr.phys_port_cnt; p++) {
        ports.push({ port: p, attr: await probe.queryPort(p), gids: await probe.queryGidTable(p) });
      }
      this.devices.set(l.name, {
        name: l.name, listing: l, state: 'live', probe, caps: { ...probe.capabilities(), unsupported: unsupportedMethods(probe) }, attr, ports, contexts: new Map(),
      });
      this.log.info({ device: l.name, provider: l.provider, ports: ports.length }, old ? 'device back' : 'device added');
      if (old) this.onAdded(l.name);
    } catch (e) {
      this.log.error({ err: e, device: l.name }, 'cannot open device; skipping it');
    }
  }

  list(): DeviceEntry[] {
    return [...this.devices.values()];
  }

  get(name: string): DeviceEntry {
    const d = this.devices.get(name);
    if (!d) throw new BrokerError('NO_SUCH_DEVICE', `no such device: ${quote(name)}`);
    return d;
  }

  live(name: string): DeviceEntry {
    const d = this.get(name);
    if (d.state !== 'live') throw new BrokerError('DEVICE_LOST', `device ${name} is gone`);
    return d;
  }

  /** The tenant's own context on a device, opened on first use. */
  async contextFor(name: string, tenant: string): Promise<DeviceContext> {
    const d = this.live(name);
    let p = d.contexts.get(tenant);
    if (!p) {
      const opened = (d.opened ??= new Map());
      p = this.backend.openDevice(name).then((ctx) => {
        ctx.setEventHandler((e) => this.sink(name, tenant, e));
        // Only while this promise is still the tenant's (closeContexts may have dropped it meanwhile).
        if (d.contexts.get(tenant) === p) opened.set(tenant, ctx);
        return ctx;
      });
      d.contexts.set(tenant, p);
      p.catch(() => d.contexts.delete(tenant));
    }
    return p;
  }

  /**
   * The tenant's context on a live device if it is already open, else null
   * (then {@link contextFor} opens it): lets a verb skip an await per call.
   */
  openedContext(d: DeviceEntry, tenant: string): DeviceContext | null {
    return d.state === 'live' ? d.opened?.get(tenant) ?? null : null;
  }

  /**
   * Re-reads a port's attributes and GID table after a port event (its
   * state, or its GIDs, changed), so listings show what the kernel reports
   * now. Never fails: a device that cannot answer keeps its last reading.
   */
  async refreshPort(name: string, port: number): Promise<void> {
    const d = this.devices.get(name);
    const p = d?.ports.find((x) => x.port === port);
    if (!d || !p || d.state !== 'live') return;
    try {
      p.attr = await d.probe.queryPort(port);
      p.gids = await d.probe.queryGidTable(port);
    } catch (e) {
      this.log.warn({ err: e, device: name, port }, 'cannot re-read the port after a port event');
    }
  }

  /** Marks a device lost (its objects are released by the broker). */
  markLost(name: string): DeviceEntry | undefined {
    const d = this.devices.get(name);
    if (d) d.state = 'lost';
    return d;
  }

  /**
   * Closes every context of a device, the probe included (after its objects
   * are gone). On a lost device this matters: drivers without
   * disassociate_ucontext (rxe) make the kernel's device removal wait until
   * every uverbs fd of the device is closed.
   */
  async closeContexts(d: DeviceEntry, probeToo = false): Promise<void> {
    const all = [...d.contexts.values()];
    if (probeToo) all.push(Promise.resolve(d.probe));
    d.contexts.clear();
    d.opened?.clear();
    for (const p of all) {
      try {
        await (await p).close();
      } catch (e) {
        this.log.warn({ err: e, device: d.name }, 'closing a device context failed');
      }
    }
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    for (const d of this.devices.values()) {
      if (d.state === 'live') await this.closeContexts(d, true);
    }
  }
}
