/**
 * Shared pools one tenant could drain (issue 9, point 5). Tenant "flood"
 * fills every pool it can reach on its own socket: fd-channel connections
 * that never bind, MRs up to its fd quota, Connect streams that never send
 * `open`, and a watch it never reads. Each pool is bounded per tenant and
 * answers RESOURCE_EXHAUSTED (or DEADLINE_EXCEEDED for the open timeout),
 * while a bystander tenant, calling all along, keeps a bounded p99 latency,
 * keeps its lease, and can still bind fd channels and create MRs.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdChannel } from '../../src/client/index.js';
import { connectPacket, type PacketSocket } from '../../src/sys/packet-socket.js';
import { MAX_UNBOUND_PER_POOL } from '../../src/fdpass/server.js';
import { MAX_PENDING_OPENS } from '../../src/rpc/server.js';
import { MAX_STREAM_BACKLOG } from '../../src/rpc/streams.js';
import { Caller, h, startHarness, u64, unix, type Harness, type Json } from '../integration/tenants/harness.js';
import { waitFor } from '../integration/helpers.js';

const S = grpc.status;
const FLOOD_FDS = 40;
const OPEN_TIMEOUT_MS = 1500;
/** Generous: the bystander's calls normally take a few ms; a stalled daemon takes seconds. */
const P99_BOUND_MS = 2000;

let hx: Harness;
let F: Caller;
let B: Caller;
let bOpened: Json;
const sock = (t: string): string => path.join(hx.dir, t, 'broker.sock');

/** The bystander: a call every 50 ms (create and destroy a PD), timed, touching its lease. */
class Bystander {
  readonly latencies: number[] = [];
  readonly errors: string[] = [];
  private running = true;
  private loop: Promise<void> | null = null;

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const t0 = performance.now();
        try {
          const pd = await B.create('pd');
          await B.call('ObjectService', 'Destroy', h(pd.handle));
        } catch (e) {
          this.errors.push((e as Error).message);
        }
        this.latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  p99(): number {
    const s = [...this.latencies].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
  }
}

/** A raw Connect stream that never sends open: resolves with the status it ends with. */
function idleConnect(c: Caller): { status: Promise<grpc.ServiceError>; cancel(): void } {
  const st = (c.clients.SessionService as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }).Connect(c.metadata(false));
  const status = new Promise<grpc.ServiceError>((resolve) => st.on('error', resolve));
  st.on('data', () => {});
  return { status, cancel: () => st.cancel() };
}

/** Opens a raw fd-channel connection and collects what it is told. */
async function rawFd(p: string): Promise<{ sock: PacketSocket; got: Json[]; closed: Promise<void> }> {
  const s = await connectPacket(p, 2000);
  const got: Json[] = [];
  let onClose = (): void => {};
  const closed = new Promise<void>((r) => (onClose = r));
  s.start({ onMessage: (d) => got.push(JSON.parse(d.toString()) as Json), onClose: () => onClose() });
  return { sock: s, got, closed };
}

const bystander = new Bystander();

beforeAll(async () => {
  hx = await startHarness({
    tenants: [
      { name: 'flood', socket: 'f/broker.sock', quotas: { fds: FLOOD_FDS } },
      { name: 'bystander', socket: 'b/broker.sock' },
    ],
  }, { openTimeoutMs: OPEN_TIMEOUT_MS });
  F = new Caller(unix(sock('f')));
  B = new Caller(unix(sock('b')));
  await F.open('flood');
  // A short lease: a daemon stalled by the flood would let it expire.
  const c = B.clients.SessionService as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<Json, Json> };
  const st = c.Connect(B.metadata(false));
  bOpened = await new Promise<Json>((resolve, reject) => {
    st.on('data', (m: Json) => {
      if (m.opened) resolve(m.opened as Json);
    });
    st.on('error', reject);
    st.write({ open: { name: 'bystander', lease_ms: 2000 } });
  });
  B.session = bOpened.token as string;
  B.sessionId = bOpened.session_id as string;
  // Keepalives as a client does; the lease also follows every call.
  const ka = setInterval(() => st.write({ keepalive: { nonce: '1' } }), 500);
  st.on('close', () => clearInterval(ka));
  afterAll(() => {
    clearInterval(ka);
    st.end();
  });
  bystander.start();
});

afterAll(async () => {
  await bystander.stop();
  F?.close();
  B?.close();
  await hx?.stop();
});

describe('one tenant floods every pool; the bystander keeps going', () => {
  it('fd channel: unbound connections fill the flooder\'s own pool only, answered RESOURCE_EXHAUSTED', async () => {
    const conns = [];
    for (let i = 0; i < MAX_UNBOUND_PER_POOL + 40; i++) conns.push(await rawFd(`${sock('f')}.fd`));
    const refused = conns.slice(MAX_UNBOUND_PER_POOL);
    await Promise.all(refused.map((c) => c.closed));
    for (const c of refused) expect(c.got[0]).toMatchObject({ ok: false, error: { status: S.RESOURCE_EXHAUSTED, code: 'QUOTA_EXCEEDED' } });
    // The first ones still wait (until the bind timeout).
    for (const c of conns.slice(0, MAX_UNBOUND_PER_POOL)) expect(c.sock.closed).toBe(false);
    // The bystander binds on its own socket while the flooder's pool is full.
    const fdc = await FdChannel.connect(bOpened.fd_socket as string, bOpened.fd_token as string);
    expect(fdc).toBeTruthy();
    fdc.close();
    for (const c of conns) c.sock.close('test done');
  });

  it('MRs up to the fd quota: then RESOURCE_EXHAUSTED naming the fd quota; the bystander still registers', async () => {
    const pd = await F.create('pd');
    let made = 0;
    let last: grpc.ServiceError | null = null;
    for (let i = 0; i < FLOOD_FDS + 10; i++) {
      try {
        await F.create('mr', { pd: h(pd.handle), length: u64(4096) });
        made++;
      } catch (e) {
        last = e as grpc.ServiceError;
        break;
      }
    }
    // Every MR holds its memfd: the quota is the count (the session's fd channel holds none here).
    expect(made).toBe(FLOOD_FDS);
    expect(last?.code).toBe(S.RESOURCE_EXHAUSTED);
    expect(last?.details).toMatch(/fd quota 40 reached/);
    const acct = await F.call<Json>('AdminService', 'GetAccounting', { tenant: 'flood' }).catch(() => null);
    if (acct) expect((acct.tenants as Json[])[0]).toMatchObject({ fds: String(FLOOD_FDS) });
    const bpd = await B.create('pd');
    const mr = await B.create('mr', { pd: h(bpd.handle), length: u64(4096) });
    await B.call('ObjectService', 'Destroy', h(mr.handle));
    await B.call('ObjectService', 'Destroy', h(bpd.handle));
  });

  it('Connect streams that never open: bounded per tenant, RESOURCE_EXHAUSTED past it, DEADLINE_EXCEEDED after the timeout', async () => {
    const t0 = Date.now();
    const idle = Array.from({ length: MAX_PENDING_OPENS + 16 }, () => idleConnect(F));
    const ends = await Promise.all(idle.map((s) => s.status));
    const codes = ends.map((e) => e.code);
    expect(codes.filter((c) => c === S.RESOURCE_EXHAUSTED)).toHaveLength(16);
    expect(codes.filter((c) => c === S.DEADLINE_EXCEEDED)).toHaveLength(MAX_PENDING_OPENS);
    expect(ends.find((e) => e.code === S.DEADLINE_EXCEEDED)?.details).toMatch(`no open message within ${OPEN_TIMEOUT_MS} ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(OPEN_TIMEOUT_MS - 100);
    // The pool is free again: a new stream opens a session.
    const F2 = new Caller(unix(sock('f')));
    try {
      expect(await F2.open('again')).toMatchObject({ tenant: 'flood' });
    } finally {
      F2.close();
    }
  });

  it('an unread watch is ended with RESOURCE_EXHAUSTED and a log line, its backlog bounded', async () => {
    const w = (F.clients.InspectionService as unknown as { WatchObjects(r: unknown, md: grpc.Metadata): grpc.ClientReadableStream<Json> })
      .WatchObjects({}, F.metadata());
    // Never read (no 'data' listener: grpc-js stops taking messages, then HTTP/2 flow control stops the daemon's).
    let status: grpc.ServiceError | null = null;
    w.on('error', (e: grpc.ServiceError) => (status = e));
    const pd = await F.create('pd');
    const line = (): Json | undefined => hx.logs.find((l) => l.msg === 'stream ended: its client does not read' && l.rpc === 'InspectionService.WatchObjects');
    // Each batch: 32 CQs created and destroyed, 64 changes for the watch.
    for (let round = 0; round < 400 && !line(); round++) {
      const steps: Json[] = [];
      for (let i = 0; i < 32; i++) steps.push({ create: { type: 'srq', device: 'sim0', attrs: { pd: h(pd.handle), max_wr: u64(1) } } });
      for (let i = 0; i < 32; i++) steps.push({ destroy: { handle_ref: i + 1 } });
      const r = await F.call<Json>('ObjectService', 'Batch', { steps });
      expect(r.failed).toBe(false);
    }
    const l = await waitFor(line, 5000, 'the overflow log line');
    expect(l).toMatchObject({ tenant: 'flood', max: MAX_STREAM_BACKLOG });
    expect(Number(l.backlog)).toBeLessThanOrEqual(MAX_STREAM_BACKLOG);
    // Reading now drains what was kept, then the status.
    let n = 0;
    w.on('data', () => n++);
    await waitFor(() => status, 10_000, 'the watch to end');
    expect(status!.code).toBe(S.RESOURCE_EXHAUSTED);
    expect(status!.details).toMatch(/did not read its stream/);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(MAX_STREAM_BACKLOG * 4);
  });

  it('the bystander: p99 latency bounded, no error, lease alive', async () => {
    expect(bystander.latencies.length).toBeGreaterThan(10);
    expect(bystander.errors).toEqual([]);
    expect(bystander.p99()).toBeLessThan(P99_BOUND_MS);
    // Its session (2 s lease) is still the one it opened.
    const sessions = (await B.call<Json>('InspectionService', 'ListSessions', {})).sessions as Json[];
    expect(sessions.map((s) => s.session_id)).toContain(B.sessionId);
    expect(hx.logs.filter((l) => l.msg === 'session ended' && l.session === B.sessionId)).toEqual([]);
  });
});
