/**
 * The backend conformance suite: cases written only against the `Backend` /
 * `DeviceContext` interface, so the same file runs on the simulated device
 * (sim.test.ts) and on the real libibverbs backend over soft-RoCE in a VM.
 *
 * Every case must hold on rxe: no sim-only hooks, no exact limit values (they
 * come from queryDevice), completions polled with a bounded retry loop since
 * real hardware completes asynchronously.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Access, QpAttrMask as M, SendFlags, type AhAttr, type CqRef, type GidEntry, type MrRef, type MwRef, type PdRef,
  type PortAttr, type QpAttr, type QpRef, type QpState, type QpType, type Wc,
} from '../../src/verbs/abi.js';
import type { Backend, BackendEvent, DeviceContext } from '../../src/verbs/backend.js';
import { VerbsError } from '../../src/verbs/errno.js';

export interface ConformanceOptions {
  /** Device to open; default: the first of listDevices(). */
  device?: string;
  /** How long to wait for a completion or event (ms); default 5000. */
  timeoutMs?: number;
}

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

const EINVAL = 22;
const EBUSY = 16;
const EOPNOTSUPP = 95;

export function defineConformance(name: string, makeBackend: () => Promise<Backend>, opts: ConformanceOptions = {}): void {
  const timeoutMs = opts.timeoutMs ?? 5000;

  describe(`verbs conformance: ${name}`, () => {
    let backend: Backend;
    let ctx: DeviceContext;
    let port: PortAttr;
    let gid: GidEntry;
    const events: BackendEvent[] = [];

    beforeEach(async () => {
      backend = await makeBackend();
      const devName = opts.device ?? (await backend.listDevices())[0]?.name;
      if (!devName) throw new Error('the backend lists no device');
      ctx = await backend.openDevice(devName);
      events.length = 0;
      ctx.setEventHandler((e) => events.push(e));
      port = await ctx.queryPort(1);
      const table = await ctx.queryGidTable(1);
      const g = table.find((e) => e.index === 0) ?? table[0];
      if (!g) throw new Error('port 1 has no GID');
      gid = g;
    });

    afterEach(async () => {
      await ctx.close();
    });

    // ------------------------------------------------------------ helpers

    async function poll(cq: CqRef, n: number): Promise<Wc[]> {
      const out: Wc[] = [];
      const end = Date.now() + timeoutMs;
      while (out.length < n) {
        out.push(...(await ctx.pollCq(cq, n - out.length)));
        if (out.length >= n) break;
        if (Date.now() > end) throw new Error(`timed out waiting for ${n} completions (got ${out.length}: ${JSON.stringify(out.map((w) => w.status))})`);
        await sleep(2);
      }
      return out;
    }

    async function waitFor(pred: () => boolean, what: string): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(2);
      }
    }

    function av(): AhAttr {
      return {
        grh: { dgid: gid.gid, flow_label: 0, sgid_index: gid.index, hop_limit: 1, traffic_class: 0 },
        dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1,
      };
    }

    const ALL_REMOTE = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC;

    async function mkQp(pd: PdRef, cq: CqRef, type: QpType = 'RC', tag = 1): Promise<QpRef> {
      return ctx.createQp(pd, {
        qp_type: type, send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false,
        cap: { max_send_wr: 16, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 },
      }, tag);
    }

    async function toInit(qp: QpRef, type: QpType): Promise<void> {
      if (type === 'UD') {
        await ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qkey: 0x11111111 }, M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY);
      } else {
        await ctx.modifyQp(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ALL_REMOTE }, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS);
      }
    }

    const RTR_MASK = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER;
    const RTS_MASK = M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC;

    async function toRtr(qp: QpRef, dest: number): Promise<void> {
      await ctx.modifyQp(qp, {
        qp_state: 'RTR', ah_attr: av(), path_mtu: port.active_mtu, dest_qp_num: dest, rq_psn: 0,
        max_dest_rd_atomic: 1, min_rnr_timer: 12,
      }, RTR_MASK);
    }

    async function toRts(qp: QpRef): Promise<void> {
      await ctx.modifyQp(qp, { qp_state: 'RTS', timeout: 14, retry_cnt: 7, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 }, RTS_MASK);
    }

    /** Connects two RC QPs to each other: RESET -> INIT -> RTR -> RTS on both. */
    async function connectRc(a: QpRef, b: QpRef): Promise<void> {
      await toInit(a, 'RC');
      await toInit(b, 'RC');
      await toRtr(a, b.qp_num);
      await toRtr(b, a.qp_num);
      await toRts(a);
      await toRts(b);
    }

    async function rcPair(): Promise<{ pd: PdRef; cq: CqRef; a: QpRef; b: QpRef }> {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(64, null, 0, 2);
      const a = await mkQp(pd, cq, 'RC', 3);
      const b = await mkQp(pd, cq, 'RC', 4);
      await connectRc(a, b);
      return { pd, cq, a, b };
    }

    function mem(mr: MrRef): NonNullable<MrRef['memory']> {
      if (!mr.memory) throw new Error('the MR has no daemon-visible memory');
      return mr.memory;
    }

    // -------------------------------------------------------------- device

    it('device, port and GID queries are sane', async () => {
      const list = await backend.listDevices();
      expect(list.length).toBeGreaterThan(0);
      expect(list.map((d) => d.name)).toContain(ctx.name);
      const attr = await ctx.queryDevice();
      expect(attr.phys_port_cnt).toBeGreaterThanOrEqual(1);
      for (const k of ['max_qp', 'max_qp_wr', 'max_sge', 'max_cq', 'max_cqe', 'max_mr', 'max_pd'] as const) {
        expect(attr[k], k).toBeGreaterThan(0);
      }
      expect(attr.max_mr_size).toBeGreaterThan(0n);
      expect(port.state).toBe('ACTIVE');
      expect(port.active_mtu).toBeGreaterThanOrEqual(1);
      expect(port.active_mtu).toBeLessThanOrEqual(port.max_mtu);
      expect(port.gid_tbl_len).toBeGreaterThan(0);
      if (port.link_layer === 'Ethernet') expect(port.lid).toBe(0);
      expect(gid.gid).toMatch(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
      expect(await errnoOf(ctx.queryPort(attr.phys_port_cnt + 1))).toBe(EINVAL);
    });

    // ----------------------------------------------------- create/destroy

    it('creates and destroys pd, mr, cq and qp', async () => {
      const pd = await ctx.allocPd(1);
      const mr = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE | Access.REMOTE_READ, 2);
      expect(mr.length).toBe(4096);
      expect(mr.lkey).not.toBe(0);
      const cq = await ctx.createCq(16, null, 0, 3);
      expect(cq.cqe).toBeGreaterThanOrEqual(16);
      const qp = await mkQp(pd, cq);
      expect(qp.qp_num).toBeGreaterThan(1);
      const q = await ctx.queryQp(qp);
      expect(q.attr.qp_state).toBe('RESET');
      expect(q.init.cap.max_send_wr).toBeGreaterThanOrEqual(16);
      await ctx.destroyQp(qp);
      await ctx.destroyCq(cq);
      await ctx.deregMr(mr);
      await ctx.deallocPd(pd);
    });

    it('refuses bad MR access flags with EINVAL', async () => {
      const pd = await ctx.allocPd(1);
      const src = { kind: 'alloc' as const, length: 4096 };
      expect(await errnoOf(ctx.regMr(pd, src, Access.REMOTE_WRITE, 2))).toBe(EINVAL);
      expect(await errnoOf(ctx.regMr(pd, src, Access.REMOTE_ATOMIC | Access.REMOTE_READ, 2))).toBe(EINVAL);
      const ok = await ctx.regMr(pd, src, Access.LOCAL_WRITE | Access.REMOTE_WRITE, 3);
      await ctx.deregMr(ok);
    });

    it('refuses a CQ above max_cqe and a QP above max_qp_wr with EINVAL', async () => {
      const attr = await ctx.queryDevice();
      expect(await errnoOf(ctx.createCq(attr.max_cqe + 1, null, 0, 1))).toBe(EINVAL);
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(4, null, 0, 2);
      const cap = { max_send_wr: attr.max_qp_wr + 1, max_recv_wr: 1, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 };
      expect(await errnoOf(ctx.createQp(pd, { qp_type: 'RC', send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false, cap }, 3))).toBe(EINVAL);
      const cap2 = { ...cap, max_send_wr: 1, max_send_sge: attr.max_sge + 1 };
      expect(await errnoOf(ctx.createQp(pd, { qp_type: 'RC', send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false, cap: cap2 }, 3))).toBe(EINVAL);
    });

    it('answers EBUSY when a PD with a live MR is deallocated, and the MR keeps working', async () => {
      const pd = await ctx.allocPd(1);
      const mr = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 2);
      expect(await errnoOf(ctx.deallocPd(pd))).toBe(EBUSY);
      mem(mr).write(100, Buffer.from('still here'));
      expect(mem(mr).read(100, 10).toString()).toBe('still here');
      const cq = await ctx.createCq(4, null, 0, 3);
      expect(await errnoOf(ctx.destroyCq(cq)), 'an unused CQ goes').toBe('no error');
      await ctx.deregMr(mr);
      await ctx.deallocPd(pd);
    });

    it('answers EBUSY when a CQ used by a QP is destroyed', async () => {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(4, null, 0, 2);
      const qp = await mkQp(pd, cq);
      expect(await errnoOf(ctx.destroyCq(cq))).toBe(EBUSY);
      await ctx.destroyQp(qp);
      await ctx.destroyCq(cq);
    });

    // ------------------------------------------------------ state machine

    it('walks RESET -> INIT -> RTR -> RTS and reports each state', async () => {
      const { a } = await rcPair();
      expect((await ctx.queryQp(a)).attr.qp_state).toBe('RTS');
      await ctx.modifyQp(a, { qp_state: 'ERR' }, M.STATE);
      expect((await ctx.queryQp(a)).attr.qp_state).toBe('ERR');
      await ctx.modifyQp(a, { qp_state: 'RESET' }, M.STATE);
      expect((await ctx.queryQp(a)).attr.qp_state).toBe('RESET');
    });

    interface Illegal {
      what: string;
      from: QpState;
      attr: () => Partial<QpAttr>;
      mask: number;
    }
    const initAttr = (): Partial<QpAttr> => ({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: Access.LOCAL_WRITE });
    const ILLEGAL: Illegal[] = [
      { what: 'RESET -> RTR', from: 'RESET', attr: () => ({ qp_state: 'RTR' }), mask: M.STATE },
      { what: 'RESET -> RTS', from: 'RESET', attr: () => ({ qp_state: 'RTS' }), mask: M.STATE },
      { what: 'RESET -> INIT without PORT', from: 'RESET', attr: initAttr, mask: M.STATE | M.PKEY_INDEX | M.ACCESS_FLAGS },
      { what: 'RESET -> INIT without ACCESS_FLAGS', from: 'RESET', attr: initAttr, mask: M.STATE | M.PKEY_INDEX | M.PORT },
      { what: 'RESET -> INIT with an extra QKEY (RC)', from: 'RESET', attr: () => ({ ...initAttr(), qkey: 1 }), mask: M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS | M.QKEY },
      { what: 'RESET -> INIT with a bad port', from: 'RESET', attr: () => ({ ...initAttr(), port_num: 9 }), mask: M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS },
      { what: 'INIT -> RTS', from: 'INIT', attr: () => ({ qp_state: 'RTS', sq_psn: 0 }), mask: M.STATE | M.SQ_PSN },
      { what: 'INIT -> RTR without DEST_QPN', from: 'INIT', attr: () => ({ qp_state: 'RTR', path_mtu: 1, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12 }), mask: (M.STATE | M.AV | M.PATH_MTU | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER) },
      { what: 'INIT -> RTR with SQ_PSN (not allowed there)', from: 'INIT', attr: () => ({ qp_state: 'RTR', path_mtu: 1, dest_qp_num: 1, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, sq_psn: 0 }), mask: -1 },
      { what: 'RTR -> RTS without RETRY_CNT', from: 'RTR', attr: () => ({ qp_state: 'RTS', timeout: 14, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 }), mask: M.STATE | M.TIMEOUT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC },
      { what: 'RTS -> RTR', from: 'RTS', attr: () => ({ qp_state: 'RTR' }), mask: M.STATE },
      { what: 'RTS -> INIT', from: 'RTS', attr: () => ({ qp_state: 'INIT' }), mask: M.STATE },
      { what: 'ERR -> RTS', from: 'ERR', attr: () => ({ qp_state: 'RTS' }), mask: M.STATE },
    ];

    it.each(ILLEGAL)('refuses $what with EINVAL and keeps the state', async (c) => {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(8, null, 0, 2);
      const qp = await mkQp(pd, cq);
      if (c.from !== 'RESET') await toInit(qp, 'RC');
      if (c.from === 'RTR' || c.from === 'RTS') await toRtr(qp, qp.qp_num);
      if (c.from === 'RTS') await toRts(qp);
      if (c.from === 'ERR') await ctx.modifyQp(qp, { qp_state: 'ERR' }, M.STATE);
      let mask = c.mask;
      const attr = c.attr();
      if (mask === -1) {
        attr.ah_attr = av();
        mask = RTR_MASK | M.SQ_PSN;
      } else if (mask & M.AV) {
        attr.ah_attr = av();
      }
      expect(await errnoOf(ctx.modifyQp(qp, attr, mask))).toBe(EINVAL);
      expect((await ctx.queryQp(qp)).attr.qp_state).toBe(c.from);
    });

    // ---------------------------------------------------------- data path

    it('moves bytes with RC RDMA WRITE and RDMA READ', async () => {
      const { pd, cq, a, b } = await rcPair();
      const local = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, ALL_REMOTE, 10);
      const remote = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, ALL_REMOTE, 11);
      mem(local).write(0, Buffer.from('written by RDMA WRITE'));
      await ctx.postSend(a, [{
        wr_id: 7n, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr, length: 21, lkey: local.lkey }], remote_addr: remote.addr + 64n, rkey: remote.rkey,
      }]);
      const [w] = await poll(cq, 1);
      expect(w?.status).toBe('SUCCESS');
      expect(w?.wr_id).toBe(7n);
      expect(w?.opcode).toBe('RDMA_WRITE');
      expect(mem(remote).read(64, 21).toString()).toBe('written by RDMA WRITE');

      mem(remote).write(1000, Buffer.from('read me back'));
      await ctx.postSend(b, [{
        wr_id: 8n, opcode: 'RDMA_READ', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr + 2000n, length: 12, lkey: local.lkey }], remote_addr: remote.addr + 1000n, rkey: remote.rkey,
      }]);
      const [r] = await poll(cq, 1);
      expect(r?.status).toBe('SUCCESS');
      expect(r?.opcode).toBe('RDMA_READ');
      expect(mem(local).read(2000, 12).toString()).toBe('read me back');
    });

    it('moves bytes with RC SEND/RECV (with immediate)', async () => {
      const { pd, cq, a, b } = await rcPair();
      const sbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 10);
      const rbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 11);
      await ctx.postRecv(b, [{ wr_id: 100n, sg_list: [{ addr: rbuf.addr, length: 4096, lkey: rbuf.lkey }] }]);
      mem(sbuf).write(0, Buffer.from('hello over RC'));
      await ctx.postSend(a, [{
        wr_id: 1n, opcode: 'SEND_WITH_IMM', send_flags: SendFlags.SIGNALED, imm_data: 0x1234,
        sg_list: [{ addr: sbuf.addr, length: 13, lkey: sbuf.lkey }],
      }]);
      const wcs = await poll(cq, 2);
      const recv = wcs.find((w) => w.wr_id === 100n);
      const send = wcs.find((w) => w.wr_id === 1n);
      expect(send?.status).toBe('SUCCESS');
      expect(send?.opcode).toBe('SEND');
      expect(recv?.status).toBe('SUCCESS');
      expect(recv?.opcode).toBe('RECV');
      expect(recv?.byte_len).toBe(13);
      expect(recv?.qp_num).toBe(b.qp_num);
      expect(recv?.imm_data).toBe(0x1234);
      expect((recv?.wc_flags ?? 0) & 2).toBe(2); // IBV_WC_WITH_IMM
      expect(mem(rbuf).read(0, 13).toString()).toBe('hello over RC');
    });

    it('sends a UD datagram through an AH', async () => {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(16, null, 0, 2);
      const a = await mkQp(pd, cq, 'UD', 3);
      const b = await mkQp(pd, cq, 'UD', 4);
      for (const q of [a, b]) {
        await toInit(q, 'UD');
        await ctx.modifyQp(q, { qp_state: 'RTR' }, M.STATE);
        await ctx.modifyQp(q, { qp_state: 'RTS', sq_psn: 0 }, M.STATE | M.SQ_PSN);
      }
      const ah = await ctx.createAh(pd, av(), 5);
      const sbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 10);
      const rbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 11);
      await ctx.postRecv(b, [{ wr_id: 200n, sg_list: [{ addr: rbuf.addr, length: 40 + 256, lkey: rbuf.lkey }] }]);
      mem(sbuf).write(0, Buffer.from('datagram'));
      await ctx.postSend(a, [{
        wr_id: 2n, opcode: 'SEND', send_flags: SendFlags.SIGNALED, ah, remote_qpn: b.qp_num, remote_qkey: 0x11111111,
        sg_list: [{ addr: sbuf.addr, length: 8, lkey: sbuf.lkey }],
      }]);
      const wcs = await poll(cq, 2);
      const recv = wcs.find((w) => w.wr_id === 200n);
      expect(wcs.find((w) => w.wr_id === 2n)?.status).toBe('SUCCESS');
      expect(recv?.status).toBe('SUCCESS');
      expect(recv?.byte_len).toBe(8 + 40); // the GRH comes first
      expect(recv?.src_qp).toBe(a.qp_num);
      expect(mem(rbuf).read(40, 8).toString()).toBe('datagram');
      await ctx.destroyQp(a);
      await ctx.destroyQp(b);
      await ctx.destroyAh(ah);
    });

    it('notifies a completion through the CQ channel once armed', async () => {
      const pd = await ctx.allocPd(1);
      const ch = await ctx.createCompChannel(50);
      const cq = await ctx.createCq(16, ch, 0, 51);
      const a = await mkQp(pd, cq, 'RC', 3);
      const b = await mkQp(pd, cq, 'RC', 4);
      await connectRc(a, b);
      expect(await errnoOf(ctx.destroyCompChannel(ch))).toBe(EBUSY);
      const buf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, ALL_REMOTE, 10);
      await ctx.reqNotifyCq(cq, false);
      await ctx.postSend(a, [{
        wr_id: 9n, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: buf.addr, length: 8, lkey: buf.lkey }], remote_addr: buf.addr + 512n, rkey: buf.rkey,
      }]);
      await waitFor(() => events.some((e) => e.kind === 'completion'), 'a completion event');
      const ev = events.find((e) => e.kind === 'completion');
      expect(ev).toEqual({ kind: 'completion', cq: 51, channel: 50 });
      expect((await poll(cq, 1))[0]?.status).toBe('SUCCESS');
      await ctx.destroyQp(a);
      await ctx.destroyQp(b);
      await ctx.destroyCq(cq);
      await ctx.destroyCompChannel(ch);
    });

    it('flushes posted receives when the QP moves to ERR', async () => {
      const { pd, cq, b } = await rcPair();
      const rbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 10);
      await ctx.postRecv(b, [1n, 2n, 3n].map((id) => ({ wr_id: id, sg_list: [{ addr: rbuf.addr, length: 64, lkey: rbuf.lkey }] })));
      await ctx.modifyQp(b, { qp_state: 'ERR' }, M.STATE);
      const wcs = await poll(cq, 3);
      expect(wcs.map((w) => w.status)).toEqual(['WR_FLUSH_ERR', 'WR_FLUSH_ERR', 'WR_FLUSH_ERR']);
      expect(wcs.map((w) => w.wr_id)).toEqual([1n, 2n, 3n]);
    });

    it('binds a type 1 memory window and RDMA READs through its rkey', async () => {
      if (!ctx.implemented('allocMw')) return;
      const { pd, cq, a, b } = await rcPair();
      const target = await ctx.regMr(pd, { kind: 'alloc', length: 8192 }, Access.LOCAL_WRITE | Access.REMOTE_READ | Access.MW_BIND, 10);
      const local = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 11);
      const mw = await ctx.allocMw(pd, 1, 12);
      mem(target).write(4096, Buffer.from('behind a window'));
      const rkey = await ctx.bindMw(b, mw, {
        wr_id: 30n, send_flags: SendFlags.SIGNALED, mr: target, addr: target.addr + 4096n, length: 4096, mw_access_flags: Access.REMOTE_READ,
      });
      expect(rkey).not.toBe(target.rkey);
      const [bw] = await poll(cq, 1);
      expect(bw).toMatchObject({ wr_id: 30n, status: 'SUCCESS', opcode: 'BIND_MW' });
      expect(mw.rkey).toBe(rkey);
      await ctx.postSend(a, [{
        wr_id: 31n, opcode: 'RDMA_READ', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr, length: 15, lkey: local.lkey }], remote_addr: target.addr + 4096n, rkey,
      }]);
      const [rd] = await poll(cq, 1);
      expect(rd?.status).toBe('SUCCESS');
      expect(mem(local).read(0, 15).toString()).toBe('behind a window');
      await ctx.destroyQp(a);
      await ctx.destroyQp(b);
      await ctx.deallocMw(mw);
      await ctx.deregMr(target);
    });

    /** Type 2 windows: the device lists MEM_WINDOW_TYPE_2B (IBV_DEVICE_MEM_WINDOW_TYPE_2B = 1 << 24). */
    async function type2Windows(): Promise<boolean> {
      if (!ctx.implemented('allocMw')) return false;
      const attr = await ctx.queryDevice();
      return attr.max_mw > 0 && (attr.device_cap_flags & (1 << 24)) !== 0;
    }

    /** The rkey a bind asks for: the window's rkey with the next key byte. */
    const nextKey = (rkey: number): number => ((rkey & ~0xff) | ((rkey + 1) & 0xff)) >>> 0;

    async function postBind(qp: QpRef, mw: MwRef, mr: MrRef, wrId: bigint, access: number, rkey = nextKey(mw.rkey)): Promise<number> {
      await ctx.postSend(qp, [{
        wr_id: wrId, opcode: 'BIND_MW', send_flags: SendFlags.SIGNALED, sg_list: [],
        bind_mw: { mw, rkey, mr, addr: mr.addr + 4096n, length: 4096, mw_access_flags: access },
      }]);
      return rkey;
    }

    it('binds a type 2 window with a BIND_MW WR, WRITEs and READs through it, and LOCAL_INV revokes it', async () => {
      if (!(await type2Windows())) return;
      const { pd, cq, a, b } = await rcPair();
      const target = await ctx.regMr(pd, { kind: 'alloc', length: 8192 }, ALL_REMOTE | Access.MW_BIND, 10);
      const local = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 11);
      const mw = await ctx.allocMw(pd, 2, 12);
      expect(mw.type).toBe(2);
      const before = mw.rkey;
      const rkey = await postBind(b, mw, target, 40n, Access.REMOTE_WRITE | Access.REMOTE_READ);
      const [bw] = await poll(cq, 1);
      expect(bw).toMatchObject({ wr_id: 40n, status: 'SUCCESS', opcode: 'BIND_MW' });
      expect(mw.rkey).toBe(rkey);
      expect(mw.rkey).not.toBe(before);

      mem(local).write(0, Buffer.from('through a type 2 window'));
      await ctx.postSend(a, [{
        wr_id: 41n, opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr, length: 23, lkey: local.lkey }], remote_addr: target.addr + 4096n + 100n, rkey,
      }]);
      const [wr] = await poll(cq, 1);
      expect(wr).toMatchObject({ wr_id: 41n, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
      expect(mem(target).read(4096 + 100, 23).toString()).toBe('through a type 2 window');

      mem(target).write(4096 + 2000, Buffer.from('read back'));
      await ctx.postSend(a, [{
        wr_id: 42n, opcode: 'RDMA_READ', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr + 512n, length: 9, lkey: local.lkey }], remote_addr: target.addr + 4096n + 2000n, rkey,
      }]);
      const [rd] = await poll(cq, 1);
      expect(rd).toMatchObject({ wr_id: 42n, status: 'SUCCESS', opcode: 'RDMA_READ' });
      expect(mem(local).read(512, 9).toString()).toBe('read back');

      await ctx.postSend(b, [{ wr_id: 43n, opcode: 'LOCAL_INV', send_flags: SendFlags.SIGNALED, sg_list: [], invalidate_rkey: rkey }]);
      const [inv] = await poll(cq, 1);
      expect(inv).toMatchObject({ wr_id: 43n, status: 'SUCCESS', opcode: 'LOCAL_INV' });

      await ctx.postSend(a, [{
        wr_id: 44n, opcode: 'RDMA_READ', send_flags: SendFlags.SIGNALED,
        sg_list: [{ addr: local.addr + 1024n, length: 9, lkey: local.lkey }], remote_addr: target.addr + 4096n + 2000n, rkey,
      }]);
      const [gone] = await poll(cq, 1);
      expect(gone).toMatchObject({ wr_id: 44n, status: 'REM_ACCESS_ERR' });
      await ctx.destroyQp(a);
      await ctx.destroyQp(b);
      await ctx.deallocMw(mw);
      await ctx.deregMr(target);
    });

    it('refuses type 2 binds without MW_BIND, granting write without LOCAL_WRITE, on another PD, or of a bound window', async () => {
      if (!(await type2Windows())) return;
      const one = await rcPair();
      const two = await rcPair();
      const cases: { qp: QpRef; mw: MwRef; mr: MrRef; access: number; bound?: boolean }[] = [
        // C10-73: the MR was registered without MW_BIND.
        { qp: one.a, mw: await ctx.allocMw(one.pd, 2, 20), mr: await ctx.regMr(one.pd, { kind: 'alloc', length: 8192 }, ALL_REMOTE, 21), access: Access.REMOTE_READ },
        // C10-72: the window is on another PD than the QP.
        { qp: one.b, mw: await ctx.allocMw(two.pd, 2, 22), mr: await ctx.regMr(two.pd, { kind: 'alloc', length: 8192 }, ALL_REMOTE | Access.MW_BIND, 23), access: Access.REMOTE_READ },
        // C10-74: remote write through a window on an MR without local write.
        { qp: two.a, mw: await ctx.allocMw(two.pd, 2, 24), mr: await ctx.regMr(two.pd, { kind: 'alloc', length: 8192 }, Access.REMOTE_READ | Access.MW_BIND, 25), access: Access.REMOTE_WRITE },
        // o10-37.2.30: a type 2 window binds only when free (not bound, or invalidated).
        { qp: two.b, mw: await ctx.allocMw(two.pd, 2, 26), mr: await ctx.regMr(two.pd, { kind: 'alloc', length: 8192 }, ALL_REMOTE | Access.MW_BIND, 27), access: Access.REMOTE_READ, bound: true },
      ];
      for (const [i, c] of cases.entries()) {
        const cq = c.qp === one.a || c.qp === one.b ? one.cq : two.cq;
        if (c.bound) {
          await postBind(c.qp, c.mw, c.mr, 60n, c.access);
          expect((await poll(cq, 1))[0]).toMatchObject({ wr_id: 60n, status: 'SUCCESS', opcode: 'BIND_MW' });
        }
        await postBind(c.qp, c.mw, c.mr, 50n + BigInt(i), c.access);
        const [w] = await poll(cq, 1);
        expect(w, `case ${i}`).toMatchObject({ wr_id: 50n + BigInt(i), status: 'MW_BIND_ERR' });
        const q = await ctx.queryQp(c.qp);
        expect(q.attr.qp_state, `case ${i}`).toBe('ERR');
      }
    });

    it('answers EINVAL for a BIND_MW WR without bind fields', async () => {
      if (!(await type2Windows())) return;
      const { a } = await rcPair();
      expect(await errnoOf(ctx.postSend(a, [{ wr_id: 1n, opcode: 'BIND_MW', send_flags: SendFlags.SIGNALED, sg_list: [] }]))).toBe(EINVAL);
    });

    it('creates XRC QPs and XRC SRQs only where XRC domains exist (EOPNOTSUPP elsewhere)', async () => {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(16, null, 0, 2);
      const cap = { max_send_wr: 4, max_recv_wr: 0, max_send_sge: 1, max_recv_sge: 0, max_inline_data: 0 };
      const srqAttr = { max_wr: 4, max_sge: 1, srq_limit: 0 };
      if (!ctx.implemented('openXrcd')) {
        expect(await errnoOf(ctx.openXrcd(3))).toBe(EOPNOTSUPP);
        for (const qp_type of ['XRC_SEND', 'XRC_RECV'] as const) {
          expect(await errnoOf(ctx.createQp(pd, { qp_type, send_cq: cq, recv_cq: cq, srq: null, cap, sq_sig_all: false }, 4))).toBe(EOPNOTSUPP);
        }
        if (ctx.implemented('createSrq')) {
          expect(await errnoOf(ctx.createSrq(pd, { ...srqAttr, srq_type: 'XRC', cq }, 5))).toBe(EOPNOTSUPP);
        }
        return;
      }
      const xrcd = await ctx.openXrcd(3);
      const srq = await ctx.createSrq(pd, { ...srqAttr, srq_type: 'XRC', xrcd, cq }, 5);
      expect(srq.srq_num).toBeGreaterThan(0);
      const recv = await ctx.createQp(pd, { qp_type: 'XRC_RECV', send_cq: cq, recv_cq: cq, srq: null, cap, sq_sig_all: false, xrcd }, 6);
      const send = await ctx.createQp(pd, { qp_type: 'XRC_SEND', send_cq: cq, recv_cq: cq, srq: null, cap, sq_sig_all: false }, 7);
      expect(recv.qp_type).toBe('XRC_RECV');
      expect(send.qp_type).toBe('XRC_SEND');
      await ctx.destroyQp(send);
      await ctx.destroyQp(recv);
      await ctx.destroySrq(srq);
      await ctx.closeXrcd(xrcd);
    });

    it('receives through an SRQ, reports its attributes and raises SRQ_LIMIT_REACHED', async () => {
      if (!ctx.implemented('createSrq')) return;
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(32, null, 0, 2);
      const srq = await ctx.createSrq(pd, { max_wr: 16, max_sge: 1, srq_limit: 0 }, 40);
      const q = await ctx.querySrq(srq);
      expect(q.max_wr).toBeGreaterThanOrEqual(16);
      expect(q.srq_limit).toBe(0);
      const cap = { max_send_wr: 8, max_recv_wr: 0, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 };
      const a = await ctx.createQp(pd, { qp_type: 'RC', send_cq: cq, recv_cq: cq, srq: null, sq_sig_all: false, cap: { ...cap, max_recv_wr: 8 } }, 3);
      const b = await ctx.createQp(pd, { qp_type: 'RC', send_cq: cq, recv_cq: cq, srq, sq_sig_all: false, cap }, 4);
      await connectRc(a, b);
      const rbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 10);
      const sbuf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 11);
      await ctx.postSrqRecv(srq, [0, 1, 2].map((i) => ({ wr_id: BigInt(50 + i), sg_list: [{ addr: rbuf.addr + BigInt(i * 1024), length: 1024, lkey: rbuf.lkey }] })));
      await ctx.modifySrq(srq, { srq_limit: 3 }, 2 /* IBV_SRQ_LIMIT */);
      expect((await ctx.querySrq(srq)).srq_limit).toBe(3);
      mem(sbuf).write(0, Buffer.from('via the SRQ'));
      await ctx.postSend(a, [{ wr_id: 60n, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [{ addr: sbuf.addr, length: 11, lkey: sbuf.lkey }] }]);
      const wcs = await poll(cq, 2);
      const recv = wcs.find((w) => w.opcode === 'RECV');
      expect(recv).toMatchObject({ status: 'SUCCESS', byte_len: 11, wr_id: 50n, qp_num: b.qp_num });
      expect(mem(rbuf).read(0, 11).toString()).toBe('via the SRQ');
      await waitFor(() => events.some((e) => e.kind === 'async' && e.type === 'SRQ_LIMIT_REACHED'), 'SRQ_LIMIT_REACHED');
      expect(events.find((e) => e.kind === 'async' && e.type === 'SRQ_LIMIT_REACHED')).toEqual({ kind: 'async', type: 'SRQ_LIMIT_REACHED', tag: 40, port: null });
      expect(await errnoOf(ctx.destroySrq(srq))).toBe(EBUSY);
      await ctx.destroyQp(b);
      await ctx.destroySrq(srq);
    });

    it('attaches a UD QP to a multicast group and detaches it', async () => {
      if (!ctx.implemented('attachMcast')) return;
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(8, null, 0, 2);
      const qp = await mkQp(pd, cq, 'UD', 3);
      await toInit(qp, 'UD');
      await ctx.attachMcast(qp, 'ff0e::1:2', 0);
      await ctx.detachMcast(qp, 'ff0e::1:2', 0);
      expect(await errnoOf(ctx.detachMcast(qp, 'ff0e::1:2', 0))).toBe(EINVAL);
      await ctx.destroyQp(qp);
    });

    it('resizes a CQ', async () => {
      const cq = await ctx.createCq(8, null, 0, 2);
      const n = await ctx.resizeCq(cq, 100);
      expect(n).toBeGreaterThanOrEqual(100);
      expect(cq.cqe).toBe(n);
      await ctx.destroyCq(cq);
    });

    it('answers EOPNOTSUPP for the optional ops it does not implement', async () => {
      if (!ctx.implemented('openXrcd')) expect(await errnoOf(ctx.openXrcd(1))).toBe(95);
      if (!ctx.implemented('createAh')) expect(await errnoOf(ctx.createAh(await ctx.allocPd(9), { grh: null, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1 }, 10))).toBe(95);
      if (!ctx.implemented('createFlow')) {
        const pd = await ctx.allocPd(1);
        const cq = await ctx.createCq(8, null, 0, 2);
        const qp = await mkQp(pd, cq, 'UD', 3);
        const attr = { type: 'NORMAL' as const, priority: 0, port: 1, flags: 0, specs: [{ type: 'ETH' as const, dst_mac: '02:00:00:00:00:01' }] };
        expect(await errnoOf(ctx.createFlow(qp, attr, 4))).toBe(95);
      }
    });

    it('destroys a CQ whose channel delivered events, without anyone acknowledging them', async () => {
      const { pd, a } = await rcPair();
      const ch = await ctx.createCompChannel(70);
      const cq = await ctx.createCq(16, ch, 0, 71);
      const qp = await mkQp(pd, cq, 'RC', 72);
      await toInit(qp, 'RC');
      await toRtr(qp, qp.qp_num);
      await toRts(qp);
      const buf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, ALL_REMOTE, 10);
      for (let i = 0; i < 3; i++) {
        await ctx.reqNotifyCq(cq, false);
        await ctx.postSend(qp, [{
          wr_id: BigInt(i), opcode: 'RDMA_WRITE', send_flags: SendFlags.SIGNALED,
          sg_list: [{ addr: buf.addr, length: 8, lkey: buf.lkey }], remote_addr: buf.addr + 1024n, rkey: buf.rkey,
        }]);
        const want = i + 1;
        await waitFor(() => events.filter((e) => e.kind === 'completion' && e.cq === 71).length >= want, `completion event ${want}`);
        await poll(cq, 1);
      }
      void a;
      await ctx.destroyQp(qp);
      await ctx.destroyCq(cq);
      await ctx.destroyCompChannel(ch);
    });

    it('refuses post_send before RTS', async () => {
      const pd = await ctx.allocPd(1);
      const cq = await ctx.createCq(8, null, 0, 2);
      const qp = await mkQp(pd, cq);
      const buf = await ctx.regMr(pd, { kind: 'alloc', length: 4096 }, Access.LOCAL_WRITE, 10);
      const wr = { wr_id: 1n, opcode: 'SEND' as const, send_flags: SendFlags.SIGNALED, sg_list: [{ addr: buf.addr, length: 8, lkey: buf.lkey }] };
      await toInit(qp, 'RC');
      expect(await errnoOf(ctx.postSend(qp, [wr]))).toBe(EINVAL);
      await toRtr(qp, qp.qp_num);
      expect(await errnoOf(ctx.postSend(qp, [wr]))).toBe(EINVAL);
    });
  });
}
