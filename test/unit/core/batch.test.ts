import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Broker, type BatchStep } from '../../../src/core/broker.js';
import { createSimBackend } from '../../../src/verbs/sim/index.js';
import { RefValue } from '../../../src/wire/values.js';

async function setup(): Promise<{ broker: Broker; s: ReturnType<Broker['openSession']> }> {
  const broker = new Broker({ backend: createSimBackend(), log: pino({ level: 'silent' }) });
  await broker.start();
  const s = broker.openSession({ name: 't', tenant: 'default', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
  return { broker, s };
}

const pd: BatchStep = { verb: 'create', args: { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' } };
const mrOn = (step: number): BatchStep => ({
  verb: 'create', args: { type: 'mr', device: '', attrs: { pd: new RefValue(step), length: 4096, access: 1 }, userHandle: '0' },
});

describe('Broker.batch step references', () => {
  it('resolves a reference to an earlier create, in attributes and as the target', async () => {
    const { broker, s } = await setup();
    const out = await broker.batch(s, [pd, mrOn(0), { verb: 'destroy', handle: new RefValue(1) }, { verb: 'destroy', handle: new RefValue(0) }]);
    expect(out.failed).toBeNull();
    expect(out.results.map((r) => r.verb)).toEqual(['create', 'create', 'destroy', 'destroy']);
    expect(broker.registry.countOwned(s.id)).toBe(0);
    await broker.shutdown();
  });

  it('refuses a reference to the step itself or a later step, and to a step that created nothing', async () => {
    const { broker, s } = await setup();
    const self = await broker.batch(s, [pd, mrOn(1)]);
    expect(self.failed?.index).toBe(1);
    expect(self.failed?.error.code).toBe('INVALID_ATTR');
    const later = await broker.batch(s, [pd, mrOn(2), pd]);
    expect(later.failed?.index).toBe(1);
    expect(later.failed?.error.code).toBe('INVALID_ATTR');
    const created = later.results[0];
    const h = created && created.verb === 'create' ? created.object.handle : 0;
    const nothing = await broker.batch(s, [{ verb: 'query', handle: h }, mrOn(0)]);
    expect(nothing.failed?.index).toBe(1);
    expect(nothing.failed?.error.code).toBe('INVALID_ATTR');
    // Only the two PDs the first steps created exist; nothing half-made.
    expect(broker.registry.countOwned(s.id)).toBe(2);
    await broker.shutdown();
  });
});
