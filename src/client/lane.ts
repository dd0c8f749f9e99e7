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
  WR_OPCODES, cqRingOffset, readHeader, type LaneLayout,
} from '../wire/lane-layout.js';
import { WC_OPCODE_VALUES, WC_STATUS_NAMES, type Wc, type WcOpcode } from '../wire/wc.js';
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

/** A work completion from a completion ring: struct ibv_wc, the type the daemon's backends give (src/wire/wc.ts). */
export type LaneWc = Wc;

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

/** enum ibv_wc_opcode by value. */
const WC_OPCODE_BY_VALUE: (WcOpcode | undefined)[] = [];
for (const [k, v] of Object.entries(WC_OPCODE_VALUES)) WC_OPCODE_BY_VALUE[v] = k as WcOpcode;
const TWO32 = 2 ** 32;

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
  private readonly dv: DataView;
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
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, layout.totalSize);
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

  /**
   * The byte offset of submission slot `i`, its first word written: kind,
   * opcode and num_sge. Every other field of the fixed part is written by
   * the caller (zero when unused), so the slot is not cleared first; SGE
   * slots past num_sge are never read.
   */
  private entry(i: number, kind: number, opcode: number, nsge: number): number {
    if (nsge > MAX_SGE) throw new RangeError(`at most ${MAX_SGE} SGEs per fast-lane WR`);
    const o = this.layout.sqOffset + ((i & (this.layout.sqEntries - 1)) * SQE_SIZE);
    this.dv.setUint32(o, kind | (opcode << 8) | (nsge << 16), true);
    return o;
  }

  /** Writes a u64 field: numbers as two words (no BigInt), anything else as a BigInt wrapped to 64 bits. */
  private u64(o: number, x: bigint | number | undefined): void {
    const v = this.dv;
    if (x === undefined) x = 0;
    if (typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER && Number.isInteger(x)) {
      v.setUint32(o, x % TWO32, true);
      v.setUint32(o + 4, Math.floor(x / TWO32), true);
    } else {
      v.setBigUint64(o, BigInt.asUintN(64, BigInt(x)), true);
    }
  }

  private sges(o: number, sg: readonly LaneSge[] | undefined): void {
    if (!sg) return;
    const v = this.dv;
    for (let i = 0; i < sg.length; i++) {
      const s = sg[i]!;
      const so = o + S.sge + i * SGE_SIZE;
      this.u64(so, s.addr);
      v.setUint32(so + 8, s.length >>> 0, true);
      v.setUint32(so + 12, s.lkey >>> 0, true);
    }
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
    const v = this.dv;
    const target = hnum(qp);
    for (let i = 0; i < wrs.length; i++) {
      const w = wrs[i]!;
      const opcode = typeof w.opcode === 'number' ? w.opcode : WR_OPCODES[w.opcode];
      if (opcode === undefined) throw new RangeError(`unknown opcode ${String(w.opcode)}`);
      const e = this.entry(start + i, SqeKind.POST_SEND, opcode, w.sg_list?.length ?? 0);
      const b = w.bind_mw;
      v.setUint32(e + S.sendFlags, flagsOf(w.send_flags) >>> 0, true);
      this.u64(e + S.handle, target);
      this.u64(e + S.wrId, w.wr_id);
      this.u64(e + S.remoteAddr, w.remote_addr ?? b?.addr);
      v.setUint32(e + S.rkey, (w.rkey ?? b?.rkey ?? 0) >>> 0, true);
      v.setUint32(e + S.imm, (w.imm_data ?? w.invalidate_rkey ?? 0) >>> 0, true);
      this.u64(e + S.compareAdd, w.compare_add ?? b?.length);
      this.u64(e + S.swap, w.swap);
      v.setUint32(e + S.remoteQpn, (w.remote_qpn ?? w.remote_srqn ?? 0) >>> 0, true);
      v.setUint32(e + S.remoteQkey, (w.remote_qkey ?? 0) >>> 0, true);
      this.u64(e + S.ah, w.ah === undefined ? 0 : hnum(w.ah));
      this.u64(e + S.bindMw, b ? hnum(b.mw) : 0);
      this.u64(e + S.bindMr, b ? hnum(b.mr) : 0);
      v.setUint32(e + S.bindAccess, (b?.mw_access_flags ?? 0) >>> 0, true);
      v.setUint32(e + S.bindAccess + 4, 0, true);
      this.sges(e, w.sg_list);
    }
    return this.publish(wrs.length, o.doorbell ?? true);
  }

  private postRecvKind(kind: number, target: Handle, wrs: readonly LaneRecvWr[], doorbell: boolean): number {
    const start = this.slot(wrs.length);
    const h = hnum(target);
    for (let i = 0; i < wrs.length; i++) {
      const w = wrs[i]!;
      const e = this.entry(start + i, kind, 0, w.sg_list?.length ?? 0);
      this.dv.setUint32(e + S.sendFlags, 0, true);
      this.u64(e + S.handle, h);
      this.u64(e + S.wrId, w.wr_id);
      this.sges(e, w.sg_list);
    }
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
    const e = this.entry(start, SqeKind.REQ_NOTIFY, 0, 0);
    this.u64(e + S.handle, hnum(cq));
    this.dv.setUint32(e + S.imm, solicitedOnly ? 1 : 0, true);
    return this.publish(1, true);
  }

  // ------------------------------------------------------------ completion

  /** Up to `max` completions of an attached CQ, without waiting. */
  poll(cq: Handle, max = 16): Wc[] {
    const r = this.rings.get(hnum(cq));
    if (!r) throw new Error(`CQ ${hnum(cq)} is not attached to this lane`);
    const l = this.layout;
    const tail = this.load(r.off + R.tail);
    const avail = (tail - r.head) >>> 0;
    const n = Math.min(avail, max);
    const out: Wc[] = [];
    const v = this.dv;
    const mask = l.cqEntries - 1;
    for (let i = 0; i < n; i++) {
      const o = r.off + CQ_RING_HEADER + ((r.head + i) & mask) * CQE_SIZE;
      out.push({
        wr_id: v.getBigUint64(o + C.wrId, true),
        // The daemon writes the enums' values; anything else (the client's own writes) reads as GENERAL_ERR / SEND.
        status: WC_STATUS_NAMES[v.getUint32(o + C.status, true)] ?? 'GENERAL_ERR',
        opcode: WC_OPCODE_BY_VALUE[v.getUint32(o + C.opcode, true)] ?? 'SEND',
        vendor_err: v.getUint32(o + C.vendorErr, true),
        byte_len: v.getUint32(o + C.byteLen, true),
        imm_data: v.getUint32(o + C.immData, true),
        qp_num: v.getUint32(o + C.qpNum, true),
        src_qp: v.getUint32(o + C.srcQp, true),
        wc_flags: v.getUint32(o + C.wcFlags, true),
        pkey_index: v.getUint16(o + C.pkeyIndex, true),
        slid: v.getUint16(o + C.slid, true),
        sl: v.getUint8(o + C.sl),
        dlid_path_bits: v.getUint8(o + C.dlidPathBits),
      });
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
  async waitCompletions(cq: Handle, count = 1, timeoutMs = 10_000): Promise<Wc[]> {
    const got: Wc[] = [];
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
