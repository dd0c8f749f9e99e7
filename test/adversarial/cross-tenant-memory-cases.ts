/**
 * Cross-tenant memory reads through every path that takes a local address,
 * as one set of cases that runs against any daemon: on the sim
 * (cross-tenant-memory.test.ts) and on rxe0 in the VM
 * (test/rxe/cross-tenant-memory.test.ts).
 *
 * The attacker is session a1 of tenant A; the victims are session a2 of the
 * same tenant and session b of tenant B, each with an MR holding a secret.
 * a1 owns an RC pair (sender -> receiver) with inline data enabled: every
 * refused attempt must answer INVALID_ARGUMENT with errno 22 and post
 * nothing, which the receiver proves: its next receive holds the marker
 * sent after the attempt, never a secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RdmaError, type AttrMap, type Client, type RdmaObject, type SendWrAttrs, type Session, type SgeAttrs } from '../../src/client/index.js';
import { spawnDaemon, tempSocket, type Daemon } from '../integration/helpers.js';

export interface CrossTenantEnv {
  device: string;
  /** Tenant A: the attacker's session and a second session of the same tenant. */
  a1: Session;
  a2: Session;
  /** Tenant B. */
  b: Session;
  /** Fails when the daemon is no longer running (a crash, not just an error). */
  alive(): Promise<void>;
  /** Whether the sessions have an fd channel (regSharedMr, regMrFd). */
  fdChannel: boolean;
}

/**
 * A daemon process (rdma-brokerd, `--device sim` or `ibverbs`) with two
 * tenants, each on its own socket (and fd socket beside it), and the three
 * sessions the cases use. Registers its own afterAll to end them.
 */
export function tenantsDaemon(tag: string, o: { backend: 'sim' | 'ibverbs'; device: string; readyMs?: number }): () => CrossTenantEnv {
  let d: Daemon;
  let clients: Client[] = [];
  let env: CrossTenantEnv | null = null;
  beforeAll(async () => {
    const { dir } = tempSocket(tag);
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({
      tenants: [{ name: 'team-a', socket: 'a/broker.sock' }, { name: 'team-b', socket: 'b/broker.sock' }],
    }));
    d = await spawnDaemon(tag, ['--config', config], { device: o.backend, dir, logLevel: 'info', readyMs: o.readyMs });
    const ca = await connect({ socket: path.join(dir, 'a', 'broker.sock') });
    const cb = await connect({ socket: path.join(dir, 'b', 'broker.sock') });
    clients = [ca, cb];
    const [a1, a2, b] = [await ca.openSession({ name: 'a1' }), await ca.openSession({ name: 'a2' }), await cb.openSession({ name: 'b' })];
    env = {
      device: o.device, a1, a2, b, fdChannel: a1.hasFdChannel && b.hasFdChannel,
      async alive() {
        expect(d.proc.exitCode, 'the daemon exited').toBeNull();
        expect(d.proc.signalCode, 'the daemon was killed by a signal').toBeNull();
        expect((await cb.devices()).map((x) => x.name)).toContain(o.device);
      },
    };
  }, (o.readyMs ?? 15_000) + 30_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.stop();
  });
  return () => {
    if (!env) throw new Error('the daemon did not start');
    return env;
  };
}

const EINVAL = 22;
const U64_END = 1n << 64n;
const SECRET_B = Buffer.from('tenant-b secret: the bytes nobody else may read');
const SECRET_A2 = Buffer.from('session-a2 secret: not even tenant A\'s other sessions');
const MARKER = Buffer.from('marker after the refused attempt');

/** The error a call fails with (fails the test when it succeeds or throws something else). */
async function failure(p: Promise<unknown>): Promise<RdmaError> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof RdmaError)) throw new Error(`expected the call to fail with an RdmaError, got ${e === null ? 'success' : String(e)}`);
  return e;
}

function expectEinval(e: RdmaError, what: RegExp): void {
  expect(e.codeName, e.message).toBe('INVALID_ARGUMENT');
  expect(e.rdmaError, e.message).toBe('INVALID_ATTR');
  expect(e.errno, e.message).toBe(EINVAL);
  expect(e.details).toMatch(what);
}

export function defineCrossTenantMemory(name: string, env: () => CrossTenantEnv): void {
  describe(`cross-tenant memory: ${name}`, () => {
    let e: CrossTenantEnv;
    let pd: RdmaObject;
    let cq: RdmaObject;
    let own: RdmaObject;
    let rbuf: RdmaObject;
    let noWrite: RdmaObject;
    let sender: RdmaObject;
    let receiver: RdmaObject;
    let srq: RdmaObject;
    let mrB: RdmaObject;
    let mrA2: RdmaObject;
    let nextRecv = 1000;

    beforeAll(async () => {
      e = env();
      const { a1, a2, b, device } = e;
      // The victims' memory.
      const pdB = await b.allocPd(device);
      mrB = await b.regMr(pdB, 4096, ['LOCAL_WRITE']);
      await b.writeMr(mrB, 0, SECRET_B);
      const pdA2 = await a2.allocPd(device);
      mrA2 = await a2.regMr(pdA2, 4096, ['LOCAL_WRITE']);
      await a2.writeMr(mrA2, 0, SECRET_A2);

      // The attacker's own objects: an RC pair on one port, connected to each other.
      pd = await a1.allocPd(device);
      cq = await a1.createCq(device, 64);
      own = await a1.regMr(pd, 4096, ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ']);
      rbuf = await a1.regMr(pd, 4096, ['LOCAL_WRITE']);
      noWrite = await a1.regMr(pd, 4096, []);
      await a1.writeMr(own, 0, MARKER);
      const cap = { max_send_wr: 16, max_recv_wr: 16, max_send_sge: 2, max_recv_sge: 2, max_inline_data: 64 };
      sender = await a1.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap });
      receiver = await a1.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap });
      srq = await a1.create('srq', { pd, max_wr: 4, max_sge: 1 });
      const q = await a1.client.queryDevice(device);
      const port = q.ports[0];
      if (!port) throw new Error(`${device} has no port`);
      const gid = port.gids.find((g) => g.index === 0)?.gid ?? '';
      const ah: AttrMap = { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } };
      const access = ['REMOTE_WRITE', 'REMOTE_READ'];
      const mtu = Number(port.attrs.active_mtu);
      for (const [qp, peer] of [[sender, receiver], [receiver, sender]] as const) {
        await a1.modify(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: access });
        await a1.modify(qp, { qp_state: 'RTR', path_mtu: mtu, dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah });
        await a1.modify(qp, { qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
      }
    });

    const sge = (addr: bigint, length: number, lkey: number): SgeAttrs => ({ addr, length, lkey });
    const mine = (off = 0, length = MARKER.length): SgeAttrs => sge(own.big('addr') + BigInt(off), length, own.num('lkey'));

    /**
     * Runs `attempt` between posting one receive and sending the marker: the
     * attempt must be refused, and the receive must then hold the marker (so
     * the refused work request never reached the wire).
     */
    async function refusedAndNothingSent(attempt: () => Promise<unknown>, what: RegExp): Promise<void> {
      const { a1 } = e;
      const id = nextRecv++;
      await a1.invoke(rbuf, 'write', { offset: 0, data: Buffer.alloc(128) });
      await a1.postRecv(receiver, [{ wr_id: id, sg_list: [sge(rbuf.big('addr'), 4096, rbuf.num('lkey'))] }]);
      expectEinval(await failure(attempt()), what);
      await a1.postSend(sender, [{ wr_id: id, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [mine()] }]);
      const wcs = await a1.waitCq(cq, 2);
      const recv = wcs.find((w) => w.opcode === 'RECV');
      expect(wcs.map((w) => w.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(recv).toMatchObject({ byte_len: MARKER.length });
      expect(BigInt(recv?.wr_id as number | bigint)).toBe(BigInt(id));
      const got = await a1.readMr(rbuf, 0, 128);
      expect(got.subarray(0, MARKER.length).equals(MARKER)).toBe(true);
      expect(got.includes(SECRET_B.subarray(0, 12))).toBe(false);
      expect(got.includes(SECRET_A2.subarray(0, 12))).toBe(false);
      expect(await a1.pollCq(cq)).toEqual([]);
      await e.alive();
    }

    const inlineSend = (addr: bigint, length: number, lkey = 0): SendWrAttrs =>
      ({ wr_id: 1, opcode: 'SEND', send_flags: ['SIGNALED', 'INLINE'], sg_list: [sge(addr, length, lkey)] });

    it('a legitimate inline send delivers the bytes (the lkey is not needed)', async () => {
      const { a1 } = e;
      await a1.postRecv(receiver, [{ wr_id: 1, sg_list: [sge(rbuf.big('addr'), 4096, rbuf.num('lkey'))] }]);
      await a1.postSend(sender, [inlineSend(own.big('addr'), MARKER.length)]);
      const wcs = await a1.waitCq(cq, 2);
      expect(wcs.map((w) => w.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(wcs.find((w) => w.opcode === 'RECV')).toMatchObject({ byte_len: MARKER.length });
      expect((await a1.readMr(rbuf, 0, MARKER.length)).equals(MARKER)).toBe(true);
    });

    it('refuses an inline send of another tenant\'s MR bytes', async () => {
      await refusedAndNothingSent(() => e.a1.postSend(sender, [inlineSend(mrB.big('addr'), SECRET_B.length, own.num('lkey'))]), /wrs\[0\]\.sg_list\[0\]: inline data .* lies in no memory region of this session/);
    });

    it('refuses an inline send of another session\'s MR bytes (same tenant)', async () => {
      await refusedAndNothingSent(() => e.a1.postSend(sender, [inlineSend(mrA2.big('addr'), SECRET_A2.length, mrA2.num('lkey'))]), /inline data/);
    });

    it('refuses a plain SGE with a foreign lkey (another tenant\'s, another session\'s, with either address)', async () => {
      const send = (s: SgeAttrs): SendWrAttrs => ({ wr_id: 2, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [s] });
      for (const s of [
        sge(mrB.big('addr'), SECRET_B.length, mrB.num('lkey')),
        sge(mrA2.big('addr'), SECRET_A2.length, mrA2.num('lkey')),
        sge(own.big('addr'), 8, mrB.num('lkey')),
      ]) {
        await refusedAndNothingSent(() => e.a1.postSend(sender, [send(s)]), /lkey 0x[0-9a-f]+ names no memory region of this session/);
      }
    });

    it('refuses an address outside one\'s own MR, with its own lkey or inline', async () => {
      const send = (s: SgeAttrs, flags: SendWrAttrs['send_flags'] = ['SIGNALED']): SendWrAttrs => ({ wr_id: 3, opcode: 'SEND', send_flags: flags, sg_list: [s] });
      await refusedAndNothingSent(() => e.a1.postSend(sender, [send(mine(4096 - 8, 16))]), /outside its memory region/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [send(sge(mrB.big('addr'), 16, own.num('lkey')))]), /outside its memory region/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [send(mine(4096, 8), ['SIGNALED', 'INLINE'])]), /inline data/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [send(mine(0, 0xffff_ffff))]), /outside/);
    });

    it('refuses address 4096 (inline and by lkey), and the daemon lives on', async () => {
      await refusedAndNothingSent(() => e.a1.postSend(sender, [inlineSend(4096n, 64, own.num('lkey'))]), /inline data \[0x1000, \+64\)/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 4, opcode: 'SEND', sg_list: [sge(4096n, 64, own.num('lkey'))] }]), /outside/);
    });

    it('refuses a length that wraps addr+length past 2^64', async () => {
      await refusedAndNothingSent(() => e.a1.postSend(sender, [inlineSend(U64_END - 16n, 64)]), /wraps past 2\^64/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 5, opcode: 'SEND', sg_list: [sge(U64_END - 16n, 64, own.num('lkey'))] }]), /wraps/);
    });

    it('checks every WR before posting any: a bad second WR keeps the good first one from the wire', async () => {
      await refusedAndNothingSent(() => e.a1.postSend(sender, [
        { wr_id: 6, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [mine()] },
        inlineSend(mrB.big('addr'), 16),
      ]), /wrs\[1\]\.sg_list\[0\]/);
    });

    it('checks the local side of RDMA WRITE and READ (the remote side is the device\'s to check)', async () => {
      const remote = { remote_addr: own.big('addr') + 2048n, rkey: own.num('rkey') };
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 7, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [sge(mrB.big('addr'), 16, mrB.num('lkey'))], ...remote }]), /lkey/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 8, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED', 'INLINE'], sg_list: [sge(mrA2.big('addr'), 16, 0)], ...remote }]), /inline data/);
      // READ and atomics write the local buffer: it must be the session's and have LOCAL_WRITE.
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 9, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [sge(mrB.big('addr'), 16, mrB.num('lkey'))], ...remote }]), /lkey/);
      await refusedAndNothingSent(() => e.a1.postSend(sender, [{ wr_id: 10, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [sge(noWrite.big('addr'), 16, noWrite.num('lkey'))], ...remote }]), /LOCAL_WRITE/);
    });

    it('checks receive buffers: qp.post_recv and srq.post_recv need an MR of the session with LOCAL_WRITE', async () => {
      const { a1 } = e;
      for (const s of [sge(mrB.big('addr'), 64, mrB.num('lkey')), sge(mrA2.big('addr'), 64, mrA2.num('lkey')), sge(4096n, 64, rbuf.num('lkey'))]) {
        expectEinval(await failure(a1.postRecv(receiver, [{ wr_id: 1, sg_list: [s] }])), /qp\.post_recv: wrs\[0\]\.sg_list\[0\]/);
        expectEinval(await failure(a1.invoke(srq, 'post_recv', { wrs: [{ wr_id: 1, sg_list: [s] }] })), /srq\.post_recv: wrs\[0\]\.sg_list\[0\]/);
      }
      expectEinval(await failure(a1.postRecv(receiver, [{ wr_id: 1, sg_list: [sge(noWrite.big('addr'), 64, noWrite.num('lkey'))] }])), /LOCAL_WRITE/);
      // Nothing was queued: the marker lands in the next receive posted.
      await refusedAndNothingSent(() => a1.postRecv(receiver, [{ wr_id: 2, sg_list: [sge(mrB.big('addr'), 64, mrB.num('lkey'))] }]), /lkey/);
    });

    it('refuses a window bind outside the MR (BIND_MW work request)', async () => {
      const { a1 } = e;
      const target = await a1.regMr(pd, 8192, ['LOCAL_WRITE', 'REMOTE_WRITE', 'MW_BIND']);
      const mw = await a1.create('mw', { pd, mw_type: 2 });
      const bind = (addr: bigint, length: number): SendWrAttrs => ({
        wr_id: 11, opcode: 'BIND_MW', send_flags: ['SIGNALED'], bind_mw: { mw, rkey: mw.num('rkey'), mr: target, addr, length, mw_access_flags: ['REMOTE_WRITE'] },
      });
      await refusedAndNothingSent(() => a1.postSend(sender, [bind(target.big('addr') + 4096n, 8192)]), /wrs\[0\]\.bind_mw: bind range .* is outside the MR/);
      await refusedAndNothingSent(() => a1.postSend(sender, [bind(mrB.big('addr'), 16)]), /outside the MR/);
      await refusedAndNothingSent(() => a1.postSend(sender, [bind(U64_END - 1n, 16)]), /wraps/);
      expect((await a1.query(sender)).attrs.qp_state).toBe('RTS');
      await mw.destroy();
      await target.destroy();
    });

    it('refuses mr.read and mr.write outside the MR', async () => {
      const { a1 } = e;
      expectEinval(await failure(a1.invoke(own, 'read', { offset: 4000, length: 97 })), /mr\.read: range \[4000, 4097\) is outside the MR/);
      expectEinval(await failure(a1.invoke(own, 'write', { offset: U64_END - 1n, data: Buffer.from('xy') })), /mr\.write: .*outside the MR/);
    });

    it('refuses the same reads inside a Batch: failed_index names the step, and nothing is posted', async () => {
      const { a1 } = e;
      const r = await a1.batch([
        { query: own.handle },
        { invoke: sender.handle, method: 'post_send', attrs: { wrs: [inlineSend(mrB.big('addr'), SECRET_B.length)] } },
        // Would send 8 bytes, not the marker: the receive below would show it.
        { invoke: sender.handle, method: 'post_send', attrs: { wrs: [{ wr_id: 99, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [mine(0, 8)] }] } },
      ]);
      expect(r.results).toHaveLength(1);
      expect(r.failed?.index).toBe(1);
      expectEinval(r.failed!.error, /qp\.post_send: wrs\[0\]\.sg_list\[0\]: inline data/);
      const r2 = await a1.batch([{ invoke: sender.handle, method: 'post_send', attrs: { wrs: [{ wr_id: 12, opcode: 'SEND', sg_list: [sge(mrA2.big('addr'), 16, mrA2.num('lkey'))] }] } }]);
      expect(r2.failed?.index).toBe(0);
      expectEinval(r2.failed!.error, /lkey/);
      // The step after the refused one did not run: the marker goes now, into the first receive.
      await refusedAndNothingSent(() => a1.postSend(sender, [inlineSend(4096n, 8)]), /inline data/);
    });

    it('MRs registered through the fd channel: another session\'s cannot be read, one\'s own inline-sends, and reg_mr past the memfd is refused', async (ctx) => {
      if (!e.fdChannel) ctx.skip();
      const { a1, b } = e;
      const pdB = await b.allocPd(e.device);
      const victim = await b.regSharedMr(pdB, 4096, ['LOCAL_WRITE']);
      victim.memory.write(0, SECRET_B);
      await refusedAndNothingSent(() => a1.postSend(sender, [inlineSend(victim.addr, SECRET_B.length)]), /inline data/);
      await refusedAndNothingSent(() => a1.postSend(sender, [{ wr_id: 13, opcode: 'SEND', sg_list: [sge(victim.addr, 16, victim.lkey)] }]), /lkey/);
      const mineFd = await a1.regSharedMr(pd, 4096, ['LOCAL_WRITE']);
      const text = Buffer.from('inline from my own memfd MR');
      mineFd.memory.write(0, text);
      await a1.postRecv(receiver, [{ wr_id: 14, sg_list: [sge(rbuf.big('addr'), 4096, rbuf.num('lkey'))] }]);
      await a1.postSend(sender, [inlineSend(mineFd.addr, text.length)]);
      const wcs = await a1.waitCq(cq, 2);
      expect(wcs.map((w) => w.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect((await a1.readMr(rbuf, 0, text.length)).equals(text)).toBe(true);
      // reg_mr over more than the memfd holds.
      const fe = await failure(a1.regMrFd(pd, mineFd.memory.fd, 8192, ['LOCAL_WRITE']));
      expect(fe.codeName, fe.message).toBe('INVALID_ARGUMENT');
      expect(fe.errno, fe.message).toBe(EINVAL);
      mineFd.close();
      victim.close();
      await e.alive();
    });

    it('leaves the victims\' memory intact, and the daemon serves everyone', async () => {
      await e.alive();
      expect((await e.b.readMr(mrB, 0, SECRET_B.length)).equals(SECRET_B)).toBe(true);
      expect((await e.a2.readMr(mrA2, 0, SECRET_A2.length)).equals(SECRET_A2)).toBe(true);
      expect((await e.a1.query(sender)).attrs.qp_state).toBe('RTS');
    });
  });
}
