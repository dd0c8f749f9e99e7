/**
 * Error details over gRPC: a post verb names its failing WR (rdma-wr-index
 * and the Batch reply's ErrorInfo), a PD with children is
 * FAILED_PRECONDITION with errno EBUSY, and reg_mr of length 0 is EINVAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type RdmaObject, type Session } from '../../src/client/index.js';
import { failure, startQpFixture, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;
let pd: RdmaObject;
let cq: RdmaObject;
let qp: RdmaObject;
let mr: RdmaObject;

beforeAll(async () => {
  ({ rb, s, pd, cq } = await startQpFixture('errdetail', 'error-details'));
  qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 4, max_recv_wr: 4, max_send_sge: 1, max_recv_sge: 1 } });
  await qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: [] });
  mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
});
afterAll(async () => {
  await s?.close();
  await rb?.stop();
});

const sge = (off: number): { addr: bigint; length: number; lkey: number } => ({ addr: mr.big('addr') + BigInt(off), length: 16, lkey: mr.num('lkey') });

describe('error details', () => {
  it('a post whose second WR is refused by the device reports WR index 1', async () => {
    // WR 1 has two SGEs on a QP with max_recv_sge 1: the device (libibverbs' *bad_wr) refuses it.
    const e = await failure(s.postRecv(qp, [{ wr_id: 1, sg_list: [sge(0)] }, { wr_id: 2, sg_list: [sge(16), sge(32)] }]));
    expect(e.codeName).toBe('INVALID_ARGUMENT');
    expect(e.errno).toBe(22);
    expect(e.wrIndex).toBe(1);
  });

  it("a post whose second WR is refused by the broker's memory check reports WR index 1", async () => {
    const outside = { addr: mr.big('addr') + 1_000_000n, length: 16, lkey: mr.num('lkey') };
    const e = await failure(s.postRecv(qp, [{ wr_id: 1, sg_list: [sge(0)] }, { wr_id: 2, sg_list: [outside] }]));
    expect(e.codeName).toBe('INVALID_ARGUMENT');
    expect(e.errno).toBe(22);
    expect(e.wrIndex).toBe(1);
  });

  it("the Batch reply's ErrorInfo carries the failing WR index", async () => {
    const r = await s.batch([{ query: pd }, { invoke: qp, method: 'post_recv', attrs: { wrs: [{ wr_id: 3, sg_list: [sge(0)] }, { wr_id: 4, sg_list: [sge(16), sge(32)] }] } }]);
    expect(r.failed?.index).toBe(1);
    expect(r.failed?.error.errno).toBe(22);
    expect(r.failed?.error.wrIndex).toBe(1);
    const other = await s.batch([{ create: 'mr', attrs: { pd: { ref: 7 }, length: 64 } }]);
    expect(other.failed?.error.wrIndex).toBe(-1);
  });

  it('destroying a PD with an MR is FAILED_PRECONDITION with errno EBUSY', async () => {
    const e = await failure(s.destroy(pd));
    expect(e.codeName).toBe('FAILED_PRECONDITION');
    expect(e.rdmaError).toBe('BUSY');
    expect(e.errno).toBe(16);
    expect(e.wrIndex).toBe(-1);
  });

  it('reg_mr of length 0 is EINVAL (22), as libibverbs answers', async () => {
    const e = await failure(s.regMr(pd, 0, ['LOCAL_WRITE']));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.errno).toBe(22);
  });
});
