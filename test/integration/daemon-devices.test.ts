/**
 * What the real daemon (bin/rdma-brokerd.js, a separate process) says of its
 * devices: Describe without a device lists the types that exist on at least
 * one of them, and rdmactl's --type check follows it
 * (test/rxe/daemon-ibverbs.test.ts checks the same on rxe0, which has no
 * driver-specific type); `--sim-devices 2` serves sim0 and sim1, each with
 * its own objects, and a handle of one is refused on the other.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type Client, type RdmaObject } from '../../src/client/index.js';
import { CTL_BIN, DAEMON_BIN, failure, runNode, spawnDaemon, waitFor, type Daemon } from './helpers.js';

// Each case spawns rdmactl; on a loaded machine a node start takes seconds.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe('rdma-brokerd --device sim: Describe without a device', () => {
  let d: Daemon;
  let client: Client;
  beforeAll(async () => {
    d = await spawnDaemon('describe-sim');
    client = await connect({ socket: d.socket });
  });
  afterAll(async () => {
    client?.close();
    await d?.stop();
  });

  it('lists the types of its one sim device, the fault injector among them', async () => {
    const all = await client.describe();
    const sim0 = await client.describe('sim0');
    expect(all.device).toBe('');
    expect(all.types.map((t) => t.name)).toEqual(sim0.types.map((t) => t.name));
    expect(all.types.find((t) => t.name === 'sim_fault')).toMatchObject({ driver_specific: true });
    // Per method, the same support as its only device.
    const support = (r: typeof all): string[] => r.types.flatMap((t) => t.methods.map((m) => `${t.name}.${m.name}=${m.supported}`));
    expect(support(all)).toEqual(support(sim0));
    const ok = await runNode([CTL_BIN, '--socket', d.socket, 'objects', '--type', 'sim_fault']);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('rdma-brokerd --device sim --sim-devices 2', () => {
  let d: Daemon;
  let client: Client;
  beforeAll(async () => {
    d = await spawnDaemon('two-sims', ['--sim-devices', '2']);
    client = await connect({ socket: d.socket });
  });
  afterAll(async () => {
    client?.close();
    await d?.stop();
  });

  it('serves sim0 and sim1: objects on each, an RDMA write from one to the other, and handles never mixed across them', async () => {
    expect((await client.devices()).map((x) => [x.name, x.backend, x.state])).toEqual([['sim0', 'sim', 'live'], ['sim1', 'sim', 'live']]);
    const s = await client.openSession({ name: 'two-devices' });
    const gid = async (dev: string): Promise<string> => (await client.queryDevice(dev)).ports[0]?.gids[0]?.gid ?? '';
    const [gid0, gid1] = [await gid('sim0'), await gid('sim1')];
    expect(gid0).not.toBe(gid1);
    const side = async (dev: string): Promise<{ pd: RdmaObject; cq: RdmaObject; qp: RdmaObject; mr: RdmaObject }> => {
      const pd = await s.allocPd(dev);
      const cq = await s.createCq(dev, 16);
      const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
      const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
      return { pd, cq, qp, mr };
    };
    const a = await side('sim0');
    const b = await side('sim1');
    const objects = await client.listObjects({ session: s.id });
    const byDevice = (dev: string): string[] => objects.filter((o) => o.device === dev).map((o) => o.type).sort();
    expect(byDevice('sim0')).toEqual(['cq', 'mr', 'pd', 'qp']);
    expect(byDevice('sim1')).toEqual(['cq', 'mr', 'pd', 'qp']);

    // A handle of sim0 on sim1 (and the reverse) is refused in one line naming both; nothing is left half-made.
    const mixed = [
      await failure(s.createQp({ pd: b.pd, send_cq: a.cq, recv_cq: b.cq, qp_type: 'RC' })),
      await failure(s.createQp({ pd: a.pd, send_cq: a.cq, recv_cq: b.cq, qp_type: 'RC' })),
      await failure(s.create('mw', { pd: a.pd, mw_type: 2 }, { device: 'sim1' })),
    ];
    mixed.push(await failure(a.qp.invoke('bind_mw', { mw: await s.create('mw', { pd: b.pd, mw_type: 1 }), mr: a.mr, addr: 0n, length: 16 })));
    const mw1 = (await client.listObjects({ session: s.id })).find((o) => o.type === 'mw');
    const x = (o: { handle: number }): number => o.handle;
    expect(mixed.map((e) => [e.code, e.rdmaError, e.attribute, e.message])).toEqual([
      [status.INVALID_ARGUMENT, 'INVALID_ATTR', 'qp.create.send_cq', `create qp: INVALID_ARGUMENT: qp.create: objects on different devices: pd ${x(b.pd)} (pd) is on sim1, cq ${x(a.cq)} (send_cq) on sim0`],
      [status.INVALID_ARGUMENT, 'INVALID_ATTR', 'qp.create.recv_cq', `create qp: INVALID_ARGUMENT: qp.create: objects on different devices: pd ${x(a.pd)} (pd) is on sim0, cq ${x(b.cq)} (recv_cq) on sim1`],
      [status.INVALID_ARGUMENT, 'INVALID_ATTR', 'mw.create.pd', `create mw: INVALID_ARGUMENT: mw.create: objects on different devices: pd ${x(a.pd)} (pd) is on sim0, the request names sim1`],
      [status.INVALID_ARGUMENT, 'INVALID_ATTR', 'qp.bind_mw.mw', `bind_mw: INVALID_ARGUMENT: qp.bind_mw: objects on different devices: qp ${x(a.qp)} (the target) is on sim0, mw ${x(mw1!)} (mw) on sim1`],
    ]);
    await s.destroy(mw1!);
    expect((await client.listObjects({ session: s.id })).length).toBe(objects.length);

    // The two devices share one simulated fabric: sim0's QP writes into sim1's MR.
    for (const [x, peer, dgid] of [[a.qp, b.qp, gid1], [b.qp, a.qp, gid0]] as const) {
      await x.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: ['REMOTE_WRITE'] });
      await x.modify({
        qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1,
        ah_attr: { port_num: 1, grh: { dgid, sgid_index: 0, hop_limit: 1 } },
      });
    }
    for (const x of [a.qp, b.qp]) await x.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    await a.mr.invoke('write', { offset: 0, data: Buffer.from('sim0 to sim1') });
    await s.postSend(a.qp, [{
      wr_id: 9n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
      sg_list: [{ addr: a.mr.big('addr'), length: 12, lkey: a.mr.num('lkey') }], remote_addr: b.mr.big('addr') + 100n, rkey: b.mr.num('rkey'),
    }]);
    const wcs = await waitFor(async () => {
      const w = await s.pollCq(a.cq);
      return w.length ? w : null;
    }, 10_000, 'the write completion');
    expect(wcs.map((w) => [w.wr_id, w.status, w.opcode])).toEqual([[9, 'SUCCESS', 'RDMA_WRITE']]);
    expect(Buffer.from((await b.mr.invoke('read', { offset: 100, length: 12 })).data as Uint8Array).toString()).toBe('sim0 to sim1');
    await s.close();
  });

  it('Describe without a device lists the fault injector both devices have', async () => {
    const all = await client.describe();
    expect(all.types.map((t) => t.name)).toEqual((await client.describe('sim1')).types.map((t) => t.name));
    expect(all.types.map((t) => t.name)).toContain('sim_fault');
  });
});

describe('rdma-brokerd --sim-devices: bad values', () => {
  const range = (v: string): string => `--sim-devices: expected 1..16, got ${JSON.stringify(v)}`;
  const needsSim = '--sim-devices applies to the simulated devices: give --device sim';
  it.each([
    [['--device', 'sim', '--sim-devices', '0'], range('0')],
    [['--device', 'sim', '--sim-devices', '17'], range('17')],
    [['--device', 'sim', '--sim-devices', 'two'], range('two')],
    [['--device', 'sim', '--sim-devices', '1.5'], range('1.5')],
    [['--sim-devices', '2'], needsSim],
    [['--device', 'ibverbs', '--sim-devices', '2'], needsSim],
  ])('%j: one line, exit 2, nothing opened', async (args, message) => {
    const r = await runNode([DAEMON_BIN, '--socket', '/nonexistent/x.sock', ...args]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `rdma-brokerd: ${message} (see rdma-brokerd --help)\n` });
  });
});
