/**
 * Objects of one verb on different devices (src/core/errors.ts'
 * mixedDevices): a create whose handles are on two devices, a create whose
 * named device is not its parent's, a method given a handle of another
 * device (over the control path and the fast lane's entry), all refused
 * with one form of message naming each object, its attribute and its
 * device, with the same status, and nothing made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../../src/core/broker.js';
import { BrokerError } from '../../../src/core/errors.js';
import type { BrokerObject } from '../../../src/core/registry.js';
import type { Session } from '../../../src/core/sessions.js';
import { errorReport } from '../../../src/core/status.js';
import { HandleValue } from '../../../src/wire/values.js';
import { startBroker, type TestBroker } from './fixture.js';

interface Side { pd: BrokerObject; cq: BrokerObject; qp: BrokerObject; ud: BrokerObject; mr: BrokerObject; mw: BrokerObject; ah: BrokerObject }

let tb: TestBroker;
let broker: Broker;
let s: Session;
let a: Side;
let b: Side;

const h = (o: BrokerObject): HandleValue => new HandleValue(o.handle);

async function side(dev: string): Promise<Side> {
  const create = (type: string, attrs: Record<string, unknown>, device = ''): Promise<BrokerObject> =>
    broker.create(s, { type, device, attrs: attrs as never, userHandle: '0' });
  const pd = await create('pd', {}, dev);
  const cq = await create('cq', { cqe: 16 }, dev);
  const qp = await create('qp', { pd: h(pd), send_cq: h(cq), recv_cq: h(cq), qp_type: 'RC' });
  const ud = await create('qp', { pd: h(pd), send_cq: h(cq), recv_cq: h(cq), qp_type: 'UD' });
  const mr = await create('mr', { pd: h(pd), length: 4096n, access: ['LOCAL_WRITE', 'MW_BIND'] });
  const mw = await create('mw', { pd: h(pd), mw_type: 2 });
  const gid = broker.devices.get(dev).ports[0]?.gids[0]?.gid ?? '';
  const ah = await create('ah', { pd: h(pd), port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } });
  return { pd, cq, qp, ud, mr, mw, ah };
}

/** The refusal of `p`: its code, status, attribute and message. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; status: string; attribute: string; message: string }> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof BrokerError)) throw new Error(`expected a BrokerError, got ${String(e)}`);
  const r = errorReport(e);
  return { code: e.code, status: r.status_name, attribute: e.attribute, message: e.message };
}

const refused = (attribute: string, message: string): unknown => ({ code: 'INVALID_ATTR', status: 'INVALID_ARGUMENT', attribute, message });

beforeAll(async () => {
  tb = await startBroker({ devices: [{}, {}] });
  broker = tb.broker;
  s = tb.open('mixed');
  a = await side('sim0');
  b = await side('sim1');
});
afterAll(() => tb?.stop());

describe('objects on different devices', () => {
  it('a create whose handles are on two devices, or whose device is not its parent\'s', async () => {
    const before = broker.registry.size;
    expect(await refusal(broker.create(s, { type: 'qp', device: '', attrs: { pd: h(b.pd), send_cq: h(a.cq), recv_cq: h(b.cq), qp_type: 'RC' }, userHandle: '0' })))
      .toStrictEqual(refused('qp.create.send_cq', `qp.create: objects on different devices: pd ${b.pd.handle} (pd) is on sim1, cq ${a.cq.handle} (send_cq) on sim0`));
    expect(await refusal(broker.create(s, { type: 'qp', device: '', attrs: { pd: h(a.pd), send_cq: h(a.cq), recv_cq: h(b.cq), qp_type: 'RC' }, userHandle: '0' })))
      .toStrictEqual(refused('qp.create.recv_cq', `qp.create: objects on different devices: pd ${a.pd.handle} (pd) is on sim0, cq ${b.cq.handle} (recv_cq) on sim1`));
    expect(await refusal(broker.create(s, { type: 'mw', device: 'sim1', attrs: { pd: h(a.pd), mw_type: 2 }, userHandle: '0' })))
      .toStrictEqual(refused('mw.create.pd', `mw.create: objects on different devices: pd ${a.pd.handle} (pd) is on sim0, the request names sim1`));
    expect(broker.registry.size).toBe(before);
  });

  it('a method given a handle of another device, over the control path and the fast lane\'s entry alike', async () => {
    const bindAttrs = { mw: h(b.mw), mr: h(b.mr), addr: 0n, length: 16n };
    // qp.bind_mw (type 1 windows): the window of sim1 through sim0's QP.
    expect(await refusal(broker.invoke(s, a.qp.handle, '', 'bind_mw', bindAttrs)))
      .toStrictEqual(refused('qp.bind_mw.mw', `qp.bind_mw: objects on different devices: qp ${a.qp.handle} (the target) is on sim0, mw ${b.mw.handle} (mw) on sim1`));
    expect(await refusal(broker.invoke(s, a.qp.handle, '', 'bind_mw', { ...bindAttrs, mw: h(a.mw) })))
      .toStrictEqual(refused('qp.bind_mw.mr', `qp.bind_mw: objects on different devices: qp ${a.qp.handle} (the target) is on sim0, mr ${b.mr.handle} (mr) on sim1`));
    // A send WR's AH and BIND_MW window: the same words through qp.post_send and through the lane's entry.
    const ahWr = { wr_id: 1n, opcode: 'SEND', send_flags: 0, sg_list: [], remote_qpn: 1, remote_qkey: 0 };
    const ahMessage = `qp.post_send: objects on different devices: qp ${a.ud.handle} (the target) is on sim0, ah ${b.ah.handle} (wrs[0].ah) on sim1`;
    expect(await refusal(broker.invoke(s, a.ud.handle, '', 'post_send', { wrs: [{ ...ahWr, ah: h(b.ah) }] as never })))
      .toStrictEqual(refused('qp.post_send.wrs[0].ah', ahMessage));
    const lane = await refusal(broker.dataPath.post(s, a.ud.handle, 'send', [{ ...ahWr, opcode: 'SEND', ah: b.ah.handle }]));
    expect(lane.message).toBe(ahMessage);
    expect(lane.status).toBe('INVALID_ARGUMENT');
    const bind = { mw: b.mw.handle, mr: a.mr.handle, rkey: 0, addr: 0n, length: 16, mw_access_flags: 0 };
    const laneBind = await refusal(broker.dataPath.post(s, a.qp.handle, 'send', [{ wr_id: 2n, opcode: 'BIND_MW', send_flags: 0, sg_list: [], bind_mw: bind }]));
    expect(laneBind.message).toBe(`qp.post_send: objects on different devices: qp ${a.qp.handle} (the target) is on sim0, mw ${b.mw.handle} (wrs[0].bind_mw.mw) on sim1`);
    const laneBindMr = await refusal(broker.dataPath.post(s, a.qp.handle, 'send', [{ wr_id: 2n, opcode: 'BIND_MW', send_flags: 0, sg_list: [], bind_mw: { ...bind, mw: a.mw.handle, mr: b.mr.handle } }]));
    expect(laneBindMr.message).toBe(`qp.post_send: objects on different devices: qp ${a.qp.handle} (the target) is on sim0, mr ${b.mr.handle} (wrs[0].bind_mw.mr) on sim1`);
    const grpcBind = await refusal(broker.invoke(s, a.qp.handle, '', 'post_send', { wrs: [{ wr_id: 2n, opcode: 'BIND_MW', bind_mw: { ...bind, mw: h(b.mw), mr: h(a.mr) } }] as never }));
    expect(grpcBind).toStrictEqual(refused('qp.post_send.wrs[0].bind_mw.mw', laneBind.message));
  });
});
