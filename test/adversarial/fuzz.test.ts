/**
 * The seeded fuzzer (issue 9): malformed and oversized messages, deep
 * nesting, every value kind in every attribute (walked from the type tables),
 * foreign and forged handles and tokens, over every RPC of every service and
 * over the fd channel's raw SOCK_SEQPACKET messages, against a daemon on the
 * sim. A case fails on INTERNAL (or UNKNOWN: an unmapped error), on a call
 * unanswered in 5 s, on a crash (an uncaught error fails the file), or on an
 * object left behind (the broker's table and the sim's pools back to zero
 * after each round). The seed is printed; RDMA_BROKER_FUZZ_SEED replays it,
 * RDMA_BROKER_FUZZ_CASES changes the number of random cases.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_TYPES, TYPES_BY_NAME } from '../../src/core/types/index.js';
import { connectPacket, type PacketSocket } from '../../src/sys/packet-socket.js';
import * as libc from '../../src/sys/libc.js';
import { SharedMemory } from '../../src/sys/memory.js';
import { SESSION_HEADER } from '../../src/wire/proto.js';
import type { Value } from '../../src/wire/gen/rdmabroker/v1/Value.js';
import { attrSites, fuzzSeed, Prng, ValueGen, WIRE_KINDS, type HandlePool } from './gen.js';
import { HANG_MS, methodsOf, SERVICES, settled, startTarget, type CallResult, type RawSession, type ServiceName, type Target } from './harness.js';

const S = grpc.status;
const SEED = fuzzSeed();
const CASES = Number(process.env.RDMA_BROKER_FUZZ_CASES ?? 1200);
const FD_CASES = Math.ceil(CASES / 3);
/** Random cases per round; each round has fresh sessions and fixtures, and ends with a leak check. */
const ROUND = 300;

let t: Target;
const failures: string[] = [];
const counts = { grpc: 0, sweep: 0, fd: 0 };

function fail(msg: string): void {
  if (failures.length < 30) failures.push(msg.slice(0, 600));
}

function show(x: unknown): string {
  const s = JSON.stringify(x, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}...(${v.length})` : v));
  return (s ?? String(x)).slice(0, 400);
}

const slow: string[] = [];

function check(what: string, r: CallResult): CallResult {
  if (r.ms > 1000 && slow.length < 20) slow.push(`${r.ms} ms ${S[r.code]} ${what.slice(0, 200)}`);
  if (r.code === S.INTERNAL || r.code === S.UNKNOWN) fail(`${what}: ${S[r.code]} ${r.details}`);
  else if (r.code === S.DEADLINE_EXCEEDED || r.ms >= HANG_MS) fail(`${what}: unanswered in ${HANG_MS} ms`);
  return r;
}

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (RDMA_BROKER_FUZZ_SEED=${SEED} replays it), ${CASES} random gRPC cases, ${FD_CASES} fd-channel cases`);
  t = await startTarget('fuzz', { limits: { max_qp: 64, max_cq: 64, max_mr: 256 } });
});
afterAll(async () => {
  const left = t ? await settled(t) : null;
  await t?.stop();
  console.log(`fuzz seed ${SEED}: ${counts.sweep} sweep cases, ${counts.grpc} random gRPC cases, ${counts.fd} fd-channel cases; ${failures.length} failures`);
  if (slow.length) console.log(`slow cases:\n${slow.join('\n')}`);
  expect(left).toEqual({ broker: 0, device: 0 });
});

/** A round's world: the session under test, another session (foreign handles and a valid foreign token), and their objects. */
interface World {
  s: RawSession;
  other: RawSession;
  pool: HandlePool;
  gen: ValueGen;
  r: Prng;
}

function handleOf(r: CallResult): number | null {
  const o = (r.reply as { object?: { handle?: string | number } } | null)?.object;
  return o?.handle !== undefined ? Number(o.handle) : null;
}

async function createIn(w: World, s: RawSession, type: string, tries: number): Promise<number | null> {
  const spec = TYPES_BY_NAME.get(type);
  if (!spec?.create) return null;
  for (let i = 0; i < tries; i++) {
    const req = { type, device: 'sim0', attrs: w.gen.attrs(spec.create.attrs) };
    const r = check(`fixture ${type} ${show(req)}`, await t.call('ObjectService', 'Create', t.encode('ObjectService', 'Create', req), s.md()));
    const h = handleOf(r);
    if (h !== null) return h;
  }
  return null;
}

async function world(round: number): Promise<World> {
  const r = new Prng((SEED + round * 0x9e37_79b9) >>> 0);
  const pool: HandlePool = { own: new Map(), foreign: [] };
  const w: World = { s: await t.openSession(`fuzz-${round}`), other: await t.openSession(`foreign-${round}`), pool, gen: new ValueGen(r, pool), r };
  // Twice over the creatable types, in table order (parents come first), so children find parents.
  for (let pass = 0; pass < 2; pass++) {
    for (const type of OBJECT_TYPES) {
      if (!type.create || type.readOnly || (pass > 0 && pool.own.has(type.name))) continue;
      const h = await createIn(w, w.s, type.name, 4);
      if (h !== null) pool.own.set(type.name, [...(pool.own.get(type.name) ?? []), h]);
    }
  }
  for (const type of ['pd', 'cq']) {
    const h = await createIn(w, w.other, type, 4);
    if (h !== null) pool.foreign.push(h);
  }
  return w;
}

async function endWorld(w: World, round: number): Promise<void> {
  await w.s.close();
  await w.other.close();
  const left = await settled(t);
  if (left.broker !== 0 || left.device !== 0) fail(`round ${round}: objects left behind after the sessions ended: ${show(left)}`);
}

/** The session header a case sends: mostly the session's own token, else none, forged, foreign, stale or oversized. */
function metadata(w: World, stale: string): grpc.Metadata {
  const md = new grpc.Metadata();
  const r = w.r;
  const token = r.chance(0.85) ? w.s.opened.token : r.pick([
    () => null, () => '', () => w.other.opened.token, () => stale, () => r.bytes(24).toString('base64url'),
    () => 'x'.repeat(300 + r.int(50_000)), () => `${w.s.opened.token}x`,
  ])();
  if (token !== null) md.set(SESSION_HEADER, token);
  return md;
}

type Req = [ServiceName, string, unknown];

function objectCase(w: World, sites: ReturnType<typeof attrSites>): Req {
  const { r, gen, pool } = w;
  const own = (type: string): number | string => {
    const hs = pool.own.get(type) ?? [];
    return hs.length && r.chance(0.8) ? r.pick(hs) : gen.handle();
  };
  const site = r.pick(sites);
  switch (r.int(6)) {
    case 0: {
      const s = sites.filter((x) => x.method === 'create');
      const c = r.pick(s);
      return ['ObjectService', 'Create', {
        type: r.chance(0.9) ? c.type : gen.str().slice(0, 500), device: r.pick(['sim0', 'sim0', '', 'nope', gen.str()]),
        attrs: gen.attrs(c.specs), user_handle: r.u64(),
      }];
    }
    case 1: {
      const m = sites.filter((x) => x.method === 'modify');
      const c = r.pick(m);
      return ['ObjectService', 'Modify', { handle: own(c.type), attrs: gen.attrs(c.specs) }];
    }
    case 2:
    case 3: {
      const methods = sites.filter((x) => x.method !== 'create' && x.method !== 'modify');
      const c = r.pick(methods);
      const device = c.type === 'device';
      return ['ObjectService', 'Invoke', {
        handle: device ? (r.chance(0.8) ? 0 : gen.handle()) : own(c.type), device: device ? r.pick(['sim0', 'sim0', '', gen.str()]) : r.pick(['', '', 'sim0', 'x']),
        method: r.chance(0.92) ? c.method : r.pick(['__proto__', 'constructor', 'toString', gen.str().slice(0, 300)]), attrs: gen.attrs(c.specs),
      }];
    }
    case 4:
      return ['ObjectService', r.pick(['Query', 'Destroy']), { handle: own(site.type), handle_ref: r.chance(0.1) ? r.int(4) : 0 }];
    default: {
      const n = r.pick([0, 1, 2, 4, 8, 16]);
      const steps: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (r.chance(0.05)) {
          steps.push({});
          continue;
        }
        const [, verb, body] = objectCase(w, sites);
        if (verb === 'Batch') continue;
        const ref = r.chance(0.3) ? { handle: 0, handle_ref: 1 + r.int(i + 2) } : {};
        steps.push({ [verb.toLowerCase()]: { ...(body as object), ...(verb === 'Create' ? {} : ref) } });
      }
      return ['ObjectService', 'Batch', { steps }];
    }
  }
}

function otherCase(w: World, service: ServiceName): Req {
  const { r, gen } = w;
  const name = (): string => r.pick(['', 'sim0', 'default', w.s.opened.session_id, w.other.opened.session_id, gen.str()]);
  const filter = (): unknown => ({ device: r.chance(0.3) ? name() : '', session: r.chance(0.3) ? name() : '', type: r.chance(0.3) ? r.pick(['qp', 'pd', name()]) : '', tenant: r.chance(0.3) ? name() : '' });
  switch (service) {
    case 'DeviceService':
      return ['DeviceService', r.pick(['List', 'Query', 'Describe']), { device: name() }];
    case 'InspectionService':
      return r.pick<() => Req>([
        () => ['InspectionService', 'ListObjects', { filter: filter(), start_handle: r.u64(), max_results: r.pick([0, 1, 100, 0xffff_ffff]) }],
        () => ['InspectionService', 'ListSessions', { tenant: name() }],
        () => ['InspectionService', 'WatchObjects', { filter: filter(), initial: r.chance(0.5) }],
      ])();
    case 'AdminService':
      return r.pick<() => Req>([
        () => ['AdminService', 'WhoAmI', {}],
        () => ['AdminService', 'GetAccounting', { tenant: name() }],
        () => ['AdminService', 'GetQuotas', { tenant: name() }],
        () => ['AdminService', 'SetQuota', {
          tenant: r.chance(0.6) ? 'default' : name(),
          set: Object.fromEntries(Array.from({ length: r.int(3) }, () => [r.pick(['qp', 'mr', 'objects', 'registered_bytes', 'sessions', 'bogus', name()]), r.u64()])),
          clear: Array.from({ length: r.int(3) }, () => r.pick(['qp', 'mr', 'bogus', name()])),
        }],
        // Never the round's own sessions: forged and stale ids only (eviction itself is tested elsewhere).
        () => ['AdminService', 'EvictSession', { session_id: r.pick(['', 's-000000000000', gen.str(), `${w.s.opened.session_id}0`]) }],
      ])();
    case 'SessionService':
      return r.pick<() => Req>([
        () => ['SessionService', 'IssueFdToken', {}],
        () => ['SessionService', 'Connect', r.pick([
          {}, { keepalive: { nonce: r.u64() } },
          { open: { name: gen.str(), lease_ms: r.pick([0, 1, 0xffff_ffff]), resume_grace_ms: r.pick([0, 0xffff_ffff]) } },
          { open: { resume_token: r.pick([w.other.opened.token, gen.str(), w.s.opened.token]) } },
        ])],
      ])();
    case 'ObjectService':
      return ['ObjectService', 'Query', { handle: gen.handle() }];
  }
}

/** Bytes for a request: its encoding, or that encoding damaged, or garbage (`damaged` says which). */
function bytesOf(w: World, [service, method, req]: Req): Buffer & { damaged?: boolean } {
  const { r } = w;
  const b = t.encode(service, method, req);
  if (r.chance(0.9)) return b;
  const m: Buffer & { damaged?: boolean } = Buffer.from(b);
  m.damaged = true;
  switch (r.int(4)) {
    case 0:
      for (let i = 0; i < 1 + r.int(4) && m.length; i++) m[r.int(m.length)] = r.int(256);
      return m;
    case 1:
      return Object.assign(m.subarray(0, r.int(m.length + 1)), { damaged: true });
    case 2:
      return Object.assign(r.bytes(r.int(300)), { damaged: true });
    default:
      return Object.assign(Buffer.concat([m, r.bytes(1 + r.int(20))]), { damaged: true });
  }
}

function afterCase(w: World, [service, method]: Req, res: CallResult): void {
  if (service === 'AdminService' && method === 'SetQuota') t.tenants.setQuota('default', {});
  if (service === 'ObjectService' && method === 'Create') {
    const h = handleOf(res);
    const type = (res.reply as { object?: { type?: string } } | null)?.object?.type;
    if (h !== null && type) w.pool.own.set(type, [...(w.pool.own.get(type) ?? []), h]);
  }
}

describe('the fuzzer', () => {
  it('every value kind in every attribute of every method (from the type tables)', async () => {
    const w = await world(1000);
    const stale = (await t.openSession('stale')).opened.token;
    for (const site of attrSites()) {
      for (const a of site.specs) {
        if (a.dir === 'out') continue;
        for (const kind of WIRE_KINDS) {
          const attrs: Record<string, Value> = w.gen.attrs(site.specs, { name: a.name, kind });
          const hs = w.pool.own.get(site.type) ?? [];
          const req: Req = site.method === 'create'
            ? ['ObjectService', 'Create', { type: site.type, device: 'sim0', attrs }]
            : site.method === 'modify'
              ? ['ObjectService', 'Modify', { handle: hs[0] ?? 1, attrs }]
              : ['ObjectService', 'Invoke', { handle: site.type === 'device' ? 0 : hs[0] ?? 1, device: site.type === 'device' ? 'sim0' : '', method: site.method, attrs }];
          const res = check(`sweep ${site.type}.${site.method}.${a.name} as ${kind}: ${show(req[2])}`, await t.call(req[0], req[1], t.encode(...req), w.s.md()));
          afterCase(w, req, res);
          counts.sweep++;
        }
      }
    }
    void stale;
    await endWorld(w, 1000);
    expect(failures).toEqual([]);
  }, 120_000);

  it('random cases over every RPC of every service', async () => {
    const sites = attrSites();
    let stale = '';
    {
      const s = await t.openSession('stale');
      stale = s.opened.token;
      await s.close();
    }
    for (let round = 0, done = 0; done < CASES; round++) {
      const w = await world(round);
      for (let i = 0; i < ROUND && done < CASES; i++, done++) {
        const r = w.r;
        const service = r.chance(0.6) ? 'ObjectService' : r.pick(SERVICES);
        let req = service === 'ObjectService' ? objectCase(w, sites) : otherCase(w, service);
        // Now and then a method of the service with a request of another's shape.
        if (r.chance(0.03)) req = [service, r.pick(methodsOf(service)), req[2]];
        let body: Buffer & { damaged?: boolean };
        try {
          body = bytesOf(w, req);
        } catch {
          // The request does not encode as this method's message: send garbage instead.
          body = Object.assign(r.bytes(r.int(200)), { damaged: true });
        }
        const res = check(`case ${done} ${req[0]}.${req[1]}${body.damaged ? ' (damaged bytes of)' : ''} ${show(req[2])}`, await t.call(req[0], req[1], body, metadata(w, stale)));
        afterCase(w, req, res);
        counts.grpc++;
      }
      await endWorld(w, round);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

/** A raw fd-channel connection: one request, one reply. */
class FdConn {
  private replies: Buffer[] = [];
  private closed = false;
  private wake: (() => void) | null = null;

  private constructor(readonly sock: PacketSocket) {
    sock.start({
      onMessage: (data, fds) => {
        for (const fd of fds) libc.close(fd);
        this.replies.push(data);
        this.wake?.();
      },
      onClose: () => {
        this.closed = true;
        this.wake?.();
      },
    });
  }

  static async open(path: string): Promise<FdConn> {
    return new FdConn(await connectPacket(path));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one message; the reply, 'closed' when the daemon closed the connection, or 'hang'. */
  async ask(data: Buffer, fds: number[] = []): Promise<Record<string, unknown> | 'closed' | 'hang'> {
    const n = this.replies.length;
    // Over the protocol's 64 KiB the library's own sender refuses: one raw write() is one packet.
    if (data.length > 65_536) libc.write(this.sock.fd, data, data.length);
    else this.sock.send(data.length ? data : Buffer.from(' '), fds);
    const end = Date.now() + HANG_MS;
    while (this.replies.length === n) {
      if (this.closed) return 'closed';
      if (Date.now() > end) return 'hang';
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 25);
      });
    }
    return JSON.parse(this.replies[n]!.toString('utf8')) as Record<string, unknown>;
  }

  close(): void {
    this.sock.close('done');
  }
}

describe('the fuzzer on the fd channel', () => {
  it('random raw messages, bound and unbound, with and without fds', async () => {
    for (let round = 0, done = 0; done < FD_CASES; round++) {
      const w = await world(500 + round);
      const { r, gen } = w;
      const token = async (): Promise<string> => {
        const res = await t.call('SessionService', 'IssueFdToken', t.encode('SessionService', 'IssueFdToken', {}), w.s.md());
        return (res.reply as { token: string }).token;
      };
      const conns: FdConn[] = [];
      const conn = async (): Promise<FdConn> => {
        const live = conns.filter((c) => !c.isClosed);
        if (live.length >= 3 || (live.length > 0 && r.chance(0.97))) return r.pick(live);
        const c = await FdConn.open(t.fdSocket);
        conns.push(c);
        if (r.chance(0.9)) await c.ask(Buffer.from(JSON.stringify({ id: 0, op: 'bind', token: await token() })));
        return c;
      };
      const handle = (): unknown => r.pick([() => gen.handle(), () => String(gen.handle()), () => -1, () => 1.5, () => null, () => {}, () => [1], () => 2 ** 70]) ();
      const odd = (): unknown => r.pick([() => r.u64(), () => Number(r.u64()), () => -1, () => 1.5, () => 'abc', () => null, () => ({}), () => [], () => true, () => 2 ** 70, () => 'x'.repeat(300)])();
      for (let i = 0; i < ROUND && done < FD_CASES; i++, done++) {
        const c = await conn();
        const id = r.chance(0.9) ? i : odd();
        const reqs: (() => unknown)[] = [
          () => ({ id, op: 'reg_mr', pd: r.chance(0.8) ? w.pool.own.get('pd')?.[0] ?? 1 : handle(), length: r.chance(0.7) ? 4096 : odd(), offset: r.chance(0.8) ? 0 : odd(), access: r.chance(0.5) ? ['LOCAL_WRITE'] : odd(), user_handle: odd(), source: r.chance(0.9) ? 'memfd' : odd(), iova: odd() }),
          () => ({ id, op: 'get_fd', handle: r.chance(0.7) ? r.pick([...w.pool.own.values()].flat().concat([1])) : handle() }),
          () => ({ id, op: 'async_fd' }),
          () => ({ id, op: 'import_device', device: r.pick(['sim0', '', gen.str()]), handles: r.chance(0.5) ? [handle(), handle()] : odd() }),
          () => ({ id, op: 'bind', token: r.pick([gen.str(), w.s.opened.fd_token, 'fd-x', odd()]) }),
          () => ({ id, op: r.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', gen.str(), odd()]) }),
          () => r.pick([[], 1, 'x', null, true]),
          () => ({ id, op: 'reg_mr', pd: { ref: 0 }, length: [4096], nested: JSON.parse('['.repeat(500) + ']'.repeat(500)) as unknown }),
        ];
        let data: Buffer;
        const kind = r.int(12);
        // reg_mr (a third of the cases) mostly with the one sealed memfd it needs, to get past the fd checks.
        const regMr = kind >= 8;
        if (kind === 0) data = r.bytes(r.int(2000));
        else if (kind === 1) data = Buffer.from(JSON.stringify({ id, op: 'get_fd', pad: 'x'.repeat(70 * 1024) }));
        else data = Buffer.from(JSON.stringify(regMr ? reqs[0]!() : r.pick(reqs)()) ?? 'null');
        const fds: number[] = [];
        const mems: SharedMemory[] = [];
        const nFds = regMr && r.chance(0.8) ? 1 : r.pick([0, 0, 0, 1, 1, 2, 9]);
        for (let k = 0; k < nFds; k++) {
          if (r.chance(regMr ? 0.9 : 0.7)) {
            const m = SharedMemory.create(r.pick([4096, 8192]), 'fuzz');
            mems.push(m);
            fds.push(m.fd);
          } else {
            fds.push(libc.memfd_create('unsealed', libc.MFD_CLOEXEC));
          }
        }
        const rep = await c.ask(data, fds);
        for (const m of mems) m.close();
        for (const fd of fds.slice(mems.length)) libc.close(fd);
        counts.fd++;
        if (rep === 'hang') fail(`fd case ${done}: unanswered in ${HANG_MS} ms: ${data.subarray(0, 300).toString()}`);
        else if (rep !== 'closed' && rep.ok === false) {
          const e = rep.error as { status_name?: string; message?: string } | undefined;
          if (e?.status_name === 'INTERNAL' || e?.status_name === 'UNKNOWN') fail(`fd case ${done}: ${e.status_name} ${e.message} for ${data.subarray(0, 300).toString()}`);
        }
      }
      for (const c of conns) c.close();
      await endWorld(w, 500 + round);
    }
    expect(t.log.errors).toEqual([]);
    expect(failures).toEqual([]);
  }, 120_000);
});
