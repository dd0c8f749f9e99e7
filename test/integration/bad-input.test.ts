/**
 * Every class of bad input gets its gRPC status (and rdma-error trailer) and
 * leaves nothing behind: neither in the broker's table nor in the device's
 * own object pools.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type RdmaObject, type Session } from '../../src/client/index.js';
import { api } from '../../src/wire/proto.js';
import { failure, startInProcess, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;
let other: Session;
let pd: RdmaObject;
let cq: RdmaObject;
let mr: RdmaObject;
let foreignPd: RdmaObject;
let baseline: { listed: number; device: number };

beforeAll(async () => {
  rb = await startInProcess('bad', { limits: { max_qp: 4 } });
  s = await rb.client.openSession({ name: 'bad-input' });
  other = await rb.client.openSession({ name: 'other' });
  pd = await s.allocPd('sim0');
  cq = await s.createCq('sim0', 16);
  mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
  foreignPd = await other.allocPd('sim0');
  baseline = { listed: (await rb.client.listObjects()).length, device: rb.deviceObjects() };
});
afterAll(async () => {
  await s?.close();
  await other?.close();
  await rb?.stop();
});

async function expectRefused(p: Promise<unknown>, code: grpc.status, rdmaError: string): Promise<RdmaError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(RdmaError);
  const r = e as RdmaError;
  expect({ code: r.codeName, rdmaError: r.rdmaError, msg: r.message }).toMatchObject({ code: grpc.status[code], rdmaError });
  // Nothing was left behind, in the broker or on the device.
  expect((await rb.client.listObjects()).length).toBe(baseline.listed);
  expect(rb.deviceObjects()).toBe(baseline.device);
  return r;
}

describe('bad input', () => {
  it('unknown object type', async () => {
    await expectRefused(s.create('widget', {}, { device: 'sim0' }), status.INVALID_ARGUMENT, 'UNKNOWN_TYPE');
  });

  it('unknown method', async () => {
    await expectRefused(s.invoke(cq, 'frobnicate'), status.INVALID_ARGUMENT, 'UNKNOWN_METHOD');
    await expectRefused(s.invokeDevice('sim0', 'reboot'), status.INVALID_ARGUMENT, 'UNKNOWN_METHOD');
  });

  it('wrong parent type', async () => {
    await expectRefused(s.create('mr', { pd: cq, length: 4096 }), status.INVALID_ARGUMENT, 'WRONG_TYPE');
    await expectRefused(s.createQp({ pd, send_cq: mr, recv_cq: cq, qp_type: 'RC' }), status.INVALID_ARGUMENT, 'WRONG_TYPE');
  });

  it('missing mandatory attribute', async () => {
    await expectRefused(s.create('mr', { pd }), status.INVALID_ARGUMENT, 'MISSING_ATTR');
    await expectRefused(s.create('qp', { pd, send_cq: cq, recv_cq: cq }), status.INVALID_ARGUMENT, 'MISSING_ATTR');
    await expectRefused(s.invoke(mr, 'read', { offset: 0 }), status.INVALID_ARGUMENT, 'MISSING_ATTR');
  });

  it('out-of-range values: by the attribute tables, and by the device limits', async () => {
    await expectRefused(s.createCq('sim0', 0), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    await expectRefused(s.createCq('sim0', 2 ** 40), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    await expectRefused(s.invoke(mr, 'read', { offset: 4000, length: 200 }), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    // Beyond the device's max_cqe / max_qp_wr: the device refuses (EINVAL), the broker rolls back.
    const e = await expectRefused(s.createCq('sim0', 1 << 30), status.INVALID_ARGUMENT, 'ERRNO');
    expect(e.errno).toBe(22);
    await expectRefused(s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 1 << 30 } }), status.INVALID_ARGUMENT, 'ERRNO');
    await expectRefused(s.regMr(pd, 4096, ['REMOTE_WRITE']), status.INVALID_ARGUMENT, 'ERRNO');
    // More memory than the daemon can map as one region: refused, and the daemon lives on.
    const big = await expectRefused(s.regMr(pd, 2 ** 40), status.RESOURCE_EXHAUSTED, 'ERRNO');
    expect(big.errno).toBe(12);
  });

  it('malformed values: wrong kinds, unknown names, unknown attributes', async () => {
    await expectRefused(s.create('cq', { cqe: 'many' }, { device: 'sim0' }), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    // The typed helpers refuse these names at compile time too; the daemon must at run time.
    // @ts-expect-error not an access flag
    await expectRefused(s.regMr(pd, 4096, ['LOCAL_WRITE', 'TELEPORT']), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    // @ts-expect-error not a QP type
    await expectRefused(s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'XYZ' }), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    await expectRefused(s.create('pd', { colour: 'red' }, { device: 'sim0' }), status.INVALID_ARGUMENT, 'INVALID_ATTR');
    await expectRefused(s.create('mr', { pd: 5, length: 4096 }), status.INVALID_ARGUMENT, 'INVALID_ATTR');
  });

  it('a handle of another session is NOT_FOUND, whatever the verb', async () => {
    await expectRefused(s.create('mr', { pd: foreignPd, length: 4096 }), status.NOT_FOUND, 'NO_SUCH_HANDLE');
    await expectRefused(s.query(foreignPd), status.NOT_FOUND, 'NO_SUCH_HANDLE');
    await expectRefused(s.destroy(foreignPd), status.NOT_FOUND, 'NO_SUCH_HANDLE');
    await expectRefused(s.invoke(foreignPd, 'read', { length: 1 }), status.NOT_FOUND, 'NO_SUCH_HANDLE');
    expect((await other.query(foreignPd)).handle).toBe(foreignPd.handle);
  });

  it('unknown handles and devices are NOT_FOUND', async () => {
    await expectRefused(s.query(pd.handle + 1_000_000), status.NOT_FOUND, 'NO_SUCH_HANDLE');
    await expectRefused(s.allocPd('nosuchdev'), status.NOT_FOUND, 'NO_SUCH_DEVICE');
    await expectRefused(rb.client.queryDevice('nosuchdev'), status.NOT_FOUND, 'NO_SUCH_DEVICE');
  });

  it('busy and read-only objects are FAILED_PRECONDITION', async () => {
    await expectRefused(s.destroy(pd), status.FAILED_PRECONDITION, 'BUSY');
    await expectRefused(s.create('device', {}, { device: 'sim0' }), status.FAILED_PRECONDITION, 'READ_ONLY');
  });

  it('device limits: the create past max_qp is refused as rxe does (EINVAL) and rolls back', async () => {
    const qps: RdmaObject[] = [];
    try {
      for (let i = 0; i < 4; i++) qps.push(await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' }));
      const listed = (await rb.client.listObjects()).length;
      const device = rb.deviceObjects();
      const e = await failure(s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' }));
      expect(e.codeName).toBe('INVALID_ARGUMENT');
      expect(e.errno).toBe(22);
      expect(e.call).toMatch(/create_qp/);
      expect((await rb.client.listObjects()).length).toBe(listed);
      expect(rb.deviceObjects()).toBe(device);
    } finally {
      for (const q of qps) await q.destroy();
    }
  });

  it('a failing batch step is reported with its index and status', async () => {
    const r = await s.batch([{ query: pd }, { create: 'mr', attrs: { pd: foreignPd, length: 64 } }, { destroy: mr }]);
    expect(r.failed?.index).toBe(1);
    expect(r.failed?.error.code).toBe(status.NOT_FOUND);
    expect(r.results).toHaveLength(1);
    expect((await s.query(mr)).handle).toBe(mr.handle);
    const refs = await s.batch([{ create: 'mr', attrs: { pd: { ref: 0 }, length: 64 } }]);
    expect(refs.failed?.error.rdmaError).toBe('INVALID_ATTR');
    expect((await rb.client.listObjects()).length).toBe(baseline.listed);
  });

  it('calls without a session, or with a bad token, are UNAUTHENTICATED', async () => {
    const pkg = api().rdmabroker.v1;
    const raw = new pkg.ObjectService(`unix:${rb.socket}`, grpc.credentials.createInsecure());
    const call = (md: grpc.Metadata): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => raw.Create({ type: 'pd', device: 'sim0', attrs: {}, user_handle: '0' }, md, (e) => resolve(e)));
    const none = await call(new grpc.Metadata());
    expect(none?.code).toBe(status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set('x-rdma-session', 'not-a-token');
    const bad = await call(md);
    expect(bad?.code).toBe(status.UNAUTHENTICATED);
    expect(bad?.metadata.get('rdma-error')).toEqual(['NO_SESSION']);
    raw.close();
    expect((await rb.client.listObjects()).length).toBe(baseline.listed);
  });
});
