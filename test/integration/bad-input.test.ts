/**
 * Every class of bad input gets its gRPC status (and rdma-error trailer) and
 * leaves nothing behind: neither in the broker's table nor in the device's
 * own object pools.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { handle, ref, RdmaError, status, type RdmaObject, type Session } from '../../src/client/index.js';
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

  it('bad handles and values are refused by the library, naming the argument, before anything is sent', async () => {
    const calls = rb.client.objectCalls;
    const spies = (['Create', 'Query', 'Modify', 'Destroy', 'Invoke', 'Batch'] as const).map((k) => vi.spyOn(calls, k));
    const refused = async (p: Promise<unknown>, message: string, attribute: string): Promise<void> => {
      const e = await expectRefused(p, status.INVALID_ARGUMENT, 'INVALID_ATTR');
      expect({ message: e.message, attribute: e.attribute, errno: e.errno }).toStrictEqual({ message, attribute, errno: 22 });
    };
    const notHandle = (what: string, arg: string, v: string): string => `${what}: INVALID_ARGUMENT: ${arg}: ${v} is not an object handle (an integer from 0 to 2^53-1)`;
    try {
      for (const [h, shown] of [[1.5, '1.5'], [NaN, 'NaN'], [-1, '-1'], [2 ** 53, '9007199254740992'], [Infinity, 'Infinity']] as const) {
        await refused(s.query(h), notHandle('query', 'handle', shown), 'handle');
        await refused(s.destroy(h), notHandle('destroy', 'handle', shown), 'handle');
        await refused(s.modify({ handle: h }, { qp_state: 'RESET' }), notHandle('modify', 'handle', shown), 'handle');
        await refused(s.invoke(h, 'poll'), notHandle('poll', 'handle', shown), 'handle');
        await refused(s.pollCq({ handle: h }), notHandle('poll', 'handle', shown), 'handle');
        await refused(s.create('mr', { pd: { handle: h, type: 'pd' }, length: 4096 }), notHandle('create mr', 'attrs.pd', shown), 'attrs.pd');
        await refused(s.create('mr', { pd: handle(h), length: 4096 }), notHandle('create mr', 'attrs.pd', shown), 'attrs.pd');
      }
      await refused(s.query(undefined as never), 'query: INVALID_ARGUMENT: handle: expected an object, a handle or (in a Batch) a step reference, got undefined', 'handle');
      await refused(s.query('7' as never), 'query: INVALID_ARGUMENT: handle: expected an object, a handle or (in a Batch) a step reference, got "7"', 'handle');
      await refused(s.create('mr', { pd, length: 4096.5 }), 'create mr: INVALID_ARGUMENT: attrs.length: 4096.5 is not an integer', 'attrs.length');
      await refused(s.createCq('sim0', 2n ** 64n), 'create cq: INVALID_ARGUMENT: attrs.cqe: 18446744073709551616 does not fit in 64 bits (-2^63 to 2^64-1)', 'attrs.cqe');
      await refused(s.postSend({ handle: 5 }, [{ opcode: 'SEND', sg_list: [{ addr: 0, length: 1, lkey: 0 }, null as never] }]),
        'post_send: INVALID_ARGUMENT: attrs.wrs[0].sg_list[1]: lists cannot hold null or undefined', 'attrs.wrs[0].sg_list[1]');
      await refused(s.create('pd', {}, { device: 'sim0', userHandle: -1 }), 'create pd: INVALID_ARGUMENT: userHandle: expected an unsigned 64-bit integer, got -1', 'userHandle');
      // In a Batch: the step is named, and no step ran (the request never left).
      await refused(s.batch([{ create: 'pd', device: 'sim0' }, { query: ref(1.5) }]),
        'batch: INVALID_ARGUMENT: steps[1].query: 1.5 is not a Batch step index (an integer from 0)', 'steps[1].query');
      await refused(s.batch([{ create: 'pd', device: 'sim0' }, { create: 'mr', attrs: { pd: { ref: -1 }, length: 4096 } }]),
        'batch: INVALID_ARGUMENT: steps[1].attrs.pd: -1 is not a Batch step index (an integer from 0)', 'steps[1].attrs.pd');
      await refused(s.batch([{ create: 'pd', device: 'sim0' }, { frob: 1 } as never]),
        'batch: INVALID_ARGUMENT: steps[1]: expected a create, query, modify, destroy or invoke step', 'steps[1]');
      for (const sp of spies) expect(sp).not.toHaveBeenCalled();
      // The same session goes on working, and a good call is sent.
      expect((await s.query(pd)).handle).toBe(pd.handle);
      expect(spies[1]).toHaveBeenCalledTimes(1);
    } finally {
      for (const sp of spies) sp.mockRestore();
    }
  });
});
