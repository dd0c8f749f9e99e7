/**
 * RNR and retry loops of the sim's requester, and the bounds on its work:
 * a sender parked on RNR NAKs whose peer goes away must never spin the event
 * loop (issue: destroying the peer froze the daemon), endless retries (count
 * 7, as rxe's completer) back off on timers, and one post or one wake-up does
 * a bounded amount of work per event-loop turn.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SendFlags, type QpRef } from '../../../../src/verbs/abi.js';
import { connect, drain, qpOf, setup, sleep, stateOf, type Fx } from './fixture.js';

let fx: Fx | null = null;
afterEach(async () => {
  await fx?.close();
  fx = null;
});

const send = (wr_id: bigint): Parameters<Fx['ctx']['postSend']>[1][number] => ({ wr_id, opcode: 'SEND', send_flags: SendFlags.SIGNALED, sg_list: [] });

/** Resolves on the next turn of the event loop: proves nothing holds it. */
const nextTurn = (): Promise<number> => {
  const t = Date.now();
  return new Promise((r) => setImmediate(() => r(Date.now() - t)));
};

async function pair(f: Fx, o: Parameters<typeof connect>[3]): Promise<[QpRef, QpRef]> {
  const a = await qpOf(f);
  const b = await qpOf(f);
  await connect(f, a, b, o);
  return [a, b];
}

describe('sim RNR and retries', () => {
  it('rnr_retry 0: RNR_RETRY_EXC_ERR at once, the QP in ERR, later WRs flushed', async () => {
    fx = await setup();
    const [a] = await pair(fx, { rnr_retry: 0 });
    await fx.ctx.postSend(a, [send(1n), send(2n)]);
    const wcs = await drain(fx.ctx, fx.cq, 2);
    expect(wcs.map((w) => [w.wr_id, w.status, w.opcode])).toEqual([[1n, 'RNR_RETRY_EXC_ERR', 'SEND'], [2n, 'WR_FLUSH_ERR', 'SEND']]);
    expect(await stateOf(fx.ctx, a)).toBe('ERR');
  });

  it('rnr_retry 7 retries for as long as the peer lives, then a receive completes the send', async () => {
    fx = await setup();
    const [a, b] = await pair(fx, { rnr_retry: 7 });
    await fx.ctx.postSend(a, [send(1n)]);
    await sleep(150);
    expect(await fx.ctx.pollCq(fx.cq, 4)).toEqual([]);
    expect(await stateOf(fx.ctx, a)).toBe('RTS');
    await fx.ctx.postRecv(b, [{ wr_id: 9n, sg_list: [] }]);
    const wcs = await drain(fx.ctx, fx.cq, 2);
    expect(wcs.map((w) => [w.wr_id, w.status]).sort()).toEqual([[1n, 'SUCCESS'], [9n, 'SUCCESS']]);
  });

  it('a finite rnr_retry gives up after its retries (RNR_RETRY_EXC_ERR)', async () => {
    fx = await setup();
    const [a] = await pair(fx, { rnr_retry: 2 });
    await fx.ctx.postSend(a, [send(1n)]);
    const wcs = await drain(fx.ctx, fx.cq, 1);
    expect(wcs.map((w) => w.status)).toEqual(['RNR_RETRY_EXC_ERR']);
  });

  it('destroying the peer of a sender stuck on RNR NAKs (rnr_retry 7) returns at once; the sender then times out', async () => {
    fx = await setup();
    const [a, b] = await pair(fx, { rnr_retry: 7, retry_cnt: 1, timeout: 1 });
    await fx.ctx.postSend(a, [send(1n), send(2n)]);
    await sleep(20);
    await fx.ctx.destroyQp(b);
    expect(await nextTurn()).toBeLessThan(1000);
    // The peer's device drops packets for a QPN that does not exist: no ACK, retry_cnt retransmits, RETRY_EXC_ERR.
    const wcs = await drain(fx.ctx, fx.cq, 2);
    expect(wcs.map((w) => [w.wr_id, w.status])).toEqual([[1n, 'RETRY_EXC_ERR'], [2n, 'WR_FLUSH_ERR']]);
    expect(await stateOf(fx.ctx, a)).toBe('ERR');
  });

  it('retry_cnt 7 retries for ever after the peer is gone, on a backing-off timer; destroy and close end it', async () => {
    fx = await setup();
    const [a, b] = await pair(fx, { rnr_retry: 7, retry_cnt: 7, timeout: 1 });
    await fx.ctx.postSend(a, [send(1n)]);
    await fx.ctx.destroyQp(b);
    await sleep(200);
    expect(await fx.ctx.pollCq(fx.cq, 4)).toEqual([]);
    expect(await stateOf(fx.ctx, a)).toBe('RTS');
    await fx.ctx.destroyQp(a);
    expect(await nextTurn()).toBeLessThan(1000);
  });

  it('the peer moved to ERR: the stuck sender stops meeting RNR NAKs and times out', async () => {
    fx = await setup();
    const [a, b] = await pair(fx, { rnr_retry: 7, retry_cnt: 1, timeout: 1 });
    await fx.ctx.postSend(a, [send(1n)]);
    await sleep(10);
    await fx.ctx.modifyQp(b, { qp_state: 'ERR' }, 1);
    const wcs = await drain(fx.ctx, fx.cq, 1);
    expect(wcs.map((w) => w.status)).toEqual(['RETRY_EXC_ERR']);
  });

  it('closing a context whose QPs are stuck on RNR NAKs of each other returns promptly', async () => {
    fx = await setup();
    const qps: QpRef[] = [];
    for (let i = 0; i < 8; i++) {
      const [a, b] = await pair(fx, { rnr_retry: 7, retry_cnt: 7, timeout: 14 });
      await fx.ctx.postSend(a, [send(1n)]);
      await fx.ctx.postSend(b, [send(2n)]);
      qps.push(a, b);
    }
    await sleep(20);
    const f = fx;
    fx = null;
    await f.close();
    expect(await nextTurn()).toBeLessThan(1000);
  });
});

describe('sim data path: bounded work per turn', () => {
  it('a long post completes over several turns, in order, and every WR completes', async () => {
    fx = await setup(undefined, 4096);
    const a = await qpOf(fx, 'RC', { cap: { max_send_wr: 2048 } });
    const b = await qpOf(fx, 'RC');
    await connect(fx, a, b);
    const wrs = Array.from({ length: 1500 }, (_, i) => ({ wr_id: BigInt(i), opcode: 'RDMA_WRITE' as const, send_flags: SendFlags.SIGNALED, sg_list: [] }));
    await fx.ctx.postSend(a, wrs);
    const first = await fx.ctx.pollCq(fx.cq, 4096);
    // Not all of it ran inside postSend: the rest waits for later turns.
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(1500);
    const rest = await drain(fx.ctx, fx.cq, 1500 - first.length, 5000);
    const all = [...first, ...rest];
    expect(all).toHaveLength(1500);
    expect(all.every((w, i) => w.wr_id === BigInt(i) && w.status === 'SUCCESS')).toBe(true);
  });

  it('a receive that wakes many parked senders does not run them inside postRecv', async () => {
    fx = await setup(undefined, 1024);
    const senders: QpRef[] = [];
    const pairs: [QpRef, QpRef][] = [];
    for (let i = 0; i < 16; i++) pairs.push(await pair(fx, { rnr_retry: 7 }));
    for (const [a] of pairs) {
      await fx.ctx.postSend(a, [send(BigInt(senders.length))]);
      senders.push(a);
    }
    for (const [, r] of pairs) await fx.ctx.postRecv(r, [{ wr_id: 100n, sg_list: [] }]);
    // The wake-ups are scheduled: nothing completed synchronously inside postRecv.
    expect(await fx.ctx.pollCq(fx.cq, 64)).toEqual([]);
    const wcs = await drain(fx.ctx, fx.cq, 32);
    expect(wcs.filter((w) => w.status === 'SUCCESS')).toHaveLength(32);
  });
});
