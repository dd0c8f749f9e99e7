/**
 * The libibverbs backend: the kernel's RDMA devices through Debian's
 * rdma-core (libibverbs.so.1), called with koffi.
 *
 * Devices come and go (`rdma link add/delete`, driver reloads). They are
 * watched through /sys/class/infiniband_verbs, the directory libibverbs'
 * own device list is built from, once a second. On removal, drivers without
 * `disassociate_ucontext` (rxe) make the kernel wait until every uverbs fd of
 * the device is closed and send user space nothing, so the backend itself
 * tells every open context (DEVICE_FATAL + device_lost); the core then closes
 * them, which lets the removal finish.
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { DeviceListing } from '../abi.js';
import type { Backend, DeviceContext, OptionalOp } from '../backend.js';
import { Errno, VerbsError } from '../errno.js';
import * as libc from '../../sys/libc.js';
import { uverbsDriverId } from '../../sys/rdma-netlink.js';
import {
  L, TRANSPORT_IB, TRANSPORT_IWARP, callAsync, loadIbverbs, readPtr, readU32,
  withBlock, type Ibv, type Ptr,
} from './binding.js';
import { guidText } from './codec.js';
import { IbvContext, writeXrcdInit, type ProviderCaps } from './context.js';
import { FdPoller } from './poller.js';

export { LibraryMissingError } from './binding.js';
export { IbvContext } from './context.js';

const SYSFS_VERBS = '/sys/class/infiniband_verbs';
const SYSFS_IB = '/sys/class/infiniband';
const WATCH_MS = 1000;

export interface IbverbsBackendOptions {
  log: Logger;
  /** How often the device list is re-read (ms); default 1000. */
  watchIntervalMs?: number;
}

type Watcher = (change: { kind: 'added' | 'removed'; name: string }) => void;

/** A device as seen in sysfs: its name and the identity of its uverbs node (a re-created device gets a new one). */
interface Present {
  name: string;
  ino: bigint;
}

export class IbverbsBackend implements Backend {
  readonly kind = 'ibverbs' as const;
  private readonly ibv: Ibv;
  private readonly log: Logger;
  private readonly poller: FdPoller;
  private readonly contexts = new Map<string, Set<IbvContext>>();
  private readonly caps = new Map<string, { ino: bigint; caps: ProviderCaps }>();
  private readonly watchers = new Set<Watcher>();
  private known: Map<string, bigint> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;

  private readonly watchMs: number;

  constructor(opts: IbverbsBackendOptions) {
    this.ibv = loadIbverbs();
    this.log = opts.log;
    this.watchMs = opts.watchIntervalMs ?? WATCH_MS;
    this.poller = new FdPoller((e) => this.log.error({ err: e }, 'event poller error'));
  }

  // ------------------------------------------------------------- listing

  async listDevices(): Promise<DeviceListing[]> {
    return withBlock(8, async (nb) => {
      const { res: list, errno } = await callAsync(this.ibv.fn.get_device_list, nb.ptr);
      if (list === null || list === 0n) {
        // No uverbs support in the kernel at all reads as "no devices" (ENOSYS): that is not an error here.
        if (errno === Errno.ENOSYS || errno === 0 || errno === Errno.ENOENT) return [];
        throw new VerbsError('ibv_get_device_list', errno);
      }
      try {
        const n = nb.view.getInt32(0, true);
        const out: DeviceListing[] = [];
        for (let i = 0; i < n; i++) {
          const dev = readPtr(list, i * 8);
          out.push(await this.listing(dev));
        }
        return out;
      } finally {
        this.ibv.fn.free_device_list(list);
      }
    });
  }

  private async listing(dev: Ptr): Promise<DeviceListing> {
    const name = this.ibv.fn.get_device_name(dev) ?? '?';
    const transport = readU32(dev, L.device.transport_type);
    return {
      name,
      node_guid: guidText(BigInt.asUintN(64, BigInt(this.ibv.fn.get_device_guid(dev)))),
      provider: await providerOf(name),
      transport: transport === TRANSPORT_IB ? 'InfiniBand' : transport === TRANSPORT_IWARP ? 'iWARP' : 'unknown',
    };
  }

  // ------------------------------------------------------------- opening

  async openDevice(name: string): Promise<DeviceContext> {
    const call = 'ibv_open_device';
    const ctxPtr = await withBlock(8, async (nb) => {
      const { res: list, errno } = await callAsync(this.ibv.fn.get_device_list, nb.ptr);
      if (list === null || list === 0n) throw new VerbsError(call, Errno.ENODEV, `${call}: no device ${name} (the device list is empty, errno ${errno})`);
      try {
        const n = nb.view.getInt32(0, true);
        for (let i = 0; i < n; i++) {
          const dev = readPtr(list, i * 8);
          if (this.ibv.fn.get_device_name(dev) !== name) continue;
          const { res, errno: e } = await callAsync(this.ibv.fn.open_device, dev);
          if (res === null || res === 0n) throw new VerbsError(call, e > 0 ? e : Errno.EIO, `${call}(${name}): errno ${e}`);
          return res;
        }
      } finally {
        this.ibv.fn.free_device_list(list);
      }
      throw new VerbsError(call, Errno.ENODEV, `${call}: no device ${name}`);
    });
    const provider = await providerOf(name);
    const ino = await uverbsIno(name);
    let set = this.contexts.get(name);
    if (!set) this.contexts.set(name, (set = new Set()));
    const cachedCaps = this.caps.get(name);
    const caps: ProviderCaps = cachedCaps && cachedCaps.ino === ino ? cachedCaps.caps : { supportsImport: false, lacks: new Set() };
    const ctx = new IbvContext(this.ibv, ctxPtr, {
      name,
      provider,
      caps,
      poller: this.poller,
      onClosed: (c) => {
        this.contexts.get(name)?.delete(c);
      },
      warn: (msg, err) => this.log.warn({ err, device: name }, msg),
    });
    set.add(ctx);
    if (!cachedCaps || cachedCaps.ino !== ino) {
      try {
        const probed = await this.probeCaps(ctx);
        // The context was built with a placeholder; the same object is filled so every holder sees it.
        (caps as { supportsImport: boolean }).supportsImport = probed.supportsImport;
        for (const op of probed.lacks) caps.lacks.add(op);
        this.caps.set(name, { ino, caps });
      } catch (e) {
        await ctx.close().catch(() => {});
        throw e;
      }
    }
    this.log.debug({ device: name, provider }, 'device context opened');
    return ctx;
  }

  /**
   * What the provider cannot do, found out once per device from what it
   * answers (no list of providers is kept): memory windows, SRQs and
   * multicast from the limits query_device reports; XRC domains, address
   * handles, flow steering and device memory by trying them, since libibverbs fills a
   * provider's missing ops with dummies that answer EOPNOTSUPP (a non-NULL
   * pointer, so only a call tells): EOPNOTSUPP means the op is missing, any
   * other answer (EINVAL for the probe's minimal arguments) that the provider
   * implements it. Import is tried on a dup of the command fd.
   */
  private async probeCaps(ctx: IbvContext): Promise<ProviderCaps> {
    const lacks = new Set<OptionalOp>();
    const lack = (...ops: OptionalOp[]): void => {
      for (const op of ops) lacks.add(op);
    };
    const attr = await ctx.queryDevice();
    if (attr.max_mw <= 0) lack('allocMw', 'deallocMw', 'bindMw');
    if (attr.max_srq <= 0) lack('createSrq', 'modifySrq', 'querySrq', 'destroySrq', 'postSrqRecv');
    if (attr.max_mcast_grp <= 0) lack('attachMcast', 'detachMcast');
    const ops = this.ibv.ops(ctx.ptr);
    if (!ops.open_xrcd || !ops.close_xrcd) lack('openXrcd', 'closeXrcd');
    else {
      const close = ops.close_xrcd;
      const x = await withBlock(L.xrcdInit.$size, async (b) => {
        writeXrcdInit(b);
        return callAsync(ops.open_xrcd as NonNullable<typeof ops.open_xrcd>, ctx.ptr, b.ptr);
      });
      if (x.res === null || x.res === 0n) lack('openXrcd', 'closeXrcd');
      else await callAsync(close, x.res);
    }
    const missing = (e: unknown): boolean => e instanceof VerbsError && (e.errno === Errno.EOPNOTSUPP || e.errno === Errno.ENOSYS);
    // Device memory: one small allocation (rxe: the dummy's EOPNOTSUPP; mlx5 without MEMIC answers so too).
    const dm = await ctx.allocDm({ length: 64, log_align_req: 0, comp_mask: 0 }, 0).catch((e: unknown) => {
      if (missing(e)) lack('allocDm', 'freeDm', 'copyToDm', 'copyFromDm', 'regDmMr');
      return null;
    });
    if (dm) await ctx.freeDm(dm);
    const pd = await ctx.allocPd(0);
    try {
      // A zeroed AH (no GRH, DLID 0): providers that have create_ah refuse or accept it; the dummy answers EOPNOTSUPP.
      const ah = await ctx.createAh(pd, { grh: null, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1 }, 0).catch((e: unknown) => {
        if (missing(e)) lack('createAh', 'destroyAh');
        return null;
      });
      if (ah) await ctx.destroyAh(ah);
      const cq = await ctx.createCq(1, null, 0, 0);
      try {
        const qp = await ctx.createQp(pd, {
          qp_type: 'UD', send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false,
          cap: { max_send_wr: 1, max_recv_wr: 1, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 },
        }, 0).catch(() => null);
        if (qp) {
          const flow = await ctx.createFlow(qp, {
            type: 'NORMAL', priority: 0, port: 1, flags: 0, specs: [{ type: 'ETH', dst_mac: '02:00:00:00:00:01' }],
          }, 0).catch((e: unknown) => {
            if (missing(e)) lack('createFlow', 'destroyFlow');
            return null;
          });
          if (flow) await ctx.destroyFlow(flow);
          await ctx.destroyQp(qp);
        }
      } finally {
        await ctx.destroyCq(cq);
      }
    } finally {
      await ctx.deallocPd(pd);
    }
    // ibv_import_device on a dup of the command fd: a second context over the same file.
    let supportsImport = false;
    const dupFd = libc.fcntl(ctx.cmdFd, libc.F_DUPFD_CLOEXEC, 3);
    if (dupFd >= 0) {
      const { res } = await callAsync(this.ibv.fn.import_device, dupFd);
      if (res !== null && res !== 0n) {
        supportsImport = true;
        await callAsync(this.ibv.fn.close_device, res); // closes dupFd too
      } else {
        libc.close(dupFd);
      }
    }
    return { supportsImport, lacks };
  }

  // ------------------------------------------------------------- watching

  watchDevices(onChange: Watcher): () => void {
    this.watchers.add(onChange);
    if (!this.timer) {
      this.timer = setInterval(() => void this.scan(), this.watchMs);
      this.timer.unref();
      void this.scan();
    }
    return () => {
      this.watchers.delete(onChange);
      if (this.watchers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** One look at sysfs; compares with the last one and reports the difference. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const now = new Map<string, bigint>();
      for (const p of await presentDevices()) now.set(p.name, p.ino);
      const before = this.known;
      this.known = now;
      if (!before) return;
      for (const [name, ino] of before) {
        const still = now.get(name);
        if (still === undefined || still !== ino) this.removed(name);
      }
      for (const [name, ino] of now) {
        const was = before.get(name);
        if (was === undefined || was !== ino) this.notify('added', name);
      }
    } catch (e) {
      this.log.warn({ err: e }, 'device scan failed');
    } finally {
      this.scanning = false;
    }
  }

  private removed(name: string): void {
    this.log.warn({ device: name }, 'device removed');
    this.caps.delete(name);
    for (const c of this.contexts.get(name) ?? []) c.deviceLost();
    this.notify('removed', name);
  }

  private notify(kind: 'added' | 'removed', name: string): void {
    for (const w of [...this.watchers]) {
      try {
        w({ kind, name });
      } catch (e) {
        this.log.error({ err: e }, 'device watcher threw');
      }
    }
  }
}

/** The devices with a uverbs node, from sysfs (what libibverbs lists). */
async function presentDevices(): Promise<Present[]> {
  let entries: string[];
  try {
    entries = await readdir(SYSFS_VERBS);
  } catch {
    return [];
  }
  const out: Present[] = [];
  for (const e of entries) {
    if (!e.startsWith('uverbs')) continue;
    try {
      const name = (await readFile(`${SYSFS_VERBS}/${e}/ibdev`, 'utf8')).trim();
      const st = await stat(`${SYSFS_VERBS}/${e}`, { bigint: true });
      out.push({ name, ino: st.ino });
    } catch {
      // vanished between readdir and read
    }
  }
  return out;
}

async function uverbsIno(name: string): Promise<bigint> {
  for (const p of await presentDevices()) if (p.name === name) return p.ino;
  return -1n;
}

/**
 * `enum rdma_driver_id` (rdma/ib_user_ioctl_verbs.h) by value: the kernel
 * driver each names, lowercased (I40IW and IRDMA share 9). rdma-core's
 * providers declare these ids in their match tables.
 */
export const DRIVER_IDS: readonly string[] = [
  'unknown', 'mlx5', 'mlx4', 'cxgb3', 'cxgb4', 'mthca', 'bnxt_re', 'ocrdma', 'nes', 'irdma', 'vmw_pvrdma', 'qedr', 'hns',
  'usnic', 'rxe', 'hfi1', 'qib', 'efa', 'siw', 'erdma', 'mana', 'ionic',
];

/**
 * The provider (rdma-core driver) of device `name`: the kernel driver that
 * serves it, by the id RDMA netlink reports for its uverbs device (what
 * libibverbs itself matches providers by, whatever the device is called);
 * where netlink cannot say (a kernel before 4.20, an id this table does not
 * know), the PCI driver ("mlx5_core" -> "mlx5"), else the name's prefix.
 */
export async function providerOf(name: string, driverId: (name: string) => number | null = uverbsDriverId): Promise<string> {
  const id = driverId(name);
  const known = id !== null && id > 0 ? DRIVER_IDS[id] : undefined;
  if (known) return known;
  try {
    const drv = basename(await readlink(`${SYSFS_IB}/${name}/device/driver`));
    return drv.replace(/_core$/, '').replace(/_ib$/, '');
  } catch {
    const m = /^([a-z_]+?)\d*$/.exec(name);
    return m?.[1] ?? 'unknown';
  }
}

/** Creates the backend; throws {@link LibraryMissingError} (naming the Debian packages) when libibverbs is missing. */
export function createIbverbsBackend(opts: IbverbsBackendOptions): IbverbsBackend {
  return new IbverbsBackend(opts);
}

