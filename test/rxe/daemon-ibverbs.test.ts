/**
 * The daemon on the VM's soft-RoCE device, end to end, as separate processes
 * (rdma-brokerd --device ibverbs, the example, rdmactl), with the kernel's own
 * resource counts (`rdma resource show`) as the judge of cleanup.
 *
 * The last case deletes rxe0 under the daemon and adds it back.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { status as grpcStatus } from '@grpc/grpc-js';
import { connect, RdmaError, type Client, type MrAccess, type RdmaObject, type Session, type SessionEvent } from '../../src/client/index.js';
import { CTL_BIN, EXAMPLE, ROOT, runNode, spawnDaemon, waitFor, type Daemon } from '../integration/helpers.js';
import { kernelResources, type KernelResourceCounts } from './kernel-resources.js';
import { RXE_DEVICE, describeRxe, inRxeVm } from './vm.js';

const run = promisify(execFile);
const BASE_TYPES = ['pd', 'mr', 'cq', 'qp', 'srq'] as const;

async function ctlJson(socket: string, ...args: string[]): Promise<unknown> {
  const r = await runNode([CTL_BIN, '--socket', socket, ...args], 60_000);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

function pick(c: KernelResourceCounts): Record<string, number> {
  return Object.fromEntries(BASE_TYPES.map((t) => [t, c[t]]));
}

async function runExample(socket: string, bytes: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('npm', ['run', '-s', 'example:write', '--', '--socket', socket, '--bytes', String(bytes), '--device', RXE_DEVICE], { cwd: ROOT });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

describeRxe('rdma-brokerd --device ibverbs on soft-RoCE', () => {
  let d: Daemon;
  let client: Client;
  let baseline: KernelResourceCounts;

  beforeAll(async () => {
    d = await spawnDaemon('rxe', [], { device: 'ibverbs', readyMs: 90_000 });
    client = await connect({ socket: d.socket });
    baseline = await kernelResources(RXE_DEVICE);
  });
  /** Waits (through the client) until the daemon lists no object, then checks rdmactl says the same. */
  async function noObjects(): Promise<void> {
    await waitFor(async () => (await client.listObjects()).length === 0, 10_000, 'no objects');
    expect(await ctlJson(d.socket, 'objects', '-j')).toEqual([]);
  }

  afterAll(async () => {
    client?.close();
    await d?.stop();
    // Leave the VM as we found it, whatever happened in the device-removal case.
    if (inRxeVm) {
      const { stdout } = await run('rdma', ['-j', 'link', 'show']);
      if (!stdout.includes(`"${RXE_DEVICE}/`) && !stdout.includes(`"ifname":"${RXE_DEVICE}"`)) {
        await run('rdma', ['link', 'add', RXE_DEVICE, 'type', 'rxe', 'netdev', 'dummy0']).catch(() => {});
      }
    }
  });

  it('serves rxe0 and says up front what rxe cannot do', async () => {
    const devs = (await ctlJson(d.socket, 'devices', '-j')) as { name: string; backend: string; provider: string; state: string }[];
    expect(devs).toEqual([expect.objectContaining({ name: RXE_DEVICE, backend: 'ibverbs', provider: 'rxe', state: 'live' })]);
    const desc = await client.describe(RXE_DEVICE);
    expect(desc.supports_import).toBe(false);
    const types = new Map(desc.types.map((t) => [t.name, t]));
    const method = (type: string, m: string): boolean | undefined => types.get(type)?.methods.find((x) => x.name === m)?.supported;
    expect(method('xrcd', 'create')).toBe(false);
    expect(method('flow', 'create')).toBe(false);
    expect(method('mw', 'create')).toBe(true);
    expect(method('srq', 'create')).toBe(true);
    expect(method('qp', 'bind_mw')).toBe(true);
    // Driver-specific types exist where their driver is: the sim's fault injector is not listed, and cannot be made.
    expect(desc.types.filter((t) => t.driver_specific)).toEqual([]);
    const s = await client.openSession({ name: 'rxe-no-faults' });
    const e = await s.create('sim_fault', {}, { device: RXE_DEVICE }).then(() => null, (x: RdmaError) => x);
    expect([e?.code, e?.rdmaError]).toEqual([grpcStatus.UNIMPLEMENTED, 'UNSUPPORTED']);
    await s.close();
    // Nothing was half-made, and rdmactl shows what Describe says: no driver-specific type on rxe0.
    await noObjects();
    const ctl = await runNode([CTL_BIN, '--socket', d.socket, 'types', RXE_DEVICE, '-v'], 60_000);
    expect([ctl.code, ctl.stderr]).toEqual([0, '']);
    expect(ctl.stdout).toMatch(/^ {2}type qp id \d+/m);
    expect(ctl.stdout).not.toMatch(/sim_fault|driver yes/);
    // Without a device, Describe answers for the daemon: the types of rxe0, its only device, and so no sim_fault;
    // rdmactl's --type check goes by that list.
    const all = await client.describe();
    expect(all.device).toBe('');
    expect(all.types.map((t) => t.name)).toEqual(desc.types.map((t) => t.name));
    const support = (r: typeof all): string[] => r.types.flatMap((t) => t.methods.map((m) => `${t.name}.${m.name}=${m.supported}`));
    expect(support(all)).toEqual(support(desc));
    expect(all.supports_import).toBe(false);
    const typeCheck = await runNode([CTL_BIN, '--socket', d.socket, 'objects', '--type', 'sim_fault'], 60_000);
    expect(typeCheck.code).toBe(2);
    expect(typeCheck.stderr).toMatch(/^rdmactl: unknown object type "sim_fault"; known types: [a-z_, ]*\bqp\b/);
    expect(typeCheck.stderr).not.toMatch(/known types: .*sim_fault/);
  }, 240_000); // four node processes (rdmactl) on a loaded emulated guest took 100 s

  // What the sim's port_down (docs/fault-injection.md, test/integration/faults.test.ts) copies, on the kernel itself.
  it.skipIf(!inRxeVm)('the netdev down and up: PORT_ERR and PORT_ACTIVE to the session, the port DOWN, sends LOC_QP_OP_ERR, no route (101)', async () => {
    const s = await client.openSession({ name: 'rxe-port' });
    const events: SessionEvent[] = [];
    s.on('event', (e: SessionEvent) => events.push(e));
    // A session that never named rxe0 does not hear its port events (as a uverbs async fd of another device).
    const idle = await client.openSession({ name: 'rxe-port-idle' });
    const idleEvents: SessionEvent[] = [];
    idle.on('event', (e: SessionEvent) => idleEvents.push(e));
    const pd = await s.allocPd(RXE_DEVICE);
    const cq = await s.createCq(RXE_DEVICE, 16);
    const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const gid = (await client.queryDevice(RXE_DEVICE)).ports[0]?.gids[0]?.gid ?? '';
    const av = { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } };
    const qps: RdmaObject[] = [];
    for (let i = 0; i < 3; i++) {
      const q = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 4, max_recv_wr: 4, max_send_sge: 1, max_recv_sge: 1 } });
      await q.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: ['REMOTE_WRITE'] });
      qps.push(q);
    }
    const [a, b, fresh] = qps as [RdmaObject, RdmaObject, RdmaObject];
    const rtr = (x: RdmaObject, y: RdmaObject): Promise<RdmaObject> => x.modify({
      qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: y.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1, ah_attr: av,
    });
    await rtr(a, b);
    await rtr(b, a);
    for (const x of [a, b]) await x.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    try {
      await run('ip', ['link', 'set', 'dummy0', 'down']);
      await waitFor(() => events.some((e) => e.kind === 'async' && e.eventType === 'PORT_ERR' && e.port === 1), 10_000, 'PORT_ERR');
      expect(await s.queryPort(RXE_DEVICE)).toMatchObject({ state: 'DOWN', phys_state: 3 });
      expect((await client.queryDevice(RXE_DEVICE)).ports[0]?.attrs).toMatchObject({ state: 'DOWN' });
      expect((await a.query()).attrs.qp_state).toBe('RTS');
      const e = await rtr(fresh, a).then(() => null, (x: RdmaError) => x);
      expect([e?.code, e?.errno]).toEqual([grpcStatus.UNAVAILABLE, 101]);
      await s.postSend(a, [{
        wr_id: 9n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
        sg_list: [{ addr: mr.big('addr'), length: 8, lkey: mr.num('lkey') }], remote_addr: mr.big('addr') + 64n, rkey: mr.num('rkey'),
      }]);
      expect(await s.waitCq(cq, 1)).toEqual([expect.objectContaining({ wr_id: 9, status: 'LOC_QP_OP_ERR' })]);
      expect([(await a.query()).attrs.qp_state, (await b.query()).attrs.qp_state]).toEqual(['ERR', 'RTS']);
    } finally {
      await run('ip', ['link', 'set', 'dummy0', 'up']);
    }
    await waitFor(() => events.some((e) => e.kind === 'async' && e.eventType === 'PORT_ACTIVE' && e.port === 1), 10_000, 'PORT_ACTIVE');
    expect(await s.queryPort(RXE_DEVICE)).toMatchObject({ state: 'ACTIVE', phys_state: 5 });
    await rtr(fresh, a);
    await s.close();
    // PORT_ERR went out seconds before PORT_ACTIVE: had it been sent to the idle session, it would be here.
    expect(idleEvents.filter((e) => e.kind === 'async')).toEqual([]);
    await idle.close();
  });

  it('npm run example:write moves 1 MiB over rxe0, and the kernel is back to its baseline', async () => {
    const r = await runExample(d.socket, 1 << 20);
    console.log(r.out.trim());
    expect(r.out).toBe('rdma-write ok 1048576 bytes\n');
    expect(r.code).toBe(0);
    await noObjects();
    expect(pick(await kernelResources(RXE_DEVICE))).toEqual(pick(baseline));
  });

  it('SEND/RECV and RDMA READ between two sessions', async () => {
    const info = await client.queryDevice(RXE_DEVICE);
    const port = info.ports[0];
    if (!port) throw new Error('no port');
    const gid0 = port.gids.find((g) => g.index === 0);
    expect(gid0).toBeDefined();
    const ah = { port_num: 1, dlid: 0, sl: 0, grh: { dgid: gid0?.gid ?? '', sgid_index: 0, hop_limit: 1 } };
    const access: MrAccess = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ'];
    const mk = async (s: Session): Promise<{ pd: RdmaObject; mr: RdmaObject; cq: RdmaObject; qp: RdmaObject }> => {
      const pd = await s.allocPd(RXE_DEVICE);
      const mr = await s.regMr(pd, 65536, access);
      const cq = await s.createCq(RXE_DEVICE, 16);
      const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 8, max_recv_wr: 8, max_send_sge: 1, max_recv_sge: 1 } });
      return { pd, mr, cq, qp };
    };
    const sa = await client.openSession({ name: 'rxe-a' });
    const sb = await client.openSession({ name: 'rxe-b' });
    try {
      const a = await mk(sa);
      const b = await mk(sb);
      const connectQp = async (s: Session, qp: RdmaObject, peer: RdmaObject): Promise<void> => {
        await s.modify(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: access });
        await s.modify(qp, { qp_state: 'RTR', path_mtu: Number(port.attrs.active_mtu), dest_qp_num: peer.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah });
        await s.modify(qp, { qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
      };
      await connectQp(sa, a.qp, b.qp);
      await connectQp(sb, b.qp, a.qp);

      // SEND from session A into a receive posted by session B.
      await sb.postRecv(b.qp, [{ wr_id: 11, sg_list: [{ addr: b.mr.big('addr'), length: 4096, lkey: b.mr.num('lkey') }] }]);
      const msg = Buffer.from('hello from session A over rxe0');
      await sa.writeMr(a.mr, 0, msg);
      await sa.postSend(a.qp, [{ wr_id: 12, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [{ addr: a.mr.big('addr'), length: msg.length, lkey: a.mr.num('lkey') }] }]);
      const [sent] = await sa.waitCq(a.cq, 1, 30_000);
      const [recv] = await sb.waitCq(b.cq, 1, 30_000);
      expect(sent).toMatchObject({ status: 'SUCCESS', opcode: 'SEND' });
      expect(recv).toMatchObject({ status: 'SUCCESS', opcode: 'RECV', byte_len: msg.length });
      expect((await sb.readMr(b.mr, 0, msg.length)).toString()).toBe(msg.toString());

      // RDMA READ by session B of session A's memory.
      const secret = Buffer.from('read across sessions');
      await sa.writeMr(a.mr, 8192, secret);
      await sb.postSend(b.qp, [{
        wr_id: 13, opcode: 'RDMA_READ', send_flags: ['SIGNALED'],
        sg_list: [{ addr: b.mr.big('addr') + 16384n, length: secret.length, lkey: b.mr.num('lkey') }],
        remote_addr: a.mr.big('addr') + 8192n, rkey: a.mr.num('rkey'),
      }]);
      const [rd] = await sb.waitCq(b.cq, 1, 30_000);
      expect(rd).toMatchObject({ status: 'SUCCESS', opcode: 'RDMA_READ', byte_len: secret.length });
      expect((await sb.readMr(b.mr, 16384, secret.length)).toString()).toBe(secret.toString());
    } finally {
      await sa.close();
      await sb.close();
    }
    await noObjects();
    expect(pick(await kernelResources(RXE_DEVICE))).toEqual(pick(baseline));
  });

  it("error details from rxe0: a post whose second WR the device refuses names WR 1; reg_mr of length 0 is errno 22", async () => {
    const s = await client.openSession({ name: 'rxe-errors' });
    try {
      const pd = await s.allocPd(RXE_DEVICE);
      const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
      const cq = await s.createCq(RXE_DEVICE, 16);
      const qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 4, max_recv_wr: 4, max_send_sge: 1, max_recv_sge: 1 } });
      await s.modify(qp, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: [] });
      const sge = (off: number): { addr: bigint; length: number; lkey: number } => ({ addr: mr.big('addr') + BigInt(off), length: 16, lkey: mr.num('lkey') });
      // WR 1 has more SGEs than the QP's receive queue takes: rxe's post_recv stops there (*bad_wr).
      const post = await s.postRecv(qp, [{ wr_id: 1, sg_list: [sge(0)] }, { wr_id: 2, sg_list: [sge(16), sge(32), sge(48), sge(64)] }]).then(() => null, (e: unknown) => e as RdmaError);
      expect(post).toBeInstanceOf(RdmaError);
      expect([post?.codeName, post?.rdmaError, post?.errno, post?.wrIndex]).toEqual(['INVALID_ARGUMENT', 'ERRNO', 22, 1]);
      // The kernel answers ibv_reg_mr of length 0 with EINVAL; the broker refuses it first with the same errno.
      const zero = await s.regMr(pd, 0, ['LOCAL_WRITE']).then(() => null, (e: unknown) => e as RdmaError);
      expect([zero?.codeName, zero?.errno]).toEqual(['INVALID_ARGUMENT', 22]);
      expect(zero?.attribute).toMatch(/length$/);
    } finally {
      await s.close();
    }
    await noObjects();
  });

  it('a --hold client killed with SIGKILL: rdmactl objects and rdma resource show return to baseline', async () => {
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, '--hold', '--bytes', '8192', '--device', RXE_DEVICE], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor(() => out.includes('holding') || p.exitCode !== null, 60_000, 'holding');
      expect(out).toBe('holding\n');
      const objs = (await ctlJson(d.socket, 'objects', '-j')) as { type: string }[];
      // The example may also make a completion channel (--wait events): not a kernel-counted resource.
      expect(objs.map((o) => o.type).filter((t) => t !== 'comp_channel').sort()).toEqual(['cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
      const held = await kernelResources(RXE_DEVICE);
      expect(pick(held)).toEqual({ ...pick(baseline), pd: baseline.pd + 1, mr: baseline.mr + 2, cq: baseline.cq + 1, qp: baseline.qp + 2 });
      console.log(`rdma resource show ${RXE_DEVICE}: baseline ${JSON.stringify(pick(baseline))}, held ${JSON.stringify(pick(held))}`);

      p.kill('SIGKILL');
      await noObjects();
      await waitFor(async () => JSON.stringify(pick(await kernelResources(RXE_DEVICE))) === JSON.stringify(pick(baseline)), 10_000, 'the kernel counts to return to baseline');
      console.log(`rdma resource show ${RXE_DEVICE} after SIGKILL: ${JSON.stringify(pick(await kernelResources(RXE_DEVICE)))} (baseline ${JSON.stringify(pick(baseline))})`);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it.skipIf(!inRxeVm)('rdma link delete under held objects: clients are told, the daemon keeps serving, a re-added device is served', async () => {
    const s = await client.openSession({ name: 'rxe-holder' });
    const events: SessionEvent[] = [];
    s.on('event', (e: SessionEvent) => events.push(e));
    const pd = await s.allocPd(RXE_DEVICE);
    const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
    const cq = await s.createCq(RXE_DEVICE, 8);
    await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 1, max_recv_wr: 1, max_send_sge: 1, max_recv_sge: 1 } });
    expect(mr.num('lkey')).toBeGreaterThan(0);

    // rxe has no disassociate: the kernel's removal waits until the daemon closed every context of the device.
    const t0 = Date.now();
    await run('rdma', ['link', 'delete', RXE_DEVICE], { timeout: 60_000 });
    console.log(`rdma link delete ${RXE_DEVICE} returned after ${Date.now() - t0} ms`);
    await waitFor(() => events.some((e) => e.kind === 'device_lost'), 10_000, 'a device_lost event');
    const devs = (await ctlJson(d.socket, 'devices', '-j')) as { name: string; state: string }[];
    expect(devs).toEqual([expect.objectContaining({ name: RXE_DEVICE, state: 'lost' })]);
    await noObjects();
    expect(d.proc.exitCode).toBeNull();

    await run('rdma', ['link', 'add', RXE_DEVICE, 'type', 'rxe', 'netdev', 'dummy0'], { timeout: 60_000 });
    await waitFor(async () => (await client.devices()).some((x) => x.name === RXE_DEVICE && x.state === 'live'), 20_000, 'the device to be served again');
    const r = await runExample(d.socket, 65536);
    expect(r.out).toBe('rdma-write ok 65536 bytes\n');
    await s.close().catch(() => {});
    // The removal, the re-add and a whole example process: on a loaded emulated guest more than the default 120 s.
  }, 300_000);
});
