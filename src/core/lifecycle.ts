/**
 * Object lifecycle outside the verbs: how objects leave the table when a
 * session ends, a device is lost or the daemon shuts down, and the one
 * removal every destroy goes through (an explicit destroy included, through
 * the runner). All of them use the one destroy order declared in the type
 * tables (cleanupOrder in ./registry.ts: destroyOrder, then newest first),
 * and they fence in-flight verbs (lockReleased) rather than sleep on them.
 */
import type { Logger } from 'pino';
import { VerbsError } from '../verbs/errno.js';
import type { PlainMap } from '../wire/values.js';
import type { Accounting } from './accounting.js';
import type { DeviceTable } from './devices.js';
import type { MemoryIndex } from './memory-check.js';
import { lockReleased, type BrokerObject, type Registry } from './registry.js';
import type { Session, SessionTable } from './sessions.js';

/** Why an object is being destroyed: only an explicit destroy may fail. */
export type RemoveReason = 'destroy' | 'session_end' | 'device_lost' | 'shutdown';

/** What a destroy without output attributes gives back (most do): one shared, frozen empty map. */
const NO_OUTPUT: PlainMap = Object.freeze({});

/** How long cleanup waits for the in-flight verbs on an object before forcing its destroy. */
const FENCE_MS = 2000;

export interface LifecycleHost {
  readonly registry: Registry;
  readonly devices: DeviceTable;
  readonly accounting: Accounting;
  readonly memory: MemoryIndex;
  readonly sessions: SessionTable;
  readonly log: Logger;
}

export class Lifecycle {
  constructor(private readonly h: LifecycleHost) {}

  /**
   * Destroys one object on the device and drops it from the table. An
   * explicit destroy may fail and changes nothing then; any other reason
   * cannot fail: a device error is logged and the object is dropped (closing
   * the tenant's context reclaims it in the kernel), as libibverbs treats EIO
   * from a dead device as a successful destroy.
   */
  async removeObject(o: BrokerObject, reason: RemoveReason, forced = false): Promise<PlainMap> {
    if (o.dead) return NO_OUTPUT;
    const h = this.h;
    let out: PlainMap = NO_OUTPUT;
    // An object with registered memory (its create returned a range) leaves
    // the memory index before the device lets go of it (and the daemon
    // unmaps it): no work request checked from here on may name it.
    const range = o.memKey !== undefined ? h.memory.remove(o.owner.id, o.device, o.handle, o.memKey) : undefined;
    try {
      if (o.spec.destroy) out = (await o.spec.destroy(o, o.dev)) ?? NO_OUTPUT;
    } catch (e) {
      const lost = h.devices.list().find((d) => d.name === o.device)?.state === 'lost';
      const eio = e instanceof VerbsError && e.errno === 5;
      if (reason === 'destroy' && !lost && !eio) {
        if (range) h.memory.add(o.owner.id, range);
        throw e;
      }
      if (!lost && !eio) h.log.warn({ err: e, handle: o.handle, type: o.type, reason, forced }, 'destroy failed during cleanup; dropping the object');
    }
    h.registry.remove(o);
    h.accounting.released(o.owner.tenant, o.type, o.bytes, o.spec.fds ?? 0);
    if (reason !== 'destroy') {
      h.log.debug({ session: o.owner.id, tenant: o.owner.tenant, handle: o.handle, type: o.type, device: o.device, reason, forced }, 'object released');
    }
    return out;
  }

  /**
   * Destroys a session's objects in the one cleanup order. Like the kernel's
   * uverbs_destroy_ufile_hw, an object still in use is retried in the next
   * pass; a pass without progress waits for the in-flight verbs on those
   * objects (bounded), then ends with a forced pass.
   */
  async releaseOwned(s: Session, reason: RemoveReason): Promise<void> {
    let pending = this.h.registry.ownedNewestFirst(s.id);
    while (pending.length > 0) {
      const retry: BrokerObject[] = [];
      for (const o of pending) {
        if (o.dead) continue;
        if (o.users > 0 || o.writer || o.readers > 0) {
          retry.push(o);
          continue;
        }
        await this.removeObject(o, reason);
      }
      if (retry.length === pending.length) {
        // No progress: a verb still holds something. Fence: wait (bounded) for the in-flight verbs to let go, then force.
        await Promise.all(retry.map((o) => lockReleased(o, FENCE_MS)));
        for (const o of retry) {
          if (!o.dead && o.users === 0) await this.removeObject(o, reason);
        }
        const left = retry.filter((o) => !o.dead);
        if (left.length === retry.length) {
          for (const o of left) await this.removeObject(o, reason, true);
          break;
        }
        pending = left;
        continue;
      }
      pending = retry;
    }
  }

  /**
   * Device loss (removal, DEVICE_FATAL): marks the device lost, tells each
   * session with objects on it once, releases those objects in the one
   * cleanup order (each session told of each), then closes the contexts.
   * `deviceType`: the name events use for the device itself.
   */
  async deviceLost(device: string, deviceType: string): Promise<void> {
    const h = this.h;
    const d = h.devices.list().find((x) => x.name === device);
    if (!d || d.state === 'lost') return;
    h.devices.markLost(device);
    const objs = h.registry.onDeviceNewestFirst(device);
    h.log.warn({ device, objects: objs.length }, 'device lost: releasing its objects');
    const told = new Set<string>();
    const now = Date.now();
    for (const o of objs) {
      const s = h.sessions.get(o.owner.id);
      if (s && !told.has(s.id)) {
        told.add(s.id);
        s.emit({ kind: 'device_lost', handle: 0, userHandle: '0', type: deviceType, eventType: 'DEVICE_FATAL', device, port: 0, time: now });
      }
    }
    for (const o of objs) {
      if (o.dead) continue;
      await this.removeObject(o, 'device_lost');
      h.sessions.get(o.owner.id)?.emit({
        kind: 'object_released', handle: o.handle, userHandle: o.userHandle, type: o.type, eventType: '', device, port: 0, time: now,
      });
    }
    await h.devices.closeContexts(d, true);
  }

  /** Ends every session (destroying its objects in the one order) and closes the devices. */
  async shutdown(): Promise<void> {
    const h = this.h;
    const all = [...h.sessions.all()];
    for (const s of all) h.sessions.end(s, 'shutdown');
    await Promise.all(all.map((s) => s.closed));
    h.sessions.stop();
    await h.devices.stop();
  }
}
