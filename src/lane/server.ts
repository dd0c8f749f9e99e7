/**
 * The daemon side of the fast lane (docs/fast-lane.md): per session, a memfd
 * shared with the client holding a submission ring, an error ring and one
 * completion ring per attached CQ, plus two eventfd doorbells. The lane is
 * opened, and CQs attached, over the fd channel (src/fdpass), which carries
 * the fds.
 *
 * - Submissions: the client's doorbell is watched by libuv's poll on the
 *   main thread (never a blocking read). Each turn copies at most
 *   {@link TURN_BUDGET} entries out of the ring into daemon memory, advances
 *   sq_head, then decodes the copies (a field is read once, from the copy)
 *   and posts runs of entries for one QP/SRQ through the core's data path
 *   (src/core/datapath.ts: session lookup, types, locks, device state). Any
 *   entry the core or the device refuses becomes an error record; nothing
 *   a client writes can make the daemon throw, loop, or allocate beyond the
 *   lane's fixed buffers.
 * - Completions: an attached CQ must report to a completion channel. The
 *   lane keeps it armed and, when it fires (the backend's channel event on
 *   libibverbs, at once on the sim), polls the device CQ into the ring, at
 *   most as many completions as the ring has free slots. A client that stops
 *   draining its ring leaves completions in the device CQ, which then
 *   overflows as the kernel's does (CQ_ERR; a QP whose receive completion is
 *   lost goes to error, one whose send completion is lost does not: see
 *   docs/fault-injection.md); the daemon holds none of them.
 * - Lifetime: a lane lives until `lane_close` or the end of its session;
 *   its fds and mapping are released then (after a turn in progress ends).
 */
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';
import { BrokerError, asBrokerError } from '../core/errors.js';
import { WrError, type DecodedSendWr, type PostKind } from '../core/datapath.js';
import { MemoryCheckError } from '../core/memory-check.js';
import type { Session } from '../core/sessions.js';
import type { FdRequest } from '../wire/fd-protocol.js';
import { handleArg, noFds } from '../fdpass/server.js';
import { SharedMemory } from '../sys/memory.js';
import { LaneSpinner } from './spin.js';
import * as libc from '../sys/libc.js';
import { PostError, VerbsError, WC_OPCODE_VALUES, WC_STATUS_NAMES, WR_OPCODE_VALUES, type RecvWr, type Sge, type Wc, type WrOpcode } from '../core/datapath.js';
import {
  C, CQE_SIZE, CQ_RING_HEADER, E, ERR_SIZE, H, LANE_STATE, LaneErr, MAX_SGE, R, RING_STATE, S, SGE_SIZE, SQE_SIZE, SqeKind,
  cqRingOffset, layoutFor, writeHeader, type LaneLayout,
} from '../wire/lane-layout.js';

/** Submission entries handled per event-loop turn (the rest wait for the next turn). */
export const TURN_BUDGET = 256;
/** Lanes one session may hold (each holds a memfd and two eventfds in the daemon). */
export const MAX_LANES_PER_SESSION = 4;
/** Daemon fds a lane holds (charged to the tenant's fd quota). */
const LANE_FDS = 3;
/** Completions polled from the device per call. */
const POLL_BATCH = 64;

const OPCODE_BY_VALUE: (WrOpcode | undefined)[] = [];
for (const [k, v] of Object.entries(WR_OPCODE_VALUES)) OPCODE_BY_VALUE[v] = k as WrOpcode;
const WC_STATUS_VALUE = new Map<string, number>(WC_STATUS_NAMES.map((n, i) => [n, i]));
/** What a status the backend names outside enum ibv_wc_status is written as (cannot happen: the backends' statuses are the enum's). */
const GENERAL_ERR = WC_STATUS_NAMES.indexOf('GENERAL_ERR');
const TWO32 = 2 ** 32;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** An fd-channel op as the lane serves it (src/fdpass/server.ts calls these for a bound connection). */
export type LaneOp = (s: Session, req: FdRequest, fds: number[]) => Promise<{ body: Record<string, unknown>; fds: number[] }>;

export interface LaneServerOptions {
  broker: Broker;
  log: Logger;
  /** --fast-lane-spin: a worker thread busy-polls the lanes (./spin.ts); off by default. */
  spin?: boolean;
}

interface Ring {
  readonly index: number;
  readonly cq: number;
  readonly off: number;
  /** The daemon's own copy of the ring's tail (never read back from shared memory). */
  tail: number;
  /** The client asked (REQ_NOTIFY) to be woken by the next completion. */
  notify: boolean;
  /** The daemon's copy of the ring's stalled word (set when it filled; never read back). */
  stalled: boolean;
  /** The CQ is armed and no event consumed the arm yet (a refill need not arm it again). */
  armed: boolean;
  busy: boolean;
  again: boolean;
  gone: boolean;
}

/**
 * The WRs of one turn for one target (a QP's send or receive queue, an SRQ),
 * in submission order: posted with one call. WRs of different targets have
 * no order between them (as on the device), so a turn groups by target.
 */
interface Group {
  readonly kind: PostKind;
  readonly handle: number;
  readonly wrs: (DecodedSendWr | RecvWr)[];
  /** Per WR: its submission index and kind|opcode (for error records), two numbers each. */
  readonly idx: number[];
}

/** The group index of a submission kind (POST_SEND, POST_RECV, SRQ_RECV). */
const KIND_OF: readonly (PostKind | undefined)[] = [undefined, 'send', 'recv', 'srq_recv'];

class Lane {
  readonly id: number;
  private readonly buf: Buffer;
  private readonly i32: Int32Array;
  private readonly scratch: Buffer;
  /** Views for field access: the lane's memory (daemon-written fields only) and the copied-out entries. */
  private readonly dv: DataView;
  private readonly sdv: DataView;
  /** Per submission kind (send, recv, srq_recv): this turn's group of each target handle (emptied before any post). */
  private readonly byTarget = [new Map<number, Group>(), new Map<number, Group>(), new Map<number, Group>()];
  private sqHead = 0;
  private errTail = 0;
  private errDropped = 0;
  private readonly rings: (Ring | null)[];
  private readonly byCq = new Map<number, Ring>();
  private watch: libc.FdWatch | null;
  private current: Promise<void> | null = null;
  private drainAgain = false;
  /** The submission doorbell rang and its counter is not reset yet. */
  private rung = false;
  private immediate: NodeJS.Immediate | null = null;
  private busy = 0;
  private closed = false;
  private released = false;
  private wantSignal = false;
  private readonly eight = Buffer.alloc(8);
  /** Entries drained and posts made (for tests and metrics). */
  stats = { entries: 0, posted: 0, errors: 0, completions: 0, turns: 0 };

  constructor(
    readonly owner: LaneServer,
    readonly session: Session,
    id: number,
    readonly layout: LaneLayout,
    readonly mem: SharedMemory,
    readonly sqFd: number,
    readonly cqFd: number,
    start: number,
  ) {
    this.id = id;
    // The lane owns the mapping for its whole life and drops these views
    // before unmapping it (release), so keeping them is safe.
    this.buf = mem.withView((v) => v);
    this.i32 = new Int32Array(this.buf.buffer, this.buf.byteOffset, layout.totalSize >> 2);
    this.scratch = Buffer.alloc(TURN_BUDGET * SQE_SIZE);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, layout.totalSize);
    this.sdv = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length);
    this.rings = new Array<Ring | null>(layout.cqRings).fill(null);
    writeHeader(new DataView(this.buf.buffer, this.buf.byteOffset, layout.totalSize), layout);
    // Every index starts at `start` (0 unless asked: a client may start near 2^32 to exercise wrap-around).
    this.sqHead = this.errTail = start;
    for (const off of [H.sqTail, H.sqHead, H.errTail, H.errHead]) this.store(off, start);
    for (let i = 0; i < layout.cqRings; i++) {
      this.store(cqRingOffset(layout, i) + R.head, start);
      this.store(cqRingOffset(layout, i) + R.tail, start);
    }
    this.watch = libc.watchFd(sqFd, { readable: true }, () => this.onDoorbell());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private load(off: number): number {
    return Atomics.load(this.i32, off >> 2) >>> 0;
  }

  private store(off: number, v: number): void {
    Atomics.store(this.i32, off >> 2, v | 0);
  }

  // ------------------------------------------------------------ doorbell

  private onDoorbell(): void {
    if (this.closed) return;
    this.owner.spinner?.nudge();
    // The counter is reset after the turn (drain): the read is a system call, kept off the latency path.
    this.rung = true;
    this.kick();
  }

  /** Runs a drain now, or once the one in progress is done. */
  kick(): void {
    if (this.closed) return;
    if (this.current) {
      this.drainAgain = true;
      return;
    }
    this.current = this.drain().finally(() => {
      this.current = null;
    });
  }

  /**
   * Posts every entry the client had published when this was called (a
   * gRPC post of the same session waits for it, to keep the client's order).
   */
  async flush(): Promise<void> {
    if (this.closed) return;
    const target = this.load(H.sqTail);
    // Each pass consumes up to TURN_BUDGET entries: a ring's worth of passes at most.
    for (let pass = 0; pass <= this.layout.sqEntries / TURN_BUDGET + 1 && !this.closed; pass++) {
      if (this.current) await this.current;
      const left = (target - this.sqHead) >>> 0;
      if (left === 0 || left > this.layout.sqEntries) return;
      if (this.immediate) {
        clearImmediate(this.immediate);
        this.immediate = null;
      }
      this.kick();
    }
  }

  private async drain(): Promise<void> {
    this.busy++;
    try {
      do {
        this.drainAgain = false;
        this.stats.turns++;
        const more = await this.turn();
        if (this.closed) return;
        if (this.rung) {
          // Reset the doorbell's counter (non-blocking; EAGAIN when it is 0).
          // A client that published after the turn read sq_tail rang again
          // before this read: look once more, or its entries would wait for
          // a doorbell that was just consumed.
          this.rung = false;
          libc.read(this.sqFd, this.eight, 8);
          if (((this.load(H.sqTail) - this.sqHead) >>> 0) !== 0) this.drainAgain = true;
        }
        // Stalled rings may have room now (the client rings after consuming).
        for (const r of this.rings) if (r && !r.gone && r.stalled) this.refill(r);
        if (more) {
          // Bounded work per turn: the rest waits behind other sessions' I/O.
          this.immediate ??= setImmediate(() => {
            this.immediate = null;
            this.kick();
          });
          return;
        }
      } while (this.drainAgain);
    } catch (e) {
      this.owner.internalError(this, e);
    } finally {
      this.busy--;
      this.signalIfWanted();
      this.maybeRelease();
    }
  }

  /** One turn: copy out, then post. Returns true when entries are left for the next turn. */
  private async turn(): Promise<boolean> {
    const l = this.layout;
    const tail = this.load(H.sqTail);
    let avail = (tail - this.sqHead) >>> 0;
    if (avail === 0) return false;
    if (avail > l.sqEntries) {
      // The client's tail is more than one ring ahead of what the daemon
      // consumed: nothing between them is trustworthy. Skip to the tail.
      this.error(this.sqHead, LaneErr.RING_CORRUPT, 0, 0, 0n, 0);
      this.sqHead = tail;
      this.store(H.sqHead, this.sqHead);
      return false;
    }
    const n = Math.min(avail, TURN_BUDGET);
    const mask = l.sqEntries - 1;
    const first = this.sqHead;
    // Copy every entry out before looking at any field (the client may be rewriting them).
    for (let done = 0; done < n;) {
      const slot = (first + done) & mask;
      const k = Math.min(n - done, l.sqEntries - slot);
      const src = l.sqOffset + slot * SQE_SIZE;
      this.buf.copy(this.scratch, done * SQE_SIZE, src, src + k * SQE_SIZE);
      done += k;
    }
    this.sqHead = (first + n) >>> 0;
    this.store(H.sqHead, this.sqHead);
    avail -= n;
    this.stats.entries += n;

    // Decode every copy (each field read once, from daemon memory), grouping WRs by target.
    const v = this.sdv;
    const groups: Group[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * SQE_SIZE;
      const sqIndex = (first + i) >>> 0;
      // kind, opcode, num_sge and a pad byte: one little-endian word.
      const w0 = v.getUint32(o, true);
      const kind = w0 & 0xff;
      if (kind === SqeKind.NOP) continue;
      const kindOp = w0 & 0xffff;
      const handle = handleAt(v, o + S.handle);
      if (handle <= 0) {
        this.error(sqIndex, LaneErr.NO_SUCH_HANDLE, 0, kindOp, v.getBigUint64(o + S.wrId, true), 0);
        continue;
      }
      if (kind === SqeKind.REQ_NOTIFY) {
        // An arm is independent of this turn's posts: their completions arrive after it either way.
        this.notify(sqIndex, kindOp, handle);
        continue;
      }
      const pk = KIND_OF[kind];
      const nsge = (w0 >>> 16) & 0xff;
      const wr = pk === undefined || nsge > MAX_SGE ? LaneErr.BAD_ENTRY : pk === 'send' ? decodeSend(v, o, (w0 >>> 8) & 0xff, nsge) : decodeRecv(v, o, nsge);
      if (typeof wr === 'number') {
        this.error(sqIndex, wr, 0, kindOp, v.getBigUint64(o + S.wrId, true), handle);
        continue;
      }
      const m = this.byTarget[kind - 1]!;
      let g = m.get(handle);
      if (!g) {
        g = { kind: pk!, handle, wrs: [], idx: [] };
        m.set(handle, g);
        groups.push(g);
      }
      g.wrs.push(wr);
      g.idx.push(sqIndex, kindOp);
    }
    for (const m of this.byTarget) m.clear();
    for (const g of groups) {
      await this.post(g);
      if (this.closed) return false;
    }
    return avail > 0 && !this.closed;
  }

  /**
   * Posts a group through the core. Each entry stands alone: a refused WR
   * gets an error record and the ones after it are still posted.
   */
  private async post(run: Group): Promise<void> {
    const dp = this.owner.broker.dataPath;
    let from = 0;
    // Each pass posts at least one WR or records one error: at most wrs.length passes.
    while (from < run.wrs.length && !this.closed) {
      const wrs = from === 0 ? run.wrs : run.wrs.slice(from);
      try {
        if (run.kind === 'send') await dp.post(this.session, run.handle, 'send', wrs as DecodedSendWr[]);
        else await dp.post(this.session, run.handle, run.kind, wrs as RecvWr[]);
        this.stats.posted += wrs.length;
        return;
      } catch (e) {
        if (this.closed) return;
        const bad = e instanceof PostError ? e.badIndex : e instanceof WrError ? e.wrIndex : -1;
        if (bad < 0 || bad >= wrs.length) {
          // The target itself is refused (foreign handle, session ended, device lost): every WR of the run fails.
          for (let i = from; i < run.wrs.length; i++) this.wrError(run, i, e);
          return;
        }
        this.stats.posted += bad;
        this.wrError(run, from + bad, e);
        from += bad + 1;
      }
    }
  }

  private wrError(run: Group, i: number, e: unknown): void {
    const wr = run.wrs[i]!;
    const [code, errno] = errorCode(e);
    if (code === LaneErr.REFUSED && !asBrokerError(e)) this.owner.internalError(this, e);
    this.error(run.idx[2 * i]!, code, errno, run.idx[2 * i + 1]!, wr.wr_id, run.handle);
  }

  // ------------------------------------------------------------ errors

  private error(sqIndex: number, code: number, errno: number, kindOp: number, wrId: bigint, handle: number): void {
    if (this.closed) return;
    this.stats.errors++;
    const l = this.layout;
    const used = (this.errTail - this.load(H.errHead)) >>> 0;
    if (used >= l.errEntries) {
      // Full (or a corrupt head): drop and count, never queue in the daemon.
      this.errDropped = (this.errDropped + 1) >>> 0;
      this.store(H.errDropped, this.errDropped);
      this.wantSignal = true;
      return;
    }
    const o = l.errOffset + (this.errTail & (l.errEntries - 1)) * ERR_SIZE;
    const v = this.dv;
    v.setUint32(o + E.sqIndex, sqIndex >>> 0, true);
    v.setUint32(o + E.errno, errno >>> 0, true);
    v.setUint32(o + E.code, code, true);
    v.setUint32(o + E.kindOpcode, kindOp >>> 0, true);
    v.setBigUint64(o + E.wrId, wrId, true);
    v.setUint32(o + E.handle, handle % TWO32, true);
    v.setUint32(o + E.handle + 4, Math.floor(handle / TWO32), true);
    this.errTail = (this.errTail + 1) >>> 0;
    this.store(H.errTail, this.errTail);
    this.wantSignal = true;
  }

  private signalIfWanted(): void {
    if (!this.wantSignal || this.closed) return;
    this.wantSignal = false;
    this.eight.writeBigUInt64LE(1n);
    // Non-blocking: EAGAIN only when the counter is near 2^64, which a pending wake-up already covers.
    libc.write(this.cqFd, this.eight, 8);
  }

  // ------------------------------------------------------------ completions

  /** Attaches one of the session's CQs to a free completion ring; returns the ring index. */
  async attach(cq: number): Promise<number> {
    if (this.closed) throw new BrokerError('INVALID_ATTR', 'the lane is closed');
    const o = this.owner.broker.dataPath.cq(this.session, cq);
    if (!o.parents.some((p) => p.type === 'comp_channel')) {
      throw new BrokerError('INVALID_ATTR', `lane_attach_cq: CQ ${cq} has no completion channel (create it with one: the lane moves completions when the channel fires)`);
    }
    if (this.byCq.has(cq) || this.owner.attachedElsewhere(cq)) throw new BrokerError('BUSY', `CQ ${cq} is already attached to a lane`);
    const index = this.rings.findIndex((r) => r === null || r.gone);
    if (index < 0) throw new BrokerError('QUOTA_EXCEEDED', `the lane's ${this.layout.cqRings} completion rings are all attached`);
    const off = cqRingOffset(this.layout, index);
    // A reused ring starts over at the client's head (its old entries were for the old CQ).
    const start = this.load(off + R.head);
    const r: Ring = { index, cq, off, tail: start, notify: false, stalled: false, armed: false, busy: false, again: false, gone: false };
    this.store(off + R.tail, start);
    this.store(off + R.stalled, 0);
    this.buf.writeBigUInt64LE(BigInt(cq), off + R.cqHandle);
    this.store(off + R.state, RING_STATE.attached);
    const old = this.rings[index];
    if (old) this.byCq.delete(old.cq);
    this.rings[index] = r;
    this.byCq.set(cq, r);
    this.refill(r);
    return index;
  }

  hasCq(cq: number): boolean {
    const r = this.byCq.get(cq);
    return !!r && !r.gone;
  }

  /** The attached CQ's channel fired: move its completions (false: not attached here). */
  onCompletion(cq: number): boolean {
    const r = this.byCq.get(cq);
    if (this.closed || !r || r.gone) return false;
    // The event consumed the arm.
    r.armed = false;
    // The sim fires this from inside a post: move completions after the current call returns.
    queueMicrotask(() => this.refill(r));
    return true;
  }

  cqGone(cq: number): void {
    const r = this.byCq.get(cq);
    if (!r || this.closed) return;
    r.gone = true;
    this.store(r.off + R.state, RING_STATE.gone);
    this.wantSignal = true;
    this.signalIfWanted();
  }

  /** REQ_NOTIFY (its solicited-only bit is not read: such an arm wakes on any completion here, a spurious wake-up, never a missed one). */
  private notify(sqIndex: number, kindOp: number, cq: number): void {
    const r = this.byCq.get(cq);
    if (!r || r.gone) {
      this.error(sqIndex, LaneErr.NOT_ATTACHED, 0, kindOp, 0n, cq);
      return;
    }
    // Completions already in the ring wake the client now (it may have
    // checked the ring before this arm was seen); later ones on arrival.
    if (((r.tail - this.load(r.off + R.head)) >>> 0) !== 0) this.wantSignal = true;
    else r.notify = true;
  }

  /**
   * Moves completions from the device CQ into the ring (bounded by its free
   * slots), then re-arms. `spin`: the spin worker asked; it hears whether
   * completions were moved (it backs off polling when none are).
   */
  refill(r: Ring, spin = false): void {
    if (this.closed || r.gone) return;
    if (r.busy) {
      r.again = true;
      return;
    }
    r.busy = true;
    this.busy++;
    const before = this.stats.completions;
    void this.doRefill(r).then(() => {
      if (spin && this.stats.completions !== before) this.owner.spinner?.found(this.id);
    }, (e) => {
      const b = asBrokerError(e);
      // The CQ went away or the session is ending: the ring is done.
      if (b && (b.code === 'NO_SUCH_HANDLE' || b.code === 'NO_SESSION' || b.code === 'SHUTTING_DOWN' || b.code === 'DEVICE_LOST')) this.cqGone(r.cq);
      else this.owner.internalError(this, e);
    }).finally(() => {
      r.busy = false;
      this.busy--;
      this.signalIfWanted();
      if (r.again && !this.closed && !r.gone) {
        r.again = false;
        this.refill(r);
      }
      this.maybeRelease();
    });
  }

  private async doRefill(r: Ring): Promise<void> {
    const dp = this.owner.broker.dataPath;
    const l = this.layout;
    let armed = false;
    for (let pass = 0; pass < 2; pass++) {
      for (;;) {
        if (this.closed || r.gone) return;
        const used = (r.tail - this.load(r.off + R.head)) >>> 0;
        const free = used > l.cqEntries ? 0 : l.cqEntries - used;
        if (free === 0) {
          // Full: leave the rest in the device CQ (it overflows as the kernel's would) until the client consumes.
          r.stalled = true;
          this.store(r.off + R.stalled, 1);
          return;
        }
        const want = Math.min(free, POLL_BATCH);
        const wcs = await dp.poll(this.session, r.cq, want);
        if (this.closed || r.gone) return;
        if (wcs.length > 0) this.putWcs(r, wcs);
        if (wcs.length < want) break;
      }
      if (armed) break;
      if (r.stalled) {
        r.stalled = false;
        this.store(r.off + R.stalled, 0);
      }
      // Still armed from an earlier refill (no event since): the next completion raises one.
      if (r.armed) break;
      // Arm, then poll once more: a completion that arrived before the arm raises no event.
      // Marked armed before the call: the event of a completion that comes
      // while it returns (a post of another turn, between microtasks) clears
      // the mark in onCompletion, and that must win, or the CQ would stay
      // unarmed with the lane believing otherwise (no further events).
      r.armed = true;
      armed = true;
      try {
        await dp.arm(this.session, r.cq);
      } catch (e) {
        r.armed = false;
        throw e;
      }
    }
  }

  private putWcs(r: Ring, wcs: readonly Wc[]): void {
    const l = this.layout;
    const v = this.dv;
    const mask = l.cqEntries - 1;
    const base = r.off + CQ_RING_HEADER;
    for (let i = 0; i < wcs.length; i++) {
      const w = wcs[i]!;
      const o = base + (r.tail & mask) * CQE_SIZE;
      v.setBigUint64(o + C.wrId, w.wr_id, true);
      v.setUint32(o + C.status, WC_STATUS_VALUE.get(w.status) ?? GENERAL_ERR, true);
      v.setUint32(o + C.opcode, WC_OPCODE_VALUES[w.opcode] ?? 0, true);
      v.setUint32(o + C.vendorErr, w.vendor_err >>> 0, true);
      v.setUint32(o + C.byteLen, w.byte_len >>> 0, true);
      v.setUint32(o + C.immData, w.imm_data >>> 0, true);
      v.setUint32(o + C.qpNum, w.qp_num >>> 0, true);
      v.setUint32(o + C.srcQp, w.src_qp >>> 0, true);
      v.setUint32(o + C.wcFlags, w.wc_flags >>> 0, true);
      v.setUint16(o + C.pkeyIndex, w.pkey_index & 0xffff, true);
      v.setUint16(o + C.slid, w.slid & 0xffff, true);
      v.setUint8(o + C.sl, w.sl & 0xff);
      v.setUint8(o + C.dlidPathBits, w.dlid_path_bits & 0xff);
      r.tail = (r.tail + 1) >>> 0;
    }
    // Entries first, then the tail (Atomics.store is a full barrier).
    this.store(r.off + R.tail, r.tail);
    this.stats.completions += wcs.length;
    if (r.notify) {
      r.notify = false;
      this.wantSignal = true;
    }
  }

  // ------------------------------------------------------------ lifetime

  /**
   * The spin worker saw traffic (--fast-lane-spin): drain published
   * submissions and poll the attached CQs now, without waiting for the
   * doorbell or the channel event.
   */
  spinWake(): void {
    if (this.closed) return;
    const submissions = ((this.load(H.sqTail) - this.sqHead) >>> 0) !== 0;
    if (submissions) this.kick();
    // Only a wake-up for the CQs alone tells the worker what its poll found (posts move completions of their own).
    for (const r of this.rings) if (r && !r.gone) this.refill(r, !submissions);
  }

  /** Stops serving; the fds and the mapping go once no turn is running. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.store(H.state, LANE_STATE.closed);
    // Wake a waiting client: it sees the closed state.
    this.eight.writeBigUInt64LE(1n);
    libc.write(this.cqFd, this.eight, 8);
    this.closed = true;
    this.watch?.close();
    this.watch = null;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.maybeRelease();
  }

  private maybeRelease(): void {
    if (!this.closed || this.busy > 0 || this.released) return;
    this.released = true;
    libc.close(this.sqFd);
    libc.close(this.cqFd);
    this.mem.close();
    this.owner.broker.accounting.giveFds(this.session.tenant, LANE_FDS);
  }
}

/** Reads a u64 handle as a number; -1 when it is beyond 2^53 (no broker handle is). */
function handleAt(v: DataView, o: number): number {
  const hi = v.getUint32(o + 4, true);
  if (hi >= 0x200000) return -1;
  return hi * TWO32 + v.getUint32(o, true);
}

/** The SGEs of a copied-out entry (the caller bounded `nsge`). */
function sgesAt(v: DataView, o: number, nsge: number): Sge[] {
  const sg: Sge[] = [];
  for (let i = 0; i < nsge; i++) {
    const so = o + S.sge + i * SGE_SIZE;
    sg.push({ addr: v.getBigUint64(so, true), length: v.getUint32(so + 8, true), lkey: v.getUint32(so + 12, true) });
  }
  return sg;
}

/** Decodes a copied-out receive entry (kind and num_sge already checked). */
function decodeRecv(v: DataView, o: number, nsge: number): RecvWr {
  return { wr_id: v.getBigUint64(o + S.wrId, true), sg_list: sgesAt(v, o, nsge) };
}

/**
 * Decodes a copied-out POST_SEND entry, each field read once from daemon
 * memory, into the WR the core posts; a refusal is its error code.
 */
function decodeSend(v: DataView, o: number, op: number, nsge: number): DecodedSendWr | number {
  const opcode = OPCODE_BY_VALUE[op];
  if (!opcode) return LaneErr.BAD_ENTRY;
  const flags = v.getUint32(o + S.sendFlags, true);
  if (flags > 0x1f) return LaneErr.BAD_ENTRY;
  const wr: DecodedSendWr = { wr_id: v.getBigUint64(o + S.wrId, true), opcode, send_flags: flags, sg_list: sgesAt(v, o, nsge) };
  switch (opcode) {
    case 'RDMA_WRITE':
    case 'RDMA_READ':
      wr.remote_addr = v.getBigUint64(o + S.remoteAddr, true);
      wr.rkey = v.getUint32(o + S.rkey, true);
      return wr;
    case 'RDMA_WRITE_WITH_IMM':
      wr.imm_data = v.getUint32(o + S.imm, true);
      wr.remote_addr = v.getBigUint64(o + S.remoteAddr, true);
      wr.rkey = v.getUint32(o + S.rkey, true);
      return wr;
    case 'ATOMIC_CMP_AND_SWP':
    case 'ATOMIC_FETCH_AND_ADD':
      wr.remote_addr = v.getBigUint64(o + S.remoteAddr, true);
      wr.rkey = v.getUint32(o + S.rkey, true);
      wr.compare_add = v.getBigUint64(o + S.compareAdd, true);
      wr.swap = v.getBigUint64(o + S.swap, true);
      return wr;
    case 'LOCAL_INV':
      wr.invalidate_rkey = v.getUint32(o + S.imm, true);
      return wr;
    case 'BIND_MW': {
      const mw = handleAt(v, o + S.bindMw);
      const mr = handleAt(v, o + S.bindMr);
      if (mw <= 0 || mr <= 0) return LaneErr.NO_SUCH_HANDLE;
      const len = v.getBigUint64(o + S.compareAdd, true);
      if (len > MAX_SAFE) return LaneErr.BAD_ENTRY;
      wr.bind_mw = { mw, mr, rkey: v.getUint32(o + S.rkey, true), addr: v.getBigUint64(o + S.remoteAddr, true), length: Number(len), mw_access_flags: v.getUint32(o + S.bindAccess, true) };
      return wr;
    }
    default: {
      // SEND, SEND_WITH_IMM, SEND_WITH_INV: UD with an AH, XRC with a remote SRQ number.
      if (opcode === 'SEND_WITH_IMM') wr.imm_data = v.getUint32(o + S.imm, true);
      else if (opcode === 'SEND_WITH_INV') wr.invalidate_rkey = v.getUint32(o + S.imm, true);
      const ah = handleAt(v, o + S.ah);
      if (ah < 0) return LaneErr.NO_SUCH_HANDLE;
      if (ah > 0) {
        wr.ah = ah;
        wr.remote_qpn = v.getUint32(o + S.remoteQpn, true) & 0xffffff;
        wr.remote_qkey = v.getUint32(o + S.remoteQkey, true);
      } else {
        const srqn = v.getUint32(o + S.remoteQpn, true);
        if (srqn !== 0) wr.remote_srqn = srqn & 0xffffff;
      }
      return wr;
    }
  }
}

/** The error record code and errno for a refused WR. */
function errorCode(e: unknown): [number, number] {
  if (e instanceof VerbsError) return [LaneErr.POST_FAILED, e.errno];
  if (e instanceof MemoryCheckError || (e instanceof WrError && e.range)) return [LaneErr.BAD_RANGE, e.errno];
  const b = asBrokerError(e);
  if (!b) return [LaneErr.REFUSED, 0];
  switch (b.code) {
    case 'NO_SUCH_HANDLE':
      return [LaneErr.NO_SUCH_HANDLE, 0];
    case 'WRONG_TYPE':
      return [LaneErr.WRONG_TYPE, 0];
    case 'INVALID_ATTR':
    case 'MISSING_ATTR':
      return [LaneErr.BAD_ENTRY, b.errno];
    case 'ERRNO':
      return [LaneErr.POST_FAILED, b.errno];
    default:
      return [LaneErr.REFUSED, b.errno];
  }
}

/** Every lane of every session; serves the lane ops of the fd channel. */
export class LaneServer {
  readonly broker: Broker;
  private readonly log: Logger;
  private readonly bySession = new Map<string, { lanes: Map<number, Lane>; cancelEnd: () => void }>();
  private nextId = 1;
  private unwatch: (() => void) | null = null;
  /** The busy-poll worker (--fast-lane-spin), or null. */
  readonly spinner: LaneSpinner | null;
  private readonly byId = new Map<number, Lane>();

  constructor(opts: LaneServerOptions) {
    this.broker = opts.broker;
    this.log = opts.log.child({ component: 'fast-lane' });
    this.spinner = opts.spin ? new LaneSpinner((id) => this.byId.get(id)?.spinWake(), this.log) : null;
    // An attached CQ's completion events go to its lane (the session's stream does not carry them).
    opts.broker.dataPath.setCompletionSink((cq) => {
      for (const l of this.bySession.get(cq.owner.id)?.lanes.values() ?? []) if (l.onCompletion(cq.handle)) return true;
      return false;
    });
    opts.broker.dataPath.setFlusher(async (s) => {
      const e = this.bySession.get(s.id);
      if (e) for (const l of [...e.lanes.values()]) await l.flush();
    });
  }

  /** Open lanes (all sessions). */
  get lanes(): number {
    let n = 0;
    for (const e of this.bySession.values()) n += e.lanes.size;
    return n;
  }

  /** A session's lane (tests and metrics). */
  lane(sessionId: string, id: number): Lane | undefined {
    return this.bySession.get(sessionId)?.lanes.get(id);
  }

  attachedElsewhere(cq: number): boolean {
    for (const e of this.bySession.values()) for (const l of e.lanes.values()) if (l.hasCq(cq)) return true;
    return false;
  }

  internalError(l: Lane, e: unknown): void {
    this.log.error({ err: e, session: l.session.id, lane: l.id }, 'fast lane: internal error');
  }

  private start(): void {
    if (this.unwatch) return;
    this.unwatch = this.broker.watch({ type: 'cq' }, (kind, o) => {
      if (kind !== 'DESTROYED') return;
      for (const l of this.bySession.get(o.owner.id)?.lanes.values() ?? []) l.cqGone(o.handle);
    });
  }

  /** The fd-channel ops (docs/fast-lane.md, "Opening a lane"). */
  readonly ops: Record<string, LaneOp> = {
    lane_open: async (s, req, fds) => {
      noFds(fds, 'lane_open');
      this.start();
      const num = (v: unknown, name: string, dflt: number): number => {
        if (v === undefined) return dflt;
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new BrokerError('INVALID_ATTR', `lane_open: ${name}: expected an integer`);
        return v;
      };
      let layout: LaneLayout;
      try {
        layout = layoutFor({ sqEntries: num(req.sq_entries, 'sq_entries', 1024), cqRings: num(req.cq_rings, 'cq_rings', 4), cqEntries: num(req.cq_entries, 'cq_entries', 1024) });
      } catch (e) {
        throw new BrokerError('INVALID_ATTR', `lane_open: ${(e as Error).message}`);
      }
      let entry = this.bySession.get(s.id);
      if (entry && entry.lanes.size >= MAX_LANES_PER_SESSION) {
        throw new BrokerError('QUOTA_EXCEEDED', `the session already has ${entry.lanes.size} fast lanes (at most ${MAX_LANES_PER_SESSION})`);
      }
      const start = num(req.start_index, 'start_index', 0);
      if (start < 0 || start > 0xffff_ffff) throw new BrokerError('INVALID_ATTR', 'lane_open: start_index: a u32');
      const lane = this.makeLane(s, layout, start);
      if (!entry) {
        const cancelEnd = s.onEnd(() => this.dropSession(s.id));
        entry = { lanes: new Map(), cancelEnd };
        this.bySession.set(s.id, entry);
      }
      entry.lanes.set(lane.id, lane);
      this.byId.set(lane.id, lane);
      const spinning = this.spinner?.add(lane.id, lane.mem.fd, layout) ?? false;
      this.log.info({ session: s.id, lane: lane.id, size: layout.totalSize, sq: layout.sqEntries, cqRings: layout.cqRings, cq: layout.cqEntries, spinning }, 'fast lane opened');
      return {
        body: {
          lane: lane.id, size: layout.totalSize, sq_entries: layout.sqEntries, cq_rings: layout.cqRings, cq_entries: layout.cqEntries,
          fd_kinds: ['memfd', 'submit_doorbell', 'completion_doorbell'],
        },
        fds: [lane.mem.fd, lane.sqFd, lane.cqFd],
      };
    },

    lane_attach_cq: async (s, req, fds) => {
      noFds(fds, 'lane_attach_cq');
      const lane = this.find(s, req.lane);
      const ring = await lane.attach(handleArg(req.cq, 'cq'));
      return { body: { lane: lane.id, cq: Number(req.cq), ring }, fds: [] };
    },

    lane_close: async (s, req, fds) => {
      noFds(fds, 'lane_close');
      const lane = this.find(s, req.lane);
      this.closeLane(s.id, lane);
      return { body: { lane: lane.id }, fds: [] };
    },
  };

  private find(s: Session, v: unknown): Lane {
    const id = typeof v === 'number' ? v : NaN;
    const l = this.bySession.get(s.id)?.lanes.get(id);
    if (!l || l.isClosed) throw new BrokerError('NO_SUCH_HANDLE', `no such fast lane: ${JSON.stringify(v)}`);
    return l;
  }

  private makeLane(s: Session, layout: LaneLayout, start: number): Lane {
    // A lane holds three daemon fds (the memfd, two eventfds): the tenant's fd quota pays for them.
    this.broker.accounting.takeFds(s.tenant, LANE_FDS, 'a fast lane');
    let mem: SharedMemory;
    try {
      mem = SharedMemory.create(layout.totalSize, 'rdma-broker-lane');
    } catch (e) {
      this.broker.accounting.giveFds(s.tenant, LANE_FDS);
      throw e;
    }
    const efd = (): number => {
      const fd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
      if (fd < 0) throw new BrokerError('QUOTA_EXCEEDED', `eventfd failed (errno ${libc.errno()})`, libc.errno(), 'eventfd');
      return fd;
    };
    let sq = -1;
    let cq = -1;
    try {
      sq = efd();
      cq = efd();
      return new Lane(this, s, this.nextId++, layout, mem, sq, cq, start);
    } catch (e) {
      if (sq >= 0) libc.close(sq);
      if (cq >= 0) libc.close(cq);
      mem.close();
      this.broker.accounting.giveFds(s.tenant, LANE_FDS);
      throw e;
    }
  }

  private closeLane(sessionId: string, lane: Lane): void {
    lane.close();
    this.byId.delete(lane.id);
    this.spinner?.remove(lane.id);
    const e = this.bySession.get(sessionId);
    e?.lanes.delete(lane.id);
    if (e && e.lanes.size === 0) {
      e.cancelEnd();
      this.bySession.delete(sessionId);
    }
    this.log.info({ session: sessionId, lane: lane.id, ...lane.stats }, 'fast lane closed');
  }

  private dropSession(sessionId: string): void {
    const e = this.bySession.get(sessionId);
    if (!e) return;
    for (const l of [...e.lanes.values()]) this.closeLane(sessionId, l);
  }

  /** Closes every lane (daemon stopping) and stops the spin worker; resolves once it is gone. */
  close(): Promise<void> {
    this.broker.dataPath.setFlusher(null);
    this.broker.dataPath.setCompletionSink(null);
    this.unwatch?.();
    this.unwatch = null;
    for (const id of [...this.bySession.keys()]) this.dropSession(id);
    return this.spinner?.close() ?? Promise.resolve();
  }
}

