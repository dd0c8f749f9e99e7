/**
 * Quotas at the boundary under concurrent clients of one tenant (exactly N
 * succeed, the rest RESOURCE_EXHAUSTED, nothing partial), Batch stopping at
 * the refused step, run-time quota changes, metrics that match the tables
 * after a random workload, and the audit trail.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, h, startHarness, u64, unix, type Harness, type Json } from './harness.js';
import path from 'node:path';

const S = grpc.status;
const ADMIN = 'quota-admin-token-0123456789';

let hx: Harness;
let admin: Caller;
const sock = (t: string) => unix(path.join(hx.dir, t, 'broker.sock'));

beforeAll(async () => {
  hx = await startHarness(`
tenants:
  - name: q
    socket: q/broker.sock
    quotas:
      pd: 5
      objects: 12
      sessions: 4
      registered_bytes: 64KiB
  - name: r
    socket: r/broker.sock
  - name: ops
    role: admin
    tokens: ["${ADMIN}"]
`, { listen: '127.0.0.1:0', metricsListen: '127.0.0.1:0' }, true);
  admin = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, token: ADMIN });
});

afterAll(async () => {
  admin?.close();
  await hx?.stop();
});

async function objectsOf(tenant: string, type?: string): Promise<Json[]> {
  const r = await admin.call<Json>('InspectionService', 'ListObjects', { filter: { tenant, type: type ?? '' }, max_results: 10000 });
  return r.objects as Json[];
}

async function usage(tenant: string): Promise<Json> {
  const r = await admin.call<Json>('AdminService', 'GetAccounting', { tenant });
  return (r.tenants as Json[])[0]!;
}

/** Waits until a tenant's closed clients' sessions have been cleaned up. */
async function settle(tenant: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const u = await usage(tenant);
    if (Number(u.sessions) === 0 && Number(u.objects) === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`tenant ${tenant} did not settle`);
}

describe('quotas', () => {
  it('lets exactly N sessions open, then RESOURCE_EXHAUSTED', async () => {
    const cs = Array.from({ length: 6 }, () => new Caller(sock('q')));
    const got = await Promise.allSettled(cs.map((c, i) => c.open(`s${i}`)));
    expect(got.filter((g) => g.status === 'fulfilled').length).toBe(4);
    for (const g of got) if (g.status === 'rejected') expect((g.reason as grpc.ServiceError).code).toBe(S.RESOURCE_EXHAUSTED);
    expect(Number((await usage('q')).sessions)).toBe(4);
    for (const c of cs) c.close();
    // The sessions end with their streams.
    for (let i = 0; i < 100 && Number((await usage('q')).sessions) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(Number((await usage('q')).sessions)).toBe(0);
  });

  it('lets exactly N objects of a type be created by concurrent clients of one tenant, nothing partial', async () => {
    await settle('q');
    const cs = Array.from({ length: 3 }, () => new Caller(sock('q')));
    try {
      for (const c of cs) await c.open();
      const tries = cs.flatMap((c) => Array.from({ length: 4 }, () => c.create('pd')));
      const got = await Promise.allSettled(tries);
      const ok = got.filter((g) => g.status === 'fulfilled');
      expect(ok.length).toBe(5);
      for (const g of got) {
        if (g.status === 'rejected') {
          expect((g.reason as grpc.ServiceError).code).toBe(S.RESOURCE_EXHAUSTED);
          expect((g.reason as grpc.ServiceError).metadata.get('rdma-error')).toEqual(['QUOTA_EXCEEDED']);
        }
      }
      expect((await objectsOf('q', 'pd')).length).toBe(5);
      const u = await usage('q');
      expect((u.types as Json[]).find((t) => t.type === 'pd')).toMatchObject({ current: '5', high_water: '5' });
      // Destroying one frees one slot: exactly one more fits.
      const first = (ok[0] as PromiseFulfilledResult<Json>).value;
      await cs[0]!.call('ObjectService', 'Destroy', { handle: first.handle }).catch(async () => {
        // The first object may belong to another client's session.
        for (const c of cs) await c.call('ObjectService', 'Destroy', { handle: first.handle }).catch(() => {});
      });
      const again = await Promise.allSettled([cs[1]!.create('pd'), cs[2]!.create('pd')]);
      expect(again.filter((g) => g.status === 'fulfilled').length).toBe(1);
    } finally {
      for (const c of cs) c.close();
    }
  });

  it('stops a Batch at the step that would exceed a quota and keeps the steps before it', async () => {
    const c = new Caller(sock('q'));
    try {
      await settle('q');
      await c.open();
      // The total objects quota is 12 (the pd quota, 5, does not apply to cq).
      const before = 0;
      const steps = Array.from({ length: 15 }, () => ({ create: { type: 'cq', device: 'sim0', attrs: { cqe: u64(4) } } }));
      const r = await c.call<Json>('ObjectService', 'Batch', { steps });
      const room = 12 - before;
      expect(r).toMatchObject({ failed: true, failed_index: room, error: { status: S.RESOURCE_EXHAUSTED, code: 'QUOTA_EXCEEDED' } });
      expect((r.results as unknown[]).length).toBe(room);
      expect((await objectsOf('q')).length).toBe(12);
    } finally {
      c.close();
    }
  });

  it('counts registered bytes: an MR past the quota is refused and nothing is registered', async () => {
    const c = new Caller(sock('q'));
    try {
      await settle('q');
      await c.open();
      const myPd = (await c.create('pd')).handle;
      const mr1 = await c.create('mr', { pd: h(myPd), length: u64(40 * 1024) });
      expect(await c.code('ObjectService', 'Create', { type: 'mr', device: 'sim0', attrs: { pd: h(myPd), length: u64(30 * 1024) } })).toBe(S.RESOURCE_EXHAUSTED);
      expect((await objectsOf('q', 'mr')).length).toBe(1);
      expect(Number((await usage('q')).registered_bytes)).toBe(40 * 1024);
      const mr2 = await c.create('mr', { pd: h(myPd), length: u64(24 * 1024) });
      expect(Number((await usage('q')).registered_bytes)).toBe(64 * 1024);
      await c.call('ObjectService', 'Destroy', { handle: mr1.handle });
      await c.call('ObjectService', 'Destroy', { handle: mr2.handle });
      const u = await usage('q');
      expect(Number(u.registered_bytes)).toBe(0);
      expect(Number(u.registered_bytes_high_water)).toBe(64 * 1024);
    } finally {
      c.close();
    }
  });

  it('applies quota changes at run time to the next verb', async () => {
    const c = new Caller(sock('r'));
    try {
      await c.open();
      await c.create('pd');
      await admin.call('AdminService', 'SetQuota', { tenant: 'r', set: { pd: '1' } });
      expect(await c.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.RESOURCE_EXHAUSTED);
      const q = await admin.call<Json>('AdminService', 'GetQuotas', { tenant: 'r' });
      expect(q.quotas).toEqual([{ tenant: 'r', limits: { pd: '1' } }]);
      await admin.call('AdminService', 'SetQuota', { tenant: 'r', clear: ['pd'] });
      expect(await c.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.OK);
    } finally {
      c.close();
    }
  });
});

function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

describe('metrics and audit', () => {
  it('match the tables after a random workload', async () => {
    await admin.call('AdminService', 'SetQuota', { tenant: 'q', set: { objects: '1000', pd: '1000' } });
    const clients = [new Caller(sock('q')), new Caller(sock('q')), new Caller(sock('r'))];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    try {
      for (const c of clients) await c.open();
      const mine = new Map<Caller, Json[]>(clients.map((c) => [c, []]));
      for (let i = 0; i < 120; i++) {
        const c = clients[rnd(clients.length)]!;
        const list = mine.get(c)!;
        const pds = list.filter((o) => o.type === 'pd');
        const op = rnd(5);
        if (op === 0 || pds.length === 0) list.push(await c.create('pd'));
        else if (op === 1) list.push(await c.create('cq', { cqe: u64(1 + rnd(64)) }));
        else if (op === 2) list.push(await c.create('mr', { pd: h(pds[rnd(pds.length)]!.handle), length: u64(512 * (1 + rnd(8))) }).catch(() => ({ type: 'none' })));
        else if (op === 3 && list.length > 0) {
          const o = list[rnd(list.length)]!;
          if (o.type !== 'none' && (await c.code('ObjectService', 'Destroy', { handle: o.handle })) === S.OK) list.splice(list.indexOf(o), 1);
        } else await c.code('ObjectService', 'Query', { handle: '12345' });
      }
      const port = hx.daemon.metricsPort!;
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      const m = parseMetrics(text);
      for (const tenant of ['q', 'r']) {
        const objs = await objectsOf(tenant);
        const u = await usage(tenant);
        expect(m.get(`rdma_broker_tenant_objects{tenant="${tenant}"}`)).toBe(objs.length);
        expect(Number(u.objects)).toBe(objs.length);
        for (const type of ['pd', 'cq', 'mr']) {
          const n = objs.filter((o) => o.type === type).length;
          expect(m.get(`rdma_broker_objects{tenant="${tenant}",type="${type}"}`) ?? 0, `${tenant} ${type}`).toBe(n);
          const tu = (u.types as Json[]).find((t) => t.type === type);
          expect(m.get(`rdma_broker_objects_high_water{tenant="${tenant}",type="${type}"}`) ?? 0).toBe(Number(tu?.high_water ?? 0));
        }
        const bytes = objs.filter((o) => o.type === 'mr').reduce((a, o) => a + Number(((o.attrs as Json).length as Json).u64), 0);
        expect(m.get(`rdma_broker_registered_bytes{tenant="${tenant}"}`)).toBe(bytes);
        expect(Number(u.registered_bytes)).toBe(bytes);
        for (const v of u.verbs as Json[]) {
          expect(m.get(`rdma_broker_verbs_total{tenant="${tenant}",type="${v.type}",method="${v.method}",result="${v.result}"}`)).toBe(Number(v.count));
        }
        const sessions = (await admin.call<Json>('InspectionService', 'ListSessions', { tenant })).sessions as Json[];
        expect(m.get(`rdma_broker_sessions{tenant="${tenant}"}`)).toBe(sessions.length);
      }
      expect(m.get('rdma_broker_quota_limit{tenant="q",resource="pd"}')).toBe(1000);
      expect(m.get('rdma_broker_devices{device="sim0",state="live"}')).toBe(1);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('logs every mutating verb once with tenant, session, object and result', async () => {
    const c = new Caller(sock('r'));
    try {
      await c.open();
      const from = hx.logs.length;
      const pd = await c.create('pd');
      const cq = await c.create('cq', { cqe: u64(8) });
      await c.call('ObjectService', 'Invoke', { handle: cq.handle, method: 'resize', attrs: { cqe: u64(16) } });
      await c.call('ObjectService', 'Invoke', { handle: cq.handle, method: 'poll', attrs: { max: u64(1) } }).catch(() => {});
      await c.code('ObjectService', 'Destroy', { handle: '999' });
      await c.call('ObjectService', 'Destroy', { handle: pd.handle });
      await c.call('ObjectService', 'Query', { handle: cq.handle });
      const audit = hx.logs.slice(from).filter((l) => l.audit === true && l.msg === 'audit');
      expect(audit.map((l) => [l.verb, l.type, l.method ?? '', String(l.handle), l.result])).toEqual([
        ['create', 'pd', '', String(pd.handle), 'ok'],
        ['create', 'cq', '', String(cq.handle), 'ok'],
        ['invoke', 'cq', 'resize', String(cq.handle), 'ok'],
        ['destroy', '', '', '999', 'NO_SUCH_HANDLE'],
        ['destroy', 'pd', '', String(pd.handle), 'ok'],
      ]);
      for (const l of audit) expect(l).toMatchObject({ tenant: 'r', session: c.sessionId });
    } finally {
      c.close();
    }
  });
});
