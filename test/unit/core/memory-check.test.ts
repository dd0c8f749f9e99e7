import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Broker } from '../../../src/core/broker.js';
import {
  EINVAL, MemoryCheckError, MemoryIndex, SessionMemory, bindFault, checkMrOffset, checkRecvWrs, checkSendWrs, sgeFault,
  type MemoryRange,
} from '../../../src/core/memory-check.js';
import { Access, SendFlags, type SendWr } from '../../../src/verbs/abi.js';
import { createSimBackend } from '../../../src/verbs/sim/index.js';
import { HandleValue } from '../../../src/wire/values.js';

const range = (handle: number, addr: bigint, length: number, lkey: number, o: Partial<MemoryRange> = {}): MemoryRange => ({
  handle, device: 'd0', addr, length, lkey, access: Access.LOCAL_WRITE, mapped: true, ...o,
});

const READ = { need: 0, inline: false };
const WRITE = { need: Access.LOCAL_WRITE, inline: false };
const INLINE = { need: 0, inline: true };

describe('SessionMemory', () => {
  it('finds ranges by lkey and by address, on their device only', () => {
    const m = new SessionMemory();
    m.add(range(1, 0x10000n, 4096, 11));
    m.add(range(2, 0x30000n, 8192, 12));
    m.add(range(3, 0x20000n, 100, 13));
    expect(m.byLkey('d0', 12)?.handle).toBe(2);
    expect(m.byLkey('d1', 12)).toBeUndefined();
    expect(m.covering('d0', 0x20000n, 100)?.handle).toBe(3);
    expect(m.covering('d0', 0x20000n, 101)).toBeUndefined();
    expect(m.covering('d0', 0x30000n + 8191n, 1)?.handle).toBe(2);
    expect(m.covering('d0', 0x30000n + 8192n, 0)?.handle).toBe(2);
    expect(m.covering('d0', 0x30000n + 8192n, 1)).toBeUndefined();
    expect(m.covering('d0', 0xfffn, 1)).toBeUndefined();
    expect(m.covering('d1', 0x10000n, 1)).toBeUndefined();
    expect(m.size).toBe(3);
  });

  it('forgets removed ranges, and a dma-buf range (not daemon-mapped) never covers an address', () => {
    const m = new SessionMemory();
    m.add(range(1, 0x10000n, 4096, 11));
    m.add(range(2, 0x40000n, 4096, 12, { mapped: false }));
    expect(m.covering('d0', 0x40000n, 8)).toBeUndefined();
    expect(m.byLkey('d0', 12)?.handle).toBe(2);
    expect(m.remove('d0', 99, 11)).toBeUndefined();
    expect(m.remove('d0', 1, 11)?.handle).toBe(1);
    expect(m.byLkey('d0', 11)).toBeUndefined();
    expect(m.covering('d0', 0x10000n, 8)).toBeUndefined();
    expect(m.size).toBe(1);
  });

  it('keeps the address index sorted through many adds and removes', () => {
    const m = new SessionMemory();
    const order = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4];
    for (const i of order) m.add(range(100 + i, BigInt(i) * 0x10000n, 4096, 200 + i));
    for (const i of order) expect(m.covering('d0', BigInt(i) * 0x10000n + 100n, 8)?.handle).toBe(100 + i);
    for (const i of [3, 0, 9]) m.remove('d0', 100 + i, 200 + i);
    for (const i of order) {
      const hit = m.covering('d0', BigInt(i) * 0x10000n + 100n, 8)?.handle;
      expect(hit).toBe([3, 0, 9].includes(i) ? undefined : 100 + i);
    }
  });

  it('MemoryIndex keeps sessions apart and answers an empty index for a session without MRs', () => {
    const idx = new MemoryIndex();
    idx.add('s1', range(1, 0x10000n, 4096, 11));
    expect(idx.of({ id: 's1' }).byLkey('d0', 11)?.handle).toBe(1);
    expect(idx.of({ id: 's2' }).byLkey('d0', 11)).toBeUndefined();
    expect(idx.of({ id: 's2' }).size).toBe(0);
    idx.remove('s1', 'd0', 1, 11);
    expect(idx.sessionCount).toBe(0);
  });
});

describe('sgeFault', () => {
  const m = new SessionMemory();
  m.add(range(1, 0x10000n, 4096, 11));
  m.add(range(2, 0x20000n, 4096, 12, { access: 0 }));

  it('accepts an SGE inside an MR of the session, with the access needed', () => {
    expect(sgeFault(m, 'd0', { addr: 0x10000n, length: 4096, lkey: 11 }, WRITE)).toBeNull();
    expect(sgeFault(m, 'd0', { addr: 0x20010n, length: 16, lkey: 12 }, READ)).toBeNull();
    expect(sgeFault(m, 'd0', { addr: 0x10100n, length: 0, lkey: 11 }, READ)).toBeNull();
    expect(sgeFault(m, 'd0', { addr: 0x20010n, length: 16, lkey: 999 }, INLINE)).toBeNull();
  });

  it('refuses foreign lkeys, ranges outside the MR, missing LOCAL_WRITE, unmapped and wrapping inline data', () => {
    expect(sgeFault(m, 'd0', { addr: 0x10000n, length: 8, lkey: 99 }, READ)).toMatch(/names no memory region of this session/);
    expect(sgeFault(m, 'd1', { addr: 0x10000n, length: 8, lkey: 11 }, READ)).toMatch(/names no memory region/);
    expect(sgeFault(m, 'd0', { addr: 0x10000n, length: 4097, lkey: 11 }, READ)).toMatch(/outside its memory region/);
    expect(sgeFault(m, 'd0', { addr: 0xfff0n, length: 32, lkey: 11 }, READ)).toMatch(/outside/);
    expect(sgeFault(m, 'd0', { addr: 0x20000n, length: 8, lkey: 12 }, WRITE)).toMatch(/lacks LOCAL_WRITE/);
    expect(sgeFault(m, 'd0', { addr: 4096n, length: 8, lkey: 11 }, INLINE)).toMatch(/lies in no memory region/);
    expect(sgeFault(m, 'd0', { addr: 0x10ff0n, length: 32, lkey: 11 }, INLINE)).toMatch(/lies in no memory region/);
    expect(sgeFault(m, 'd0', { addr: (1n << 64n) - 8n, length: 16, lkey: 11 }, READ)).toMatch(/wraps past 2\^64/);
    expect(sgeFault(m, 'd0', { addr: (1n << 64n) - 8n, length: 16, lkey: 11 }, INLINE)).toMatch(/wraps/);
    expect(sgeFault(m, 'd0', { addr: -1n, length: 1, lkey: 11 }, READ)).toMatch(/u64/);
  });
});

describe('checkSendWrs / checkRecvWrs', () => {
  const m = new SessionMemory();
  m.add(range(1, 0x10000n, 4096, 11));
  m.add(range(2, 0x20000n, 4096, 12, { access: 0 }));
  const send = (o: Partial<SendWr>): SendWr => ({ wr_id: 0n, opcode: 'SEND', send_flags: 0, sg_list: [], ...o });

  it('names the failing WR and SGE, with errno EINVAL', () => {
    const wrs = [
      send({ sg_list: [{ addr: 0x10000n, length: 8, lkey: 11 }] }),
      send({ sg_list: [{ addr: 0x10000n, length: 8, lkey: 11 }, { addr: 0x50000n, length: 8, lkey: 11 }] }),
    ];
    let e: unknown;
    try {
      checkSendWrs(m, 'd0', wrs);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(MemoryCheckError);
    const me = e as MemoryCheckError;
    expect([me.code, me.errno, me.wrIndex, me.sgeIndex, me.call]).toEqual(['INVALID_ATTR', EINVAL, 1, 1, 'ibv_post_send']);
    expect(me.message).toMatch(/^qp\.post_send: wrs\[1\]\.sg_list\[1\]: /);
  });

  it('checks inline data by address, READ and atomic destinations for LOCAL_WRITE, and bind ranges', () => {
    expect(() => checkSendWrs(m, 'd0', [send({ send_flags: SendFlags.INLINE, sg_list: [{ addr: 0x20000n, length: 64, lkey: 0 }] })])).not.toThrow();
    expect(() => checkSendWrs(m, 'd0', [send({ send_flags: SendFlags.INLINE, sg_list: [{ addr: 4096n, length: 64, lkey: 11 }] })])).toThrow(/inline data/);
    expect(() => checkSendWrs(m, 'd0', [send({ opcode: 'RDMA_READ', sg_list: [{ addr: 0x20000n, length: 8, lkey: 12 }] })])).toThrow(/LOCAL_WRITE/);
    expect(() => checkSendWrs(m, 'd0', [send({ opcode: 'ATOMIC_FETCH_AND_ADD', sg_list: [{ addr: 0x10000n, length: 8, lkey: 11 }] })])).not.toThrow();
    // A READ marked INLINE is checked both ways (by lkey for the device, by address for a CPU copy).
    expect(() => checkSendWrs(m, 'd0', [send({ opcode: 'RDMA_READ', send_flags: SendFlags.INLINE, sg_list: [{ addr: 0x10000n, length: 8, lkey: 99 }] })])).toThrow(/lkey/);
    const mr = { addr: 0x10000n, length: 4096 };
    expect(bindFault(mr, 0x10000n, 4096)).toBeNull();
    expect(bindFault(mr, 0n, 0)).toBeNull();
    expect(bindFault(mr, 0x10800n, 4096)).toMatch(/outside the MR/);
    expect(bindFault(mr, (1n << 64n) - 1n, 2)).toMatch(/wraps/);
    expect(() => checkRecvWrs(m, 'd0', [{ wr_id: 0n, sg_list: [{ addr: 0x20000n, length: 8, lkey: 12 }] }], 'srq.post_recv')).toThrow(/srq\.post_recv: wrs\[0\]\.sg_list\[0\]: .*LOCAL_WRITE/);
    expect(() => checkRecvWrs(m, 'd0', [{ wr_id: 0n, sg_list: [{ addr: 0x10000n, length: 4096, lkey: 11 }] }])).not.toThrow();
    expect(() => checkMrOffset({ length: 4096 }, 4000n, 97, 'mr.read')).toThrow(MemoryCheckError);
    expect(checkMrOffset({ length: 4096 }, 4000n, 96, 'mr.read')).toBe(4000);
  });
});

describe('the broker keeps the index with the MRs', () => {
  it('indexes an MR for its session only, and forgets it when it is destroyed or the session ends', async () => {
    const broker = new Broker({ backend: createSimBackend(), log: pino({ level: 'silent' }) });
    await broker.start();
    const s1 = broker.openSession({ name: 'a', tenant: 'default', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
    const s2 = broker.openSession({ name: 'b', tenant: 'default', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
    const pd = await broker.create(s1, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    const mr = await broker.create(s1, { type: 'mr', device: '', attrs: { pd: new HandleValue(pd.handle), length: 4096n, access: 1 }, userHandle: '0' });
    const lkey = mr.attrs.lkey as number;
    const addr = mr.attrs.addr as bigint;
    expect(broker.memory.of(s1).byLkey('sim0', lkey)?.handle).toBe(mr.handle);
    expect(broker.memory.of(s1).covering('sim0', addr, 4096)?.access).toBe(Access.LOCAL_WRITE);
    expect(broker.memory.of(s2).byLkey('sim0', lkey)).toBeUndefined();
    await broker.destroy(s1, mr.handle);
    expect(broker.memory.of(s1).byLkey('sim0', lkey)).toBeUndefined();
    await broker.create(s1, { type: 'mr', device: '', attrs: { pd: new HandleValue(pd.handle), length: 4096n }, userHandle: '0' });
    expect(broker.memory.sessionCount).toBe(1);
    broker.sessions.end(s1, 'evicted');
    await s1.closed;
    expect(broker.memory.sessionCount).toBe(0);
    await broker.shutdown();
  });
});
