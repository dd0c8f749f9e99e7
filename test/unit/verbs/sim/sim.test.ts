import { afterEach, describe, expect, it } from 'vitest';
import {
  Access, QpAttrMask as M, SendFlags, SrqAttrMask, type AhAttr, type CqRef, type PdRef, type QpRef, type QpType,
  type Wc,
} from '../../../../src/verbs/abi.js';
import type { BackendEvent, DeviceContext } from '../../../../src/verbs/backend.js';
import { VerbsError, PostError } from '../../../../src/verbs/errno.js';
import { createSimBackend, modifyQpIsOk, type SimBackend } from '../../../../src/verbs/sim/index.js';
import * as libc from '../../../../src/sys/libc.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function errnoOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VerbsError) return e.errno;
    throw e;
  }
  return 'no error';
}

const ALL = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC;
let open: DeviceContext[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

async function setup(opts?: Parameters<typeof createSimBackend>[0]): Promise<{ b: SimBackend; ctx: DeviceContext; events: BackendEvent[]; pd: PdRef; cq: CqRef; gid: string }> {
  const b = createSimBackend(opts);
  const ctx = await b.openDevice('sim0');
  open.push(ctx);
  const events: BackendEvent[] = [];
  ctx.setEventHandler((e) => events.push(e));
  const pd = await ctx.allocPd(1);
  const cq = await ctx.createCq(64, null, 0, 2);
  const gid = (await ctx.queryGidTable(1))[0]?.gid ?? '';
  return { b, ctx, events, pd, cq, gid };
}

function av(gid: string): AhAttr {
  return { grh: { dgid: gid, sgid_index: 0, flow_label: 0, hop_limit: 1, traffic_class: 0 }, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1 };
}

async function qpOf(ctx: DeviceContext, pd: PdRef, cq: CqRef, type: QpType = 'RC', srq: Parameters<DeviceContext['createQp']>[1]['srq'] = null): Promise<QpRef> {
  return ctx.createQp(pd, { qp_type: type, send_cq: cq, recv_cq: cq, srq, sq_sig_all: false, cap: { max_send_wr: 8, max_recv_wr: 8, max_send_sge: 2, max_recv_sge: 2, max_inline_data: 64 } }, 9);
}

async function connect(ctx: DeviceContext, a: QpRef, b: QpRef, gid: string, rtr: { rnr_retry?: number; access?: number } = {}): Promise<void> {
  for (const [q, d] of [[a, b], [b, a]] as const) {
    await ctx.modifyQp(q, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: rtr.access ?? ALL }, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS);
    await ctx.modifyQp(q, { qp_state: 'RTR', ah_attr: av(gid), path_mtu: 3, dest_qp_num: d.qp_num, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1 }, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER);
  }
  for (const q of [a, b]) {
    await ctx.modifyQp(q, { qp_state: 'RTS', timeout: 1, retry_cnt: 2, rnr_retry: rtr.rnr_retry ?? 7, sq_psn: 0, max_rd_atomic: 1 }, M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC);
  }
}

async function drain(ctx: DeviceContext, cq: CqRef, n: number, ms = 2000): Promise<Wc[]> {
  const out: Wc[] = [];
  const end = Date.now() + ms;
  while (out.length < n && Date.now() < end) {
    out.push(...(await ctx.pollCq(cq, n - out.length)));
    if (out.length < n) await sleep(1);
  }
  return out;
}

describe('sim device: identity', () => {
  it('looks like rxe: RoCE v2 link-local GID 0, Ethernet port at MTU 1024', async () => {
    const { ctx } = await setup();
    const port = await ctx.queryPort(1);
    expect(port).toMatchObject({ state: 'ACTIVE', link_layer: 'Ethernet', active_mtu: 3, max_mtu: 5, lid: 0 });
    const [g] = await ctx.queryGidTable(1);
    expect(g?.type).toBe('RoCE v2');
    expect(g?.gid).toMatch(/^fe80:0000:0000:0000:([0-9a-f]{4}:){3}[0-9a-f]{4}$/);
    const attr = await ctx.queryDevice();
    expect(attr.max_sge).toBe(32);
    expect(attr.max_srq_sge).toBe(27);
    expect(ctx.capabilities().supportsImport).toBe(false);
    // What rxe lacks the sim leaves to the EOPNOTSUPP defaults: derived from its ops, not listed.
    const lacking = (['openXrcd', 'closeXrcd', 'createFlow', 'destroyFlow', 'allocMw', 'createSrq', 'createAh', 'attachMcast'] as const)
      .filter((op) => !ctx.implemented(op));
    expect(lacking).toEqual(['openXrcd', 'closeXrcd', 'createFlow', 'destroyFlow']);
  });

  it('lists several devices when asked, each with its own GID', async () => {
    const b = createSimBackend({ devices: 2 });
    const l = await b.listDevices();
    expect(l.map((d) => d.name)).toEqual(['sim0', 'sim1']);
    expect(l[0]?.node_guid).not.toBe(l[1]?.node_guid);
    expect(await errnoOf(b.openDevice('nope'))).toBe(19);
  });
});

describe('sim device: limits and refusals', () => {
  it('refuses objects beyond the configured pool limits with EINVAL (MRs: ENOMEM)', async () => {
    const { ctx, pd, cq } = await setup({ limits: { max_qp: 1, max_mr: 1, max_pd: 2 } });
    await qpOf(ctx, pd, cq);
    expect(await errnoOf(qpOf(ctx, pd, cq))).toBe(22);
    await ctx.regMr(pd, { kind: 'alloc', length: 10 }, 0, 3);
    expect(await errnoOf(ctx.regMr(pd, { kind: 'alloc', length: 10 }, 0, 3))).toBe(12);
    await ctx.allocPd(5);
    expect(await errnoOf(ctx.allocPd(6))).toBe(22);
  });

  it('answers EOPNOTSUPP for dma-buf MRs, XRC, flows and XRC/raw QP types', async () => {
    const { ctx, pd, cq } = await setup();
    expect(await errnoOf(ctx.regMr(pd, { kind: 'dmabuf', fd: 0, offset: 0, length: 10, iova: 0n }, 0, 1))).toBe(95);
    expect(await errnoOf(ctx.openXrcd(1))).toBe(95);
    const qp = await qpOf(ctx, pd, cq);
    expect(await errnoOf(ctx.createFlow(qp, { type: 'NORMAL', priority: 0, port: 1, flags: 0, specs: [] }, 1))).toBe(95);
    expect(await errnoOf(qpOf(ctx, pd, cq, 'XRC_SEND'))).toBe(95);
    expect(await errnoOf(ctx.regMr(pd, { kind: 'alloc', length: 10 }, Access.LOCAL_WRITE | (1 << 12), 1))).toBe(22);
    expect(await errnoOf(ctx.regMr(pd, { kind: 'alloc', length: 10 }, Access.LOCAL_WRITE | Access.ON_DEMAND, 1))).toBe(95);
  });

  it('registers a client memfd and validates it', async () => {
    const { ctx, pd } = await setup();
    const fd = libc.memfd_create('client', libc.MFD_CLOEXEC);
    libc.ftruncate(fd, 8192);
    try {
      libc.pwrite(fd, Buffer.from('client data'), 11, 4096);
      const mr = await ctx.regMr(pd, { kind: 'memfd', fd, offset: 4096, length: 100 }, Access.LOCAL_WRITE, 2);
      expect(mr.memory?.read(0, 11).toString()).toBe('client data');
      expect(await errnoOf(ctx.regMr(pd, { kind: 'memfd', fd, offset: 100, length: 10 }, 0, 3))).toBe(22);
      expect(await errnoOf(ctx.regMr(pd, { kind: 'memfd', fd, offset: 0, length: 9000 }, 0, 3))).toBe(22);
      await ctx.deregMr(mr);
      expect(() => mr.memory?.read(0, 1)).toThrow();
    } finally {
      libc.close(fd);
    }
  });

  it('follows the kernel QP state table, including what it does not allow', () => {
    expect(modifyQpIsOk('RESET', 'ERR', 'RC', M.STATE)).toBe(false);
    expect(modifyQpIsOk('RTR', 'RTR', 'RC', M.STATE)).toBe(false);
    expect(modifyQpIsOk('INIT', 'INIT', 'RC', M.STATE | M.ACCESS_FLAGS)).toBe(true);
    expect(modifyQpIsOk('RTS', 'RTS', 'UD', M.STATE | M.CUR_STATE | M.QKEY)).toBe(true);
    expect(modifyQpIsOk('INIT', 'INIT', 'RC', M.CUR_STATE)).toBe(false);
    expect(modifyQpIsOk('RTR', 'RTS', 'UD', M.STATE | M.SQ_PSN)).toBe(true);
    expect(modifyQpIsOk('RTR', 'RTS', 'UD', M.STATE)).toBe(false);
    expect(modifyQpIsOk('SQD', 'SQD', 'RC', M.STATE | M.TIMEOUT | M.AV)).toBe(true);
  });

  it('checks QP attribute values and a cur_qp_state that does not match', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const qp = await qpOf(ctx, pd, cq);
    const init = M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS;
    // rxe checks the port, not the pkey index (any 16-bit one) nor the access bits.
    expect(await errnoOf(ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 2, qp_access_flags: 0 }, init))).toBe(22);
    expect(await errnoOf(ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0x10000, port_num: 1, qp_access_flags: 0 }, init))).toBe(22);
    await ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 1, port_num: 1, qp_access_flags: 1 << 7 }, init);
    const rtr = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER;
    const base = { qp_state: 'RTR' as const, ah_attr: av(gid), path_mtu: 3 as const, dest_qp_num: 1, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1 };
    expect(await errnoOf(ctx.modifyQp(qp, { ...base, ah_attr: { ...av(gid), grh: null } }, rtr))).toBe(22);
    expect(await errnoOf(ctx.modifyQp(qp, { ...base, max_dest_rd_atomic: 1000 }, rtr))).toBe(22);
    expect(await errnoOf(ctx.modifyQp(qp, { ...base, path_mtu: 6 as 5 }, rtr))).toBe(22);
    expect(await errnoOf(ctx.modifyQp(qp, { ...base, ah_attr: { ...av(gid), grh: { ...av(gid).grh!, sgid_index: 1 } } }, rtr))).toBe(61);
    expect(await errnoOf(ctx.modifyQp(qp, base, rtr | (1 << 23)))).toBe(95);
    await ctx.modifyQp(qp, base, rtr);
    expect(await errnoOf(ctx.modifyQp(qp, { qp_state: 'ERR', cur_qp_state: 'RTS' }, M.STATE | M.CUR_STATE))).toBe(22);
    expect((await ctx.queryQp(qp)).attr.qp_state).toBe('RTR');
  });

  it('EBUSY for channels, SRQs, PDs with children; EINVAL for an MR with a bound window', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const srq = await ctx.createSrq(pd, { max_wr: 4, max_sge: 1, srq_limit: 0 }, 3);
    const qp = await qpOf(ctx, pd, cq, 'RC', srq);
    expect(await errnoOf(ctx.destroySrq(srq))).toBe(16);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE | Access.MW_BIND, 4);
    const mw = await ctx.allocMw(pd, 1, 5);
    const peer = await qpOf(ctx, pd, cq);
    await connect(ctx, qp, peer, gid);
    const rkey = await ctx.bindMw(qp, mw, { wr_id: 1n, send_flags: SendFlags.SIGNALED, mr, addr: mr.addr, length: 100, mw_access_flags: Access.REMOTE_WRITE });
    expect(rkey).not.toBe(mw.rkey === rkey ? -1 : 0);
    expect((await drain(ctx, cq, 1))[0]).toMatchObject({ status: 'SUCCESS', opcode: 'BIND_MW' });
    expect(await errnoOf(ctx.deregMr(mr))).toBe(22);
    expect(await errnoOf(ctx.deallocPd(pd))).toBe(16);
    await ctx.deallocMw(mw);
    await ctx.deregMr(mr);
  });
});

describe('sim device: data path', () => {
  it('writes through a type 1 memory window; as rxe 6.1, the range checked is the MR\'s, not the window\'s', async () => {
    const { ctx, pd, cq, gid, events } = await setup();
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, ALL | Access.MW_BIND, 4);
    const mw = await ctx.allocMw(pd, 1, 5);
    const rkey = await ctx.bindMw(b, mw, { wr_id: 1n, send_flags: 0, mr, addr: mr.addr + 100n, length: 50, mw_access_flags: Access.REMOTE_WRITE });
    mr.memory?.write(0, Buffer.from('xy'));
    const w = (off: bigint, id: bigint) => ctx.postSend(a, [{ wr_id: id, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: mr.addr, length: 2, lkey: mr.lkey }], remote_addr: mr.addr + off, rkey }]);
    await w(120n, 2n);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('SUCCESS');
    expect(mr.memory?.read(120, 2).toString()).toBe('xy');
    await w(149n, 3n);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('SUCCESS');
    await w(4095n, 3n);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('REM_ACCESS_ERR');
    expect((await ctx.queryQp(a)).attr.qp_state).toBe('ERR');
    expect((await ctx.queryQp(b)).attr.qp_state).toBe('ERR');
    await sleep(0);
    // rxe raises no async event on either side for a refused rkey.
    expect(events.filter((e) => e.kind === 'async')).toEqual([]);
    await ctx.deallocMw(mw);
  });

  it('bad lkey on a WRITE: LOC_QP_OP_ERR (as rxe builds the packet) and the rest of the send queue is flushed', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    const wr = (id: bigint, lkey: number) => ({ wr_id: id, opcode: 'RDMA_WRITE' as const, send_flags: 0, sg_list: [{ addr: mr.addr, length: 8, lkey }], remote_addr: mr.addr + 8n, rkey: mr.rkey });
    await ctx.postSend(a, [wr(1n, mr.lkey), wr(2n, mr.lkey ^ 0xff00), wr(3n, mr.lkey)]);
    const wcs = await drain(ctx, cq, 2);
    expect(wcs.map((w) => [w.wr_id, w.status, w.opcode, w.byte_len])).toEqual([[2n, 'LOC_QP_OP_ERR', 'SEND', 0], [3n, 'WR_FLUSH_ERR', 'SEND', 0]]);
  });

  it('RNR: rnr_retry 0 fails at once; otherwise a late receive completes the send', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    const send = { wr_id: 1n, opcode: 'SEND' as const, send_flags: SendFlags.SIGNALED, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }] };
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid, { rnr_retry: 0 });
    await ctx.postSend(a, [send]);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('RNR_RETRY_EXC_ERR');

    const c = await qpOf(ctx, pd, cq);
    const d = await qpOf(ctx, pd, cq);
    await connect(ctx, c, d, gid, { rnr_retry: 7 });
    await ctx.postSend(c, [send]);
    await sleep(5);
    expect(await ctx.pollCq(cq, 4)).toEqual([]);
    await ctx.postRecv(d, [{ wr_id: 50n, sg_list: [{ addr: mr.addr + 32n, length: 16, lkey: mr.lkey }] }]);
    const wcs = await drain(ctx, cq, 2);
    expect(wcs.map((w) => w.status)).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('RNR with a finite rnr_retry gives up after its retries', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid, { rnr_retry: 2 });
    await ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: 0, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }] }]);
    expect((await drain(ctx, cq, 1, 1000))[0]?.status).toBe('RNR_RETRY_EXC_ERR');
  });

  it('a QP without REMOTE_READ refuses reads (REM_INV_REQ_ERR); atomics work', async () => {
    const { ctx, pd, cq, gid } = await setup();
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid, { access: Access.LOCAL_WRITE | Access.REMOTE_ATOMIC });
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64LE(40n);
    mr.memory?.write(16, buf);
    await ctx.postSend(a, [{ wr_id: 1n, opcode: 'ATOMIC_FETCH_AND_ADD', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }], remote_addr: mr.addr + 16n, rkey: mr.rkey, compare_add: 2n }]);
    expect((await drain(ctx, cq, 1))[0]).toMatchObject({ status: 'SUCCESS', opcode: 'FETCH_ADD' });
    expect(mr.memory?.read(16, 8).readBigUInt64LE(0)).toBe(42n);
    expect(mr.memory?.read(0, 8).readBigUInt64LE(0)).toBe(40n);
    await ctx.postSend(a, [{ wr_id: 2n, opcode: 'ATOMIC_CMP_AND_SWP', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }], remote_addr: mr.addr + 16n, rkey: mr.rkey, compare_add: 42n, swap: 7n }]);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('SUCCESS');
    expect(mr.memory?.read(16, 8).readBigUInt64LE(0)).toBe(7n);
    await ctx.postSend(a, [{ wr_id: 3n, opcode: 'RDMA_READ', send_flags: 0, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }], remote_addr: mr.addr + 16n, rkey: mr.rkey }]);
    expect((await drain(ctx, cq, 1))[0]?.status).toBe('REM_INV_REQ_ERR');
  });

  it('CQ overrun reports CQ_ERR; a full send queue answers ENOMEM with badIndex', async () => {
    const { ctx, pd, events, gid } = await setup();
    const cq = await ctx.createCq(1, null, 0, 77);
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    const wr = (id: bigint) => ({ wr_id: id, opcode: 'RDMA_WRITE' as const, send_flags: SendFlags.SIGNALED, sg_list: [{ addr: mr.addr, length: 8, lkey: mr.lkey }], remote_addr: mr.addr + 8n, rkey: mr.rkey });
    await ctx.postSend(a, [wr(1n), wr(2n)]);
    await sleep(0);
    expect(events).toContainEqual({ kind: 'async', type: 'CQ_ERR', tag: 77, port: null });
    expect((await ctx.pollCq(cq, 8)).length).toBe(1);
    await ctx.modifyQp(a, { qp_state: 'SQD' }, M.STATE);
    const many = Array.from({ length: 16 }, (_, i) => wr(BigInt(i)));
    const e = await ctx.postSend(a, many).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PostError);
    expect((e as PostError).errno).toBe(12);
    expect((e as PostError).badIndex).toBe(15); // max_send_wr 8 is rounded up to a depth of 15, as rxe does
  });

  it('SRQ: receives from the shared queue and fires SRQ_LIMIT_REACHED once armed', async () => {
    const { ctx, pd, cq, gid, events } = await setup();
    const srq = await ctx.createSrq(pd, { max_wr: 8, max_sge: 1, srq_limit: 0 }, 33);
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq, 'RC', srq);
    await connect(ctx, a, b, gid);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 256 }, ALL, 4);
    await ctx.postSrqRecv(srq, [1n, 2n, 3n].map((id) => ({ wr_id: id, sg_list: [{ addr: mr.addr + 64n, length: 64, lkey: mr.lkey }] })));
    await ctx.modifySrq(srq, { srq_limit: 3 }, SrqAttrMask.LIMIT);
    expect(await errnoOf(ctx.modifySrq(srq, { srq_limit: 100 }, SrqAttrMask.LIMIT))).toBe(22);
    await ctx.postSend(a, [{ wr_id: 9n, opcode: 'SEND', send_flags: 0, sg_list: [{ addr: mr.addr, length: 4, lkey: mr.lkey }] }]);
    expect((await drain(ctx, cq, 1))[0]).toMatchObject({ wr_id: 1n, status: 'SUCCESS', byte_len: 4 });
    await sleep(0);
    expect(events.filter((e) => e.kind === 'async' && e.type === 'SRQ_LIMIT_REACHED')).toEqual([{ kind: 'async', type: 'SRQ_LIMIT_REACHED', tag: 33, port: null }]);
    expect((await ctx.querySrq(srq)).srq_limit).toBe(0);
    expect(await errnoOf(ctx.postRecv(b, [{ wr_id: 1n, sg_list: [] }]))).toBe(22);
  });

  it('multicast: UD only, delivered to attached QPs; destroy while attached is EBUSY', async () => {
    const { ctx, pd, cq } = await setup();
    const rc = await qpOf(ctx, pd, cq);
    const mgid = 'ff0e::1';
    expect(await errnoOf(ctx.attachMcast(rc, mgid, 0))).toBe(22);
    const a = await qpOf(ctx, pd, cq, 'UD');
    const b = await qpOf(ctx, pd, cq, 'UD');
    expect(await errnoOf(ctx.attachMcast(b, 'fe80::1', 0))).toBe(22);
    for (const q of [a, b]) {
      await ctx.modifyQp(q, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qkey: 5 }, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY);
      await ctx.modifyQp(q, { qp_state: 'RTR' }, M.STATE);
      await ctx.modifyQp(q, { qp_state: 'RTS', sq_psn: 0 }, M.STATE | M.SQ_PSN);
    }
    await ctx.attachMcast(b, mgid, 0);
    const ah = await ctx.createAh(pd, av(mgid), 6);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 256 }, Access.LOCAL_WRITE, 4);
    await ctx.postRecv(b, [{ wr_id: 5n, sg_list: [{ addr: mr.addr + 100n, length: 100, lkey: mr.lkey }] }]);
    await ctx.postSend(a, [{ wr_id: 1n, opcode: 'SEND', send_flags: 0, ah, remote_qpn: 0xffffff, remote_qkey: 5, sg_list: [{ addr: mr.addr, length: 3, lkey: mr.lkey }] }]);
    expect((await drain(ctx, cq, 1))[0]).toMatchObject({ wr_id: 5n, byte_len: 43 });
    expect(await errnoOf(ctx.destroyQp(b))).toBe(16);
    await ctx.detachMcast(b, mgid, 0);
    expect(await errnoOf(ctx.detachMcast(b, mgid, 0))).toBe(22);
    await ctx.destroyQp(b);
  });

  it('solicited-only arming ignores unsolicited completions', async () => {
    const { ctx, pd, gid, events } = await setup();
    const ch = await ctx.createCompChannel(40);
    const cq = await ctx.createCq(16, ch, 0, 41);
    const a = await qpOf(ctx, pd, cq);
    const b = await qpOf(ctx, pd, cq);
    await connect(ctx, a, b, gid);
    const mr = await ctx.regMr(pd, { kind: 'alloc', length: 64 }, ALL, 4);
    await ctx.postRecv(b, [1n, 2n].map((id) => ({ wr_id: id, sg_list: [{ addr: mr.addr + 32n, length: 16, lkey: mr.lkey }] })));
    await ctx.reqNotifyCq(cq, true);
    const send = (flags: number) => ctx.postSend(a, [{ wr_id: 9n, opcode: 'SEND', send_flags: flags, sg_list: [{ addr: mr.addr, length: 4, lkey: mr.lkey }] }]);
    await send(0);
    await sleep(0);
    expect(events.filter((e) => e.kind === 'completion')).toEqual([]);
    await send(SendFlags.SOLICITED);
    await sleep(0);
    expect(events.filter((e) => e.kind === 'completion')).toEqual([{ kind: 'completion', cq: 41, channel: 40 }]);
  });
});

describe('sim device: removal', () => {
  it('device loss: events, EIO on everything but destroy, watchers told, and back again', async () => {
    const { b, ctx, pd, cq, events } = await setup();
    const changes: string[] = [];
    const stop = b.watchDevices((c) => changes.push(`${c.kind}:${c.name}`));
    const qp = await qpOf(ctx, pd, cq);
    b.removeDevice('sim0');
    await sleep(0);
    expect(events).toContainEqual({ kind: 'async', type: 'DEVICE_FATAL', tag: null, port: null });
    expect(events).toContainEqual({ kind: 'device_lost' });
    expect(await errnoOf(ctx.allocPd(3))).toBe(5);
    expect(await errnoOf(ctx.queryDevice())).toBe(5);
    expect(await errnoOf(ctx.pollCq(cq, 1))).toBe(5);
    expect(await b.listDevices()).toEqual([]);
    // Destroys succeed, even in an order a live device would refuse.
    await ctx.deallocPd(pd);
    await ctx.destroyCq(cq);
    await ctx.destroyQp(qp);
    b.addDevice('sim0');
    await sleep(0);
    expect(changes).toEqual(['removed:sim0', 'added:sim0']);
    const again = await b.openDevice('sim0');
    open.push(again);
    await again.allocPd(1);
    stop();
  });

  it('close() destroys everything left, children first', async () => {
    const { ctx, pd, cq } = await setup();
    await qpOf(ctx, pd, cq);
    await ctx.regMr(pd, { kind: 'alloc', length: 10 }, 0, 3);
    await ctx.close();
    expect(await errnoOf(ctx.allocPd(1))).toBe(22);
  });
});
