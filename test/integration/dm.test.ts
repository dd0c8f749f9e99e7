/**
 * Device memory (the `dm` and `dm_mr` types) through gRPC on the sim: alloc,
 * copies in and out with their range checks, MRs on DM with an RDMA WRITE
 * into one, the device's pool and the tenant's accounting, and cleanup at
 * session end children first (the MR before its DM).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type RdmaObject, type Session } from '../../src/client/index.js';
import { startInProcess, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;

/** The sim's device memory pool, small enough to run out of. */
const MAX_DM = 4096;

beforeAll(async () => {
  rb = await startInProcess('dm', { limits: { max_dm_size: MAX_DM } });
  s = await rb.client.openSession({ name: 'dm' });
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

function dmBytes(): number {
  const d = rb.broker.devices.get('sim0');
  const dev = rb.backend.deviceByGid(d.ports[0]?.gids[0]?.gid ?? '');
  if (!dev) throw new Error('no sim device');
  return dev.dmBytes;
}

describe('device memory on the sim', () => {
  it('Describe lists dm and dm_mr as supported, and the device reports max_dm_size', async () => {
    const d = await rb.client.describe('sim0');
    for (const t of ['dm', 'dm_mr']) expect(d.types.find((x) => x.name === t)?.methods.every((m) => m.supported)).toBe(true);
    const q = await rb.client.queryDevice('sim0');
    expect(Number(q.attrs.max_dm_size)).toBe(MAX_DM);
  });

  it('allocates, copies in and out, and refuses bad ranges and sizes with the errno mlx5 gives', async () => {
    const dm = await s.create('dm', { length: 256 }, { device: 'sim0' });
    expect(dm.num('length')).toBe(256);
    const data = Buffer.from('device memory, 4-byte units!');
    await dm.invoke('copy_to', { offset: 64, data });
    const back = await dm.invoke('copy_from', { offset: 64, length: data.length });
    expect(Buffer.from(back.data as Uint8Array).equals(data)).toBe(true);
    // Beyond the DM: EFAULT (mlx5_access_dm); not 4-byte granular: EINVAL.
    const beyond = await refused(dm.invoke('copy_from', { offset: 252, length: 8 }));
    expect(beyond.errno).toBe(14);
    expect(beyond.code).toBe(status.INVALID_ARGUMENT);
    expect((await refused(dm.invoke('copy_to', { offset: 2, data: Buffer.alloc(4) }))).errno).toBe(22);
    expect((await refused(dm.invoke('copy_to', { offset: 0, data: Buffer.alloc(3) }))).errno).toBe(22);
    // Sizes: above max_dm_size EINVAL (mlx5), comp_mask bits EINVAL, a length of 0 refused before the device.
    expect((await refused(s.create('dm', { length: MAX_DM + 1 }, { device: 'sim0' }))).errno).toBe(22);
    expect((await refused(s.create('dm', { length: 64, comp_mask: 1 }, { device: 'sim0' }))).errno).toBe(22);
    expect((await refused(s.create('dm', { length: 0 }, { device: 'sim0' }))).code).toBe(status.INVALID_ARGUMENT);
    await dm.destroy();
    expect(dmBytes()).toBe(0);
  });

  it('takes bytes from one device pool: ENOMEM when it is used up, back when freed', async () => {
    const a = await s.create('dm', { length: MAX_DM - 64 }, { device: 'sim0' });
    const full = await refused(s.create('dm', { length: 128 }, { device: 'sim0' }));
    expect(full.errno).toBe(12);
    expect(full.code).toBe(status.RESOURCE_EXHAUSTED);
    // 64 bytes are left: exactly one more unit.
    const b = await s.create('dm', { length: 1 }, { device: 'sim0' });
    expect(dmBytes()).toBe(MAX_DM);
    expect(rb.broker.accounting.of(s.tenant ?? '').types.get('dm')?.current).toBe(2);
    await b.destroy();
    await a.destroy();
    expect(dmBytes()).toBe(0);
  });

  it('registers an MR on DM (ZERO_BASED required), takes an RDMA WRITE into it, and frees the DM only after its MR', async () => {
    const pd = await s.allocPd('sim0');
    const dm = await s.create('dm', { length: 1024 }, { device: 'sim0' });
    expect((await refused(s.create('dm_mr', { pd, dm, length: 512, access: ['LOCAL_WRITE', 'REMOTE_WRITE'] }))).errno).toBe(22);
    expect((await refused(s.create('dm_mr', { pd, dm, offset: 768, length: 512, access: ['ZERO_BASED', 'LOCAL_WRITE'] }))).errno).toBe(22);
    const dmr = await s.create('dm_mr', { pd, dm, offset: 256, length: 512, access: ['ZERO_BASED', 'LOCAL_WRITE', 'REMOTE_WRITE'] });
    expect(dmr.big('addr')).toBe(0n);
    // The DM has a child now: destroying it is refused, and nothing changes.
    expect((await refused(dm.destroy())).code).toBe(status.FAILED_PRECONDITION);

    const cq = await s.createCq('sim0', 8);
    const src = await s.regMr(pd, 64, ['LOCAL_WRITE']);
    await src.invoke('write', { offset: 0, data: Buffer.from('into device memory..') });
    const qp = await loopbackRc(pd, cq);
    await s.postSend(qp, [{
      wr_id: 1n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
      sg_list: [{ addr: src.big('addr'), length: 20, lkey: src.num('lkey') }], remote_addr: 8n, rkey: dmr.num('rkey'),
    }]);
    const wcs = await pollOne(cq);
    expect(wcs).toMatchObject({ wr_id: 1, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    // The MR starts 256 bytes into the DM, and the write went 8 bytes into the MR.
    const got = await dm.invoke('copy_from', { offset: 264, length: 20 });
    expect(Buffer.from(got.data as Uint8Array).toString()).toBe('into device memory..');
    // Local SGEs may name the DM MR too (zero-based): write from it back into a host MR.
    const dst = await s.regMr(pd, 64, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    await s.postSend(qp, [{
      wr_id: 2n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
      sg_list: [{ addr: 8n, length: 20, lkey: dmr.num('lkey') }], remote_addr: dst.big('addr'), rkey: dst.num('rkey'),
    }]);
    expect(await pollOne(cq)).toMatchObject({ wr_id: 2, status: 'SUCCESS' });
    expect(Buffer.from((await dst.invoke('read', { offset: 0, length: 20 })).data as Uint8Array).toString()).toBe('into device memory..');
    await qp.destroy();
    await dmr.destroy();
    await dm.destroy();
    expect(dmBytes()).toBe(0);
  });

  it('session end frees the MR on DM before the DM, and leaves the device pool empty', async () => {
    const other = await rb.client.openSession({ name: 'dm-end' });
    const pd = await other.allocPd('sim0');
    const dm = await other.create('dm', { length: 2048 }, { device: 'sim0' });
    await other.create('dm_mr', { pd, dm, length: 2048, access: ['ZERO_BASED', 'LOCAL_WRITE'] });
    expect(dmBytes()).toBe(2048);
    const before = rb.deviceObjects();
    await other.close();
    expect(dmBytes()).toBe(0);
    // The MR and the PD went too (the DM is not in the counted pools).
    expect(rb.deviceObjects()).toBe(before - 2);
    expect((await rb.client.listObjects({ session: other.id })).length).toBe(0);
  });

  async function loopbackRc(pd: RdmaObject, cq: RdmaObject): Promise<RdmaObject> {
    const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
    const q = await rb.client.queryDevice('sim0');
    const gid = q.ports[0]?.gids[0]?.gid ?? '';
    await qp.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: ['REMOTE_WRITE'] });
    await qp.modify({
      qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: qp.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1,
      ah_attr: { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } },
    });
    await qp.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    return qp;
  }

  async function pollOne(cq: RdmaObject): Promise<unknown> {
    for (let i = 0; i < 200; i++) {
      const wcs = await s.pollCq(cq, 1);
      if (wcs.length > 0) return wcs[0];
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('no completion');
  }
});
