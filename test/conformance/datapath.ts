/**
 * The conformance suite's data-path cases (test/conformance/suite.ts, "data
 * path": RC WRITE/READ, SEND/RECV with immediate, UD through an AH, flushed
 * receives, SRQ receives, type 2 windows and LOCAL_INV, post before RTS,
 * armed completion events) through a daemon, once per lane: the gRPC data
 * path (post_send / post_recv / poll Invoke calls) and the fast lane
 * (docs/fast-lane.md). Control objects are created over gRPC in both; only
 * posts, polls and waits take the lane under test.
 *
 * The cases hold on the sim and on rxe0 (test/integration/lane-conformance.test.ts
 * runs them against a daemon on the fd tests' device: sim0 by default, rxe0
 * in the VM). Assertions are the suite's, on the wire's values (status and
 * opcode names, errno numbers).
 */
import { expect, it } from 'vitest';
import { connect, handle, RdmaError, type AttrMap, type Client, type FastLane, type RdmaObject, type Session, type SharedMr } from '../../src/client/index.js';
import type { EventFd, CompletionRecord } from '../../src/client/fd-channel.js';

export type LaneName = 'grpc' | 'fast';

/** A completion as both lanes report it (the fields the cases look at). */
export interface DpWc {
  wr_id: bigint;
  status: string;
  opcode: string;
  byte_len: number;
  imm_data: number;
  qp_num: number;
  src_qp: number;
  wc_flags: number;
}

export interface DataPathOptions {
  /** The daemon's gRPC socket. */
  socket: () => string;
  device: string;
  /** Completion waits (ms); a VM runs emulated, several times slower. */
  timeoutMs: number;
}

const EINVAL = 22;
const ALL_REMOTE = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ', 'REMOTE_ATOMIC'];
type SendWr = Parameters<FastLane['postSend']>[1][number];
type RecvWr = Parameters<FastLane['postRecv']>[1][number];

/** One session, its CQ on a channel, and the data path of one lane. */
class Bench {
  private lane: FastLane | null = null;
  private events: EventFd<CompletionRecord> | null = null;
  private readonly mrs: SharedMr[] = [];
  cq!: RdmaObject;
  channel!: RdmaObject;
  pd!: RdmaObject;
  gid = '';
  mtu = 3;

  private constructor(readonly which: LaneName, readonly client: Client, readonly s: Session, readonly o: DataPathOptions) {}

  static async open(which: LaneName, o: DataPathOptions, cqe = 64): Promise<Bench> {
    const client = await connect({ socket: o.socket() });
    const s = await client.openSession({ name: `conformance-${which}` });
    const b = new Bench(which, client, s, o);
    try {
      const info = await client.queryDevice(o.device);
      const port = info.ports[0]!;
      b.gid = port.gids.find((g) => g.index === 0)!.gid;
      b.mtu = Number(port.attrs.active_mtu ?? 3);
      b.pd = await s.allocPd(o.device);
      b.channel = await s.create('comp_channel', {}, { device: o.device });
      b.cq = await s.createCq(o.device, cqe, { channel: b.channel });
      if (which === 'fast') {
        b.lane = await s.fastLane({ cqRings: 1 });
        await b.lane.attachCq(b.cq);
      }
      return b;
    } catch (e) {
      await b.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.lane?.close().catch(() => {});
    this.events?.close();
    for (const m of this.mrs) m.close();
    await this.s.close().catch(() => {});
    this.client.close();
  }

  async mr(length: number, access: string[]): Promise<SharedMr> {
    const m = await this.s.regSharedMr(this.pd, length, access);
    this.mrs.push(m);
    return m;
  }

  ah(): AttrMap {
    return { port_num: 1, dlid: 0, sl: 0, grh: { dgid: this.gid, sgid_index: 0, hop_limit: 1 } };
  }

  async qp(type: 'RC' | 'UD', o: { srq?: RdmaObject } = {}): Promise<RdmaObject> {
    const cap = { max_send_wr: 16, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1 };
    return this.s.createQp({ pd: this.pd, send_cq: this.cq, recv_cq: this.cq, qp_type: type, cap, ...(o.srq ? { srq: o.srq } : {}) });
  }

  async toInit(q: RdmaObject, type: 'RC' | 'UD' = 'RC'): Promise<void> {
    if (type === 'UD') await q.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qkey: 0x11111111 });
    else await q.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ALL_REMOTE });
  }

  async toRtr(q: RdmaObject, dest: number): Promise<void> {
    await q.modify({ qp_state: 'RTR', path_mtu: this.mtu, dest_qp_num: dest, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: this.ah() });
  }

  async rcPair(o: { srq?: RdmaObject } = {}): Promise<{ a: RdmaObject; b: RdmaObject }> {
    const a = await this.qp('RC', o);
    const b = await this.qp('RC', o);
    await this.toInit(a);
    await this.toInit(b);
    await this.toRtr(a, b.num('qp_num'));
    await this.toRtr(b, a.num('qp_num'));
    for (const q of [a, b]) await q.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
    return { a, b };
  }

  // ------------------------------------------------------- the lane's data path

  /** Posts; a refusal (gRPC error, or the lane's error record) throws with the device's errno. */
  async postSend(qp: RdmaObject, wrs: SendWr[]): Promise<void> {
    if (!this.lane) {
      // The ABI's work requests as generic attributes (not the typed helper's): the same invoke postSend makes.
      await this.s.invoke(qp, 'post_send', { wrs: wrs.map(grpcWr) });
      return;
    }
    const first = this.lane.postSend(qp, wrs);
    await this.refusals(qp, first, wrs.length);
  }

  async postRecv(qp: RdmaObject, wrs: RecvWr[], srq = false): Promise<void> {
    if (!this.lane) {
      if (srq) await this.s.invoke(qp, 'post_recv', { wrs: wrs.map(grpcWr) });
      else await this.s.invoke(qp, 'post_recv', { wrs: wrs.map(grpcWr) });
      return;
    }
    const first = srq ? this.lane.postSrqRecv(qp, wrs) : this.lane.postRecv(qp, wrs);
    await this.refusals(qp, first, wrs.length);
  }

  /**
   * The lane posts asynchronously: a refused entry shows up as an error
   * record. A gRPC post of the same session first posts everything the
   * session published to its lanes (docs/fast-lane.md, "Doorbells"), so once
   * an empty post_recv on the target returns, every entry of this post was
   * handled; the first record's errno is thrown, as the gRPC path throws
   * the device's.
   */
  private async refusals(target: RdmaObject, first: number, n: number): Promise<void> {
    await this.s.postRecv(target, []).catch(() => {});
    const errs = this.lane!.errors().filter((e) => ((e.sqIndex - first) >>> 0) < n);
    if (errs.length > 0) throw new RdmaError({ code: 3, details: `lane ${errs[0]!.code}`, errno: errs[0]!.errno, what: 'lane post' });
  }

  /** Polls (bounded retry) until `n` completions arrived. */
  async poll(n: number): Promise<DpWc[]> {
    const out: DpWc[] = [];
    const end = Date.now() + this.o.timeoutMs;
    while (out.length < n) {
      if (this.lane) out.push(...this.lane.poll(this.cq, n - out.length).map(laneWc));
      else out.push(...(await this.s.pollCq(this.cq, n - out.length)).map(grpcWc));
      if (out.length >= n) break;
      if (Date.now() > end) throw new Error(`${this.which}: ${out.length} of ${n} completions after ${this.o.timeoutMs} ms: ${JSON.stringify(out.map((w) => w.status))}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return out;
  }

  /** Arms the CQ and sleeps until its completion event (gRPC: the channel's event fd; lane: the completion doorbell). */
  async waitArmed(n: number): Promise<DpWc[]> {
    if (this.lane) return (await this.lane.waitCompletions(this.cq, n, this.o.timeoutMs)).map(laneWc);
    this.events ??= await this.s.completionEvents(this.channel);
    return (await this.s.waitCqEvents(this.cq, this.events, n, this.o.timeoutMs)).map(grpcWc);
  }
}

/** A lane WR as the gRPC attributes (flags by name, handles as numbers). */
function grpcWr(w: SendWr | RecvWr): AttrMap {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(w)) {
    if (v === undefined) continue;
    if (k === 'ah') out.ah = handle(v as RdmaObject);
    else if (k === 'bind_mw') {
      const b = v as NonNullable<SendWr['bind_mw']>;
      out.bind_mw = { ...b, mw: handle(b.mw as RdmaObject), mr: handle(b.mr as RdmaObject), mw_access_flags: accessNames(b.mw_access_flags ?? 0) };
    } else out[k] = v;
  }
  return out as AttrMap;
}

const ACCESS_BITS: [string, number][] = [['LOCAL_WRITE', 1], ['REMOTE_WRITE', 2], ['REMOTE_READ', 4], ['REMOTE_ATOMIC', 8], ['MW_BIND', 16]];
function accessNames(bits: number): string[] {
  return ACCESS_BITS.filter(([, b]) => (bits & b) !== 0).map(([n]) => n);
}

function laneWc(w: ReturnType<FastLane['poll']>[number]): DpWc {
  return { wr_id: w.wr_id, status: w.status, opcode: w.opcode, byte_len: w.byte_len, imm_data: w.imm_data, qp_num: w.qp_num, src_qp: w.src_qp, wc_flags: w.wc_flags };
}

function grpcWc(w: Record<string, unknown>): DpWc {
  const n = (k: string): number => Number(w[k] ?? 0);
  return {
    wr_id: BigInt(w.wr_id as bigint | number | string | undefined ?? 0), status: String(w.status), opcode: String(w.opcode),
    byte_len: n('byte_len'), imm_data: n('imm_data'), qp_num: n('qp_num'), src_qp: n('src_qp'), wc_flags: n('wc_flags'),
  };
}

async function errnoOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RdmaError) return e.errno;
    throw e;
  }
  return 'no error';
}

/** Defines the data-path cases for one lane (call inside a describe). */
export function defineDataPathConformance(which: LaneName, o: DataPathOptions): void {
  const withBench = (cqe: number, fn: (b: Bench) => Promise<void>) => async (): Promise<void> => {
    const b = await Bench.open(which, o, cqe);
    try {
      await fn(b);
    } finally {
      await b.close();
    }
  };

  it(`${which}: moves bytes with RC RDMA WRITE and RDMA READ`, withBench(64, async (t) => {
    const { a, b } = await t.rcPair();
    const local = await t.mr(4096, ALL_REMOTE);
    const remote = await t.mr(4096, ALL_REMOTE);
    local.memory.write(0, Buffer.from('written by RDMA WRITE'));
    await t.postSend(a, [{ wr_id: 7n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: local.addr, length: 21, lkey: local.lkey }], remote_addr: remote.addr + 64n, rkey: remote.rkey }]);
    const [w] = await t.poll(1);
    expect(w).toMatchObject({ wr_id: 7n, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    expect(remote.memory.read(64, 21).toString()).toBe('written by RDMA WRITE');

    remote.memory.write(1000, Buffer.from('read me back'));
    await t.postSend(b, [{ wr_id: 8n, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [{ addr: local.addr + 2000n, length: 12, lkey: local.lkey }], remote_addr: remote.addr + 1000n, rkey: remote.rkey }]);
    const [r] = await t.poll(1);
    expect(r).toMatchObject({ wr_id: 8n, status: 'SUCCESS', opcode: 'RDMA_READ' });
    expect(local.memory.read(2000, 12).toString()).toBe('read me back');
  }));

  it(`${which}: moves bytes with RC SEND/RECV (with immediate)`, withBench(64, async (t) => {
    const { a, b } = await t.rcPair();
    const sbuf = await t.mr(4096, ['LOCAL_WRITE']);
    const rbuf = await t.mr(4096, ['LOCAL_WRITE']);
    await t.postRecv(b, [{ wr_id: 100n, sg_list: [{ addr: rbuf.addr, length: 4096, lkey: rbuf.lkey }] }]);
    sbuf.memory.write(0, Buffer.from('hello over RC'));
    await t.postSend(a, [{ wr_id: 1n, opcode: 'SEND_WITH_IMM', send_flags: ['SIGNALED'], imm_data: 0x1234, sg_list: [{ addr: sbuf.addr, length: 13, lkey: sbuf.lkey }] }]);
    const wcs = await t.poll(2);
    const recv = wcs.find((w) => w.wr_id === 100n);
    expect(wcs.find((w) => w.wr_id === 1n)).toMatchObject({ status: 'SUCCESS', opcode: 'SEND' });
    expect(recv).toMatchObject({ status: 'SUCCESS', opcode: 'RECV', byte_len: 13, qp_num: b.num('qp_num'), imm_data: 0x1234 });
    expect((recv?.wc_flags ?? 0) & 2).toBe(2); // IBV_WC_WITH_IMM
    expect(rbuf.memory.read(0, 13).toString()).toBe('hello over RC');
  }));

  it(`${which}: sends a UD datagram through an AH`, withBench(16, async (t) => {
    const a = await t.qp('UD');
    const b = await t.qp('UD');
    for (const q of [a, b]) {
      await t.toInit(q, 'UD');
      await q.modify({ qp_state: 'RTR' });
      await q.modify({ qp_state: 'RTS', sq_psn: 0 });
    }
    const ah = await t.s.create('ah', { pd: t.pd, ...t.ah() });
    const sbuf = await t.mr(4096, ['LOCAL_WRITE']);
    const rbuf = await t.mr(4096, ['LOCAL_WRITE']);
    await t.postRecv(b, [{ wr_id: 200n, sg_list: [{ addr: rbuf.addr, length: 40 + 256, lkey: rbuf.lkey }] }]);
    sbuf.memory.write(0, Buffer.from('datagram'));
    await t.postSend(a, [{ wr_id: 2n, opcode: 'SEND', send_flags: ['SIGNALED'], ah, remote_qpn: b.num('qp_num'), remote_qkey: 0x11111111, sg_list: [{ addr: sbuf.addr, length: 8, lkey: sbuf.lkey }] }]);
    const wcs = await t.poll(2);
    expect(wcs.find((w) => w.wr_id === 2n)?.status).toBe('SUCCESS');
    expect(wcs.find((w) => w.wr_id === 200n)).toMatchObject({ status: 'SUCCESS', byte_len: 8 + 40, src_qp: a.num('qp_num') }); // the GRH comes first
    expect(rbuf.memory.read(40, 8).toString()).toBe('datagram');
  }));

  it(`${which}: notifies a completion through the CQ channel once armed`, withBench(16, async (t) => {
    const { a } = await t.rcPair();
    const buf = await t.mr(4096, ALL_REMOTE);
    // The wait polls, arms, polls again and sleeps; the WR is posted meanwhile (before or
    // after the arm: either way the completion is found, by the second poll or by its event).
    const waiting = t.waitArmed(1);
    await t.postSend(a, [{ wr_id: 9n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: buf.addr, length: 8, lkey: buf.lkey }], remote_addr: buf.addr + 512n, rkey: buf.rkey }]);
    const [w] = await waiting;
    expect(w).toMatchObject({ wr_id: 9n, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
  }));

  it(`${which}: flushes posted receives when the QP moves to ERR`, withBench(64, async (t) => {
    const { b } = await t.rcPair();
    const rbuf = await t.mr(4096, ['LOCAL_WRITE']);
    await t.postRecv(b, [1n, 2n, 3n].map((id) => ({ wr_id: id, sg_list: [{ addr: rbuf.addr, length: 64, lkey: rbuf.lkey }] })));
    await b.modify({ qp_state: 'ERR' });
    const wcs = await t.poll(3);
    expect(wcs.map((w) => w.status)).toEqual(['WR_FLUSH_ERR', 'WR_FLUSH_ERR', 'WR_FLUSH_ERR']);
    expect(wcs.map((w) => w.wr_id)).toEqual([1n, 2n, 3n]);
  }));

  it(`${which}: receives through an SRQ`, withBench(64, async (t) => {
    const srq = await t.s.create('srq', { pd: t.pd, max_wr: 16, max_sge: 1 });
    const { a, b } = await t.rcPair({ srq });
    const sbuf = await t.mr(4096, ['LOCAL_WRITE']);
    const rbuf = await t.mr(4096, ['LOCAL_WRITE']);
    await t.postRecv(srq, [{ wr_id: 300n, sg_list: [{ addr: rbuf.addr, length: 256, lkey: rbuf.lkey }] }], true);
    sbuf.memory.write(0, Buffer.from('through the SRQ'));
    await t.postSend(a, [{ wr_id: 3n, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [{ addr: sbuf.addr, length: 15, lkey: sbuf.lkey }] }]);
    const wcs = await t.poll(2);
    expect(wcs.find((w) => w.wr_id === 300n)).toMatchObject({ status: 'SUCCESS', opcode: 'RECV', byte_len: 15, qp_num: b.num('qp_num') });
    expect(rbuf.memory.read(0, 15).toString()).toBe('through the SRQ');
  }));

  it(`${which}: binds a type 2 window with a BIND_MW WR, WRITEs and READs through it, and LOCAL_INV revokes it`, withBench(64, async (t) => {
    const dev = await t.client.queryDevice(o.device);
    const attrs = dev.attrs as Record<string, unknown>;
    if (!(Number(attrs.max_mw ?? 0) > 0 && (Number(attrs.device_cap_flags ?? 0) & (1 << 24)) !== 0)) return;
    const { a, b } = await t.rcPair();
    const target = await t.mr(8192, [...ALL_REMOTE, 'MW_BIND']);
    const local = await t.mr(4096, ['LOCAL_WRITE']);
    const mw = await t.s.create('mw', { pd: t.pd, mw_type: 2 });
    const rkey = ((mw.num('rkey') & ~0xff) | ((mw.num('rkey') + 1) & 0xff)) >>> 0;
    await t.postSend(b, [{ wr_id: 40n, opcode: 'BIND_MW', send_flags: ['SIGNALED'], sg_list: [], bind_mw: { mw, mr: target.mr, rkey, addr: target.addr + 4096n, length: 4096, mw_access_flags: 2 | 4 } }]);
    expect((await t.poll(1))[0]).toMatchObject({ wr_id: 40n, status: 'SUCCESS', opcode: 'BIND_MW' });

    local.memory.write(0, Buffer.from('through a type 2 window'));
    await t.postSend(a, [{ wr_id: 41n, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: local.addr, length: 23, lkey: local.lkey }], remote_addr: target.addr + 4196n, rkey }]);
    expect((await t.poll(1))[0]).toMatchObject({ wr_id: 41n, status: 'SUCCESS', opcode: 'RDMA_WRITE' });
    expect(target.memory.read(4196, 23).toString()).toBe('through a type 2 window');

    target.memory.write(4096 + 2000, Buffer.from('read back'));
    await t.postSend(a, [{ wr_id: 42n, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [{ addr: local.addr + 512n, length: 9, lkey: local.lkey }], remote_addr: target.addr + 6096n, rkey }]);
    expect((await t.poll(1))[0]).toMatchObject({ wr_id: 42n, status: 'SUCCESS', opcode: 'RDMA_READ' });
    expect(local.memory.read(512, 9).toString()).toBe('read back');

    await t.postSend(b, [{ wr_id: 43n, opcode: 'LOCAL_INV', send_flags: ['SIGNALED'], sg_list: [], invalidate_rkey: rkey }]);
    expect((await t.poll(1))[0]).toMatchObject({ wr_id: 43n, status: 'SUCCESS', opcode: 'LOCAL_INV' });
    await t.postSend(a, [{ wr_id: 44n, opcode: 'RDMA_READ', send_flags: ['SIGNALED'], sg_list: [{ addr: local.addr + 1024n, length: 9, lkey: local.lkey }], remote_addr: target.addr + 6096n, rkey }]);
    expect((await t.poll(1))[0]).toMatchObject({ wr_id: 44n, status: 'REM_ACCESS_ERR' });
  }));

  it(`${which}: refuses post_send before RTS (EINVAL from the device)`, withBench(8, async (t) => {
    const qp = await t.qp('RC');
    const buf = await t.mr(4096, ['LOCAL_WRITE']);
    const wr: SendWr = { wr_id: 1n, opcode: 'SEND', send_flags: ['SIGNALED'], sg_list: [{ addr: buf.addr, length: 8, lkey: buf.lkey }] };
    await t.toInit(qp);
    expect(await errnoOf(t.postSend(qp, [wr]))).toBe(EINVAL);
    await t.toRtr(qp, qp.num('qp_num'));
    expect(await errnoOf(t.postSend(qp, [wr]))).toBe(EINVAL);
  }));
}
