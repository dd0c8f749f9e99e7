/**
 * One simulated device: what is shared by every context opened on it, like
 * the kernel's ib_device: the object pools and their limits, the key and QPN
 * spaces (so QPs of different contexts reach each other), multicast groups.
 */
import type { DeviceListing, GidEntry } from '../abi.js';
import { gidFromMac } from './gid.js';
import { MR_INDEX_MAX, MR_INDEX_MIN, MW_INDEX_MAX, MW_INDEX_MIN, QPN_MAX, QPN_MIN, type SimLimits } from './limits.js';
import type { SimMr, SimMw, SimQp } from './objects.js';
import type { SimContext } from './context.js';

/** Live object counts per pool, checked against {@link SimLimits}. */
export interface PoolCounts {
  pd: number;
  mr: number;
  mw: number;
  cq: number;
  srq: number;
  qp: number;
  ah: number;
}

/** Device memory is handed out in units of 64 bytes (mlx5's MEMIC granularity). */
export const DM_UNIT = 64;

export class SimDevice {
  readonly gid: string;
  readonly guid: string;
  readonly netdev: string;
  lost = false;
  /**
   * Port 1's logical state, as `ip link set NETDEV down|up` leaves an rxe
   * port: DOWN stops every packet to and from the device (./faults.ts).
   */
  portActive = true;
  readonly contexts = new Set<SimContext>();
  readonly counts: PoolCounts = { pd: 0, mr: 0, mw: 0, cq: 0, srq: 0, qp: 0, ah: 0 };
  /** lkey/rkey -> MR (by lkey) or MW (by its current rkey). */
  readonly keys = new Map<number, SimMr | SimMw>();
  readonly qps = new Map<number, SimQp>();
  /** Multicast GID -> attached QPs. */
  readonly mcast = new Map<string, Set<SimQp>>();
  totalMcastAttach = 0;
  /** Bytes of the device memory pool in use (ibv_alloc_dm rounds up to {@link DM_UNIT}). */
  dmBytes = 0;
  private nextQpn = QPN_MIN;
  private nextMr = MR_INDEX_MIN;
  private nextMw = MW_INDEX_MIN;
  private keyByte = 0;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly limits: SimLimits,
    /** Whether faults that reach every context of the device (port, device fatal) may be injected (./faults.ts). */
    readonly deviceFaults = false,
    /** Takes the device away (the backend's hot-unplug): what a DEVICE_FATAL ends in. */
    readonly lose: () => void = () => {},
  ) {
    // A made-up, locally administered MAC per device; rxe derives GID 0 and the GUID from it.
    const { gid, guid } = gidFromMac([0x02, 0x5e, 0x00, 0x00, (index >> 8) & 0xff, index & 0xff]);
    this.gid = gid;
    this.guid = guid;
    this.netdev = `simeth${index}`;
  }

  listing(): DeviceListing {
    return { name: this.name, node_guid: this.guid, provider: 'sim', transport: 'InfiniBand' };
  }

  gidTable(): GidEntry[] {
    return [{ index: 0, gid: this.gid, type: 'RoCE v2', netdev: this.netdev }];
  }

  /** How many entries {@link gidTable} has, without building it (every address vector checks its sgid_index). */
  gidCount(): number {
    return 1;
  }

  /** Next free QPN (24 bits, from 16 like rxe); O(1) unless the space is nearly full. */
  allocQpn(): number {
    for (;;) {
      const n = this.nextQpn;
      this.nextQpn = n >= QPN_MAX ? QPN_MIN : n + 1;
      if (!this.qps.has(n)) return n;
    }
  }

  /** A fresh key: pool index in the top 24 bits, a rolling byte below (as rxe). */
  private allocKey(kind: 'mr' | 'mw'): number {
    for (;;) {
      let idx: number;
      if (kind === 'mr') {
        idx = this.nextMr;
        this.nextMr = idx >= MR_INDEX_MAX ? MR_INDEX_MIN : idx + 1;
      } else {
        idx = this.nextMw;
        this.nextMw = idx >= MW_INDEX_MAX ? MW_INDEX_MIN : idx + 1;
      }
      this.keyByte = (this.keyByte + 1) & 0xff;
      const key = ((idx << 8) | this.keyByte) >>> 0;
      if (!this.keys.has(key)) return key;
    }
  }
  allocMrKey(): number {
    return this.allocKey('mr');
  }
  allocMwKey(): number {
    return this.allocKey('mw');
  }
}
