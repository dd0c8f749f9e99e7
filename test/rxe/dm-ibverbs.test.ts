/**
 * Device memory on soft-RoCE: rxe has none, so libibverbs' ibv_alloc_dm
 * (called for real, through the provider's verbs_context op) answers
 * EOPNOTSUPP; the probe at open records it, and the broker's Describe lists
 * the dm verbs unsupported and refuses them with the status EOPNOTSUPP gets.
 */
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import { asBrokerError } from '../../src/core/errors.js';
import { statusOf } from '../../src/core/status.js';
import { unsupportedMethods } from '../../src/core/types/index.js';
import type { DeviceContext } from '../../src/verbs/backend.js';
import { VerbsError } from '../../src/verbs/errno.js';
import { createIbverbsBackend } from '../../src/verbs/ibverbs/index.js';
import { describeRxe, RXE_DEVICE } from './vm.js';

describeRxe('device memory on soft-RoCE', () => {
  let ctx: DeviceContext;
  beforeAll(async () => {
    ctx = await createIbverbsBackend({ log: pino({ level: 'warn' }) }).openDevice(RXE_DEVICE);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('ibv_alloc_dm answers EOPNOTSUPP, max_dm_size is 0, and the dm verbs are not implemented', async () => {
    expect((await ctx.queryDevice()).max_dm_size).toBe(0n);
    expect(ctx.implemented('allocDm')).toBe(false);
    const e = await ctx.allocDm({ length: 64, log_align_req: 0, comp_mask: 0 }, 1).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(VerbsError);
    expect((e as VerbsError).errno).toBe(95);
    const un = unsupportedMethods(ctx);
    for (const m of ['dm.create', 'dm.copy_to', 'dm.copy_from', 'dm_mr.create']) expect(un.has(m), m).toBe(true);
    // What rxe has stays supported.
    for (const m of ['mw.create', 'srq.create', 'ah.create', 'qp.attach_mcast']) expect(un.has(m), m).toBe(false);
  });

  it('through the broker: dm.create is refused with the status of EOPNOTSUPP', async () => {
    const broker = new Broker({ backend: createIbverbsBackend({ log: pino({ level: 'warn' }) }), log: pino({ level: 'silent' }) });
    await broker.start();
    try {
      expect(broker.devices.get(RXE_DEVICE).caps.unsupported.has('dm.create')).toBe(true);
      const s = broker.openSession({ name: 'dm', tenant: 'dm', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
      const e = await broker.create(s, { type: 'dm', device: RXE_DEVICE, attrs: { length: 64n }, userHandle: '0' }).then(() => null, (x: unknown) => x);
      const b = asBrokerError(e);
      expect(b?.code).toBe('UNSUPPORTED');
      expect(statusOf(b!)).toBe(statusOf(asBrokerError(new VerbsError('ibv_alloc_dm', 95))!));
    } finally {
      await broker.shutdown();
    }
  });
});
