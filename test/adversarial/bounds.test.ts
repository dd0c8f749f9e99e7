/**
 * Hostile sizes and shapes (issue 9, points 2, 3 and 6): oversized names and
 * strings on every path that takes one, oversized headers, undecodable and
 * deeply nested requests, odd user_handles on the fd channel, Batches too
 * big to run or to answer, and a bystander whose lease survives a big Batch.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { LIMITS } from '../../src/core/limits.js';
import { connectPacket, type PacketSocket } from '../../src/sys/packet-socket.js';
import * as libc from '../../src/sys/libc.js';
import { SharedMemory } from '../../src/sys/memory.js';
import { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS } from '../../src/rpc/server.js';
import { SESSION_HEADER } from '../../src/wire/proto.js';
import { handle, toWireMap, type Plain } from '../../src/wire/values.js';
import { HANG_MS, settled, startTarget, type CallResult, type RawSession, type ServiceName, type Target } from './harness.js';

let t: Target;
let s: RawSession;
let pd = 0;
let cq = 0;

const S = grpc.status;

beforeAll(async () => {
  t = await startTarget('bounds');
  s = await t.openSession('bounds');
  const r = await t.call('ObjectService', 'Batch', t.encode('ObjectService', 'Batch', {
    steps: [
      { create: { type: 'pd', device: 'sim0' } },
      { create: { type: 'cq', device: 'sim0', attrs: toWireMap({ cqe: 16 }) } },
    ],
  }), s.md());
  const results = (r.reply as { results: { object: { object: { handle: string } } }[] }).results;
  pd = Number(results[0]!.object.object.handle);
  cq = Number(results[1]!.object.object.handle);
});
afterAll(async () => {
  await s?.close();
  const left = t ? await settled(t) : null;
  await t?.stop();
  expect(left).toEqual({ broker: 0, device: 0 });
});

function call(service: ServiceName, method: string, req: unknown, md: grpc.Metadata = s.md()): Promise<CallResult> {
  return t.call(service, method, t.encode(service, method, req), md);
}

/** Answered promptly with `code`, a one-line message that quotes a bounded prefix at most. */
function expectRefused(r: CallResult, code: grpc.status): void {
  expect({ code: S[r.code], details: r.details.slice(0, 200) }).toMatchObject({ code: S[code] });
  expect(r.ms).toBeLessThan(HANG_MS);
  expect(r.details.length).toBeLessThan(1024);
  expect(r.trailerBytes).toBeLessThan(2048);
}

describe('names and strings are bounded at the edge (point 2)', () => {
  const sizes = [85_000, 1 << 20];
  const paths: [string, (big: string) => [ServiceName, string, unknown]][] = [
    ['Create type', (b) => ['ObjectService', 'Create', { type: b, device: 'sim0' }]],
    ['Create device', (b) => ['ObjectService', 'Create', { type: 'pd', device: b }]],
    ['Create attribute name', (b) => ['ObjectService', 'Create', { type: 'cq', device: 'sim0', attrs: toWireMap({ [b]: 1 }) }]],
    ['Create string value', (b) => ['ObjectService', 'Create', { type: 'qp', attrs: toWireMap({ pd: handle(pd), send_cq: handle(cq), recv_cq: handle(cq), qp_type: b }) }]],
    ['Invoke method', (b) => ['ObjectService', 'Invoke', { handle: cq, method: b }]],
    ['Invoke device', (b) => ['ObjectService', 'Invoke', { handle: 0, device: b, method: 'query_port' }]],
    ['Modify string value', (b) => ['ObjectService', 'Modify', { handle: cq, attrs: toWireMap({ cqe: b }) }]],
    ['Batch step type', (b) => ['ObjectService', 'Batch', { steps: [{ create: { type: b } }] }]],
    ['DeviceService.Query', (b) => ['DeviceService', 'Query', { device: b }]],
    ['DeviceService.Describe', (b) => ['DeviceService', 'Describe', { device: b }]],
    ['SetQuota tenant', (b) => ['AdminService', 'SetQuota', { tenant: b }]],
    ['SetQuota name', (b) => ['AdminService', 'SetQuota', { tenant: 'default', set: { [b]: 1 } }]],
    ['SetQuota clear', (b) => ['AdminService', 'SetQuota', { tenant: 'default', clear: [b] }]],
    ['EvictSession', (b) => ['AdminService', 'EvictSession', { session_id: b }]],
    ['GetAccounting', (b) => ['AdminService', 'GetAccounting', { tenant: b }]],
    ['GetQuotas', (b) => ['AdminService', 'GetQuotas', { tenant: b }]],
    ['ListObjects filter', (b) => ['InspectionService', 'ListObjects', { filter: { type: b } }]],
    ['ListSessions tenant', (b) => ['InspectionService', 'ListSessions', { tenant: b }]],
    ['WatchObjects filter', (b) => ['InspectionService', 'WatchObjects', { filter: { session: b } }]],
  ];
  for (const [what, make] of paths) {
    it(`${what}: 85 KB and 1 MiB answer INVALID_ARGUMENT at once, and the connection keeps serving`, async () => {
      for (const n of sizes) {
        const [service, method, req] = make('x'.repeat(n));
        const bystander = call('DeviceService', 'List', {});
        const r = await call(service, method, req);
        const failedBatch = method === 'Batch' && r.code === S.OK ? (r.reply as { failed: boolean; error: { code: string; message: string } }) : null;
        if (failedBatch) {
          // A Batch reports a bad step in its reply (failed_index), with the same bounded message.
          expect(failedBatch.failed).toBe(true);
          expect(failedBatch.error.code).toBe('INVALID_ATTR');
          expect(failedBatch.error.message.length).toBeLessThan(1024);
        } else {
          expectRefused(r, S.INVALID_ARGUMENT);
        }
        const b = await bystander;
        expect(b.code).toBe(S.OK);
        expect(b.ms).toBeLessThan(HANG_MS);
      }
    });
  }

  it('log and audit lines quote bounded prefixes only', () => {
    // Every call above was logged or audited; none carried the client's string whole.
    expect(t.log.longest).toBeLessThan(4096);
    expect(t.log.errors).toEqual([]);
  });

  it('x-rdma-session headers: long ones answer UNAUTHENTICATED, ones over HTTP/2\'s 64 KiB field limit are refused promptly', async () => {
    for (const n of [1000, 60_000]) {
      const md = new grpc.Metadata();
      md.set(SESSION_HEADER, 'x'.repeat(n));
      expectRefused(await call('ObjectService', 'Query', { handle: pd }, md), S.UNAUTHENTICATED);
    }
    for (const n of [100 * 1024, 1 << 20]) {
      // Each on a connection of its own: HTTP/2 closes the connection that sent it (a compression error).
      const client = new grpc.Client(`unix:${t.socket}`, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set(SESSION_HEADER, 'x'.repeat(n));
      const bound = KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + HANG_MS;
      const r = await t.call('ObjectService', 'Query', t.encode('ObjectService', 'Query', { handle: pd }), md, client, bound);
      client.close();
      expect(r.code).not.toBe(S.OK);
      expect(r.code).not.toBe(S.DEADLINE_EXCEEDED);
      // 100 KiB is reset by HTTP/2 at once; 1 MiB stops the connection being read, and the daemon's ping closes it.
      expect(r.ms).toBeLessThan(bound);
    }
    // And the daemon serves on.
    expect((await call('DeviceService', 'List', {})).code).toBe(S.OK);
  }, 2 * (KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + HANG_MS));
});

describe('odd requests (point 6)', () => {
  it('garbage request bodies answer INVALID_ARGUMENT, not INTERNAL', async () => {
    const garbage = [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0a, 0xff, 0x01]), Buffer.from('\x12\x05abc'), Buffer.alloc(64, 0xff)];
    for (const [service, method] of [['ObjectService', 'Create'], ['ObjectService', 'Batch'], ['DeviceService', 'Query'], ['AdminService', 'SetQuota'], ['InspectionService', 'ListObjects']] as const) {
      for (const g of garbage) {
        const r = await t.call(service, method, g, s.md());
        expect(r.code, `${service}.${method} ${g.toString('hex')}: ${r.details}`).not.toBe(S.INTERNAL);
        expect(r.ms).toBeLessThan(HANG_MS);
      }
      expectRefused(await t.call(service, method, garbage[0]!, s.md()), S.INVALID_ARGUMENT);
    }
  });

  it(`attribute values nested deeper than ${LIMITS.attrDepth} levels answer INVALID_ARGUMENT, and far deeper ones too`, async () => {
    const nest = (n: number): Plain => {
      let v: Plain = 1;
      for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
      return v;
    };
    for (const depth of [LIMITS.attrDepth + 1, 40]) {
      const r = await call('ObjectService', 'Create', { type: 'cq', device: 'sim0', attrs: toWireMap({ cqe: nest(depth) }) });
      expectRefused(r, S.INVALID_ARGUMENT);
    }
    // Deeper than protobufjs itself encodes or decodes (its limit is 100 messages): hand-made bytes.
    for (const depth of [49, 60, 200, 5000]) {
      const r = await t.call('ObjectService', 'Create', createWithValue('cq', 'cqe', deepList(depth)), s.md());
      expectRefused(r, S.INVALID_ARGUMENT);
    }
    // Within the limit it is the attribute table that answers (a cqe is not a map).
    const ok = await call('ObjectService', 'Create', { type: 'cq', device: 'sim0', attrs: toWireMap({ cqe: nest(LIMITS.attrDepth - 2) }) });
    expectRefused(ok, S.INVALID_ARGUMENT);
    expect(ok.details).toMatch(/cqe/);
  });

  it('a Batch step with no verb sets failed_index (the steps before it ran)', async () => {
    const r = await call('ObjectService', 'Batch', { steps: [{ query: { handle: pd } }, {}, { query: { handle: pd } }] });
    expect(S[r.code]).toBe('OK');
    const b = r.reply as { results: unknown[]; failed: boolean; failed_index: number; error: { code: string; message: string } };
    expect({ failed: b.failed, index: b.failed_index, results: b.results.length, code: b.error.code }).toEqual({ failed: true, index: 1, results: 1, code: 'INVALID_ATTR' });
    expect(b.error.message).toMatch(/no verb/);
  });

  it('user_handle beyond u64 over gRPC is refused by the client encoder or the daemon, never stored as 0', async () => {
    const r = await call('ObjectService', 'Create', { type: 'pd', device: 'sim0', user_handle: '18446744073709551615' });
    expect(S[r.code]).toBe('OK');
    const o = (r.reply as { object: { handle: string; user_handle: string } }).object;
    expect(o.user_handle).toBe('18446744073709551615');
    expect((await call('ObjectService', 'Destroy', { handle: o.handle })).code).toBe(S.OK);
  });
});

/** Protobuf bytes: a length-delimited field. */
function field(no: number, body: Buffer): Buffer {
  return Buffer.concat([varint((no << 3) | 2), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A Value that is a list holding a list ... `depth` times, around u64 1. */
export function deepList(depth: number): Buffer {
  let v: Buffer = Buffer.from([0x08, 0x01]);
  for (let i = 0; i < depth; i++) v = field(7, field(1, v));
  return v;
}

/** A CreateRequest {type, attrs: {name: value}} with the value's bytes as given. */
export function createWithValue(type: string, name: string, value: Buffer): Buffer {
  const entry = Buffer.concat([field(1, Buffer.from(name)), field(2, value)]);
  return Buffer.concat([field(1, Buffer.from(type)), field(2, Buffer.from('sim0')), field(3, entry)]);
}

describe('user_handle through the client library (point 6)', () => {
  it('-1, 2^70, 1.5 and "abc" are refused before they are sent (protobufjs would wrap them); 2^64-1 is kept', async () => {
    const client = await connect({ socket: t.socket });
    const cs = await client.openSession({ name: 'uh' });
    try {
      for (const uh of [-1, 2n ** 70n, '1180591620717411303424', 1.5, 'abc', 2 ** 60]) {
        await expect(cs.create('pd', {}, { device: 'sim0', userHandle: uh })).rejects.toThrow(/userHandle/);
        await expect(cs.batch([{ create: 'pd', device: 'sim0', userHandle: uh }])).rejects.toThrow(/userHandle/);
      }
      const o = await cs.create('pd', {}, { device: 'sim0', userHandle: 2n ** 64n - 1n });
      expect(o.userHandle).toBe('18446744073709551615');
    } finally {
      await cs.close();
      client.close();
    }
  });
});

describe('fd channel user_handle (point 6)', () => {
  let sock: PacketSocket;
  const replies: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;

  beforeAll(async () => {
    sock = await connectPacket(t.fdSocket);
    sock.start({
      onMessage: (data, fds) => {
        for (const fd of fds) libc.close(fd);
        replies.push(JSON.parse(data.toString()) as Record<string, unknown>);
        wake?.();
      },
      onClose: () => wake?.(),
    });
  });
  afterAll(() => sock?.close('done'));

  async function ask(req: Record<string, unknown>, fds: number[] = []): Promise<Record<string, unknown>> {
    const n = replies.length;
    sock.send(Buffer.from(JSON.stringify(req)), fds);
    const t0 = Date.now();
    while (replies.length === n) {
      if (Date.now() - t0 > HANG_MS) throw new Error(`no reply to ${JSON.stringify(req)}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return replies[n]!;
  }

  it('"abc", 1.5, {}, null, 2^70, -1 answer INVALID_ARGUMENT; a u64 string is kept', async () => {
    const bound = await ask({ id: 1, op: 'bind', token: s.opened.fd_token });
    expect(bound.ok).toBe(true);
    const bad: unknown[] = ['abc', 1.5, {}, null, 2 ** 70, '1180591620717411303424', -1, '-1', [], true];
    for (const uh of bad) {
      const mem = SharedMemory.create(4096, 'uh');
      // The raw JSON, so 2^70 goes as a number too.
      const r = await ask({ id: 2, op: 'reg_mr', pd, length: 4096, access: ['LOCAL_WRITE'], user_handle: uh }, [mem.fd]);
      mem.close();
      const e = r.error as { status_name: string; code: string; message: string } | undefined;
      expect({ uh, ok: r.ok, status: e?.status_name }).toEqual({ uh, ok: false, status: 'INVALID_ARGUMENT' });
      expect(e!.message).toMatch(/user_handle/);
    }
    expect(t.log.errors).toEqual([]);
    expect(t.brokerObjects()).toBe(2);
    const mem = SharedMemory.create(4096, 'uh');
    const r = await ask({ id: 3, op: 'reg_mr', pd, length: 4096, user_handle: '18446744073709551615' }, [mem.fd]);
    mem.close();
    expect(r.ok).toBe(true);
    const mr = t.broker.registry.get(Number(r.handle));
    expect(mr?.userHandle).toBe('18446744073709551615');
    expect((await call('ObjectService', 'Destroy', { handle: r.handle })).code).toBe(S.OK);
  });
});

describe('Batch bounds (point 3)', () => {
  it('Describe reports the limits', async () => {
    const r = await call('DeviceService', 'Describe', { device: 'sim0' });
    expect((r.reply as { limits: Record<string, string> }).limits).toMatchObject({ batch_steps: String(LIMITS.batchSteps), attr_depth: String(LIMITS.attrDepth) });
  });

  it(`more than ${LIMITS.batchSteps} steps is refused up front (RESOURCE_EXHAUSTED), nothing created`, async () => {
    const before = t.brokerObjects();
    const steps = Array.from({ length: LIMITS.batchSteps + 1 }, () => ({ create: { type: 'pd', device: 'sim0' } }));
    expectRefused(await call('ObjectService', 'Batch', { steps }), S.RESOURCE_EXHAUSTED);
    expect(t.brokerObjects()).toBe(before);
  });

  it('a Batch whose reply could not be sent is refused before any step runs', async () => {
    const before = t.brokerObjects();
    const steps: unknown[] = [
      { create: { type: 'pd', device: 'sim0' } },
      { create: { type: 'mr', attrs: toWireMap({ pd: handle(pd), length: 1 << 24 }) } },
    ];
    // 8 reads of 16 MiB: 128 MiB of reply, over the 64 MiB a message may carry.
    for (let i = 0; i < 8; i++) steps.push({ invoke: { handle_ref: 2, method: 'read', attrs: toWireMap({ length: 1 << 24 }) } });
    const r = await call('ObjectService', 'Batch', { steps });
    expectRefused(r, S.RESOURCE_EXHAUSTED);
    expect(r.details).toMatch(/reply/);
    expect(t.brokerObjects()).toBe(before);
    // And so are polls that could return too many completions.
    const polls = Array.from({ length: 200 }, () => ({ invoke: { handle: cq, method: 'poll', attrs: toWireMap({ max: 4096 }) } }));
    expectRefused(await call('ObjectService', 'Batch', { steps: polls }), S.RESOURCE_EXHAUSTED);
  });

  it('a bystander sending keepalives keeps its session and objects while others send the largest Batches', async () => {
    const bystander = await t.openSession('bystander', { keepaliveMs: 200, leaseMs: 1000 });
    const own = await call('ObjectService', 'Create', { type: 'pd', device: 'sim0' }, bystander.md());
    expect(own.code).toBe(S.OK);
    const handleOf = (own.reply as { object: { handle: string } }).object.handle;
    const big = await t.openSession('big');
    // The largest allowed Batch: create and destroy CQs, half the steps each.
    const steps: unknown[] = [];
    for (let i = 0; i < LIMITS.batchSteps / 2; i++) {
      steps.push({ create: { type: 'cq', device: 'sim0', attrs: toWireMap({ cqe: 16 }) } });
      steps.push({ destroy: { handle_ref: 2 * i + 1 } });
    }
    const body = t.encode('ObjectService', 'Batch', { steps });
    const t0 = Date.now();
    const runs = await Promise.all([0, 1, 2, 3].map(() => t.call('ObjectService', 'Batch', body, big.md())));
    for (const r of runs) {
      expect(S[r.code]).toBe('OK');
      expect((r.reply as { failed: boolean; results: unknown[] }).results.length).toBe(LIMITS.batchSteps);
    }
    console.log(`4 Batches of ${LIMITS.batchSteps} steps: ${Date.now() - t0} ms; the bystander's largest keepalive gap ${bystander.maxGapMs()} ms`);
    // The lease survived: the session and its PD are still there.
    expect(t.broker.sessions.get(bystander.opened.session_id)?.state).toBe('attached');
    expect((await call('ObjectService', 'Query', { handle: handleOf }, bystander.md())).code).toBe(S.OK);
    await big.close();
    await bystander.close();
  });
});
