/**
 * Discovery without a device (src/core/broker.ts describe): the daemon's
 * types are those that exist on at least one of its devices. Two sim devices
 * stand in for a mixed host: one of them hides its fault injector, as a
 * device of another driver (rxe) has none.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Broker } from '../../../src/core/broker.js';
import type { Backend, DeviceContext, OptionalOp } from '../../../src/verbs/backend.js';
import { createSimBackend } from '../../../src/verbs/sim/index.js';

interface Shape {
  /** Has the sim's driver-specific fault injector (the `sim_fault` type). */
  faults: boolean;
  /** Optional ops the device says it does not implement. */
  gaps?: readonly OptionalOp[];
}

/** Sim devices sim0, sim1, ... shaped as given. */
function shaped(devices: readonly Shape[]): Backend {
  const inner = createSimBackend({ devices: devices.length });
  return {
    kind: inner.kind,
    listDevices: () => inner.listDevices(),
    watchDevices: (cb) => inner.watchDevices(cb),
    async openDevice(name) {
      const ctx = await inner.openDevice(name);
      const shape = devices[Number(name.replace('sim', ''))]!;
      return new Proxy(ctx, {
        get(t, k, r) {
          if (k === 'faults' && !shape.faults) return undefined;
          if (k === 'implemented') return (op: OptionalOp) => !(shape.gaps ?? []).includes(op) && t.implemented(op);
          const v = Reflect.get(t, k, r) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      }) as DeviceContext;
    },
  };
}

async function broker(devices: readonly Shape[]): Promise<Broker> {
  const b = new Broker({ backend: shaped(devices), log: pino({ level: 'silent' }) });
  await b.start();
  return b;
}
const names = (b: Broker, device?: string): string[] => b.describe(device).types.map((t) => t.name);

describe('Describe without a device', () => {
  it('lists a driver-specific type only when some device has it', async () => {
    const rxeLike = await broker([{ faults: false }]);
    expect(names(rxeLike, 'sim0')).not.toContain('sim_fault');
    expect(names(rxeLike)).toEqual(names(rxeLike, 'sim0'));
    expect(names(rxeLike)).toContain('qp');
    await rxeLike.shutdown();

    const mixed = await broker([{ faults: false }, { faults: true }]);
    expect(names(mixed, 'sim0')).not.toContain('sim_fault');
    expect(names(mixed, 'sim1')).toContain('sim_fault');
    expect(names(mixed)).toEqual(names(mixed, 'sim1'));
    await mixed.shutdown();
  });

  it('calls a method unsupported only where no device with its type serves it', async () => {
    const one = await broker([{ faults: false, gaps: ['querySrq'] }, { faults: false }]);
    expect(one.describe('sim0').unsupported.has('srq.query')).toBe(true);
    expect(one.describe().unsupported.has('srq.query')).toBe(false);
    await one.shutdown();
    const both = await broker([{ faults: false, gaps: ['querySrq'] }, { faults: true, gaps: ['querySrq'] }]);
    expect(both.describe().unsupported.has('srq.query')).toBe(true);
    expect(both.describe().unsupported.has('qp.create')).toBe(false);
    await both.shutdown();
  });

  it('lists no type for a daemon without devices', async () => {
    const none = await broker([]);
    expect(names(none)).toEqual([]);
    expect(none.describe().supportsImport).toBe(false);
    await none.shutdown();
  });
});
