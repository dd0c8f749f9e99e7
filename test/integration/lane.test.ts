/**
 * The fast lane against a real daemon (child process; the sim by default,
 * rxe0 in the VM with RDMA_BROKER_FD_DEVICE=rxe0): the data path through
 * shared-memory rings, both wait modes, every opcode, index wrap-around,
 * isolation between sessions, completion-ring overflow, ordering with the
 * gRPC path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE, SLOW, settle, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';
import { LANE_DAEMON_ARGS, lanePair, spinFor, writeWr, type LanePair } from './lane-support.js';
import type { RdmaObject } from '../../src/client/index.js';

let d: FdDaemon;

beforeAll(async () => {
  d = await spawnFdDaemon('lane', [...LANE_DAEMON_ARGS]);
  await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

describe('RDMA WRITE through the lane', () => {
  for (const mode of ['spin', 'wait'] as const) {
    it(`${mode}: the completion arrives in the ring and the bytes in the target`, async () => {
      const p = await lanePair(d.socket);
      try {
        const data = Buffer.alloc(4096, 0);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
        p.src.memory.write(0, data);
        const idx = p.lane.postSend(p.a, [writeWr(p, 77, 0, data.length)]);
        expect(typeof idx).toBe('number');
        const wcs = mode === 'spin' ? await spinFor(p.lane, p.cq, 1) : await p.lane.waitCompletions(p.cq, 1, 10_000 * SLOW);
        expect(wcs).toHaveLength(1);
        expect(wcs[0]).toMatchObject({ wr_id: 77n, status: 'SUCCESS', opcode: 'RDMA_WRITE', qp_num: p.a.num('qp_num') });
        expect(p.dst.memory.read(0, data.length).equals(data)).toBe(true);
        expect(p.lane.errors()).toEqual([]);
      } finally {
        await p.close();
      }
    });
  }

  it('32 WRs per doorbell, several SGEs each, complete in order', async () => {
    const p = await lanePair(d.socket);
    try {
      p.src.memory.fill(0, 1 << 16, 0x5a);
      const wrs = Array.from({ length: 32 }, (_, i) => ({
        wr_id: i, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
        sg_list: [0, 1, 2].map((k) => ({ addr: p.src.addr + BigInt(i * 96 + k * 32), length: 32, lkey: p.src.lkey })),
        remote_addr: p.dst.addr + BigInt(i * 96), rkey: p.dst.rkey,
      }));
      p.lane.postSend(p.a, wrs);
      const wcs = await spinFor(p.lane, p.cq, 32);
      expect(wcs.map((w) => Number(w.wr_id))).toEqual([...Array(32).keys()]);
      expect(wcs.every((w) => w.status === 'SUCCESS')).toBe(true);
      expect(p.dst.memory.read(0, 32 * 96).every((b) => b === 0x5a)).toBe(true);
    } finally {
      await p.close();
    }
  });
});

describe('every opcode of the gRPC path', () => {
  let p: LanePair;
  beforeAll(async () => {
    p = await lanePair(d.socket);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('SEND_WITH_IMM to a posted receive, RDMA_WRITE_WITH_IMM', async () => {
    p.src.memory.write(0, Buffer.from('hello lane'));
    p.lane.postRecv(p.b, [{ wr_id: 500, sg_list: [{ addr: p.dst.addr + 1000n, length: 64, lkey: p.dst.lkey }] }, { wr_id: 501, sg_list: [] }]);
    p.lane.postSend(p.a, [
      { wr_id: 1, opcode: 'SEND_WITH_IMM', send_flags: ['SIGNALED'], imm_data: 0xdeadbeef, sg_list: [{ addr: p.src.addr, length: 10, lkey: p.src.lkey }] },
      { wr_id: 2, opcode: 'RDMA_WRITE_WITH_IMM', send_flags: ['SIGNALED'], imm_data: 7, sg_list: [{ addr: p.src.addr, length: 10, lkey: p.src.lkey }], remote_addr: p.dst.addr + 2000n, rkey: p.dst.rkey },
    ]);
    const wcs = await spinFor(p.lane, p.cq, 4);
    const by = new Map(wcs.map((w) => [Number(w.wr_id), w]));
    expect(by.get(1)).toMatchObject({ status: 'SUCCESS', opcode: 'SEND' });
    expect(by.get(2)).toMatchObject({ status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    expect(by.get(500)).toMatchObject({ status: 'SUCCESS', opcode: 'RECV', byte_len: 10 });
    expect(by.get(500)!.wc_flags & 2).toBe(2);
    const imm500 = by.get(500)!.imm_data;
    expect([0xdeadbeef, 0xefbeadde]).toContain(imm500);
    expect(by.get(501)).toMatchObject({ status: 'SUCCESS', opcode: 'RECV_RDMA_WITH_IMM' });
    expect(p.dst.memory.read(1000, 10).toString()).toBe('hello lane');
    expect(p.dst.memory.read(2000, 10).toString()).toBe('hello lane');
  });

  it('RDMA_READ and both atomics', async () => {
    p.dst.memory.write(4096, Buffer.from('read me back'));
    const v = Buffer.alloc(8);
    v.writeBigUInt64LE(40n);
    p.dst.memory.write(8192, v);
    p.lane.postSend(p.a, [
      { wr_id: 10, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr + 4096n, length: 12, lkey: p.src.lkey }], remote_addr: p.dst.addr + 4096n, rkey: p.dst.rkey },
      { wr_id: 11, opcode: 'ATOMIC_FETCH_AND_ADD', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr + 8192n, length: 8, lkey: p.src.lkey }], remote_addr: p.dst.addr + 8192n, rkey: p.dst.rkey, compare_add: 2n },
      { wr_id: 12, opcode: 'ATOMIC_CMP_AND_SWP', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr + 8200n, length: 8, lkey: p.src.lkey }], remote_addr: p.dst.addr + 8192n, rkey: p.dst.rkey, compare_add: 42n, swap: 99n },
    ]);
    const wcs = await spinFor(p.lane, p.cq, 3);
    expect(wcs.map((w) => [Number(w.wr_id), w.status, w.opcode])).toEqual([[10, 'SUCCESS', 'RDMA_READ'], [11, 'SUCCESS', 'FETCH_ADD'], [12, 'SUCCESS', 'COMP_SWAP']]);
    expect(p.src.memory.read(4096, 12).toString()).toBe('read me back');
    expect(p.src.memory.read(8192, 8).readBigUInt64LE()).toBe(40n);
    expect(p.src.memory.read(8200, 8).readBigUInt64LE()).toBe(42n);
    expect(p.dst.memory.read(8192, 8).readBigUInt64LE()).toBe(99n);
  });

  it('a send the device refuses becomes an error record, and the WRs after it are still posted', async () => {
    // 11 SGEs do not fit an entry (BAD_ENTRY, refused by the client library itself); an atomic of 4 bytes the device refuses.
    expect(() => p.lane.postSend(p.a, [{ opcode: 'SEND', sg_list: Array.from({ length: 11 }, () => ({ addr: 0, length: 0, lkey: 0 })) }])).toThrow(RangeError);
    const first = p.lane.postSend(p.a, [
      { wr_id: 20, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr, length: 8, lkey: p.src.lkey }], remote_addr: p.dst.addr, rkey: p.dst.rkey },
      { wr_id: 21, opcode: 9 + 1, send_flags: ['SIGNALED'] },
      { wr_id: 22, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr, length: 8, lkey: p.src.lkey }], remote_addr: p.dst.addr, rkey: p.dst.rkey },
    ]);
    const wcs = await spinFor(p.lane, p.cq, 2);
    expect(wcs.map((w) => Number(w.wr_id))).toEqual([20, 22]);
    const errs = p.lane.errors();
    expect(errs).toMatchObject([{ sqIndex: (first + 1) >>> 0, code: 'BAD_ENTRY', wrId: 21n, kind: 1, opcode: 10 }]);
  });
});

describe('SRQ receives through the lane', () => {
  it('a SEND lands in a buffer posted to the SRQ', async () => {
    const p = await lanePair(d.socket, { srq: true });
    try {
      const srq = (p as LanePair & { srq: RdmaObject }).srq;
      p.lane.postSrqRecv(srq, [{ wr_id: 900, sg_list: [{ addr: p.dst.addr + 64n, length: 32, lkey: p.dst.lkey }] }]);
      p.src.memory.write(0, Buffer.from('via the srq'));
      p.lane.postSend(p.a, [{ wr_id: 901, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [{ addr: p.src.addr, length: 11, lkey: p.src.lkey }] }]);
      const wcs = await spinFor(p.lane, p.cq, 2);
      expect(new Set(wcs.map((w) => `${w.wr_id}:${w.status}:${w.opcode}`))).toEqual(new Set(['900:SUCCESS:RECV', '901:SUCCESS:SEND']));
      expect(p.dst.memory.read(64, 11).toString()).toBe('via the srq');
    } finally {
      await p.close();
    }
  });
});

describe('index wrap-around', () => {
  it('indices that start just below 2^32 wrap in every ring, over many ring lengths', async () => {
    const p = await lanePair(d.socket, { lane: { sqEntries: 8, cqEntries: 8, cqRings: 1, startIndex: 0xffff_fff0 } });
    try {
      let done = 0;
      for (let round = 0; round < 40; round++) {
        const k = 1 + (round % 8);
        const first = p.lane.postSend(p.a, Array.from({ length: k }, (_, i) => writeWr(p, done + i, (done + i) * 8 % 4096, 8)));
        expect(first).toBe((0xffff_fff0 + done) >>> 0);
        const wcs = await spinFor(p.lane, p.cq, k);
        expect(wcs.map((w) => Number(w.wr_id))).toEqual(Array.from({ length: k }, (_, i) => done + i));
        done += k;
      }
      expect(done).toBeGreaterThan(16 * 8);
      expect(p.lane.errors()).toEqual([]);
    } finally {
      await p.close();
    }
  });
});

describe('isolation', () => {
  it('another session\'s QP, MR, AH or CQ named in this lane gives error records and nothing is posted on them', async () => {
    const mine = await lanePair(d.socket);
    const other = await lanePair(d.socket);
    try {
      other.dst.memory.fill(0, 4096, 0);
      mine.src.memory.fill(0, 4096, 0xee);
      const first = mine.lane.postSend(other.a, [{
        wr_id: 1, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
        sg_list: [{ addr: other.src.addr, length: 64, lkey: other.src.lkey }], remote_addr: other.dst.addr, rkey: other.dst.rkey,
      }]);
      mine.lane.postRecv(other.b, [{ wr_id: 2 }]);
      mine.lane.postSend(mine.a, [{ wr_id: 3, opcode: 'SEND', ah: other.pd, sg_list: [] }]);
      mine.lane.reqNotify(other.cq);
      mine.lane.postSend(mine.a, [writeWr(mine, 4, 0, 64)]);
      const wcs = await spinFor(mine.lane, mine.cq, 1);
      expect(Number(wcs[0]!.wr_id)).toBe(4);
      // The records of the first four (the fifth, ours, completed).
      const errs = mine.lane.errors();
      await waitFor(() => {
        errs.push(...mine.lane.errors());
        return errs.length >= 4 ? true : null;
      }, 5000, 'four error records');
      // Records name their entry (a turn writes them as it meets them, not in submission order).
      expect(errs.map((e) => [e.sqIndex - first, e.code]).sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([[0, 'NO_SUCH_HANDLE'], [1, 'NO_SUCH_HANDLE'], [2, 'NO_SUCH_HANDLE'], [3, 'NOT_ATTACHED']]);
      // Nothing reached the other session's objects.
      expect(other.dst.memory.read(0, 4096).every((b) => b === 0)).toBe(true);
      expect(other.lane.poll(other.cq, 16)).toEqual([]);
      expect(await other.s.pollCq(other.cq, 16)).toEqual([]);
    } finally {
      await mine.close();
      await other.close();
    }
  });

  it('SGEs and inline data must lie in this session\'s MRs: another session\'s lkey or address is BAD_RANGE, its bytes never read', async () => {
    const mine = await lanePair(d.socket);
    const other = await lanePair(d.socket);
    try {
      other.src.memory.write(0, Buffer.from('secret of the other session'));
      mine.src.memory.write(0, Buffer.from('mine, inline'));
      mine.dst.memory.fill(0, 4096, 0);
      const first = mine.lane.postSend(mine.a, [
        { wr_id: 1, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: other.src.addr, length: 27, lkey: other.src.lkey }], remote_addr: mine.dst.addr, rkey: mine.dst.rkey },
        { wr_id: 2, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED', 'INLINE'], sg_list: [{ addr: other.src.addr, length: 27, lkey: mine.src.lkey }], remote_addr: mine.dst.addr + 64n, rkey: mine.dst.rkey },
        { wr_id: 3, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED', 'INLINE'], sg_list: [{ addr: 4096n, length: 8, lkey: 0 }], remote_addr: mine.dst.addr + 128n, rkey: mine.dst.rkey },
        { wr_id: 4, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED', 'INLINE'], sg_list: [{ addr: mine.src.addr, length: 12, lkey: 0 }], remote_addr: mine.dst.addr + 192n, rkey: mine.dst.rkey },
      ]);
      mine.lane.postRecv(mine.b, [{ wr_id: 5, sg_list: [{ addr: other.dst.addr, length: 16, lkey: other.dst.lkey }] }]);
      const wcs = await spinFor(mine.lane, mine.cq, 1);
      expect(wcs).toMatchObject([{ wr_id: 4n, status: 'SUCCESS' }]);
      expect(mine.dst.memory.read(192, 12).toString()).toBe('mine, inline');
      const errs = await waitFor(() => {
        const e = mine.lane.errors();
        return e.length > 0 ? e : null;
      }, 5000, 'error records');
      while (errs.length < 4) errs.push(...mine.lane.errors());
      expect(errs.map((e) => [e.sqIndex - first, e.code, e.errno])).toEqual([[0, 'BAD_RANGE', 22], [1, 'BAD_RANGE', 22], [2, 'BAD_RANGE', 22], [4, 'BAD_RANGE', 22]]);
      expect(mine.dst.memory.read(0, 64).every((b) => b === 0)).toBe(true);
      expect(mine.dst.memory.read(64, 64).every((b) => b === 0)).toBe(true);
    } finally {
      await mine.close();
      await other.close();
    }
  });

  it('attaching another session\'s CQ, or one without a channel, is refused', async () => {
    const mine = await lanePair(d.socket);
    const other = await lanePair(d.socket);
    try {
      await expect(mine.lane.attachCq(other.cq)).rejects.toMatchObject({ codeName: 'NOT_FOUND' });
      const bare = await mine.s.createCq(DEVICE, 8);
      await expect(mine.lane.attachCq(bare)).rejects.toThrow(/no completion channel/);
    } finally {
      await mine.close();
      await other.close();
    }
  });
});

describe('a client that stops draining its completion ring', () => {
  it('gets the device CQ\'s overflow (CQ_ERR), the ring holds what fits, and the daemon holds nothing', async () => {
    const p = await lanePair(d.socket, { cqe: 16, maxSendWr: 64, lane: { cqEntries: 8, cqRings: 1 } });
    const events = p.s.events();
    try {
      // 8 in the ring, 16 in the device CQ, the rest overflow it.
      for (let i = 0; i < 48; i += 8) {
        p.lane.postSend(p.a, Array.from({ length: 8 }, (_, k) => writeWr(p, i + k, 0, 8)));
        await new Promise((r) => setTimeout(r, 20 * SLOW));
      }
      let cqErr = false;
      const t = setTimeout(() => events.cancel(), 5000 * SLOW);
      for await (const e of events) {
        if (e.eventType === 'CQ_ERR' && e.handle === p.cq.handle) {
          cqErr = true;
          break;
        }
      }
      clearTimeout(t);
      expect(cqErr).toBe(true);
      // The ring is full (8) and marked stalled; what is beyond stays (or was lost) in the device CQ.
      const got = p.lane.poll(p.cq, 64);
      expect(got).toHaveLength(8);
      expect(got.map((w) => Number(w.wr_id))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      // Lost send completions leave their QP as it is (rxe's completer ignores the refused post).
      expect((await p.a.query()).attrs.qp_state).toBe('RTS');
    } finally {
      events.cancel();
      await p.close();
    }
  });
});

describe('ordering with the gRPC path', () => {
  it('lane WRs and gRPC WRs on one QP reach the device in the order the client issued them', async () => {
    const p = await lanePair(d.socket);
    try {
      const order: number[] = [];
      for (let i = 0; i < 24; i++) {
        // Lane WRs without a doorbell: only the gRPC post makes the daemon look at the ring.
        if (i % 3 === 2) await p.s.postSend(p.a, [writeWr(p, i, i * 8, 8) as never]);
        else p.lane.postSend(p.a, [writeWr(p, i, i * 8, 8)], { doorbell: false });
        order.push(i);
      }
      p.lane.ring();
      const wcs = await spinFor(p.lane, p.cq, 24);
      expect(wcs.map((w) => Number(w.wr_id))).toEqual(order);
    } finally {
      await p.close();
    }
  });
});

describe('--fast-lane-spin: a worker thread busy-polls the lanes', () => {
  let sd: FdDaemon;
  beforeAll(async () => {
    sd = await spawnFdDaemon('lane-spin', ['--fast-lane-spin']);
    await settle(sd);
  });
  afterAll(async () => {
    await sd?.stop();
  });

  for (const mode of ['spin', 'wait'] as const) {
    it(`${mode}: WRs published without a doorbell are posted, and their completions arrive`, async () => {
      await waitFor(() => sd.logs.find((l) => l.msg === 'fast lane spin worker started'), 3000, 'the spin worker');
      const p = await lanePair(sd.socket);
      try {
        const opened = await waitFor(() => sd.logs.find((l) => l.msg === 'fast lane opened' && l.session === p.s.id), 3000, 'the lane open log');
        expect(opened.spinning).toBe(true);
        for (let round = 0; round < 20; round++) {
          p.src.memory.fill(round * 64, 64, round + 1);
          // No doorbell: only the spinning worker can tell the daemon about these.
          p.lane.postSend(p.a, [writeWr(p, 500 + round, round * 64, 64)], { doorbell: false });
          const [wc] = mode === 'spin' ? await spinFor(p.lane, p.cq, 1) : await p.lane.waitCompletions(p.cq, 1, 10_000 * SLOW);
          expect(wc).toMatchObject({ wr_id: BigInt(500 + round), status: 'SUCCESS' });
          expect(p.dst.memory.read(round * 64, 64).every((b) => b === round + 1)).toBe(true);
        }
        expect(p.lane.errors()).toEqual([]);
      } finally {
        await p.close();
      }
    });
  }

  it('stops with the daemon: SIGTERM ends the worker and the daemon exits 0', async () => {
    const p = await lanePair(sd.socket);
    p.lane.postSend(p.a, [writeWr(p, 1, 0, 64)], { doorbell: false });
    await spinFor(p.lane, p.cq, 1);
    sd.proc.kill('SIGTERM');
    const { code } = await sd.exited;
    expect(code).toBe(0);
    expect(sd.logs.some((l) => l.msg === 'fast lane spin worker stopped')).toBe(true);
    p.client.close();
  });
});
