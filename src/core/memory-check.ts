/**
 * Memory ownership checks: every local address and length a client names
 * (SGEs of posted work requests, inline data, memory-window binds, MR reads
 * and writes) must lie inside memory of the caller's own session, with the
 * access the device needs there. The daemon checks this itself, before any
 * backend sees the request, because nothing below it can:
 *
 * - INLINE sends are copied by the CPU, in the daemon's process, from the
 *   address given (libibverbs providers ignore the lkey for them): an
 *   unchecked address reads any memory the daemon has mapped, another
 *   tenant's MR included, and an unmapped one (4096) kills the daemon.
 * - Every tenant's MRs share one device context per tenant and one daemon
 *   address space, so an lkey or an address is not proof of ownership on
 *   its own: only the session's own index is.
 *
 * Remote addresses and rkeys (the targets of RDMA WRITE, READ and atomics)
 * are NOT checked here: they name the peer's memory, the peer may
 * legitimately be another tenant, and the device checks them against the
 * peer's MRs and windows (a bad one completes with REM_ACCESS_ERR).
 *
 * The index is per session and per device: by lkey (a Map) and by address
 * (a sorted array, binary searched), so the work per SGE is bounded and
 * does not grow with the number of MRs scanned. Refusals are
 * {@link MemoryCheckError}s: INVALID_ATTR (gRPC INVALID_ARGUMENT) with
 * errno EINVAL and the index of the failing work request.
 *
 * Callers: the qp/srq/mr type tables (src/core/types/) for gRPC Invoke and
 * Batch steps; any other path that drains work requests (the shared-memory
 * fast lane) calls {@link checkSendWrs} / {@link checkRecvWrs} (or the
 * per-SGE {@link sgeFault}) with `broker.memory.of(session)`.
 */
import { Access, SendFlags, type MrRef, type RecvWr, type SendWr, type Sge } from '../verbs/abi.js';
import { BrokerError } from './errors.js';

/** errno EINVAL, the errno every refusal here carries (as ibv_post_send's for a bad WR). */
export const EINVAL = 22;

const U64_END = 1n << 64n;

/** A range of memory a session may name in work requests: one of its MRs. */
export interface MemoryRange {
  /** The broker handle of the object (the MR). */
  readonly handle: number;
  /** The device the MR is registered on: lkeys are only meaningful there. */
  readonly device: string;
  /** The MR's first address (as the client names it in SGEs). */
  readonly addr: bigint;
  readonly length: number;
  readonly lkey: number;
  /** ibv_access_flags it was registered with. */
  readonly access: number;
  /**
   * Whether [addr, addr+length) is mapped in the daemon's own address space,
   * so that a CPU copy (an INLINE send) from it is safe. dma-buf MRs are not:
   * their addr is a device IOVA, not a daemon address.
   */
  readonly mapped: boolean;
}

/** The MR fields a type table returns from create (CreateResult.memory); the broker adds handle and device. */
export type MemoryRangeInit = Omit<MemoryRange, 'handle' | 'device'>;

/** A range as indexed: with its end precomputed, so a check costs comparisons, not BigInt arithmetic. */
interface Indexed extends MemoryRange {
  readonly end: bigint;
}

/** One device's part of a session's index. */
class DeviceMemory {
  readonly byLkey = new Map<number, Indexed>();
  /** Daemon-mapped ranges sorted by addr (they never overlap: each is its own mapping). */
  readonly byAddr: Indexed[] = [];

  /** The index in byAddr of the last range starting at or below `addr`, or -1. */
  floor(addr: bigint): number {
    let lo = 0;
    let hi = this.byAddr.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.byAddr[mid]!.addr <= addr) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }
}

/**
 * One session's registered memory, indexed by device and lkey and by
 * address. Lookups are O(1) (lkey) and O(log n) (address); adding or
 * removing an MR is O(n) in the session's mapped MRs (n is bounded by the
 * tenant's MR quota).
 */
export class SessionMemory {
  private readonly devices = new Map<string, DeviceMemory>();
  private count = 0;

  /** How many ranges the session has. */
  get size(): number {
    return this.count;
  }

  /** Adds a range (an MR just created). A second range with the same lkey on the device replaces the first. */
  add(range: MemoryRange): void {
    // Field by field, not a spread: every range has this one shape.
    const r: Indexed = {
      handle: range.handle, device: range.device, addr: range.addr, length: range.length, lkey: range.lkey,
      access: range.access, mapped: range.mapped, end: range.addr + BigInt(range.length),
    };
    let d = this.devices.get(r.device);
    if (!d) this.devices.set(r.device, (d = new DeviceMemory()));
    const old = d.byLkey.get(r.lkey);
    if (old) this.removeFrom(d, old);
    d.byLkey.set(r.lkey, r);
    this.count++;
    if (r.mapped) {
      const at = d.floor(r.addr) + 1;
      // A new mapping often lands above the others: an append, not a splice.
      if (at === d.byAddr.length) d.byAddr.push(r);
      else d.byAddr.splice(at, 0, r);
    }
  }

  /** Removes and returns the range of an object (an MR being destroyed); undefined when it has none. */
  remove(device: string, handle: number, lkey: number): MemoryRange | undefined {
    const d = this.devices.get(device);
    const r = d?.byLkey.get(lkey);
    if (!d || !r || r.handle !== handle) return undefined;
    this.removeFrom(d, r);
    if (d.byLkey.size === 0) this.devices.delete(device);
    return r;
  }

  private removeFrom(d: DeviceMemory, r: Indexed): void {
    d.byLkey.delete(r.lkey);
    this.count--;
    if (!r.mapped) return;
    // Ranges never overlap, so the floor of its start is the range itself.
    const i = d.floor(r.addr);
    if (i >= 0 && d.byAddr[i] === r) {
      if (i === d.byAddr.length - 1) d.byAddr.pop();
      else d.byAddr.splice(i, 1);
    }
  }

  /** The session's MR with this lkey on the device. */
  byLkey(device: string, lkey: number): MemoryRange | undefined {
    return this.devices.get(device)?.byLkey.get(lkey);
  }

  /** @internal byLkey with the end precomputed, for the checks below. */
  keyed(device: string, lkey: number): Indexed | undefined {
    return this.devices.get(device)?.byLkey.get(lkey);
  }

  /**
   * The session's daemon-mapped MR on the device that holds all of
   * [addr, addr+length) (length 0: addr within or at the end of one).
   */
  covering(device: string, addr: bigint, length: number): MemoryRange | undefined {
    return this.coveringEnd(device, addr, addr + BigInt(length));
  }

  /** @internal covering, given the range's end. */
  coveringEnd(device: string, addr: bigint, end: bigint): Indexed | undefined {
    const d = this.devices.get(device);
    if (!d) return undefined;
    const r = d.byAddr[d.floor(addr)];
    return r && addr >= r.addr && end <= r.end ? r : undefined;
  }
}

/** The empty index: what a session without MRs checks against. */
const EMPTY = new SessionMemory();

/** Every session's {@link SessionMemory}, by session id. The broker keeps one and updates it as MRs come and go. */
export class MemoryIndex {
  private readonly sessions = new Map<string, SessionMemory>();

  /** The session's index (an empty one when it has no MRs: never undefined, never shared with another session's ranges). */
  of(session: { readonly id: string }): SessionMemory {
    return this.sessions.get(session.id) ?? EMPTY;
  }

  add(sessionId: string, r: MemoryRange): void {
    let m = this.sessions.get(sessionId);
    if (!m) this.sessions.set(sessionId, (m = new SessionMemory()));
    m.add(r);
  }

  /** Removes and returns an object's range (undefined when it has none). */
  remove(sessionId: string, device: string, handle: number, lkey: number): MemoryRange | undefined {
    const m = this.sessions.get(sessionId);
    if (!m) return undefined;
    const r = m.remove(device, handle, lkey);
    if (m.size === 0) this.sessions.delete(sessionId);
    return r;
  }

  /** Forgets a session that ended. */
  drop(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** How many sessions have ranges (for tests and inspection). */
  get sessionCount(): number {
    return this.sessions.size;
  }
}

/** A refused address: INVALID_ATTR with errno EINVAL, and where in the request it was. */
export class MemoryCheckError extends BrokerError {
  constructor(
    message: string,
    /** The failing work request's index in the list (0 when the request is not a list). */
    wrIndex: number,
    /** The failing SGE's index in that work request (-1: not an SGE, e.g. a bind range). */
    readonly sgeIndex: number,
    call: string,
  ) {
    super('INVALID_ATTR', message, EINVAL, call, wrIndex);
    this.name = 'MemoryCheckError';
  }
}

function within(r: { readonly addr: bigint; readonly length: number }, addr: bigint, length: number): boolean {
  return addr >= r.addr && addr + BigInt(length) <= r.addr + BigInt(r.length);
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** How a work request uses its local SGEs. */
export interface SgeUse {
  /** Access bits the MR needs (Access.LOCAL_WRITE where the device writes: receives, READ and atomic results). */
  readonly need: number;
  /** The CPU copies the bytes from the address (IBV_SEND_INLINE): the lkey is not used, the address must be mapped. */
  readonly inline: boolean;
}

/**
 * Why one local SGE is refused, or null when it lies inside memory of the
 * session on `device`. The hot-path primitive: no allocation when it passes.
 * Zero-length SGEs are checked too (some devices read a length of 0 as 2 GiB).
 */
export function sgeFault(mem: SessionMemory, device: string, sge: Sge, use: SgeUse): string | null {
  const { addr, length } = sge;
  if (typeof addr !== 'bigint' || addr < 0n || !Number.isInteger(length) || length < 0 || length > 0xffff_ffff) {
    return 'addr and length must be a u64 and a u32';
  }
  const end = addr + BigInt(length);
  if (end > U64_END) return `[${hex(addr)}, +${length}) wraps past 2^64`;
  if (use.inline) {
    // libibverbs ignores the lkey of inline data and copies from the address:
    // the bytes must lie in a daemon-mapped MR of this very session.
    if (!mem.coveringEnd(device, addr, end)) {
      return `inline data [${hex(addr)}, +${length}) lies in no memory region of this session on ${device}`;
    }
    return null;
  }
  const r = mem.keyed(device, sge.lkey);
  if (!r) return `lkey ${hex(sge.lkey >>> 0)} names no memory region of this session on ${device}`;
  if (addr < r.addr || end > r.end) {
    return `[${hex(addr)}, +${length}) is outside its memory region (MR ${r.handle}: [${hex(r.addr)}, +${r.length}))`;
  }
  if ((r.access & use.need) !== use.need) return `its memory region (MR ${r.handle}) lacks LOCAL_WRITE, and the device writes there`;
  return null;
}

const READ_LIKE = new Set(['RDMA_READ', 'ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD']);
const LOCAL_READ: SgeUse = { need: 0, inline: false };
const LOCAL_WRITE: SgeUse = { need: Access.LOCAL_WRITE, inline: false };
const INLINE: SgeUse = { need: 0, inline: true };

/** How the SGEs of one send work request are used. READ and atomic results are written by the device: LOCAL_WRITE. */
export function sendSgeUse(wr: Pick<SendWr, 'opcode' | 'send_flags'>): SgeUse {
  if (READ_LIKE.has(wr.opcode)) return LOCAL_WRITE;
  return (wr.send_flags & SendFlags.INLINE) !== 0 ? INLINE : LOCAL_READ;
}

/**
 * Checks the local memory of every send work request before any is posted
 * (nothing is posted when one fails): each SGE per {@link sendSgeUse} (a
 * READ or atomic marked INLINE is checked both ways, since providers differ
 * in which they honour), and a BIND_MW's range against its MR. Remote
 * addresses and rkeys are left to the device (see the module comment).
 * @throws MemoryCheckError naming the first failing WR and SGE.
 */
export function checkSendWrs(mem: SessionMemory, device: string, wrs: readonly SendWr[], where = 'qp.post_send'): void {
  for (let i = 0; i < wrs.length; i++) {
    const wr = wrs[i]!;
    const use = sendSgeUse(wr);
    const alsoInline = use !== INLINE && (wr.send_flags & SendFlags.INLINE) !== 0;
    for (let j = 0; j < wr.sg_list.length; j++) {
      const sge = wr.sg_list[j]!;
      const why = sgeFault(mem, device, sge, use) ?? (alsoInline ? sgeFault(mem, device, sge, INLINE) : null);
      if (why) throw new MemoryCheckError(`${where}: wrs[${i}].sg_list[${j}]: ${why}`, i, j, 'ibv_post_send');
    }
    if (wr.bind_mw) {
      const why = bindFault(wr.bind_mw.mr, wr.bind_mw.addr, wr.bind_mw.length);
      if (why) throw new MemoryCheckError(`${where}: wrs[${i}].bind_mw: ${why}`, i, -1, 'ibv_post_send');
    }
  }
}

/**
 * Checks every receive work request (qp.post_recv, srq.post_recv) before any
 * is posted: each SGE must name an MR of the session with LOCAL_WRITE.
 * @throws MemoryCheckError naming the first failing WR and SGE.
 */
export function checkRecvWrs(mem: SessionMemory, device: string, wrs: readonly RecvWr[], where = 'qp.post_recv'): void {
  const call = where.startsWith('srq') ? 'ibv_post_srq_recv' : 'ibv_post_recv';
  for (let i = 0; i < wrs.length; i++) {
    const sg = wrs[i]!.sg_list;
    for (let j = 0; j < sg.length; j++) {
      const why = sgeFault(mem, device, sg[j]!, LOCAL_WRITE);
      if (why) throw new MemoryCheckError(`${where}: wrs[${i}].sg_list[${j}]: ${why}`, i, j, call);
    }
  }
}

/**
 * Why a window bind range is refused, or null. The MR is the session's own
 * (the handle was resolved in the session); the range must lie in it. An
 * unbind (addr 0, length 0) names no memory.
 */
export function bindFault(mr: Pick<MrRef, 'addr' | 'length'>, addr: bigint, length: number): string | null {
  if (addr === 0n && length === 0) return null;
  if (!Number.isSafeInteger(length) || length < 0) return `bind length ${length} is invalid`;
  if (addr + BigInt(length) > U64_END) return `bind range [${hex(addr)}, +${length}) wraps past 2^64`;
  if (!within(mr, addr, length)) return `bind range [${hex(addr)}, +${length}) is outside the MR ([${hex(mr.addr)}, +${mr.length}))`;
  return null;
}

/** Checks a type 1 window bind (qp.bind_mw) before the backend sees it. @throws MemoryCheckError */
export function checkBind(mr: Pick<MrRef, 'addr' | 'length'>, addr: bigint, length: number, where = 'qp.bind_mw'): void {
  const why = bindFault(mr, addr, length);
  if (why) throw new MemoryCheckError(`${where}: ${why}`, 0, -1, 'ibv_bind_mw');
}

/**
 * Checks [offset, offset+length) against an MR's length (mr.read, mr.write)
 * and returns the offset as a number.
 * @throws MemoryCheckError when the range leaves the MR.
 */
export function checkMrOffset(mr: Pick<MrRef, 'length'>, offset: bigint, length: number, where: string): number {
  if (offset < 0n || length < 0 || offset + BigInt(length) > BigInt(mr.length)) {
    throw new MemoryCheckError(`${where}: range [${offset}, ${offset + BigInt(length)}) is outside the MR (${mr.length} bytes)`, 0, -1, '');
  }
  return Number(offset);
}
