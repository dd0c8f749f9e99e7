/**
 * Capabilities come from the ops a backend implements (src/verbs/backend.ts
 * DummyOps, src/core/types/index.ts unsupportedMethods): what Describe lists
 * unsupported is exactly what answers EOPNOTSUPP, and through the broker a
 * call to it gets the status src/core/status.ts gives EOPNOTSUPP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, type Session } from '../../src/client/index.js';
import { asBrokerError } from '../../src/core/errors.js';
import { statusOf } from '../../src/core/status.js';
import { OBJECT_TYPES, unsupportedMethods } from '../../src/core/types/index.js';
import { DummyOps, type DeviceContext, type OptionalOp } from '../../src/verbs/backend.js';
import { Errno, VerbsError } from '../../src/verbs/errno.js';
import { SimBackend } from '../../src/verbs/sim/index.js';
import { startInProcess, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;

beforeAll(async () => {
  rb = await startInProcess('caps');
  s = await rb.client.openSession({ name: 'caps' });
});
afterAll(async () => {
  await s?.close();
  await rb?.stop();
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (x: unknown) => x);
}

const EOPNOTSUPP_STATUS = statusOf(asBrokerError(new VerbsError('x', Errno.EOPNOTSUPP))!);

describe('capabilities derived from the backend ops', () => {
  it('every optional op a context leaves to the defaults answers EOPNOTSUPP (errno 95)', async () => {
    const ctx = await new SimBackend({}).openDevice('sim0');
    try {
      const ops = Object.getOwnPropertyNames(DummyOps.prototype).filter((n) => n !== 'constructor' && n !== 'implemented') as OptionalOp[];
      const missing = ops.filter((op) => !ctx.implemented(op));
      expect(missing.length).toBeGreaterThan(0);
      for (const op of missing) {
        const f = ctx[op] as (...a: unknown[]) => Promise<unknown>;
        const e = await failure(f.call(ctx));
        expect(e, op).toBeInstanceOf(VerbsError);
        expect((e as VerbsError).errno, op).toBe(95);
      }
    } finally {
      await ctx.close();
    }
  });

  it('a context that lacks an op makes exactly the verbs declaring it unsupported', () => {
    const fake = { implemented: (op: OptionalOp) => op !== 'allocMw' && op !== 'attachMcast' } as unknown as DeviceContext;
    expect([...unsupportedMethods(fake)].sort()).toEqual(['mw.create', 'qp.attach_mcast']);
    // The tables declare ops for every optional verb they call, so a device with nothing optional has none of them.
    const none = unsupportedMethods({ implemented: () => false } as unknown as DeviceContext);
    for (const t of OBJECT_TYPES) if (t.create && !t.create.ops) expect(none.has(`${t.name}.create`)).toBe(false);
    expect(none.has('xrcd.create') && none.has('flow.create') && none.has('srq.create') && none.has('ah.create')).toBe(true);
  });

  it('Describe on sim0 lists unsupported what the sim leaves to the defaults, and those calls answer as EOPNOTSUPP does', async () => {
    const d = await rb.client.describe('sim0');
    const unsupported = d.types.flatMap((t) => t.methods.filter((m) => !m.supported).map((m) => `${t.name}.${m.name}`)).sort();
    expect(unsupported).toEqual(['flow.create', 'xrcd.create']);
    expect(d.types.find((t) => t.name === 'mw')?.methods.find((m) => m.name === 'create')?.supported).toBe(true);
    const e1 = await failure(s.create('xrcd', {}, { device: 'sim0' }));
    expect(e1).toBeInstanceOf(RdmaError);
    expect((e1 as RdmaError).code).toBe(EOPNOTSUPP_STATUS);
    const pd = await s.allocPd('sim0');
    const cq = await s.createCq('sim0', 16);
    const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'UD' });
    const e2 = await failure(s.create('flow', { qp, specs: [{ type: 'ETH', dst_mac: '02:00:00:00:00:01' }] }));
    expect(e2).toBeInstanceOf(RdmaError);
    expect((e2 as RdmaError).code).toBe(EOPNOTSUPP_STATUS);
  });
});
