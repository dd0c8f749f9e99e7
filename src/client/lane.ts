/**
 * The client side of the fast lane (docs/fast-lane.md): post and poll
 * through rings in memory shared with the daemon, with eventfd doorbells,
 * instead of one gRPC call per verb. Open one with `session.fastLane()`.
 *
 * ```ts
 * const lane = await s.fastLane();
 * await lane.attachCq(cq);                      // cq was created with a comp_channel
 * lane.postSend(qp, [{ wr_id: 1, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
 *   sg_list: [{ addr, length: 64, lkey }], remote_addr, rkey }]);
 * const wcs = await lane.waitCompletions(cq, 1); // or spin on lane.poll(cq)
 * ```
 *
 * Posting is synchronous (entries are written into the ring and the
 * doorbell rung); it throws RangeError when the submission ring has no room
 * (see {@link FastLane.sqFree}). A WR the daemon refuses does not throw: it
 * becomes an error record ({@link FastLane.errors}), as the fast lane is
 * asynchronous. Linux only; the lane's memory is mapped in this process.
 */
import * as libc from '../sys/libc.js';
import { mapFd, type SharedMemory } from '../sys/memory.js';
import { closeAll } from '../sys/scm.js';
import {
  C, CQE_SIZE, CQ_RING_HEADER, E, ERR_SIZE, H, LANE_ERR_NAMES, LANE_STATE, MAX_SGE, R, S, SEND_FLAGS, SGE_SIZE, SQE_SIZE, SqeKind,
  WC_OPCODES, WC_STATUSES, WR_OPCODES, cqRingOffset, readHeader, type LaneLayout,
} from '../wire/lane-layout.js';
import type { FdChannel } from './fd-channel.js';

type Handle = number | { readonly handle: number };
const hnum = (h: Handle): number => (typeof h === 'number' ? h : h.handle);

export interface LaneSge {
  addr: bigint | number;
  length: number;
  lkey: number;
}

/** A send WR, as over gRPC (opcode and flags by name or value; handles as objects or numbers). */
export interface LaneSendWr {
  wr_id?: bigint | number;
  opcode: string | number;
  send_flags?: readonly string[] | number;
  sg_list?: readonly LaneSge[];
  imm_data?: number;
  remote_addr?: bigint | number;
  rkey?: number;
  compare_add?: bigint | number;
  swap?: bigint | number;
  /** UD */
  ah?: Handle;
  remote_qpn?: number;
  remote_qkey?: number;
  /** LOCAL_INV, SEND_WITH_INV */
  invalidate_rkey?: number;
  /** XRC_SEND */
  remote_srqn?: number;
  bind_mw?: { mw: Handle; mr: Handle; rkey: number; addr: bigint | number; length: bigint | number; mw_access_flags?: number };
}

export interface LaneRecvWr {
  wr_id?: bigint | number;
  sg_list?: readonly LaneSge[];
}

/** A work completion from a completion ring (struct ibv_wc). */
export interface LaneWc {
  wr_id: bigint;
  status: string;
  opcode: string;
  vendor_err: number;
  byte_len: number;
  imm_data: number;
  qp_num: number;
  src_qp: number;
  wc_flags: number;
  pkey_index: number;
  slid: number;
  sl: number;
  dlid_path_bits: number;
}

/** A submission the daemon refused. */
export interface LaneError {
  /** The submission's index (what post* returned for it). */
  sqIndex: number;
  /** BAD_ENTRY, NO_SUCH_HANDLE, WRONG_TYPE, BAD_RANGE, POST_FAILED, RING_CORRUPT, NOT_ATTACHED, REFUSED */
  code: string;
  errno: number;
  kind: number;
  opcode: number;
  wrId: bigint;
  handle: number;
}

export interface FastLaneOptions {
  /** Submission ring entries (a power of two, 8..4096; default 1024). */
  sqEntries?: number;
  /** Completion rings, one per attached CQ (1..16; default 4). */
  cqRings?: number;
  /** Entries per completion ring (a power of two, 8..4096; default 1024). */
  cqEntries?: number;
  /** The value every index starts at (default 0; near 2^32 to exercise wrap-around). */
  startIndex?: number;
}

const WC_OPCODE_NAMES = new Map<number, string>(Object.entries(WC_OPCODES).map(([k, v]) => [v, k]));

function flagsOf(f: readonly string[] | number | undefined): number {
  if (f === undefined) return 0;
  if (typeof f === 'number') return f;
  let n = 0;
  for (const x of f) {
    const v = SEND_FLAGS[x];
    if (v === undefined) throw new RangeError(`unknown send flag ${x}`);
    n |= v;
  }
  return n;
}

export class FastLane {
  private readonly buf: Buffer;
  private readonly i32: Int32Array;
  private tail = 0;
  private readonly rings = new Map<number, { index: number; off: number; head: number }>();
  private errHead = 0;
  private watch: libc.FdWatch | null = null;
  private waiters: (() => void)[] = [];
  private readonly eight = Buffer.alloc(8);
  private closedFlag = false;

  private constructor(
    private readonly fdc: FdChannel,
    /** The lane's id in the session (fd-channel ops name it). */
    readonly id: number,
    readonly layout: LaneLayout,
    private readonly memory: SharedMemory,
    private readonly sqFd: number,
    private readonly cqFd: number,
  ) {
    this.buf = memory.withView((v) => v);
    this.i32 = new Int32Array(this.buf.buffer, this.buf.byteOffset, layout.totalSize >> 2);
    this.tail = this.load(H.sqTail);
    this.errHead = this.load(H.errHead);
  }

  /** Opens a lane over a bound fd channel (Session.fastLane does this for you). */
  static async open(fdc: FdChannel, o: FastLaneOptions = {}): Promise<FastLane> {
    const { reply, fds } = await fdc.request('lane_open', { sq_entries: o.sqEntries, cq_rings: o.cqRings, cq_entries: o.cqEntries, start_index: o.startIndex });
    if (fds.length !== 3) {
      closeAll(fds);
      throw new Error(`lane_open returned ${fds.length} fds, expected 3`);
    }
    const [memfd, sq, cq] = fds as [number, number, number];
    let mem: SharedMemory | null = null;
    try {
      mem = mapFd(memfd, 0, Number(reply.size));
      const layout = mem.withView((v) => readHeader(new DataView(v.buffer, v.byteOffset, v.length)));
      libc.close(memfd);
      return new FastLane(fdc, Number(reply.lane), layout, mem, sq, cq);
    } catch (e) {
      mem?.close();
      closeAll(fds);
      throw e;
    }
  }

  private load(off: number): number {
    return Atomics.load(this.i32, off >> 2) >>> 0;
  }

  private store(off: number, v: number): void {
    Atomics.store(this.i32, off >> 2, v | 0);
  }

  /** True once closed here, or when the daemon closed the lane (the session ended). */
  get closed(): boolean {
    return this.closedFlag || this.load(H.state) === LANE_STATE.closed;
  }

  /** Free submission slots now. */
  get sqFree(): number {
    return this.layout.sqEntries - ((this.tail - this.load(H.sqHead)) >>> 0);
  }

  /** Error records the daemon dropped because the error ring was full. */
  get errorsDropped(): number {
    return this.load(H.errDropped);
  }

  /**
   * Attaches a CQ (created with a completion channel) to a completion ring:
   * from now on its completions arrive in this lane (poll it here, not over gRPC).
   */
  async attachCq(cq: Handle): Promise<number> {
    const { reply } = await this.fdc.request('lane_attach_cq', { lane: this.id, cq: hnum(cq) });
    const index = Number(reply.ring);
    const off = cqRingOffset(this.layout, index);
    this.rings.set(hnum(cq), { index, off, head: this.load(off + R.head) });
    return index;
  }

  // ------------------------------------------------------------ submission

  private slot(n: number): number {
    if (this.closed) throw new Error('the fast lane is closed');
    if (this.sqFree < n) throw new RangeError(`the submission ring has ${this.sqFree} free slots, ${n} needed`);
    return this.tail;
  }

  private entry(i: number): number {
    const o = this.layout.sqOffset + ((i & (this.layout.sqEntries - 1)) * SQE_SIZE);
    this.buf.fill(0, o, o + SQE_SIZE);
    return o;
  }

  private sges(o: number, sg: readonly LaneSge[] | undefined): void {
    const list = sg ?? [];
    if (list.length > MAX_SGE) throw new RangeError(`at most ${MAX_SGE} SGEs per fast-lane WR`);
    this.buf[o + S.numSge] = list.length;
    list.forEach((s, i) => {
      const so = o + S.sge + i * SGE_SIZE;
      this.buf.writeBigUInt64LE(BigInt(s.addr), so);
      this.buf.writeUInt32LE(s.length >>> 0, so + 8);
      this.buf.writeUInt32LE(s.lkey >>> 0, so + 12);
    });
  }

  private publish(n: number, doorbell: boolean): number {
    const first = this.tail;
    this.tail = (this.tail + n) >>> 0;
    // Entries first, then the tail (Atomics.store is a full barrier), then the doorbell.
    this.store(H.sqTail, this.tail);
    if (doorbell) this.ring();
    return first;
  }

  /** Rings the daemon's doorbell (post* do, unless told not to). */
  ring(): void {
    this.eight.writeBigUInt64LE(1n);
    libc.write(this.sqFd, this.eight, 8);
  }

  /** Posts send WRs on a QP; returns the first submission index (WR i has index first + i). */
  postSend(qp: Handle, wrs: readonly LaneSendWr[], o: { doorbell?: boolean } = {}): number {
    const start = this.slot(wrs.length);
    const b = this.buf;
    wrs.forEach((w, i) => {
      const e = this.entry(start + i);
      const opcode = typeof w.opcode === 'number' ? w.opcode : WR_OPCODES[w.opcode];
      if (opcode === undefined) throw new RangeError(`unknown opcode ${String(w.opcode)}`);
      b[e + S.kind] = SqeKind.POST_SEND;
      b[e + S.opcode] = opcode;
      b.writeUInt32LE(flagsOf(w.send_flags) >>> 0, e + S.sendFlags);
      b.writeBigUInt64LE(BigInt(hnum(qp)), e + S.handle);
      b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.wr_id ?? 0)), e + S.wrId);
      b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.remote_addr ?? w.bind_mw?.addr ?? 0)), e + S.remoteAddr);
      b.writeUInt32LE((w.rkey ?? w.bind_mw?.rkey ?? 0) >>> 0, e + S.rkey);
      b.writeUInt32LE((w.imm_data ?? w.invalidate_rkey ?? 0) >>> 0, e + S.imm);
      b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.compare_add ?? w.bind_mw?.length ?? 0)), e + S.compareAdd);
      b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.swap ?? 0)), e + S.swap);
      b.writeUInt32LE((w.remote_qpn ?? w.remote_srqn ?? 0) >>> 0, e + S.remoteQpn);
      b.writeUInt32LE((w.remote_qkey ?? 0) >>> 0, e + S.remoteQkey);
      if (w.ah !== undefined) b.writeBigUInt64LE(BigInt(hnum(w.ah)), e + S.ah);
      if (w.bind_mw) {
        b.writeBigUInt64LE(BigInt(hnum(w.bind_mw.mw)), e + S.bindMw);
        b.writeBigUInt64LE(BigInt(hnum(w.bind_mw.mr)), e + S.bindMr);
        b.writeUInt32LE((w.bind_mw.mw_access_flags ?? 0) >>> 0, e + S.bindAccess);
      }
      this.sges(e, w.sg_list);
    });
    return this.publish(wrs.length, o.doorbell ?? true);
  }

  private postRecvKind(kind: number, target: Handle, wrs: readonly LaneRecvWr[], doorbell: boolean): number {
    const start = this.slot(wrs.length);
    wrs.forEach((w, i) => {
      const e = this.entry(start + i);
      this.buf[e + S.kind] = kind;
      this.buf.writeBigUInt64LE(BigInt(hnum(target)), e + S.handle);
      this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(w.wr_id ?? 0)), e + S.wrId);
      this.sges(e, w.sg_list);
    });
    return this.publish(wrs.length, doorbell);
  }

  /** Posts receive WRs on a QP. */
  postRecv(qp: Handle, wrs: readonly LaneRecvWr[], o: { doorbell?: boolean } = {}): number {
    return this.postRecvKind(SqeKind.POST_RECV, qp, wrs, o.doorbell ?? true);
  }

  /** Posts receive WRs on an SRQ. */
  postSrqRecv(srq: Handle, wrs: readonly LaneRecvWr[], o: { doorbell?: boolean } = {}): number {
    return this.postRecvKind(SqeKind.SRQ_RECV, srq, wrs, o.doorbell ?? true);
  }

  /** Asks the daemon to ring the completion doorbell at the CQ's next completion (or now, if its ring has some). */
  reqNotify(cq: Handle, solicitedOnly = false): number {
    const start = this.slot(1);
    const e = this.entry(start);
    this.buf[e + S.kind] = SqeKind.REQ_NOTIFY;
    this.buf.writeBigUInt64LE(BigInt(hnum(cq)), e + S.handle);
    this.buf.writeUInt32LE(solicitedOnly ? 1 : 0, e + S.imm);
    return this.publish(1, true);
  }

  // ------------------------------------------------------------ completion

  /** Up to `max` completions of an attached CQ, without waiting. */
  poll(cq: Handle, max = 16): LaneWc[] {
    const r = this.rings.get(hnum(cq));
    if (!r) throw new Error(`CQ ${hnum(cq)} is not attached to this lane`);
    const l = this.layout;
    const tail = this.load(r.off + R.tail);
    const avail = (tail - r.head) >>> 0;
    const n = Math.min(avail, max);
    const out = new Array<LaneWc>(n);
    const b = this.buf;
    const mask = l.cqEntries - 1;
    for (let i = 0; i < n; i++) {
      const o = r.off + CQ_RING_HEADER + ((r.head + i) & mask) * CQE_SIZE;
      out[i] = {
        wr_id: b.readBigUInt64LE(o + C.wrId),
        status: WC_STATUSES[b.readUInt32LE(o + C.status)] ?? String(b.readUInt32LE(o + C.status)),
        opcode: WC_OPCODE_NAMES.get(b.readUInt32LE(o + C.opcode)) ?? String(b.readUInt32LE(o + C.opcode)),
        vendor_err: b.readUInt32LE(o + C.vendorErr),
        byte_len: b.readUInt32LE(o + C.byteLen),
        imm_data: b.readUInt32LE(o + C.immData),
        qp_num: b.readUInt32LE(o + C.qpNum),
        src_qp: b.readUInt32LE(o + C.srcQp),
        wc_flags: b.readUInt32LE(o + C.wcFlags),
        pkey_index: b.readUInt16LE(o + C.pkeyIndex),
        slid: b.readUInt16LE(o + C.slid),
        sl: b[o + C.sl]!,
        dlid_path_bits: b[o + C.dlidPathBits]!,
      };
    }
    if (n > 0) {
      r.head = (r.head + n) >>> 0;
      this.store(r.off + R.head, r.head);
      // The daemon stopped moving completions when the ring filled: tell it there is room.
      if (this.load(r.off + R.stalled) === 1) this.ring();
    }
    return out;
  }

  /**
   * Waits (sleeping on the completion doorbell, never spinning) until
   * `count` completions of the CQ arrived, or `timeoutMs` passed (then
   * throws). Poll, arm (reqNotify), poll again, then sleep: race-free.
   */
  async waitCompletions(cq: Handle, count = 1, timeoutMs = 10_000): Promise<LaneWc[]> {
    const got: LaneWc[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      got.push(...this.poll(cq, count - got.length));
      if (got.length >= count) return got;
      this.reqNotify(cq);
      got.push(...this.poll(cq, count - got.length));
      if (got.length >= count) return got;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`${got.length} of ${count} completions after ${timeoutMs} ms${this.closed ? ' (the lane is closed)' : ''}`);
      await this.sleep(left);
    }
  }

  /** Resolves when the completion doorbell rings (or after `ms`). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.waiters = self.waiters.filter((w) => w !== done);
        if (self.waiters.length === 0) self.watch?.update({});
        resolve();
      }
      this.waiters.push(done);
      if (!this.watch) this.watch = libc.watchFd(this.cqFd, { readable: true }, () => this.onDoorbell());
      else this.watch.update({ readable: true });
    });
  }

  private onDoorbell(): void {
    libc.read(this.cqFd, this.eight, 8);
    for (const w of this.waiters.slice()) w();
  }

  /** The error records the daemon wrote since the last call. */
  errors(): LaneError[] {
    const l = this.layout;
    const tail = this.load(H.errTail);
    const n = Math.min((tail - this.errHead) >>> 0, l.errEntries);
    const out: LaneError[] = [];
    for (let i = 0; i < n; i++) {
      const o = l.errOffset + ((this.errHead + i) & (l.errEntries - 1)) * ERR_SIZE;
      const ko = this.buf.readUInt32LE(o + E.kindOpcode);
      const code = this.buf.readUInt32LE(o + E.code);
      out.push({
        sqIndex: this.buf.readUInt32LE(o + E.sqIndex),
        code: LANE_ERR_NAMES[code] ?? String(code),
        errno: this.buf.readUInt32LE(o + E.errno),
        kind: ko & 0xff,
        opcode: (ko >> 8) & 0xff,
        wrId: this.buf.readBigUInt64LE(o + E.wrId),
        handle: Number(this.buf.readBigUInt64LE(o + E.handle)),
      });
    }
    this.errHead = (this.errHead + n) >>> 0;
    this.store(H.errHead, this.errHead);
    return out;
  }

  /** The shared memory (tests write hostile bytes into it). */
  get raw(): Buffer {
    return this.buf;
  }

  /** Closes the lane (the daemon releases its side) and unmaps it here. Idempotent. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const w of this.waiters.slice()) w();
    this.watch?.close();
    this.watch = null;
    try {
      if (!this.fdc.closed) await this.fdc.request('lane_close', { lane: this.id });
    } catch {
      // The session (and so the lane) may already be gone.
    }
    libc.close(this.sqFd);
    libc.close(this.cqFd);
    this.memory.close();
  }
}
