/** XRC over gRPC on a device without XRC domains (the sim, like rxe): XRC QPs and XRC SRQs answer UNIMPLEMENTED. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type Session } from '../../src/client/index.js';
import { startInProcess, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;

beforeAll(async () => {
  rb = await startInProcess('xrc');
  s = await rb.client.openSession({ name: 'xrc' });
});
afterAll(async () => {
  await s?.close();
  await rb?.stop();
});

async function refused(p: Promise<unknown>): Promise<RdmaError> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof RdmaError)) throw new Error(`expected an RdmaError, got ${String(e)}`);
  return e;
}

describe('XRC where the device has no XRC domains', () => {
  it('discovery lists xrcd.create as unsupported; XRC QPs and XRC SRQs answer UNIMPLEMENTED', async () => {
    const d = await rb.client.describe('sim0');
    expect(d.types.find((t) => t.name === 'xrcd')?.methods.find((m) => m.name === 'create')).toMatchObject({ supported: false });
    const pd = await s.allocPd('sim0');
    const cq = await s.createCq('sim0', 16);
    for (const qp_type of ['XRC_SEND', 'XRC_RECV'] as const) {
      expect((await refused(s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type }))).code).toBe(status.UNIMPLEMENTED);
    }
    expect((await refused(s.create('srq', { pd, max_wr: 4, srq_type: 'XRC', cq }))).code).toBe(status.UNIMPLEMENTED);
    // A basic SRQ still works, with no srq_num.
    const srq = await s.create('srq', { pd, max_wr: 4 });
    expect(srq.attrs.srq_num).toBeUndefined();
    await srq.destroy();
  });
});
