/**
 * A hostile data-path state on the simulated device: senders stuck retrying
 * after RNR NAKs (a SEND with no receive posted, rnr_retry 7, retry_cnt 7)
 * whose peer QP is destroyed, or whose session simply ends. That once spun
 * the daemon's event loop for ever; now a bystander session keeps being
 * served within a bounded time, the daemon exits promptly on SIGTERM, and
 * nothing is left behind. The daemon runs as a child on the sim, reached
 * through gRPC like any client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client, type RdmaObject, type Session } from '../../src/client/index.js';
import { connectRc, spawnDaemon, waitFor, type Daemon } from '../integration/helpers.js';

let d: Daemon;
let client: Client;
let gid = '';

beforeAll(async () => {
  d = await spawnDaemon('rnr-spin', [], { logLevel: 'info' });
  client = await connect({ socket: d.socket });
  gid = (await client.queryDevice('sim0')).ports[0]?.gids[0]?.gid ?? '';
});

afterAll(async () => {
  client?.close();
  await d?.stop();
});

/** Two RC QPs of `s` connected to each other, retrying RNR NAKs and timeouts for ever. */
async function stuckPair(s: Session, pd: RdmaObject, cq: RdmaObject): Promise<[RdmaObject, RdmaObject]> {
  const a = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 16, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1 } });
  const b = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 16, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1 } });
  await connectRc(a, b, gid, 1);
  // Both sides send with no receive posted: each parks on the other's RNR NAKs.
  for (const q of [a, b]) await s.postSend(q, Array.from({ length: 8 }, (_, i) => ({ wr_id: BigInt(i), opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [] })));
  return [a, b];
}

/** Every call of a bystander session answered within `ms` while `work` runs. */
async function servedDuring<T>(work: () => Promise<T>, ms: number): Promise<{ result: T; worst: number; calls: number }> {
  const by = await client.openSession({ name: 'bystander' });
  const pd = await by.allocPd('sim0');
  let stop = false;
  let worst = 0;
  let calls = 0;
  const loop = (async () => {
    while (!stop) {
      const t = Date.now();
      await pd.query();
      worst = Math.max(worst, Date.now() - t);
      calls++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  try {
    const result = await work();
    await new Promise((r) => setTimeout(r, 300)); // and a while after it
    return { result, worst, calls };
  } finally {
    stop = true;
    await loop;
    expect(worst).toBeLessThan(ms);
    await by.close();
  }
}

describe('adversarial: senders stuck on RNR NAKs', () => {
  it('destroying the peers of stuck senders: the bystander stays served, the senders keep retrying', async () => {
    const s = await client.openSession({ name: 'rnr-destroy' });
    const pd = await s.allocPd('sim0');
    const cq = await s.createCq('sim0', 256);
    const pairs: [RdmaObject, RdmaObject][] = [];
    for (let i = 0; i < 4; i++) pairs.push(await stuckPair(s, pd, cq));
    const { worst, calls } = await servedDuring(async () => {
      for (const [, b] of pairs) await b.destroy();
    }, 2000);
    expect(calls).toBeGreaterThan(3);
    expect(worst).toBeLessThan(2000);
    // The daemon still answers this session too; retry_cnt 7 keeps the senders retrying (rxe: for ever).
    const wcs = await s.pollCq(cq, 64);
    expect(wcs.every((w) => w.status !== 'SUCCESS')).toBe(true);
    for (const [a] of pairs) await a.destroy();
    await s.close();
  });

  it('a session with stuck senders simply ends: its objects go, the bystander stays served', async () => {
    const s = await client.openSession({ name: 'rnr-end' });
    const pd = await s.allocPd('sim0');
    const cq = await s.createCq('sim0', 256);
    for (let i = 0; i < 4; i++) await stuckPair(s, pd, cq);
    const id = s.id;
    await servedDuring(() => s.close(), 2000);
    await waitFor(async () => (await client.listSessions()).every((x) => x.session_id !== id), 5000, 'the session to end');
    expect(await client.listObjects({ session: id })).toEqual([]);
  });

  it('SIGTERM with stuck senders alive: the daemon exits 0 promptly and leaves nothing', async () => {
    const s = await client.openSession({ name: 'rnr-term' });
    const pd = await s.allocPd('sim0');
    const cq = await s.createCq('sim0', 256);
    const [, b] = await stuckPair(s, pd, cq);
    await stuckPair(s, pd, cq);
    await b.destroy();
    const t = Date.now();
    d.proc.kill('SIGTERM');
    const { code, signal } = await d.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(Date.now() - t).toBeLessThan(5000);
    const stopped = d.logs.find((l) => String(l.msg).startsWith('stopped'));
    expect(stopped).toMatchObject({ objects: 0, sessions: 0 });
  });
});
