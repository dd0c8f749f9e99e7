/**
 * Discovery without a device (src/core/broker.ts describe): the daemon's
 * types are those that exist on at least one of its devices. Two sim devices
 * stand in for a mixed host: one of them hides its fault injector, as a
 * device of another driver (rxe) has none.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../../src/core/broker.js';
import { startBroker, type DeviceShape } from './fixture.js';

async function broker(devices: readonly DeviceShape[]): Promise<Broker> {
  return (await startBroker({ devices })).broker;
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
