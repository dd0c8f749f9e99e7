/** Type 2 memory windows over gRPC: qp.post_send's bind_mw names the window and the MR by handle. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type AttrMap, type RdmaObject, type SendWrAttrs, type Session } from '../../src/client/index.js';
import { startQpFixture, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;
let pd: RdmaObject;
let cq: RdmaObject;
let ah: AttrMap;

beforeAll(async () => {
  ({ rb, s, pd, cq, ah } = await startQpFixture('mwbind', 'mw-bind'));
});
afterAll(async () => {
  await s?.close();
  await rb?.stop();
});

/** An RC QP connected to itself, in RTS. */
async function loopQp(): Promise<RdmaObject> {
  const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
  await qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ['REMOTE_WRITE', 'REMOTE_READ'] });
  await qp.modify({ qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: qp.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah });
  await qp.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
  return qp;
}

describe('BIND_MW through post_send', () => {
  it('binds a type 2 window named by handle, writes through its rkey, and LOCAL_INV revokes it', async () => {
    const qp = await loopQp();
    const target = await s.regMr(pd, 8192, ['LOCAL_WRITE', 'REMOTE_WRITE', 'MW_BIND']);
    const local = await s.regMr(pd, 64, ['LOCAL_WRITE']);
    const mw = await s.create('mw', { pd, mw_type: 2 });
    const rkey = ((mw.num('rkey') & ~0xff) | ((mw.num('rkey') + 1) & 0xff)) >>> 0;
    await s.postSend(qp, [{
      wr_id: 1, opcode: 'BIND_MW', send_flags: ['SIGNALED'],
      bind_mw: { mw, rkey, mr: target, addr: target.big('addr') + 4096n, length: 4096, mw_access_flags: ['REMOTE_WRITE'] },
    }]);
    expect((await s.waitCq(cq, 1))[0]).toMatchObject({ status: 'SUCCESS', opcode: 'BIND_MW' });
    expect((await mw.query()).num('rkey')).toBe(rkey);

    await s.writeMr(local, 0, Buffer.from('via mw'));
    const write = { wr_id: 2, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: local.big('addr'), length: 6, lkey: local.num('lkey') }], remote_addr: target.big('addr') + 4096n, rkey } satisfies SendWrAttrs;
    await s.postSend(qp, [write]);
    expect((await s.waitCq(cq, 1))[0]).toMatchObject({ status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    expect((await s.readMr(target, 4096, 6)).toString()).toBe('via mw');

    await s.postSend(qp, [{ wr_id: 3, opcode: 'LOCAL_INV', send_flags: ['SIGNALED'], invalidate_rkey: rkey }]);
    expect((await s.waitCq(cq, 1))[0]).toMatchObject({ status: 'SUCCESS', opcode: 'LOCAL_INV' });
    await s.postSend(qp, [{ ...write, wr_id: 4 }]);
    expect((await s.waitCq(cq, 1))[0]).toMatchObject({ status: 'REM_ACCESS_ERR' });
    await qp.destroy();
    await mw.destroy();
    await target.destroy();
  });

  it('checks the handle types inside bind_mw', async () => {
    const qp = await loopQp();
    const mr = await s.regMr(pd, 8192, ['LOCAL_WRITE', 'MW_BIND']);
    const e = await s.postSend(qp, [{ opcode: 'BIND_MW', bind_mw: { mw: mr, rkey: 1, mr, addr: mr.big('addr'), length: 4096 } }]).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(RdmaError);
    expect((e as RdmaError).code).toBe(status.INVALID_ARGUMENT);
    expect((e as RdmaError).rdmaError).toBe('WRONG_TYPE');
    await qp.destroy();
    await mr.destroy();
  });
});
