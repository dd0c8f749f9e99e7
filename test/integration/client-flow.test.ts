/** The example's whole flow and the client library's features, over real gRPC on a temp unix socket. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type Session } from '../../src/client/index.js';
import { rdmaWrite } from '../../src/examples/rdma-write.js';
import { failure, startInProcess, waitFor, type InProcess } from './helpers.js';

let rb: InProcess;

beforeAll(async () => {
  rb = await startInProcess('flow');
});
afterAll(async () => {
  await rb?.stop();
});

describe('the example flow', () => {
  it('writes, completes and verifies the bytes; the session end releases every object', async () => {
    const s = await rb.client.openSession({ name: 'flow' });
    let seen = 0;
    const n = await rdmaWrite(rb.client, s, {
      bytes: 100_000,
      onObjects: async (objs) => {
        seen = objs.length;
        const listed = await rb.client.listObjects({ session: s.id });
        expect(listed.map((o) => o.type).sort()).toEqual(['cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
      },
    });
    expect(n).toBe(100_000);
    expect(seen).toBe(6);
    const qps = await rb.client.listObjects({ session: s.id, type: 'qp' });
    expect(qps.map((q) => q.attrs.qp_state)).toEqual(['RTS', 'RTS']);
    expect(rb.deviceObjects()).toBe(6);
    await s.close();
    await waitFor(async () => (await rb.client.listObjects()).length === 0, 2000, 'objects released');
    expect(rb.deviceObjects()).toBe(0);
    expect(await rb.client.listSessions()).toEqual([]);
  });

  it('moves bytes larger than one control-path message (split MR reads and writes)', async () => {
    const s = await rb.client.openSession();
    expect(await rdmaWrite(rb.client, s, { bytes: (16 << 20) + 12345 })).toBe((16 << 20) + 12345);
    await s.close();
  });
});

describe('client library', () => {
  let s: Session;
  beforeAll(async () => {
    s = await rb.client.openSession({ name: 'lib' });
  });
  afterAll(async () => {
    await s.close();
  });

  it('lists, queries and describes devices', async () => {
    const devs = await rb.client.devices();
    expect(devs.map((d) => d.name)).toEqual(['sim0']);
    expect(devs[0]).toMatchObject({ backend: 'sim', state: 'live', port_count: 1 });
    const q = await rb.client.queryDevice('sim0');
    expect(Number(q.attrs.max_qp)).toBeGreaterThan(0);
    expect(q.ports[0]?.attrs.state).toBe('ACTIVE');
    expect(q.ports[0]?.gids[0]?.index).toBe(0);
    const d = await rb.client.describe('sim0');
    const qp = d.types.find((t) => t.name === 'qp');
    expect(qp?.methods.map((m) => m.name)).toEqual(expect.arrayContaining(['create', 'modify', 'post_send']));
    expect(qp?.parent_types).toEqual(expect.arrayContaining(['pd', 'cq']));
    expect(await s.queryPort('sim0', 1)).toMatchObject({ state: 'ACTIVE' });
  });

  it('runs a batch whose steps name earlier steps with {ref: N}', async () => {
    const r = await s.batch([
      { create: 'pd', device: 'sim0', userHandle: 42 },
      { create: 'mr', attrs: { pd: { ref: 0 }, length: 4096, access: ['LOCAL_WRITE'] } },
      { create: 'cq', device: 'sim0', attrs: { cqe: 8 } },
      { create: 'qp', attrs: { pd: { ref: 0 }, send_cq: { ref: 2 }, recv_cq: { ref: 2 }, qp_type: 'RC' } },
      { modify: { ref: 3 }, attrs: { qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: 0 } },
      { invoke: { ref: 1 }, method: 'write', attrs: { offset: 0, data: Buffer.from('hello') } },
      { invoke: { ref: 1 }, method: 'read', attrs: { offset: 0, length: 5 } },
    ]);
    expect(r.failed).toBeNull();
    expect(r.results).toHaveLength(7);
    const [pd, mr, , qp] = r.results as { handle: number; type: string; userHandle: string; attrs: Record<string, unknown> }[];
    expect(pd?.userHandle).toBe('42');
    expect(mr?.type).toBe('mr');
    expect(qp?.attrs.qp_state).toBe('INIT');
    expect((r.results[6] as { data: Buffer }).data.toString()).toBe('hello');
    const listed = await rb.client.listObjects({ session: s.id, type: 'pd' });
    expect(listed.find((o) => o.handle === pd?.handle)?.userHandle).toBe('42');

    // A failing step stops the batch and says which; earlier steps stay done.
    const bad = await s.batch([
      { create: 'pd', device: 'sim0' },
      { create: 'mr', attrs: { pd: { ref: 0 } } },
      { create: 'cq', device: 'sim0', attrs: { cqe: 4 } },
    ]);
    expect(bad.results).toHaveLength(1);
    expect(bad.failed?.index).toBe(1);
    expect(bad.failed?.error).toBeInstanceOf(RdmaError);
    expect(bad.failed?.error.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.failed?.error.rdmaError).toBe('MISSING_ATTR');
    expect((await rb.client.listObjects({ session: s.id, type: 'cq' })).length).toBe(1);
  });

  it('delivers a completion event after req_notify on a CQ with a channel', async () => {
    const pd = await s.allocPd('sim0');
    // As in the kernel, only a CQ with a completion channel raises completion events.
    const channel = await s.create('comp_channel', {}, { device: 'sim0' });
    const cq = await s.createCq('sim0', 8, { channel }, { userHandle: 7 });
    const mr = await s.regMr(pd, 64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
    const q = await rb.client.queryDevice('sim0');
    const gid = q.ports[0]?.gids[0]?.gid ?? '';
    await qp.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: ['REMOTE_WRITE'] });
    await qp.modify({
      qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: qp.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1,
      ah_attr: { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } },
    });
    await qp.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    const events = s.events();
    await s.reqNotifyCq(cq);
    await s.postSend(qp, [{
      wr_id: 5n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
      sg_list: [{ addr: mr.big('addr'), length: 8, lkey: mr.num('lkey') }], remote_addr: mr.big('addr') + 32n, rkey: mr.num('rkey'),
    }]);
    const next = await Promise.race([events.next(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no event')), 3000))]);
    events.cancel();
    expect(next.value).toMatchObject({ kind: 'completion', handle: cq.handle, userHandle: '7', type: 'cq' });
    const wcs = await s.pollCq(cq);
    expect(wcs).toHaveLength(1);
    expect(wcs[0]).toMatchObject({ wr_id: 5, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
  });

  it('surfaces errors as RdmaError with the status and the rdma-* trailers', async () => {
    const err = await s.query(987654321).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RdmaError);
    expect((err as RdmaError).code).toBe(status.NOT_FOUND);
    expect((err as RdmaError).codeName).toBe('NOT_FOUND');
    expect((err as RdmaError).rdmaError).toBe('NO_SUCH_HANDLE');
    const cqe = await failure(s.createCq('sim0', 1 << 30));
    expect(cqe).toBeInstanceOf(RdmaError);
    expect(cqe.code).toBe(status.INVALID_ARGUMENT);
    expect(cqe.rdmaError).toBe('ERRNO');
    expect(cqe.errno).toBe(22);
    expect(cqe.call).toMatch(/create_cq/);
  });

  it('watches object changes', async () => {
    const w = rb.client.watchObjects({ session: s.id, type: 'pd' }, { initial: true });
    const seen: string[] = [];
    let pdHandle = 0;
    for await (const ch of w) {
      seen.push(ch.kind);
      if (ch.kind === 'SYNCED') {
        const pd = await s.allocPd('sim0');
        pdHandle = pd.handle;
        await pd.destroy();
      }
      if (ch.kind === 'DESTROYED' && ch.object?.handle === pdHandle) break;
    }
    expect(seen.slice(-3)).toEqual(['SYNCED', 'CREATED', 'DESTROYED']);
    expect(seen.filter((k) => k === 'CREATED').length).toBeGreaterThan(1);
  });
});

describe('sessions', () => {
  it('resumes with its token within the grace period and keeps its objects', async () => {
    const s = await rb.client.openSession({ name: 'resumable', resumeGraceMs: 5000 });
    const pd = await s.allocPd('sim0');
    await s.close();
    expect(s.attached).toBe(false);
    const [info] = (await rb.client.listSessions()).filter((x) => x.session_id === s.id);
    expect(info?.state).toBe('detached');
    await s.resume();
    expect(s.resumed).toBe(true);
    expect((await pd.query()).handle).toBe(pd.handle);
    // A second client resuming the same token while it is attached is refused.
    const other = await failure(rb.client.openSession({ resumeToken: s.token }));
    expect(other).toBeInstanceOf(RdmaError);
    expect(other.code).toBe(status.FAILED_PRECONDITION);
    await rb.broker.evict(s.id);
    await waitFor(async () => (await rb.client.listObjects({ session: s.id })).length === 0, 2000, 'evicted objects released');
  });

  it('keepalives hold the lease; without them the session ends and its stream says so', async () => {
    const kept = await rb.client.openSession({ name: 'kept', leaseMs: 1000 });
    const lapsed = await rb.client.openSession({ name: 'lapsed', leaseMs: 1000, keepaliveMs: 60_000 });
    expect(kept.leaseMs).toBe(1000);
    await kept.allocPd('sim0');
    await lapsed.allocPd('sim0');
    const closed = new Promise<unknown>((r) => lapsed.once('close', r));
    const err = await closed;
    expect(err).toBeInstanceOf(RdmaError);
    expect((err as RdmaError).code).toBe(status.UNAUTHENTICATED);
    expect((err as RdmaError).message).toMatch(/lease_expired/);
    expect(lapsed.attached).toBe(false);
    await waitFor(async () => (await rb.client.listObjects({ session: lapsed.id })).length === 0, 2000, 'lapsed objects released');
    await new Promise((r) => setTimeout(r, 600));
    expect(kept.attached).toBe(true);
    expect(await rb.client.listObjects({ session: kept.id })).toHaveLength(1);
    await kept.close();
  });

  it('an evicted session learns it from its stream', async () => {
    const s = await rb.client.openSession();
    const closed = new Promise<unknown>((r) => s.once('close', r));
    await rb.broker.evict(s.id);
    expect(((await closed) as RdmaError).message).toMatch(/evicted/);
  });

  it('ends with its stream when there is no grace period', async () => {
    const s = await rb.client.openSession();
    await s.allocPd('sim0');
    const closed = new Promise((r) => s.once('close', r));
    await s.close();
    expect(await closed).toBeNull();
    await waitFor(async () => (await rb.client.listObjects({ session: s.id })).length === 0, 2000, 'objects released');
    const err = await failure(s.allocPd('sim0'));
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });
});
