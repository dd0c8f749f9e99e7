/**
 * Every async event path, end to end over gRPC and without hardware: the sim's
 * fault injector (the driver-specific type `sim_fault`, docs/fault-injection.md)
 * raises each event with the kernel's side effects, and the session event
 * stream shows it. Device fatal ends the objects on the device children-first
 * and the client sees DEVICE_FATAL, device_lost and one object_released per
 * object, as the README says for device loss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Broker } from '../../src/core/broker.js';
import { createServer } from '../../src/rpc/server.js';
import { SimBackend } from '../../src/verbs/sim/index.js';
import type { Backend, DeviceContext } from '../../src/verbs/backend.js';
import type { SimDevice } from '../../src/verbs/sim/device.js';
import { connect, type AttrMap, type Client, type RdmaObject, type SendWrAttrs, type Session, type SessionEvent } from '../../src/client/index.js';
import { connectRc, failure, startInProcess, tempSocket, waitFor, type InProcess } from './helpers.js';

const { status } = grpc;
const DRIVER_NAMESPACE = 0x1000;

/** A session whose events are all recorded. */
async function recorded(c: Client, name: string): Promise<{ s: Session; events: SessionEvent[] }> {
  const s = await c.openSession({ name });
  const events: SessionEvent[] = [];
  s.on('event', (e: SessionEvent) => events.push(e));
  return { s, events };
}

function waitEvent(events: SessionEvent[], want: Partial<SessionEvent>, what: string): Promise<SessionEvent> {
  return waitFor(() => events.find((e) => Object.entries(want).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v)), 3000, what);
}

async function gidOf(c: Client, device: string): Promise<string> {
  return (await c.queryDevice(device)).ports[0]?.gids[0]?.gid ?? '';
}

/** Two RC QPs of `s` on `device`, connected to each other and in RTS. */
async function rcPair(s: Session, device: string, gid: string, pd: RdmaObject, cq: RdmaObject, extra: AttrMap = {}): Promise<[RdmaObject, RdmaObject]> {
  const a = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', ...extra });
  const b = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', ...extra });
  await connectRc(a, b, gid, 14);
  return [a, b];
}

function write(mr: RdmaObject, id: bigint): SendWrAttrs {
  return {
    wr_id: id, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
    sg_list: [{ addr: mr.big('addr'), length: 8, lkey: mr.num('lkey') }], remote_addr: mr.big('addr') + 64n, rkey: mr.num('rkey'),
  };
}

describe('the sim fault injector over gRPC', () => {
  let rb: InProcess;
  let s: Session;
  let events: SessionEvent[];
  let fault: RdmaObject;
  let pd: RdmaObject;
  let cq: RdmaObject;
  let mr: RdmaObject;
  let gid: string;

  beforeAll(async () => {
    rb = await startInProcess('faults', { devices: 2, deviceFaults: true });
    ({ s, events } = await recorded(rb.client, 'faults'));
    fault = await s.create('sim_fault', {}, { device: 'sim0' });
    pd = await s.allocPd('sim0');
    cq = await s.createCq('sim0', 64);
    mr = await s.regMr(pd, 4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    gid = await gidOf(rb.client, 'sim0');
  });
  afterAll(async () => {
    await rb?.stop();
  });

  it('is discoverable on sim devices: a driver-specific type with its methods and attributes', async () => {
    expect(fault.attrs.device_faults).toBe(true);
    const d = await rb.client.describe('sim0');
    const t = d.types.find((x) => x.name === 'sim_fault');
    expect(t).toMatchObject({ driver_specific: true, supported: true, read_only: false });
    expect(Number(t?.id) & DRIVER_NAMESPACE).toBe(DRIVER_NAMESPACE);
    expect(t?.methods.map((m) => m.name).sort()).toEqual(['create', 'destroy', 'device_fatal', 'overflow_cq', 'port_down', 'port_up', 'raise_event']);
    const raise = t?.methods.find((m) => m.name === 'raise_event');
    expect(Number(raise?.id) & DRIVER_NAMESPACE).toBe(DRIVER_NAMESPACE);
    expect(raise?.attrs.map((a) => a.name)).toEqual(['event', 'target', 'port']);
    // No generic type is driver-specific.
    expect(d.types.filter((x) => x.driver_specific).map((x) => x.name)).toEqual(['sim_fault']);
  });

  it('QP_FATAL, QP_REQ_ERR and QP_ACCESS_ERR move the QP to ERR and flush its work requests', async () => {
    for (const [i, ev] of (['QP_FATAL', 'QP_REQ_ERR', 'QP_ACCESS_ERR'] as const).entries()) {
      const [a] = await rcPair(s, 'sim0', gid, pd, cq);
      await s.postRecv(a, [{ wr_id: BigInt(100 + i), sg_list: [{ addr: mr.big('addr'), length: 16, lkey: mr.num('lkey') }] }]);
      await fault.invoke('raise_event', { event: ev, target: a });
      const e = await waitEvent(events, { kind: 'async', eventType: ev, handle: a.handle }, ev);
      expect(e).toMatchObject({ type: 'qp', device: 'sim0', port: 0 });
      expect((await a.query()).attrs.qp_state).toBe('ERR');
      const wcs = await s.waitCq(cq, 1);
      expect(wcs).toEqual([expect.objectContaining({ wr_id: 100 + i, status: 'WR_FLUSH_ERR' })]);
    }
  });

  it('the other QP events: COMM_EST, SQ_DRAINED, PATH_MIG, PATH_MIG_ERR, QP_LAST_WQE_REACHED on an SRQ QP', async () => {
    const srq = await s.create('srq', { pd, max_wr: 8, max_sge: 1 });
    const [a] = await rcPair(s, 'sim0', gid, pd, cq, { srq });
    for (const ev of ['COMM_EST', 'SQ_DRAINED', 'PATH_MIG', 'PATH_MIG_ERR', 'QP_LAST_WQE_REACHED']) {
      await fault.invoke('raise_event', { event: ev, target: a });
      await waitEvent(events, { kind: 'async', eventType: ev, handle: a.handle }, ev);
    }
    // None of them is an error: the QP stays in RTS.
    expect((await a.query()).attrs.qp_state).toBe('RTS');
    // Only a QP on an SRQ reaches its last WQE.
    const [b] = await rcPair(s, 'sim0', gid, pd, cq);
    const e = await failure(fault.invoke('raise_event', { event: 'QP_LAST_WQE_REACHED', target: b }));
    expect([e.code, e.errno]).toEqual([status.INVALID_ARGUMENT, 22]);
  });

  it('CQ_ERR on a CQ, SRQ_ERR and SRQ_LIMIT_REACHED (which disarms the limit) on an SRQ', async () => {
    await fault.invoke('raise_event', { event: 'CQ_ERR', target: cq });
    await waitEvent(events, { kind: 'async', eventType: 'CQ_ERR', handle: cq.handle }, 'CQ_ERR');
    const srq = await s.create('srq', { pd, max_wr: 8, max_sge: 1, srq_limit: 4 });
    await fault.invoke('raise_event', { event: 'SRQ_ERR', target: srq });
    await waitEvent(events, { kind: 'async', eventType: 'SRQ_ERR', handle: srq.handle, type: 'srq' }, 'SRQ_ERR');
    expect((await srq.query()).attrs.srq_limit).toBe(4);
    await fault.invoke('raise_event', { event: 'SRQ_LIMIT_REACHED', target: srq });
    await waitEvent(events, { kind: 'async', eventType: 'SRQ_LIMIT_REACHED', handle: srq.handle }, 'SRQ_LIMIT_REACHED');
    expect((await srq.query()).attrs.srq_limit).toBe(0);
  });

  it('an overflowed CQ drops the next completion with CQ_ERR; later ones arrive', async () => {
    const cq2 = await s.createCq('sim0', 8);
    const [a] = await rcPair(s, 'sim0', gid, pd, cq2);
    await fault.invoke('overflow_cq', { cq: cq2 });
    await s.postSend(a, [write(mr, 1n)]);
    await waitEvent(events, { kind: 'async', eventType: 'CQ_ERR', handle: cq2.handle }, 'CQ_ERR of the overflow');
    await s.postSend(a, [write(mr, 2n)]);
    expect(await s.waitCq(cq2, 1)).toEqual([expect.objectContaining({ wr_id: 2, status: 'SUCCESS' })]);
    expect(await s.pollCq(cq2)).toEqual([]);
  });

  it('an overflowed receive completion moves the receiving QP to ERR (CQ_ERR, no QP event), as rxe\'s responder does; its later sends are flushed', async () => {
    const scq = await s.createCq('sim0', 8);
    const rcq = await s.createCq('sim0', 8);
    const [a, b] = await rcPair(s, 'sim0', gid, pd, scq, { recv_cq: rcq });
    await fault.invoke('overflow_cq', { cq: rcq });
    const sg = [{ addr: mr.big('addr'), length: 8, lkey: mr.num('lkey') }];
    await s.postRecv(b, [{ wr_id: 1n, sg_list: sg }]);
    const before = events.length;
    await s.postSend(a, [{ wr_id: 2n, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: sg }]);
    await waitEvent(events, { kind: 'async', eventType: 'CQ_ERR', handle: rcq.handle }, 'CQ_ERR of the receive CQ');
    await waitFor(async () => (await b.query()).attrs.qp_state === 'ERR', 3000, 'the responder in ERR');
    expect(events.slice(before).filter((e) => e.kind === 'async' && e.eventType !== 'CQ_ERR')).toEqual([]);
    // The requester got no ACK: it is still in RTS, retrying (retry_cnt 7: for ever), its WR not completed.
    expect((await a.query()).attrs.qp_state).toBe('RTS');
    expect(await s.pollCq(scq)).toEqual([]);
    expect(await s.pollCq(rcq)).toEqual([]);
    await s.postSend(b, [{ wr_id: 3n, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: sg }]);
    expect(await s.waitCq(scq, 1)).toEqual([expect.objectContaining({ wr_id: 3, status: 'WR_FLUSH_ERR' })]);
    await s.destroy(a);
    await s.destroy(b);
  });

  it('validates every attribute: unknown events, events of another kind of object, missing targets, bounds', async () => {
    const [a] = await rcPair(s, 'sim0', gid, pd, cq);
    const reset = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
    // The errno of the broker's own refusals is EINVAL (22) where libibverbs would answer that.
    const cases: [AttrMap, string, number, unknown][] = [
      [{ event: 'NOT_AN_EVENT', target: a }, 'INVALID_ATTR', status.INVALID_ARGUMENT, 22],
      [{ event: 99, target: a }, 'INVALID_ATTR', status.INVALID_ARGUMENT, 22],
      [{ target: a }, 'MISSING_ATTR', status.INVALID_ARGUMENT, 22],
      [{ event: 'QP_FATAL' }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'QP_FATAL', target: cq }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'CQ_ERR', target: a }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'QP_FATAL', target: a, port: 1 }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'QP_FATAL', target: reset }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'WQ_FATAL' }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'PORT_ERR', target: a }, 'ERRNO', status.INVALID_ARGUMENT, 22],
      [{ event: 'QP_FATAL', target: pd }, 'WRONG_TYPE', status.INVALID_ARGUMENT, expect.any(Number)],
      [{ event: 'PORT_ERR', port: 0 }, 'INVALID_ATTR', status.INVALID_ARGUMENT, 22],
      [{ event: 'PORT_ERR', port: 2 }, 'ERRNO', status.INVALID_ARGUMENT, 22],
    ];
    for (const [attrs, code, st, errno] of cases) {
      const e = await failure(fault.invoke('raise_event', attrs));
      expect([JSON.stringify(attrs, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)), e.rdmaError, e.code, e.errno])
        .toEqual([expect.any(String), code, st, errno]);
    }
    for (const attrs of [{ cq, count: 0 }, { cq, count: (1 << 20) + 1 }, { cq: a }, {}]) {
      expect((await failure(fault.invoke('overflow_cq', attrs))).code).toBe(status.INVALID_ARGUMENT);
    }
    expect((await failure(fault.invoke('port_down', { port: 256 }))).code).toBe(status.INVALID_ARGUMENT);
    // Nothing of that changed the QP.
    expect((await a.query()).attrs.qp_state).toBe('RTS');
  });

  it("a session cannot reach another session's objects", async () => {
    const other = await rb.client.openSession({ name: 'other' });
    const ocq = await other.createCq('sim0', 4);
    const e = await failure(fault.invoke('raise_event', { event: 'CQ_ERR', target: ocq }));
    expect(e.code).toBe(status.NOT_FOUND);
    expect((await failure(fault.invoke('overflow_cq', { cq: ocq }))).code).toBe(status.NOT_FOUND);
    await other.close();
  });

  it('port down: the device\'s sessions hear PORT_ERR, the port reports DOWN, sends fail and address vectors do not resolve; port up undoes it', async () => {
    // A session that has only read the port has opened the device too: it hears the device's events.
    const bystander = await recorded(rb.client, 'bystander');
    await bystander.s.queryPort('sim0');
    const [a, b] = await rcPair(s, 'sim0', gid, pd, cq);
    const fresh = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
    await fresh.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: [] });

    await fault.invoke('port_down', {});
    for (const ev of [events, bystander.events]) {
      expect(await waitEvent(ev, { kind: 'async', eventType: 'PORT_ERR' }, 'PORT_ERR')).toMatchObject({ handle: 0, type: 'device', device: 'sim0', port: 1 });
    }
    // As rxe reports a port whose netdev is down: DOWN, phys_state DISABLED (3); in listings too.
    expect(await s.queryPort('sim0')).toMatchObject({ state: 'DOWN', phys_state: 3 });
    expect((await rb.client.queryDevice('sim0')).ports[0]?.attrs).toMatchObject({ state: 'DOWN' });
    // The QPs stay in RTS; a send completes LOC_QP_OP_ERR and moves its QP to ERR (measured on rxe0).
    expect((await a.query()).attrs.qp_state).toBe('RTS');
    await s.postSend(a, [write(mr, 9n)]);
    expect(await s.waitCq(cq, 1)).toEqual([expect.objectContaining({ wr_id: 9, status: 'LOC_QP_OP_ERR' })]);
    expect([(await a.query()).attrs.qp_state, (await b.query()).attrs.qp_state]).toEqual(['ERR', 'RTS']);
    // No route while the port is down: modify to RTR and AH creation answer ENETUNREACH (101).
    const rtr = { qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: b.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1, ah_attr: { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } } };
    const e = await failure(fresh.modify(rtr));
    expect([e.code, e.errno]).toEqual([status.UNAVAILABLE, 101]);
    expect((await failure(s.create('ah', { pd, port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } }))).errno).toBe(101);
    // Twice down is no change: no second event.
    await fault.invoke('port_down', {});

    await fault.invoke('port_up', { port: 1 });
    for (const ev of [events, bystander.events]) await waitEvent(ev, { kind: 'async', eventType: 'PORT_ACTIVE' }, 'PORT_ACTIVE');
    expect(events.filter((x) => x.eventType === 'PORT_ERR')).toHaveLength(1);
    expect(await s.queryPort('sim0')).toMatchObject({ state: 'ACTIVE', phys_state: 5 });
    expect((await rb.client.queryDevice('sim0')).ports[0]?.attrs).toMatchObject({ state: 'ACTIVE' });
    await fresh.modify(rtr);
    const [c] = await rcPair(s, 'sim0', gid, pd, cq);
    await s.postSend(c, [write(mr, 10n)]);
    expect(await s.waitCq(cq, 1)).toEqual([expect.objectContaining({ wr_id: 10, status: 'SUCCESS' })]);
    // The other port events change nothing but are heard by the device's sessions.
    await fault.invoke('raise_event', { event: 'GID_CHANGE' });
    await waitEvent(bystander.events, { kind: 'async', eventType: 'GID_CHANGE', port: 1 }, 'GID_CHANGE');
    await bystander.s.close();
  });

  it('device fatal: the device\'s sessions hear DEVICE_FATAL, those with objects device_lost, objects are released children-first, the other device serves on', async () => {
    const bystander = await recorded(rb.client, 'bystander-fatal');
    await bystander.s.queryPort('sim1');
    const holder = await recorded(rb.client, 'holder');
    const h = holder.s;
    const gid1 = await gidOf(rb.client, 'sim1');
    const simDev = rb.backend.deviceByGid(gid1) as SimDevice;
    const f1 = await h.create('sim_fault', {}, { device: 'sim1' });
    const pd1 = await h.allocPd('sim1');
    const cq1 = await h.createCq('sim1', 16);
    const mr1 = await h.regMr(pd1, 4096, ['LOCAL_WRITE', 'REMOTE_WRITE']);
    const srq1 = await h.create('srq', { pd: pd1, max_wr: 4, max_sge: 1 });
    const [qa, qb] = await rcPair(h, 'sim1', gid1, pd1, cq1, { srq: srq1 });
    const mw1 = await h.create('mw', { pd: pd1, mw_type: 2 });
    const ah1 = await h.create('ah', { pd: pd1, port_num: 1, grh: { dgid: gid1, sgid_index: 0, hop_limit: 1 } });
    const mine = [f1, pd1, cq1, mr1, srq1, qa, qb, mw1, ah1];
    // The holder's sim0 objects are not on the lost device.
    const pd0 = await h.allocPd('sim0');

    await f1.invoke('device_fatal', {});
    await waitEvent(holder.events, { kind: 'async', eventType: 'DEVICE_FATAL', device: 'sim1', handle: 0 }, 'DEVICE_FATAL');
    await waitEvent(bystander.events, { kind: 'async', eventType: 'DEVICE_FATAL', device: 'sim1' }, 'DEVICE_FATAL (bystander)');
    await waitEvent(holder.events, { kind: 'device_lost', device: 'sim1' }, 'device_lost');
    await waitFor(() => holder.events.filter((e) => e.kind === 'object_released').length === mine.length, 3000, 'every object released');

    const released = holder.events.filter((e) => e.kind === 'object_released').map((e) => e.handle);
    expect(new Set(released)).toEqual(new Set(mine.map((o) => o.handle)));
    const at = (o: RdmaObject): number => released.indexOf(o.handle);
    // Children before parents: windows and QPs before what they use, MRs, SRQs, CQs and AHs before the PD.
    for (const [child, parent] of [[mw1, qa], [mw1, pd1], [qa, cq1], [qb, cq1], [qa, srq1], [qa, pd1], [mr1, pd1], [srq1, pd1], [ah1, pd1]] as const) {
      expect(at(child), `${child.type} ${child.handle} before ${parent.type} ${parent.handle}`).toBeLessThan(at(parent));
    }
    // The stream's order: DEVICE_FATAL, device_lost, then the releases.
    const kinds = holder.events.filter((e) => e.device === 'sim1').map((e) => (e.kind === 'async' ? e.eventType : e.kind));
    expect(kinds.slice(0, 2)).toEqual(['DEVICE_FATAL', 'device_lost']);
    expect(kinds.slice(2).every((k) => k === 'object_released')).toBe(true);
    // The bystander had nothing there: no device_lost for it.
    expect(bystander.events.some((e) => e.kind === 'device_lost')).toBe(false);
    // A session that never opened sim1 does not hear of it (its stream is ordered: sim0's event comes after).
    await fault.invoke('raise_event', { event: 'LID_CHANGE' });
    await waitEvent(events, { kind: 'async', eventType: 'LID_CHANGE', device: 'sim0' }, 'LID_CHANGE of sim0');
    expect(events.filter((e) => e.device === 'sim1')).toEqual([]);

    expect(Object.values(simDev.counts).reduce((x, y) => x + y, 0)).toBe(0);
    expect((await rb.client.devices()).map((d) => [d.name, d.state])).toEqual([['sim0', 'live'], ['sim1', 'lost']]);
    expect((await rb.client.listObjects({ device: 'sim1' }))).toEqual([]);
    expect((await failure(h.allocPd('sim1'))).code).toBe(status.UNAVAILABLE);
    expect((await failure(qa.query())).code).toBe(status.NOT_FOUND);
    // sim0 serves on, for the holder too.
    expect((await pd0.query()).type).toBe('pd');
    await h.createCq('sim0', 4);
    await h.close();
    await bystander.s.close();
  });
});

describe('device and port events reach the sessions of their device only', () => {
  let rb: InProcess;
  beforeAll(async () => {
    rb = await startInProcess('faults-two', { devices: 2, deviceFaults: true });
  });
  afterAll(async () => {
    await rb.stop();
  });

  it('a port fault on sim0 reaches the sessions that opened sim0 (objects or a device method), not those of sim1 or of no device; the session taps (the fd mirror) alike', async () => {
    const a = await recorded(rb.client, 'on-sim0');
    const fault0 = await a.s.create('sim_fault', {}, { device: 'sim0' });
    const reader = await recorded(rb.client, 'reads-sim0');
    await reader.s.queryPort('sim0');
    const b = await recorded(rb.client, 'on-sim1');
    const fault1 = await b.s.create('sim_fault', {}, { device: 'sim1' });
    await b.s.allocPd('sim1');
    const idle = await recorded(rb.client, 'no-device');
    const mirrored: string[] = [];
    const untap = rb.broker.sessions.get(b.s.id)?.tap((e) => mirrored.push(`${e.eventType}:${e.device}`));
    try {
      const heard = (ev: SessionEvent[], device: string): string[] => ev.filter((e) => e.kind === 'async' && e.handle === 0 && e.device === device).map((e) => e.eventType);
      await fault0.invoke('port_down', {});
      await fault0.invoke('raise_event', { event: 'LID_CHANGE' });
      for (const x of [a, reader]) await waitEvent(x.events, { kind: 'async', eventType: 'LID_CHANGE', device: 'sim0' }, 'LID_CHANGE of sim0');
      // sim1's own event is heard on sim1's session: anything of sim0 sent to it would have come first (one ordered stream).
      await fault1.invoke('raise_event', { event: 'GID_CHANGE' });
      await waitEvent(b.events, { kind: 'async', eventType: 'GID_CHANGE', device: 'sim1' }, 'GID_CHANGE of sim1');
      await fault0.invoke('port_up', {});
      for (const x of [a, reader]) await waitEvent(x.events, { kind: 'async', eventType: 'PORT_ACTIVE', device: 'sim0' }, 'PORT_ACTIVE of sim0');
      for (const x of [a, reader]) expect(heard(x.events, 'sim0')).toEqual(['PORT_ERR', 'LID_CHANGE', 'PORT_ACTIVE']);
      expect(heard(a.events, 'sim1')).toEqual([]);
      expect(heard(b.events, 'sim0')).toEqual([]);
      expect(heard(b.events, 'sim1')).toEqual(['GID_CHANGE']);
      expect(mirrored.filter((m) => m.endsWith(':sim0'))).toEqual([]);
      // The idle session hears a device's events once it opens it, not before.
      expect(idle.events).toEqual([]);
      await idle.s.queryPort('sim1');
      await fault1.invoke('raise_event', { event: 'SM_CHANGE' });
      await waitEvent(idle.events, { kind: 'async', eventType: 'SM_CHANGE', device: 'sim1' }, 'SM_CHANGE once it opened sim1');
      expect(idle.events.map((e) => `${e.eventType}:${e.device}`)).toEqual(['SM_CHANGE:sim1']);
    } finally {
      untap?.();
      for (const x of [a, reader, b, idle]) await x.s.close();
    }
  });
});

describe('who may inject what', () => {
  it('a sim that was not chosen for testing refuses port and device faults (EPERM) but not faults on your own objects', async () => {
    const rb = await startInProcess('faults-perm');
    try {
      const { s, events } = await recorded(rb.client, 'perm');
      const f = await s.create('sim_fault', {}, { device: 'sim0' });
      expect(f.attrs.device_faults).toBe(false);
      for (const [m, attrs] of [['port_down', {}], ['port_up', {}], ['device_fatal', {}], ['raise_event', { event: 'PORT_ERR' }], ['raise_event', { event: 'DEVICE_FATAL' }], ['raise_event', { event: 'LID_CHANGE' }]] as const) {
        const e = await failure(f.invoke(m, attrs));
        expect([m, e.code, e.errno]).toEqual([m, status.PERMISSION_DENIED, 1]);
      }
      expect(await s.queryPort('sim0')).toMatchObject({ state: 'ACTIVE' });
      expect((await rb.client.devices())[0]?.state).toBe('live');
      const cq = await s.createCq('sim0', 4);
      await f.invoke('raise_event', { event: 'CQ_ERR', target: cq });
      await waitEvent(events, { kind: 'async', eventType: 'CQ_ERR', handle: cq.handle }, 'CQ_ERR');
    } finally {
      await rb.stop();
    }
  });

  it('a device without a fault injector does not list the type, and creating it answers UNIMPLEMENTED', async () => {
    // A backend whose contexts have no injector, as the libibverbs backend's.
    const sim = new SimBackend();
    const plain: Backend = {
      kind: sim.kind,
      listDevices: () => sim.listDevices(),
      watchDevices: (cb) => sim.watchDevices(cb),
      openDevice: async (n) => {
        const ctx: DeviceContext = await sim.openDevice(n);
        Object.defineProperty(ctx, 'faults', { value: undefined });
        return ctx;
      },
    };
    const log = pino({ level: 'silent' });
    const broker = new Broker({ backend: plain, log });
    await broker.start();
    const server = createServer({ broker, log });
    const { socket } = tempSocket('faults-none');
    await new Promise<number>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const client = await connect({ socket });
    try {
      const d = await client.describe('sim0');
      expect(d.types.map((t) => t.name)).not.toContain('sim_fault');
      expect(d.types.map((t) => t.name)).toContain('qp');
      const s = await client.openSession({ name: 'none' });
      const e = await failure(s.create('sim_fault', {}, { device: 'sim0' }));
      expect([e.code, e.rdmaError]).toEqual([status.UNIMPLEMENTED, 'UNSUPPORTED']);
      expect(await client.listObjects({})).toEqual([]);
      await s.close();
    } finally {
      client.close();
      await broker.shutdown();
      server.forceShutdown();
    }
  });
});
