/** The QP state machine over gRPC: legal transitions move, illegal ones answer INVALID_ARGUMENT with errno EINVAL and change nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmaError, status, type AttrMap, type CreateAttrs, type RdmaObject, type Session } from '../../src/client/index.js';
import { startQpFixture, type InProcess } from './helpers.js';

let rb: InProcess;
let s: Session;
let pd: RdmaObject;
let cq: RdmaObject;
let ah: AttrMap;

beforeAll(async () => {
  ({ rb, s, pd, cq, ah } = await startQpFixture('qpstate', 'qp-state'));
});
afterAll(async () => {
  await s?.close();
  await rb?.stop();
});

const newQp = (type: CreateAttrs<'qp'>['qp_type'] = 'RC'): Promise<RdmaObject> => s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: type });
const toInit = (qp: RdmaObject): Promise<RdmaObject> => qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ['REMOTE_WRITE'] });
const toRtr = (qp: RdmaObject): Promise<RdmaObject> => qp.modify({
  qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: qp.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah,
});
const toRts = (qp: RdmaObject): Promise<RdmaObject> => qp.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });

async function stateOf(qp: RdmaObject): Promise<string> {
  return String((await qp.query()).attrs.qp_state);
}

async function refused(p: Promise<unknown>): Promise<RdmaError> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof RdmaError)) throw new Error(`expected an RdmaError, got ${String(e)}`);
  return e;
}

describe('legal transitions', () => {
  it('RC: RESET -> INIT -> RTR -> RTS -> SQD -> RTS -> ERR -> RESET', async () => {
    const qp = await newQp();
    expect(await stateOf(qp)).toBe('RESET');
    expect((await toInit(qp)).attrs.qp_state).toBe('INIT');
    expect((await toRtr(qp)).attrs.qp_state).toBe('RTR');
    expect((await toRts(qp)).attrs.qp_state).toBe('RTS');
    expect(await stateOf(qp)).toBe('RTS');
    await qp.modify({ qp_state: 'SQD' });
    expect(await stateOf(qp)).toBe('SQD');
    await qp.modify({ qp_state: 'RTS' });
    expect(await stateOf(qp)).toBe('RTS');
    await qp.modify({ qp_state: 'ERR' });
    expect(await stateOf(qp)).toBe('ERR');
    await qp.modify({ qp_state: 'RESET' });
    expect(await stateOf(qp)).toBe('RESET');
    // INIT -> INIT with optional attributes is legal too.
    await toInit(qp);
    await qp.modify({ qp_state: 'INIT', qp_access_flags: ['REMOTE_READ'] });
    expect(await stateOf(qp)).toBe('INIT');
    await qp.destroy();
  });

  it('UD: INIT needs a qkey, RTR and RTS need no address', async () => {
    const qp = await newQp('UD');
    await qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qkey: 0x11111111 });
    await qp.modify({ qp_state: 'RTR' });
    await qp.modify({ qp_state: 'RTS', sq_psn: 0 });
    expect(await stateOf(qp)).toBe('RTS');
    await qp.destroy();
  });
});

describe('illegal transitions', () => {
  const cases: [string, (qp: RdmaObject) => Promise<unknown>, AttrMap][] = [
    ['RESET -> RTR', async () => {}, { qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: 1, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1 }],
    ['RESET -> RTS', async () => {}, { qp_state: 'RTS', sq_psn: 0 }],
    ['RESET -> INIT without port_num', async () => {}, { qp_state: 'INIT', pkey_index: 0, qp_access_flags: 0 }],
    ['INIT -> RTR without dest_qp_num', toInit, { qp_state: 'RTR', path_mtu: 'MTU_1024', rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1, ah_attr: {} }],
    ['INIT -> RTS', toInit, { qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 }],
    ['RTR -> RTR with an attribute only allowed on the way in', async (qp) => { await toInit(qp); await toRtr(qp); }, { qp_state: 'RTR', dest_qp_num: 5 }],
    ['RTS -> RTS with path_mtu (allowed only on the way to RTR)', async (qp) => { await toInit(qp); await toRtr(qp); await toRts(qp); }, { qp_state: 'RTS', path_mtu: 'MTU_512' }],
    ['RESET -> SQD', async () => {}, { qp_state: 'SQD' }],
  ];
  for (const [name, prep, attrs] of cases) {
    it(`${name}: INVALID_ARGUMENT (EINVAL from the device), state unchanged`, async () => {
      const qp = await newQp();
      await prep(qp);
      const before = await stateOf(qp);
      const e = await refused(qp.modify(attrs));
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.rdmaError).toBe('ERRNO');
      expect(e.errno).toBe(22);
      expect(e.call).toMatch(/modify_qp/);
      expect(await stateOf(qp)).toBe(before);
      await qp.destroy();
    });
  }

  it('bad values never reach the device: unknown state name, out-of-range timeout, unknown attribute', async () => {
    const qp = await newQp();
    for (const attrs of [{ qp_state: 'FLYING' }, { qp_state: 'INIT', port_num: 1, timeout: 32 }, { qp_state: 'INIT', colour: 1 }, { qp_state: 'INIT', port_num: 0 }]) {
      const e = await refused(qp.modify(attrs));
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.rdmaError).toBe('INVALID_ATTR');
      expect(e.errno).toBe(22); // the EINVAL the kernel gives the same request
    }
    expect(await stateOf(qp)).toBe('RESET');
    await qp.destroy();
  });

  it('post_send before RTS is refused; objects of other types cannot be modified', async () => {
    const qp = await newQp();
    await toInit(qp);
    const mr = await s.regMr(pd, 64, ['LOCAL_WRITE']);
    const e = await refused(s.postSend(qp, [{ opcode: 'SEND', sg_list: [{ addr: mr.big('addr'), length: 8, lkey: mr.num('lkey') }] }]));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    const m = await refused(mr.modify({ length: 1 }));
    expect(m.code).toBe(status.INVALID_ARGUMENT);
    expect(m.rdmaError).toBe('UNKNOWN_METHOD');
    await qp.destroy();
    await mr.destroy();
  });
});
