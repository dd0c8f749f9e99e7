/**
 * The sim's data path answers like rxe (Linux 6.1, rdma-core 44): the
 * completions, states, memory and post-time errnos the kernel gives for each
 * case, as read in drivers/infiniband/sw/rxe (rxe_req.c, rxe_resp.c,
 * rxe_comp.c, rxe_cq.c, rxe_qp.c) and rdma-core's providers/rxe/rxe.c, and as
 * recorded on rxe0 by the differential suite (test/differential).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Access, QpAttrMask as M, SendFlags, type MrRef, type QpRef, type SendWr, type Wc,
} from '../../../../src/verbs/abi.js';
import { PostError } from '../../../../src/verbs/errno.js';
import { ALL, av, connect, drain, errnoOf, qpOf, setup, sleep, stateOf, type Fx } from './fixture.js';

let fx: Fx | null = null;
afterEach(async () => {
  await fx?.close();
  fx = null;
});

interface Rc {
  f: Fx;
  a: QpRef;
  b: QpRef;
  acq: Fx['cq'];
  bcq: Fx['cq'];
  la: MrRef;
  rb: MrRef;
}

/** Two connected RC QPs with their own CQs, a source MR on a and a target MR on b (filled 0x11 / 0x22). */
async function rc(o: { access?: number; rbAccess?: number; rnr_retry?: number; type?: 'RC' | 'UC' } = {}): Promise<Rc> {
  const f = await setup();
  fx = f;
  const acq = await f.ctx.createCq(32, null, 0, 3);
  const bcq = await f.ctx.createCq(32, null, 0, 4);
  const a = await qpOf(f, o.type ?? 'RC', { cq: acq });
  const b = await qpOf(f, o.type ?? 'RC', { cq: bcq });
  await connect(f, a, b, { access: o.access, rnr_retry: o.rnr_retry ?? 0 });
  const la = await f.ctx.regMr(f.pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 5);
  const rb = await f.ctx.regMr(f.pd, { kind: 'alloc', length: 4096 }, o.rbAccess ?? ALL, 6);
  la.memory!.write(0, Buffer.alloc(4096, 0x11));
  rb.memory!.write(0, Buffer.alloc(4096, 0x22));
  return { f, a, b, acq, bcq, la, rb };
}

function wr(t: Rc, opcode: SendWr['opcode'], len: number, extra: Partial<SendWr> = {}): SendWr {
  return {
    wr_id: 1n, opcode, send_flags: SendFlags.SIGNALED, sg_list: [{ addr: t.la.addr, length: len, lkey: t.la.lkey }],
    remote_addr: t.rb.addr, rkey: t.rb.rkey, imm_data: 7, ...extra,
  };
}

const brief = (w: Wc): [bigint, string, string, number, number] => [w.wr_id, w.status, w.opcode, w.byte_len, w.wc_flags];

describe('error completions (rxe responder classes)', () => {
  it('a bad rkey: REM_ACCESS_ERR on the requester, the responder flushed, both in ERR, no async event', async () => {
    const t = await rc();
    await t.f.ctx.postRecv(t.b, [{ wr_id: 100n, sg_list: [{ addr: t.rb.addr, length: 64, lkey: t.rb.lkey }] }]);
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_WRITE', 64, { rkey: t.rb.rkey ^ 0x5500 })]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'REM_ACCESS_ERR', 'SEND', 0, 0]]);
    expect((await drain(t.f.ctx, t.bcq, 1)).map(brief)).toEqual([[100n, 'WR_FLUSH_ERR', 'SEND', 0, 0]]);
    expect([await stateOf(t.f.ctx, t.a), await stateOf(t.f.ctx, t.b)]).toEqual(['ERR', 'ERR']);
    await sleep(5);
    expect(t.f.events.filter((e) => e.kind === 'async')).toEqual([]);
  });

  it('WRITE_WITH_IMM with a bad range: the receive it took completes REM_ACCESS_ERR', async () => {
    const t = await rc();
    await t.f.ctx.postRecv(t.b, [{ wr_id: 100n, sg_list: [] }]);
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_WRITE_WITH_IMM', 64, { remote_addr: t.rb.addr + 4090n })]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'REM_ACCESS_ERR', 'SEND', 0, 0]]);
    expect((await drain(t.f.ctx, t.bcq, 1)).map(brief)).toEqual([[100n, 'REM_ACCESS_ERR', 'SEND', 0, 0]]);
  });

  it('an operation the responder QP does not allow: REM_INV_REQ_ERR', async () => {
    const t = await rc({ access: Access.LOCAL_WRITE | Access.REMOTE_WRITE });
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_READ', 8, { sg_list: [{ addr: t.la.addr, length: 8, lkey: t.la.lkey }] })]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'REM_INV_REQ_ERR', 'SEND', 0, 0]]);
    expect(await stateOf(t.f.ctx, t.b)).toBe('ERR');
  });

  it('a SEND larger than the receive: REM_OP_ERR / LOC_QP_OP_ERR, and the packets that fitted were written', async () => {
    const t = await rc();
    await t.f.ctx.postRecv(t.b, [{ wr_id: 100n, sg_list: [{ addr: t.rb.addr, length: 1500, lkey: t.rb.lkey }] }]);
    await t.f.ctx.postSend(t.a, [wr(t, 'SEND', 4096)]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'REM_OP_ERR', 'SEND', 0, 0]]);
    expect((await drain(t.f.ctx, t.bcq, 1)).map(brief)).toEqual([[100n, 'LOC_QP_OP_ERR', 'SEND', 0, 0]]);
    // path MTU 1024: the first packet fitted whole and was written; the second did not.
    expect(t.rb.memory!.read(1020, 8)).toEqual(Buffer.from([0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]));
  });

  it('a bad lkey: LOC_QP_OP_ERR when building a SEND, LOC_PROT_ERR for a READ; the responder untouched', async () => {
    const t = await rc();
    await t.f.ctx.postSend(t.a, [wr(t, 'SEND', 8, { sg_list: [{ addr: t.la.addr, length: 8, lkey: t.la.lkey ^ 0x700 }] })]);
    expect((await drain(t.f.ctx, t.acq, 1)).map((w) => w.status)).toEqual(['LOC_QP_OP_ERR']);
    expect(await stateOf(t.f.ctx, t.b)).toBe('RTS');
    const u = await rc();
    await u.f.ctx.postSend(u.a, [wr(u, 'RDMA_READ', 8, { sg_list: [{ addr: u.la.addr, length: 8, lkey: u.la.lkey ^ 0x700 }] })]);
    expect((await drain(u.f.ctx, u.acq, 1)).map((w) => w.status)).toEqual(['LOC_PROT_ERR']);
  });

  it('successes: WITH_IMM on the requester, GRH on every receive, a zero-length WRITE with any rkey', async () => {
    const t = await rc();
    await t.f.ctx.postRecv(t.b, [{ wr_id: 100n, sg_list: [] }, { wr_id: 101n, sg_list: [{ addr: t.rb.addr, length: 64, lkey: t.rb.lkey }] }]);
    await t.f.ctx.postSend(t.a, [
      wr(t, 'RDMA_WRITE_WITH_IMM', 0, { wr_id: 1n, rkey: 0xdead }),
      wr(t, 'SEND_WITH_IMM', 16, { wr_id: 2n }),
      wr(t, 'RDMA_WRITE', 0, { wr_id: 3n, rkey: 0xdead }),
    ]);
    expect((await drain(t.f.ctx, t.acq, 3)).map(brief)).toEqual([[1n, 'SUCCESS', 'RDMA_WRITE', 0, 2], [2n, 'SUCCESS', 'SEND', 16, 2], [3n, 'SUCCESS', 'RDMA_WRITE', 0, 0]]);
    const r = await drain(t.f.ctx, t.bcq, 2);
    expect(r.map(brief)).toEqual([[100n, 'SUCCESS', 'RECV_RDMA_WITH_IMM', 0, 3], [101n, 'SUCCESS', 'RECV', 16, 3]]);
    expect(r.map((w) => w.imm_data)).toEqual([7, 7]);
  });

  it('UC drops what an RC responder would NAK: the requester completes SUCCESS, the responder stays RTS', async () => {
    const t = await rc({ type: 'UC' });
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_WRITE', 64, { rkey: 0xdead })]);
    expect((await drain(t.f.ctx, t.acq, 1)).map((w) => w.status)).toEqual(['SUCCESS']);
    expect(await stateOf(t.f.ctx, t.b)).toBe('RTS');
  });
});

describe('after the first error', () => {
  it('every later WR is flushed on both sides (WR_FLUSH_ERR, opcode 0, no length); receives posted in ERR wait', async () => {
    const t = await rc();
    await t.f.ctx.postRecv(t.b, [{ wr_id: 100n, sg_list: [] }, { wr_id: 101n, sg_list: [] }]);
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_WRITE', 8, { rkey: 0xdead }), wr(t, 'SEND', 0, { wr_id: 2n, send_flags: 0 }), wr(t, 'SEND', 0, { wr_id: 3n })]);
    expect((await drain(t.f.ctx, t.acq, 3)).map(brief)).toEqual([[1n, 'REM_ACCESS_ERR', 'SEND', 0, 0], [2n, 'WR_FLUSH_ERR', 'SEND', 0, 0], [3n, 'WR_FLUSH_ERR', 'SEND', 0, 0]]);
    expect((await drain(t.f.ctx, t.bcq, 2)).map((w) => [w.wr_id, w.status])).toEqual([[100n, 'WR_FLUSH_ERR'], [101n, 'WR_FLUSH_ERR']]);
    await t.f.ctx.postRecv(t.b, [{ wr_id: 102n, sg_list: [] }]);
    await sleep(5);
    expect(await t.f.ctx.pollCq(t.bcq, 4)).toEqual([]);
    // A modify to ERR runs the responder again: now the receive is flushed.
    await t.f.ctx.modifyQp(t.b, { qp_state: 'ERR' }, M.STATE);
    expect((await drain(t.f.ctx, t.bcq, 1)).map((w) => [w.wr_id, w.status])).toEqual([[102n, 'WR_FLUSH_ERR']]);
  });
});

describe('RNR', () => {
  it('a multi-packet WRITE_WITH_IMM without a receive: the packets before the last are written, then RNR_RETRY_EXC_ERR', async () => {
    const t = await rc({ rnr_retry: 0 });
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_WRITE_WITH_IMM', 2048)]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'RNR_RETRY_EXC_ERR', 'SEND', 0, 0]]);
    expect(t.rb.memory!.read(1022, 4)).toEqual(Buffer.from([0x11, 0x11, 0x22, 0x22]));
    expect(await stateOf(t.f.ctx, t.b)).toBe('RTS');
  });
});

describe('atomics', () => {
  it('CMP_AND_SWP and FETCH_AND_ADD: the old value lands locally, memory changes; byte_len is the WR length', async () => {
    const t = await rc();
    t.rb.memory!.write(0, Buffer.from('0500000000000000', 'hex'));
    const sg = [{ addr: t.la.addr, length: 16, lkey: t.la.lkey }];
    await t.f.ctx.postSend(t.a, [
      wr(t, 'ATOMIC_CMP_AND_SWP', 16, { wr_id: 1n, sg_list: sg, compare_add: 5n, swap: 9n }),
      wr(t, 'ATOMIC_CMP_AND_SWP', 8, { wr_id: 2n, sg_list: [{ ...sg[0]!, length: 8 }], compare_add: 5n, swap: 1n }),
      wr(t, 'ATOMIC_FETCH_AND_ADD', 8, { wr_id: 3n, sg_list: [{ ...sg[0]!, addr: t.la.addr + 8n, length: 8 }], compare_add: 3n }),
    ]);
    expect((await drain(t.f.ctx, t.acq, 3)).map((w) => [w.wr_id, w.status, w.opcode, w.byte_len])).toEqual([
      [1n, 'SUCCESS', 'COMP_SWAP', 16], [2n, 'SUCCESS', 'COMP_SWAP', 8], [3n, 'SUCCESS', 'FETCH_ADD', 8],
    ]);
    expect(t.rb.memory!.read(0, 8).readBigUInt64LE(0)).toBe(12n);
    expect(t.la.memory!.read(0, 8).readBigUInt64LE(0)).toBe(9n); // WR 2 saw 9, did not swap
    expect(t.la.memory!.read(8, 8).readBigUInt64LE(0)).toBe(9n);
  });

  it('misaligned or shorter than 8 bytes: EINVAL at post (the provider), nothing sent; no REMOTE_ATOMIC on the MR: REM_ACCESS_ERR', async () => {
    const t = await rc({ rbAccess: Access.LOCAL_WRITE | Access.REMOTE_WRITE });
    const e = await t.f.ctx.postSend(t.a, [wr(t, 'ATOMIC_FETCH_AND_ADD', 8, { remote_addr: t.rb.addr + 4n })]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PostError);
    expect([(e as PostError).errno, (e as PostError).badIndex]).toEqual([22, 0]);
    expect(await errnoOf(t.f.ctx.postSend(t.a, [wr(t, 'ATOMIC_FETCH_AND_ADD', 4)]))).toBe(22);
    await t.f.ctx.postSend(t.a, [wr(t, 'ATOMIC_FETCH_AND_ADD', 8)]);
    expect((await drain(t.f.ctx, t.acq, 1)).map((w) => w.status)).toEqual(['REM_ACCESS_ERR']);
  });
});

describe('post-time checks (rxe provider, then the doorbell)', () => {
  const post = async (p: Promise<unknown>): Promise<[number | string, number | null]> => {
    const e = await p.then(() => null, (x: unknown) => x);
    return e instanceof PostError ? [e.errno, e.badIndex] : ['no error', null];
  };

  it('before RTS a send is queued but the doorbell answers EINVAL with no bad WR; a receive in RESET is refused', async () => {
    const f = await setup();
    fx = f;
    const qp = await qpOf(f);
    const s: SendWr = { wr_id: 1n, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [] };
    expect(await post(f.ctx.postSend(qp, [s]))).toEqual([22, -1]);
    expect(await post(f.ctx.postRecv(qp, [{ wr_id: 1n, sg_list: [] }]))).toEqual([22, -1]);
    await f.ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: 0 }, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS);
    expect(await post(f.ctx.postRecv(qp, [{ wr_id: 1n, sg_list: [] }]))).toEqual(['no error', null]);
    expect(await post(f.ctx.postSend(qp, [s]))).toEqual([22, -1]);
    expect(await f.ctx.pollCq(f.cq, 4)).toEqual([]);
  });

  it('an empty list is EINVAL; past max_send_wr ENOMEM at the first WR that does not fit, the rest of the post still runs', async () => {
    const f = await setup();
    fx = f;
    const a = await qpOf(f, 'RC', { cap: { max_send_wr: 4 } });
    await connect(f, a, a);
    expect(await post(f.ctx.postSend(a, []))).toEqual([22, -1]);
    expect(await post(f.ctx.postRecv(a, []))).toEqual([22, -1]);
    const cap = (await f.ctx.queryQp(a)).attr.cap.max_send_wr; // rxe rounds 4 up to 7 slots
    const wrs = Array.from({ length: cap + 2 }, (_, i): SendWr => ({ wr_id: BigInt(i), opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED, sg_list: [] }));
    expect(await post(f.ctx.postSend(a, wrs))).toEqual([12, cap]);
    expect((await drain(f.ctx, f.cq, cap)).every((w) => w.status === 'SUCCESS')).toBe(true);
  });

  it("num_sge above the QP's and inline data above max_inline_data: EINVAL; a full receive queue: ENOMEM before the SGE count", async () => {
    const f = await setup();
    fx = f;
    const a = await qpOf(f, 'RC', { cap: { max_recv_wr: 1, max_send_sge: 1, max_inline_data: 16 } });
    await connect(f, a, a);
    const mr = await f.ctx.regMr(f.pd, { kind: 'alloc', length: 64 }, ALL, 5);
    const sge = { addr: mr.addr, length: 8, lkey: mr.lkey };
    const { cap } = (await f.ctx.queryQp(a)).attr;
    const many = Array.from({ length: cap.max_send_sge + 1 }, () => sge);
    expect(await post(f.ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: 0, sg_list: many }]))).toEqual([22, 0]);
    const big = { ...sge, length: cap.max_inline_data + 1 };
    expect(await post(f.ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: SendFlags.INLINE, sg_list: [big] }]))).toEqual([22, 0]);
    const fill = Array.from({ length: cap.max_recv_wr }, () => ({ wr_id: 1n, sg_list: [] }));
    await f.ctx.postRecv(a, fill);
    const tooMany = Array.from({ length: cap.max_recv_sge + 1 }, () => sge);
    expect(await post(f.ctx.postRecv(a, [{ wr_id: 2n, sg_list: tooMany }]))).toEqual([12, 0]);
  });

  it('an opcode the QP type cannot carry is queued and completes LOC_QP_OP_ERR (UD RDMA_WRITE, UC RDMA_READ)', async () => {
    const t = await rc({ type: 'UC' });
    await t.f.ctx.postSend(t.a, [wr(t, 'RDMA_READ', 8)]);
    expect((await drain(t.f.ctx, t.acq, 1)).map(brief)).toEqual([[1n, 'LOC_QP_OP_ERR', 'SEND', 0, 0]]);
    expect(await stateOf(t.f.ctx, t.a)).toBe('ERR');
  });
});

describe('CQs', () => {
  it('a full CQ drops the completion and raises CQ_ERR; a resize below the queued entries is EINVAL', async () => {
    const f = await setup(undefined, 1);
    fx = f;
    const a = await qpOf(f);
    await connect(f, a, a);
    const depth = await f.ctx.resizeCq(f.cq, 1);
    const wrs = Array.from({ length: depth + 2 }, (_, i): SendWr => ({ wr_id: BigInt(i), opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED, sg_list: [] }));
    await f.ctx.postSend(a, wrs);
    await sleep(5);
    expect(f.events).toContainEqual({ kind: 'async', type: 'CQ_ERR', tag: 2, port: null });
    expect(await errnoOf(f.ctx.resizeCq(f.cq, 0))).toBe(22);
    expect((await f.ctx.pollCq(f.cq, 16)).map((w) => w.wr_id)).toEqual(wrs.slice(0, depth).map((w) => w.wr_id));
    // Two completions were dropped but one event raised; once polled, the next overflow raises another.
    const errs = (): number => f.events.filter((e) => e.kind === 'async' && e.type === 'CQ_ERR').length;
    expect(errs()).toBe(1);
    await f.ctx.postSend(a, wrs);
    await sleep(5);
    expect(errs()).toBe(2);
  });

  it('a solicited-only arm ignores an error completion; a next-completion arm fires once', async () => {
    const f = await setup();
    fx = f;
    const ch = await f.ctx.createCompChannel(8);
    const cq = await f.ctx.createCq(16, ch, 0, 9);
    const a = await qpOf(f, 'RC', { cq });
    await connect(f, a, a);
    const fires = (): number => f.events.filter((e) => e.kind === 'completion').length;
    await f.ctx.reqNotifyCq(cq, true);
    await f.ctx.postSend(a, [{ wr_id: 1n, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: 0n, length: 8, lkey: 0xdead }], remote_addr: 0n, rkey: 0 }]);
    await sleep(5);
    expect(fires()).toBe(0);
    const b = await qpOf(f, 'RC', { cq });
    await connect(f, b, b);
    await f.ctx.reqNotifyCq(cq, false);
    await f.ctx.postSend(b, [0n, 1n].map((wr_id): SendWr => ({ wr_id, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED, sg_list: [] })));
    await sleep(5);
    expect(fires()).toBe(1);
  });
});

describe('UD', () => {
  async function ud(): Promise<{ f: Fx; a: QpRef; b: QpRef; bcq: Fx['cq']; mr: MrRef; ah: Awaited<ReturnType<Fx['ctx']['createAh']>> }> {
    const f = await setup();
    fx = f;
    const bcq = await f.ctx.createCq(16, null, 0, 4);
    const a = await qpOf(f, 'UD');
    const b = await qpOf(f, 'UD', { cq: bcq });
    for (const q of [a, b]) {
      await f.ctx.modifyQp(q, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qkey: 0x1111 }, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY);
      await f.ctx.modifyQp(q, { qp_state: 'RTR' }, M.STATE);
      await f.ctx.modifyQp(q, { qp_state: 'RTS', sq_psn: 0 }, M.STATE | M.SQ_PSN);
    }
    const mr = await f.ctx.regMr(f.pd, { kind: 'alloc', length: 8192 }, ALL, 5);
    const ah = await f.ctx.createAh(f.pd, av(f.gid), 6);
    return { f, a, b, bcq, mr, ah };
  }

  it('40 GRH bytes head the receive; a wrong qkey is dropped silently; a payload above the MTU is sent and dropped', async () => {
    const u = await ud();
    const send = (id: bigint, len: number, qkey: number): SendWr => ({ wr_id: id, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: u.mr.addr, length: len, lkey: u.mr.lkey }], ah: u.ah, remote_qpn: u.b.qp_num, remote_qkey: qkey });
    u.mr.memory!.write(0, Buffer.alloc(64, 0x33));
    await u.f.ctx.postRecv(u.b, [{ wr_id: 100n, sg_list: [{ addr: u.mr.addr + 4096n, length: 2048, lkey: u.mr.lkey }] }]);
    await u.f.ctx.postSend(u.a, [send(1n, 64, 0x2222), send(2n, 1025, 0x1111), send(3n, 64, 0x1111)]);
    expect((await drain(u.f.ctx, u.f.cq, 3)).map((w) => [w.wr_id, w.status, w.byte_len])).toEqual([[1n, 'SUCCESS', 64], [2n, 'SUCCESS', 1025], [3n, 'SUCCESS', 64]]);
    const r = await drain(u.f.ctx, u.bcq, 1);
    expect(r.map((w) => [w.wr_id, w.status, w.byte_len, w.wc_flags, w.src_qp])).toEqual([[100n, 'SUCCESS', 104, 1, u.a.qp_num]]);
    expect(u.mr.memory!.read(4096 + 40, 1)[0]).toBe(0x33);
  });

  it('a receive too small for GRH + payload: LOC_QP_OP_ERR and the UD QP goes to ERR', async () => {
    const u = await ud();
    await u.f.ctx.postRecv(u.b, [{ wr_id: 100n, sg_list: [{ addr: u.mr.addr, length: 100, lkey: u.mr.lkey }] }]);
    await u.f.ctx.postSend(u.a, [{ wr_id: 1n, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: u.mr.addr, length: 64, lkey: u.mr.lkey }], ah: u.ah, remote_qpn: u.b.qp_num, remote_qkey: 0x1111 }]);
    expect((await drain(u.f.ctx, u.bcq, 1)).map((w) => [w.status, w.opcode])).toEqual([['LOC_QP_OP_ERR', 'SEND']]);
    expect(await stateOf(u.f.ctx, u.b)).toBe('ERR');
  });
});

describe('modify value checks (rxe_qp_chk_attr, rdma_fill_sgid_attr)', () => {
  it('what rxe lets through and what it refuses', async () => {
    const f = await setup();
    fx = f;
    const qp = await qpOf(f);
    const init = M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS;
    for (const port_num of [0, 2]) expect(await errnoOf(f.ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0, port_num, qp_access_flags: 0 }, init))).toBe(22);
    await f.ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 63, port_num: 1, qp_access_flags: 0 }, init);
    const rtr = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER;
    const base = { qp_state: 'RTR' as const, ah_attr: av(f.gid), path_mtu: 5 as const, dest_qp_num: 0xabcd, rq_psn: 0, max_dest_rd_atomic: 255, min_rnr_timer: 31 };
    expect(await errnoOf(f.ctx.modifyQp(qp, { ...base, ah_attr: { ...av(f.gid), grh: { ...av(f.gid).grh!, sgid_index: 3 } } }, rtr))).toBe(61);
    // path_mtu 4096 above the port's active 1024, a dest_qp_num nobody has, 255 responder resources: all accepted.
    await f.ctx.modifyQp(qp, base, rtr);
    const rts = M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC;
    const next = { qp_state: 'RTS' as const, timeout: 0, retry_cnt: 8, rnr_retry: 8, sq_psn: 0, max_rd_atomic: 1 };
    expect(await errnoOf(f.ctx.modifyQp(qp, { ...next, max_rd_atomic: 129 }, rts))).toBe(22);
    expect(await errnoOf(f.ctx.modifyQp(qp, { ...next, timeout: 32 }, rts))).toBe(22);
    await f.ctx.modifyQp(qp, next, rts);
    expect((await f.ctx.queryQp(qp)).attr).toMatchObject({ qp_state: 'RTS', path_mtu: 5, min_rnr_timer: 31, max_dest_rd_atomic: 256, retry_cnt: 8 });
  });

  it('a SEND to a dest_qp_num that does not exist: no answer, retry_cnt retransmits, RETRY_EXC_ERR', async () => {
    const f = await setup();
    fx = f;
    const a = await qpOf(f);
    const b = await qpOf(f);
    await connect(f, a, b, { retry_cnt: 1, timeout: 1 });
    await f.ctx.destroyQp(b);
    await f.ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [] }]);
    expect((await drain(f.ctx, f.cq, 1)).map((w) => w.status)).toEqual(['RETRY_EXC_ERR']);
  });
});

describe('SRQ', () => {
  it('the limit fires SRQ_LIMIT_REACHED once when the queue drops below it, then is disarmed; past max_wr ENOMEM', async () => {
    const f = await setup();
    fx = f;
    const srq = await f.ctx.createSrq(f.pd, { max_wr: 4, max_sge: 1, srq_limit: 0 }, 3);
    const rcq = await f.ctx.createCq(16, null, 0, 4);
    const a = await qpOf(f);
    const b = await f.ctx.createQp(f.pd, { qp_type: 'RC', send_cq: rcq, recv_cq: rcq, srq, sq_sig_all: false, cap: { max_send_wr: 8, max_recv_wr: 0, max_send_sge: 1, max_recv_sge: 0, max_inline_data: 0 } }, 10);
    await connect(f, a, b);
    const { max_wr } = await f.ctx.querySrq(srq);
    await f.ctx.postSrqRecv(srq, Array.from({ length: max_wr }, (_, i) => ({ wr_id: BigInt(i), sg_list: [] })));
    expect(await errnoOf(f.ctx.postSrqRecv(srq, [{ wr_id: 99n, sg_list: [] }]))).toBe(12);
    await f.ctx.modifySrq(srq, { srq_limit: max_wr - 1 }, 2);
    const send = (): Promise<void> => f.ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: 0, sg_list: [] }]);
    await send();
    await send();
    expect((await drain(f.ctx, rcq, 2)).map((w) => [w.status, w.wc_flags])).toEqual([['SUCCESS', 1], ['SUCCESS', 1]]);
    await sleep(5);
    expect(f.events.filter((e) => e.kind === 'async').map((e) => e.kind === 'async' && e.type)).toEqual(['SRQ_LIMIT_REACHED']);
    expect((await f.ctx.querySrq(srq)).srq_limit).toBe(0);
  });
});
