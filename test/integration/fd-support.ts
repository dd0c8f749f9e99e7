/**
 * Helpers for the fd-channel tests: a daemon in a child process (so that
 * /proc/PID/fd counts the daemon's fds only), and a thin raw gRPC session.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { api, SESSION_HEADER } from '../../src/wire/proto.js';
import { fromWireMap, handle, toWireMap, type PlainMap } from '../../src/wire/values.js';
import type { SessionOpened__Output } from '../../src/wire/gen/rdmabroker/v1/SessionOpened.js';
import type { ObjectInfo__Output } from '../../src/wire/gen/rdmabroker/v1/ObjectInfo.js';
import { expect } from 'vitest';
import { ROOT, spawnDaemon, waitFor as baseWaitFor, type Daemon, type SpawnOptions } from './helpers.js';

/**
 * The device the fd tests run on: the simulated sim0 by default; inside the
 * soft-RoCE VM, RDMA_BROKER_FD_DEVICE=rxe0 runs them on the kernel's device
 * through libibverbs (see docs/fd-channel.md, "Tests").
 */
export const DEVICE = process.env.RDMA_BROKER_FD_DEVICE || 'sim0';
const BACKEND = DEVICE.startsWith('sim') ? 'sim' : 'ibverbs';
/** Waits stretch on a real device: the VM runs under emulation, many times slower (assertions on time do not). */
export const SLOW = BACKEND === 'sim' ? 1 : 8;

export { ROOT };

export interface FdDaemon extends Daemon {
  fdSocket: string;
  /** The daemon's open fds (entries of /proc/PID/fd). */
  fdCount(): number;
  fdList(): string[];
}

/** {@link baseWaitFor}, stretched by {@link SLOW}. */
export function waitFor<T>(cond: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  return baseWaitFor(cond, ms * SLOW, what);
}

/** The daemon on the fd tests' device (log level info unless told), with its fd socket and a view of its fd table. */
export async function spawnFdDaemon(tag: string, extra: string[] = [], o: SpawnOptions = {}): Promise<FdDaemon> {
  const d = await spawnDaemon(`fd-${tag}`, extra, { device: BACKEND, logLevel: 'info', readyMs: 15_000 * SLOW, stdin: 'ignore', ...o });
  const fdDir = `/proc/${d.proc.pid}/fd`;
  return {
    ...d,
    fdSocket: `${d.socket}.fd`,
    fdCount: () => fs.readdirSync(fdDir).length,
    fdList: () => fs.readdirSync(fdDir).map((f) => {
      try {
        return `${f} -> ${fs.readlinkSync(path.join(fdDir, f))}`;
      } catch {
        return f;
      }
    }),
  };
}

/** A session over raw grpc-js (the tests of the daemon side do not need the client library). */
export class RawSession {
  private constructor(
    private readonly stream: grpc.ClientDuplexStream<unknown, unknown>,
    readonly opened: SessionOpened__Output,
    private readonly objects: InstanceType<ReturnType<typeof api>['rdmabroker']['v1']['ObjectService']>,
    private readonly sessions: InstanceType<ReturnType<typeof api>['rdmabroker']['v1']['SessionService']>,
    private readonly inspection: InstanceType<ReturnType<typeof api>['rdmabroker']['v1']['InspectionService']>,
  ) {}

  static async open(socket: string, name = 'fd-test'): Promise<RawSession> {
    const pkg = api().rdmabroker.v1;
    const creds = grpc.credentials.createInsecure();
    const addr = `unix:${socket}`;
    const sessions = new pkg.SessionService(addr, creds);
    const stream = sessions.Connect();
    const opened = await new Promise<SessionOpened__Output>((resolve, reject) => {
      stream.on('data', (m: { opened?: SessionOpened__Output | null }) => {
        if (m.opened) resolve(m.opened);
      });
      stream.on('error', reject);
      stream.write({ open: { name } });
    });
    stream.on('error', () => {});
    return new RawSession(stream as never, opened, new pkg.ObjectService(addr, creds), sessions, new pkg.InspectionService(addr, creds));
  }

  get id(): string {
    return this.opened.session_id;
  }

  private md(): grpc.Metadata {
    const m = new grpc.Metadata();
    m.set(SESSION_HEADER, this.opened.token);
    return m;
  }

  private unary<T>(client: object, method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      (client as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: Error | null, r: T) => void) => void>)[method]!.call(client, req, this.md(), (e, r) => (e ? reject(e) : resolve(r)));
    });
  }

  async create(type: string, attrs: PlainMap = {}, device = DEVICE, userHandle = '0'): Promise<{ handle: number; attrs: PlainMap; info: ObjectInfo__Output }> {
    const r = await this.unary<{ object: ObjectInfo__Output }>(this.objects, 'Create', { type, device, attrs: toWireMap(attrs), user_handle: userHandle });
    return { handle: Number(r.object.handle), attrs: fromWireMap(r.object.attrs), info: r.object };
  }

  async modify(h: number, attrs: PlainMap): Promise<void> {
    await this.unary(this.objects, 'Modify', { handle: String(h), attrs: toWireMap(attrs) });
  }

  async destroy(h: number): Promise<void> {
    await this.unary(this.objects, 'Destroy', { handle: String(h) });
  }

  async invoke(h: number, method: string, attrs: PlainMap = {}): Promise<PlainMap> {
    const r = await this.unary<{ attrs: Record<string, never> }>(this.objects, 'Invoke', { handle: String(h), method, attrs: toWireMap(attrs) });
    return fromWireMap(r.attrs, true);
  }

  async fdToken(): Promise<string> {
    const r = await this.unary<{ token: string }>(this.sessions, 'IssueFdToken', {});
    return r.token;
  }

  /** This session's objects, as the daemon lists them. */
  async listOwn(): Promise<ObjectInfo__Output[]> {
    return listSession(this.inspection, this.id);
  }

  /** Ends the stream: the session ends (no resume grace) and its objects go. */
  close(): void {
    this.stream.end();
    this.stream.cancel();
  }
}

export async function listSession(inspection: object, session: string): Promise<ObjectInfo__Output[]> {
  return new Promise((resolve, reject) => {
    (inspection as { ListObjects(r: unknown, cb: (e: Error | null, r: { objects: ObjectInfo__Output[] }) => void): void })
      .ListObjects({ filter: { session }, max_results: 10_000 }, (e, r) => (e ? reject(e) : resolve(r.objects)));
  });
}

/** Lists a session's objects from outside it (the default identity is admin). */
export function inspector(socket: string): (session: string) => Promise<ObjectInfo__Output[]> {
  const pkg = api().rdmabroker.v1;
  const c = new pkg.InspectionService(`unix:${socket}`, grpc.credentials.createInsecure());
  return (s) => listSession(c, s);
}

export { handle };

/** A loopback RC pair on the test device's port 1, in RTS, with a CQ on a completion channel. */
export async function rcPair(s: RawSession, gid: string, opts: { channel?: number } = {}): Promise<{ pd: number; cq: number; a: { handle: number; qpn: number }; b: { handle: number; qpn: number } }> {
  const pd = (await s.create('pd')).handle;
  const cq = (await s.create('cq', opts.channel ? { cqe: 16, channel: handle(opts.channel) } : { cqe: 16 }, DEVICE, '4242')).handle;
  const mk = async () => {
    const q = await s.create('qp', {
      pd: handle(pd), send_cq: handle(cq), recv_cq: handle(cq), qp_type: 'RC',
      cap: { max_send_wr: 8, max_recv_wr: 8, max_send_sge: 1, max_recv_sge: 1 },
    });
    return { handle: q.handle, qpn: Number(q.attrs.qp_num) };
  };
  const a = await mk();
  const b = await mk();
  const access = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ'];
  const connect = async (q: { handle: number }, peer: { qpn: number }) => {
    await s.modify(q.handle, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: access });
    await s.modify(q.handle, {
      qp_state: 'RTR', path_mtu: 3, dest_qp_num: peer.qpn, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12,
      ah_attr: { port_num: 1, dlid: 0, sl: 0, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } },
    });
    await s.modify(q.handle, { qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
  };
  await connect(a, b);
  await connect(b, a);
  return { pd, cq, a, b };
}

export async function loadSimGid(socket: string): Promise<string> {
  const pkg = api().rdmabroker.v1;
  const c = new pkg.DeviceService(`unix:${socket}`, grpc.credentials.createInsecure());
  const r = await new Promise<{ ports: { gids: { index: number; gid: string }[] }[] }>((resolve, reject) =>
    c.Query({ device: DEVICE }, (e, r) => (e ? reject(e) : resolve(r as never))));
  const gid = r.ports[0]?.gids.find((g) => g.index === 0)?.gid;
  c.close();
  if (!gid) throw new Error(`${DEVICE} has no GID 0`);
  return gid;
}

/**
 * The daemon's open connections on its gRPC socket: the accepted sockets in
 * its fd table that /proc/net/unix shows connected on `d.socket`.
 */
export function grpcConnections(d: FdDaemon): number {
  const inodes = new Set<string>();
  for (const l of d.fdList()) {
    const m = /-> socket:\[(\d+)\]$/.exec(l);
    if (m) inodes.add(m[1]!);
  }
  let n = 0;
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[5] === '03' && f.slice(7).join(' ') === d.socket && inodes.has(f[6]!)) n++;
  }
  return n;
}

/**
 * Brings the daemon to its steady state and returns its fd count there: one
 * gRPC connection from this process (its channels are never closed, so it
 * stays for the daemon's life), a session came and went on it, and the
 * tenant's device context is open (a real device context holds fds of its own
 * for as long as the daemon runs). Connections this process closed before
 * (loadSimGid's) are gone from the daemon's fd table first: the daemon closes
 * them when it reads their end, in its own time.
 */
export async function settle(d: FdDaemon): Promise<number> {
  const s = await RawSession.open(d.socket);
  const pd = await s.create('pd');
  await s.destroy(pd.handle);
  s.close();
  await waitFor(() => d.logs.some((l) => l.msg === 'session ended' && l.session === s.id), 5000, 'the settling session to end');
  await waitFor(() => grpcConnections(d) === 1, 5000, 'the daemon to hold exactly one gRPC connection (this process\'s)');
  return d.fdCount();
}

/**
 * Waits until the daemon's fd count is back down to `baseline` (sessions end
 * asynchronously), then requires it to be exactly that; either failure lists
 * the daemon's fds.
 */
export async function backToBaseline(d: FdDaemon, baseline: number, ms = 5000): Promise<void> {
  await waitFor(() => d.fdCount() <= baseline, ms, `the daemon's fd count to return to ${baseline}`).catch((e: Error) => {
    throw new Error(`${e.message}; now ${d.fdCount()}:\n${d.fdList().join('\n')}`);
  });
  const now = d.fdList();
  expect(now.length, `the daemon's fds:\n${now.join('\n')}`).toBe(baseline);
}
