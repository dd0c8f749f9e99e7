/**
 * Tenant isolation and roles over real gRPC: tenant A can neither see,
 * modify, destroy nor invoke tenant B's objects (NOT_FOUND, exactly as for a
 * handle that never existed); a viewer cannot mutate (PERMISSION_DENIED);
 * TCP without credentials is UNAUTHENTICATED; every RPC has an access level.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_ACCESS } from '../../../src/rpc/auth.js';
import { api } from '../../../src/wire/proto.js';
import { Caller, h, startHarness, u64, unix, workload, type Harness, type Json } from './harness.js';

const S = grpc.status;
const require = createRequire(import.meta.url);
const TOKEN_V = 'viewer-token-0123456789';
const TOKEN_ADMIN = 'admin-token-0123456789';
const TOKEN_A = 'tenant-a-token-0123456789';

let hx: Harness;
let A: Caller;
let A2: Caller;
let B: Caller;
let V: Caller;
let bObjs: Record<string, string>;
let aObjs: Record<string, string>;

beforeAll(async () => {
  hx = await startHarness({
    tenants: [
      { name: 'team-a', socket: 'a/broker.sock', tokens: [TOKEN_A] },
      { name: 'team-b', socket: { path: 'b/broker.sock', mode: '0600' } },
      { name: 'viewer', role: 'viewer', socket: 'v/broker.sock', tokens: [TOKEN_V] },
      { name: 'ops', role: 'admin', tokens: [TOKEN_ADMIN] },
    ],
  }, { listen: '127.0.0.1:0' });
  const sock = (t: string) => unix(path.join(hx.dir, t, 'broker.sock'));
  A = new Caller(sock('a'));
  A2 = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, token: TOKEN_A });
  B = new Caller(sock('b'));
  V = new Caller(sock('v'));
  await A.open('a');
  await A2.open('a2');
  await B.open('b');
  bObjs = await workload(B);
  aObjs = await workload(A);
});

afterAll(async () => {
  for (const c of [A, A2, B, V]) c?.close();
  await hx?.stop();
});

/** Every verb tenant A could aim at one of B's objects. */
function verbsOn(handle: string, type: string): [string, string, Json][] {
  const methods: Record<string, string[]> = { qp: ['post_send', 'post_recv', 'attach_mcast', 'nope'], cq: ['poll', 'req_notify', 'resize'], mr: ['read', 'write'], srq: ['post_recv'], pd: ['nope'] };
  const out: [string, string, Json][] = [
    ['ObjectService', 'Query', { handle }],
    ['ObjectService', 'Modify', { handle, attrs: { qp_state: { str: 'INIT' } } }],
    ['ObjectService', 'Destroy', { handle }],
  ];
  for (const m of methods[type] ?? []) out.push(['ObjectService', 'Invoke', { handle, method: m, attrs: {} }]);
  return out;
}

describe('tenant isolation', () => {
  it('serves each tenant socket with the configured mode', () => {
    const st = fs.statSync(path.join(hx.dir, 'b', 'broker.sock'));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(hx.dir, 'a', 'broker.sock')).mode & 0o777).toBe(0o660);
  });

  it('identifies callers by socket and by token', async () => {
    expect(await A.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'team-a', role: 'tenant', via: 'tenant-socket' });
    expect(await A2.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'team-a', role: 'tenant', via: 'token' });
    expect(await V.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'viewer', role: 'viewer' });
  });

  it("answers NOT_FOUND for every verb on another tenant's object, exactly as for a handle that never existed", async () => {
    const missing = String(BigInt(bObjs.qp!) + 1_000_000n);
    for (const [type, handle] of Object.entries(bObjs)) {
      for (const [svc, method, req] of verbsOn(handle, type)) {
        const theirs = await A.call(svc, method, req).then(() => null, (e: grpc.ServiceError) => e);
        const never = await A.call(svc, method, { ...req, handle: missing }).then(() => null, (e: grpc.ServiceError) => e);
        expect(theirs?.code, `${svc}.${method} on B's ${type}`).toBe(S.NOT_FOUND);
        expect(theirs!.details.replace(handle, 'H')).toBe(never!.details.replace(missing, 'H'));
        expect(theirs!.metadata.get('rdma-error')).toEqual(['NO_SUCH_HANDLE']);
      }
    }
  });

  it("refuses B's objects as parents or attributes of A's verbs", async () => {
    expect(await A.code('ObjectService', 'Create', { type: 'mr', device: 'sim0', attrs: { pd: h(bObjs.pd), length: u64(4096) } })).toBe(S.NOT_FOUND);
    expect(await A.code('ObjectService', 'Create', { type: 'qp', device: 'sim0', attrs: { pd: h(aObjs.pd), send_cq: h(bObjs.cq), recv_cq: h(aObjs.cq), qp_type: { str: 'RC' } } })).toBe(S.NOT_FOUND);
    const batch = await A.call<Json>('ObjectService', 'Batch', { steps: [{ query: { handle: aObjs.pd } }, { destroy: { handle: bObjs.mr } }, { query: { handle: aObjs.cq } }] });
    expect(batch).toMatchObject({ failed: true, failed_index: 1, error: { status: S.NOT_FOUND, code: 'NO_SUCH_HANDLE' } });
    expect((batch.results as unknown[]).length).toBe(1);
  });

  it("does not let one tenant's session (of the same tenant or another) act on another session's objects", async () => {
    // Same tenant, other session: handles are per session too.
    expect(await A2.code('ObjectService', 'Query', { handle: aObjs.pd })).toBe(S.NOT_FOUND);
  });

  it("rejects B's session token from A (as an unknown token)", async () => {
    const md = A.metadata(false);
    md.set('x-rdma-session', B.session!);
    const e = await A.call('ObjectService', 'Query', { handle: bObjs.pd }, md).then(() => null, (x: grpc.ServiceError) => x);
    const md2 = A.metadata(false);
    md2.set('x-rdma-session', 'not-a-token');
    const e2 = await A.call('ObjectService', 'Query', { handle: bObjs.pd }, md2).then(() => null, (x: grpc.ServiceError) => x);
    expect(e?.code).toBe(S.UNAUTHENTICATED);
    expect(e?.details).toBe(e2?.details);
  });

  it('shows a tenant only its own objects and sessions in every listing', async () => {
    for (const filter of [{}, { tenant: 'team-a' }, { session: B.sessionId }, { type: 'qp' }]) {
      const r = await A.call<Json>('InspectionService', 'ListObjects', { filter });
      const objs = r.objects as Json[];
      expect(objs.every((o) => o.tenant === 'team-a'), JSON.stringify(filter)).toBe(true);
    }
    const all = (await A.call<Json>('InspectionService', 'ListObjects', {})).objects as Json[];
    expect(all.length).toBe(Object.keys(aObjs).length);
    const sessions = (await A.call<Json>('InspectionService', 'ListSessions', {})).sessions as Json[];
    expect(sessions.map((s) => s.tenant)).toEqual(['team-a', 'team-a']);
    expect((await A.call<Json>('InspectionService', 'ListSessions', { tenant: 'team-b' })).sessions).toEqual([]);
    // Watching: the initial listing and later changes are A's only.
    const st = (A.clients.InspectionService as unknown as { WatchObjects(r: unknown, md: grpc.Metadata): grpc.ClientReadableStream<Json> }).WatchObjects({ initial: true }, A.metadata());
    const seen: Json[] = [];
    const synced = new Promise<void>((resolve) => st.on('data', (c: Json) => (c.kind === 'SYNCED' ? resolve() : seen.push(c))));
    st.on('error', () => {});
    await synced;
    await B.create('pd');
    const mine = await A.create('pd');
    await new Promise((r) => setTimeout(r, 50));
    st.cancel();
    expect(seen.every((c) => (c.object as Json).tenant === 'team-a')).toBe(true);
    expect(seen.some((c) => (c.object as Json).handle === mine.handle)).toBe(true);
  });

  it("does not tell a tenant about another tenant's accounting or quotas", async () => {
    expect(await A.code('AdminService', 'GetAccounting', { tenant: 'team-b' })).toBe(S.NOT_FOUND);
    expect(await A.code('AdminService', 'GetQuotas', { tenant: 'team-b' })).toBe(S.NOT_FOUND);
    const acc = await A.call<Json>('AdminService', 'GetAccounting', {});
    expect((acc.tenants as Json[]).map((t) => t.tenant)).toEqual(['team-a']);
  });
});

describe('isolation table: every RPC of the API', () => {
  const err = (p: Promise<unknown>): Promise<grpc.ServiceError | null> => p.then(() => null, (e: grpc.ServiceError) => e);
  const listOf = async (c: Caller, method: string, req: Json, key: string): Promise<Json[]> => (await c.call<Json>('InspectionService', method, req))[key] as Json[];
  /** What tenant A gets when it aims each RPC at tenant B. */
  const cases: Record<string, () => Promise<void>> = {
    'DeviceService.List': async () => expect(await A.call('DeviceService', 'List')).toEqual(await B.call('DeviceService', 'List')),
    'DeviceService.Query': async () => expect(await A.call('DeviceService', 'Query', { device: 'sim0' })).toEqual(await B.call('DeviceService', 'Query', { device: 'sim0' })),
    'DeviceService.Describe': async () => expect(await A.call('DeviceService', 'Describe', { device: 'sim0' })).toEqual(await B.call('DeviceService', 'Describe', { device: 'sim0' })),
    'ObjectService.Create': async () => expect((await err(A.create('srq', { pd: h(bObjs.pd), max_wr: u64(4) })))?.code).toBe(S.NOT_FOUND),
    'ObjectService.Query': async () => expect((await err(A.call('ObjectService', 'Query', { handle: bObjs.qp })))?.code).toBe(S.NOT_FOUND),
    'ObjectService.Modify': async () => expect((await err(A.call('ObjectService', 'Modify', { handle: bObjs.qp, attrs: { qp_state: { str: 'INIT' } } })))?.code).toBe(S.NOT_FOUND),
    'ObjectService.Destroy': async () => expect((await err(A.call('ObjectService', 'Destroy', { handle: bObjs.cq })))?.code).toBe(S.NOT_FOUND),
    'ObjectService.Invoke': async () => expect((await err(A.call('ObjectService', 'Invoke', { handle: bObjs.cq, method: 'poll', attrs: {} })))?.code).toBe(S.NOT_FOUND),
    'ObjectService.Batch': async () => {
      const r = await A.call<Json>('ObjectService', 'Batch', { steps: [{ modify: { handle: bObjs.srq, attrs: {} } }] });
      expect(r).toMatchObject({ failed: true, failed_index: 0, error: { status: S.NOT_FOUND } });
    },
    'SessionService.Connect': async () => {
      // Resuming B's session with its token, from A: refused like an unknown token, and B's session is untouched.
      const st = (A.clients.SessionService as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<Json, Json> }).Connect(A.metadata(false));
      const code = await new Promise<number>((resolve) => {
        st.on('data', () => resolve(S.OK));
        st.on('error', (e: grpc.ServiceError) => resolve(e.code));
        st.write({ open: { resume_token: B.session } });
      });
      st.cancel();
      expect(code).toBe(S.UNAUTHENTICATED);
      expect(await B.code('ObjectService', 'Query', { handle: bObjs.pd })).toBe(S.OK);
    },
    'SessionService.IssueFdToken': async () => {
      // An fd-channel token for B's session, asked with B's session token from A: as an unknown token.
      const md = A.metadata(false);
      md.set('x-rdma-session', B.session!);
      const e = await err(A.call('SessionService', 'IssueFdToken', {}, md));
      expect(e?.code).toBe(S.UNAUTHENTICATED);
      expect(e?.details).toMatch(/^no such session/);
      // A's own session gets one (the fd channel of this test daemon is served beside A's socket).
      const own = await A.call<Json>('SessionService', 'IssueFdToken', {});
      expect(own.fd_socket).toBe(path.join(hx.dir, 'a', 'broker.sock.fd'));
    },
    'InspectionService.ListObjects': async () => {
      expect(await listOf(A, 'ListObjects', { filter: { tenant: 'team-b' } }, 'objects')).toEqual([]);
      expect(await listOf(A, 'ListObjects', { filter: { session: B.sessionId } }, 'objects')).toEqual([]);
    },
    'InspectionService.WatchObjects': async () => {
      const st = (A.clients.InspectionService as unknown as { WatchObjects(r: unknown, md: grpc.Metadata): grpc.ClientReadableStream<Json> }).WatchObjects({ filter: { tenant: 'team-b' }, initial: true }, A.metadata());
      const seen: Json[] = [];
      await new Promise<void>((resolve) => st.on('data', (c: Json) => (c.kind === 'SYNCED' ? resolve() : seen.push(c))));
      const made = await B.create('pd');
      await B.call('ObjectService', 'Destroy', { handle: made.handle });
      await new Promise((r) => setTimeout(r, 50));
      st.cancel();
      st.on('error', () => {});
      expect(seen).toEqual([]);
    },
    'InspectionService.ListSessions': async () => {
      expect(await listOf(A, 'ListSessions', { tenant: 'team-b' }, 'sessions')).toEqual([]);
    },
    'AdminService.WhoAmI': async () => expect(await A.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'team-a' }),
    'AdminService.GetAccounting': async () => expect((await err(A.call('AdminService', 'GetAccounting', { tenant: 'team-b' })))?.code).toBe(S.NOT_FOUND),
    'AdminService.GetQuotas': async () => expect((await err(A.call('AdminService', 'GetQuotas', { tenant: 'team-b' })))?.code).toBe(S.NOT_FOUND),
    'AdminService.SetQuota': async () => expect((await err(A.call('AdminService', 'SetQuota', { tenant: 'team-b', set: { pd: '0' } })))?.code).toBe(S.PERMISSION_DENIED),
    'AdminService.EvictSession': async () => expect((await err(A.call('AdminService', 'EvictSession', { session_id: B.sessionId })))?.code).toBe(S.PERMISSION_DENIED),
  };

  it('has a case for every RPC', () => {
    const all = Object.entries(RPC_ACCESS).flatMap(([svc, ms]) => Object.keys(ms).map((m) => `${svc}.${m}`));
    expect(Object.keys(cases).sort()).toEqual(all.sort());
  });

  for (const [rpc, run] of Object.entries(cases)) it(`${rpc}: A cannot reach B`, run);

  it("leaves B's objects as they were", async () => {
    const objs = (await B.call<Json>('InspectionService', 'ListObjects', { filter: { session: B.sessionId } })).objects as Json[];
    for (const [type, handle] of Object.entries(bObjs)) expect(objs.some((o) => o.handle === handle && o.type === type)).toBe(true);
    const qp = (await B.call<Json>('ObjectService', 'Query', { handle: bObjs.qp })).object as Json;
    expect(((qp.attrs as Json).qp_state as Json).str).toBe('RESET');
  });
});

describe('roles', () => {
  it('lets a viewer read every table but not mutate anything', async () => {
    const objs = (await V.call<Json>('InspectionService', 'ListObjects', {})).objects as Json[];
    expect(new Set(objs.map((o) => o.tenant))).toEqual(new Set(['team-a', 'team-b']));
    const acc = await V.call<Json>('AdminService', 'GetAccounting', {});
    expect((acc.tenants as Json[]).map((t) => t.tenant)).toEqual(expect.arrayContaining(['team-a', 'team-b']));
    const denied: [string, string, Json][] = [
      ['ObjectService', 'Create', { type: 'pd', device: 'sim0' }],
      ['ObjectService', 'Query', { handle: bObjs.pd }],
      ['ObjectService', 'Modify', { handle: bObjs.qp }],
      ['ObjectService', 'Destroy', { handle: bObjs.pd }],
      ['ObjectService', 'Invoke', { handle: bObjs.cq, method: 'poll' }],
      ['ObjectService', 'Batch', { steps: [] }],
      ['AdminService', 'SetQuota', { tenant: 'team-b', set: { pd: '1' } }],
      ['AdminService', 'EvictSession', { session_id: B.sessionId }],
    ];
    for (const [svc, m, req] of denied) expect(await V.code(svc, m, req), `${svc}.${m}`).toBe(S.PERMISSION_DENIED);
    expect(await V.streamCode('SessionService')).toBe(S.PERMISSION_DENIED);
    // Nothing changed.
    expect(await B.code('ObjectService', 'Query', { handle: bObjs.pd })).toBe(S.OK);
  });

  it('lets a viewer page through every table over TCP, filtered by tenant, type and device', async () => {
    const tv = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, token: TOKEN_V });
    try {
      const pageAll = async (filter: Json): Promise<Json[]> => {
        const out: Json[] = [];
        let start = '0';
        for (let i = 0; i < 100; i++) {
          const r = await tv.call<Json>('InspectionService', 'ListObjects', { filter, start_handle: start, max_results: 2 });
          out.push(...(r.objects as Json[]));
          expect((r.objects as Json[]).length).toBeLessThanOrEqual(2);
          if (r.end) return out;
          start = r.next_start_handle as string;
        }
        throw new Error('paging did not end');
      };
      const all = await pageAll({});
      const ids = all.map((o) => o.handle as string);
      expect(new Set(ids).size).toBe(ids.length);
      // Pages come in creation order (handles themselves are unordered), as one big page does.
      const direct = (await tv.call<Json>('InspectionService', 'ListObjects', { max_results: 10000 })).objects as Json[];
      expect(ids).toEqual(direct.map((o) => o.handle));
      const created = all.map((o) => Number(o.created_unix_ms));
      expect(created).toEqual([...created].sort((x, y) => x - y));
      const bOnly = await pageAll({ tenant: 'team-b', type: 'qp', device: 'sim0' });
      expect(bOnly.map((o) => o.handle)).toEqual([bObjs.qp]);
      expect(bOnly[0]).toMatchObject({ tenant: 'team-b', session: B.sessionId, type: 'qp', device: 'sim0' });
      expect((bOnly[0]!.parents as string[]).sort()).toEqual([bObjs.pd, bObjs.cq].sort());
      expect(Number(bOnly[0]!.created_unix_ms)).toBeGreaterThan(0);
      const sessions = (await tv.call<Json>('InspectionService', 'ListSessions', {})).sessions as Json[];
      expect(new Set(sessions.map((x) => x.tenant))).toEqual(new Set(['team-a', 'team-b']));
    } finally {
      tv.close();
    }
  });

  it('lets only admins change quotas and evict sessions', async () => {
    expect(await A.code('AdminService', 'SetQuota', { tenant: 'team-a', set: { pd: '100' } })).toBe(S.PERMISSION_DENIED);
    expect(await A.code('AdminService', 'EvictSession', { session_id: B.sessionId })).toBe(S.PERMISSION_DENIED);
    const admin = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, token: TOKEN_ADMIN });
    try {
      const r = await admin.call<Json>('AdminService', 'SetQuota', { tenant: 'team-b', set: { pd: '5', objects: '100' } });
      expect(r.quota).toEqual({ tenant: 'team-b', limits: { pd: '5', objects: '100' } });
      expect(await admin.code('AdminService', 'SetQuota', { tenant: 'team-b', set: { bogus: '1' } })).toBe(S.INVALID_ARGUMENT);
      expect(await admin.code('AdminService', 'SetQuota', { tenant: 'nobody', set: { pd: '1' } })).toBe(S.NOT_FOUND);
      expect(await admin.code('AdminService', 'EvictSession', { session_id: 's-nope' })).toBe(S.NOT_FOUND);
      // Evict A2's session: its objects go, its token stops working.
      const a2pd = await A2.create('pd');
      const ev = await admin.call<Json>('AdminService', 'EvictSession', { session_id: A2.sessionId });
      expect(ev).toEqual({ tenant: 'team-a', objects_destroyed: 1 });
      expect(await A2.code('ObjectService', 'Query', { handle: a2pd.handle })).toBe(S.UNAUTHENTICATED);
      const left = (await admin.call<Json>('InspectionService', 'ListObjects', { filter: { session: A2.sessionId } })).objects as Json[];
      expect(left).toEqual([]);
    } finally {
      admin.close();
    }
  });
});

describe('authentication on TCP', () => {
  it('answers UNAUTHENTICATED to every RPC without credentials or with a wrong token', async () => {
    const anon = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}` });
    const bad = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, token: 'wrong-token-0123456789' });
    try {
      for (const c of [anon, bad]) {
        for (const [svc, methods] of Object.entries(RPC_ACCESS)) {
          for (const m of Object.keys(methods)) {
            if (svc === 'SessionService') expect(await c.streamCode('SessionService', c.metadata(false))).toBe(S.UNAUTHENTICATED);
            else if (m === 'WatchObjects') expect(await c.streamCode('InspectionService', c.metadata(false))).toBe(S.UNAUTHENTICATED);
            else expect(await c.code(svc, m, {}), `${svc}.${m}`).toBe(S.UNAUTHENTICATED);
          }
        }
      }
    } finally {
      anon.close();
      bad.close();
    }
  });

  it('gives every RPC of the API an access level (a new RPC cannot slip through unguarded)', () => {
    const pkg = api().rdmabroker.v1 as unknown as Record<string, { service?: Record<string, unknown> }>;
    for (const [name, ctor] of Object.entries(pkg)) {
      if (!ctor?.service) continue;
      expect(Object.keys(RPC_ACCESS[name] ?? {}).sort(), name).toEqual(Object.keys(ctor.service).sort());
    }
  });

  it('answers health checks and reflection without credentials', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const { protoPath } = await import('grpc-health-check');
    const def = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as { grpc: { health: { v1: { Health: new (t: string, c: grpc.ChannelCredentials) => grpc.Client & { check(r: unknown, cb: (e: Error | null, r: Json) => void): void } } } } };
    const health = new def.grpc.health.v1.Health(`127.0.0.1:${hx.daemon.tcpPort}`, grpc.credentials.createInsecure());
    try {
      const r = await new Promise<Json>((res, rej) => health.check({ service: 'rdmabroker.v1.ObjectService' }, (e, x) => (e ? rej(e) : res(x))));
      expect(r.status).toBe('SERVING');
      const all = await new Promise<Json>((res, rej) => health.check({ service: '' }, (e, x) => (e ? rej(e) : res(x))));
      expect(all.status).toBe('SERVING');
    } finally {
      health.close();
    }
    const reflProto = path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');
    const rdef = grpc.loadPackageDefinition(loadSync(reflProto, { keepCase: true })) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (t: string, c: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<Json, Json> } } } } };
    const refl = new rdef.grpc.reflection.v1.ServerReflection(`127.0.0.1:${hx.daemon.tcpPort}`, grpc.credentials.createInsecure());
    try {
      const st = refl.ServerReflectionInfo();
      const reply = await new Promise<Json>((res, rej) => {
        st.on('data', res);
        st.on('error', rej);
        st.write({ list_services: '*' });
      });
      st.end();
      const names = ((reply.list_services_response as Json).service as Json[]).map((x) => x.name);
      expect(names).toEqual(expect.arrayContaining(['rdmabroker.v1.ObjectService', 'rdmabroker.v1.AdminService']));
    } finally {
      refl.close();
    }
  });
});
