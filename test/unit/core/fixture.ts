/**
 * The in-process broker the core's unit tests share: a Broker over sim
 * devices sim0, sim1, ..., each optionally made to look like a device of
 * another driver (no fault injector, optional ops it does not implement,
 * other DeviceContext members replaced, such as an import-capable device's
 * command fd), its log kept or silenced, and sessions opened directly (no
 * transport). Used by runner, describe, mixed-devices and fdpass/import.
 */
import pino from 'pino';
import { Broker } from '../../../src/core/broker.js';
import type { Session } from '../../../src/core/sessions.js';
import type { Backend, DeviceContext, OptionalOp } from '../../../src/verbs/backend.js';
import { createSimBackend } from '../../../src/verbs/sim/index.js';

/** What one sim device is made to look like. */
export interface DeviceShape {
  /** false: no fault injector (the driver-specific `sim_fault` type), as a device of another driver (rxe) has none. */
  faults?: boolean;
  /** Optional ops the device says it does not implement (Describe and the runner follow). */
  gaps?: readonly OptionalOp[];
  /** DeviceContext members replaced, by name, given the real context (e.g. `capabilities` reporting supportsImport). */
  replace?: (ctx: DeviceContext) => Record<string, unknown>;
}

/** A sim backend with one device per shape (sim0 is `devices[0]`, ...). */
export function shapedSim(devices: readonly DeviceShape[]): Backend {
  const inner = createSimBackend({ devices: devices.length });
  return {
    kind: inner.kind,
    listDevices: () => inner.listDevices(),
    watchDevices: (cb) => inner.watchDevices(cb),
    async openDevice(name) {
      const ctx = await inner.openDevice(name);
      const shape = devices[Number(name.replace('sim', ''))] ?? {};
      const replaced = shape.replace?.(ctx) ?? {};
      return new Proxy(ctx, {
        get(t, k, r) {
          if (typeof k === 'string' && Object.hasOwn(replaced, k)) return replaced[k];
          if (k === 'faults' && shape.faults === false) return undefined;
          if (k === 'implemented' && shape.gaps) return (op: OptionalOp) => !shape.gaps!.includes(op) && t.implemented(op);
          const v = Reflect.get(t, k, r) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      }) as DeviceContext;
    },
  };
}

export interface TestBroker {
  broker: Broker;
  /** The log's lines at info and above, parsed (empty unless started with `capture`). */
  lines: Record<string, unknown>[];
  /** Opens a session directly on the broker: its own tenant (named after it) unless told, a 60 s lease, no resume grace. */
  open(name: string, o?: { tenant?: string; leaseMs?: number }): Session;
  stop(): Promise<void>;
}

/** Starts a Broker over {@link shapedSim} (one plain sim device by default). */
export async function startBroker(o: { devices?: readonly DeviceShape[]; capture?: boolean } = {}): Promise<TestBroker> {
  const lines: Record<string, unknown>[] = [];
  const log = o.capture
    ? pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) })
    : pino({ level: 'silent' });
  const broker = new Broker({ backend: shapedSim(o.devices ?? [{}]), log });
  await broker.start();
  return {
    broker,
    lines,
    open: (name, so = {}) => broker.openSession({ name, tenant: so.tenant ?? name, peer: 'test', leaseMs: so.leaseMs ?? 60_000, resumeGraceMs: 0 }),
    stop: () => broker.shutdown(),
  };
}
