/**
 * The fast lane's shared-memory layout (docs/fast-lane.md is the reference
 * for other languages, include/rdma-broker/fast-lane.h its C form; keep the
 * three in step). This module is pure: the daemon (src/lane/server.ts) and
 * the client (src/client/lane.ts) both import it, and it imports only the
 * work completion's wire type (./wc.ts).
 *
 * One memfd per lane, little-endian, mapped MAP_SHARED by both sides:
 *
 *   [header 4096 B][submission ring][error ring][completion ring 0]...[completion ring N-1]
 *
 * Every index is a free-running u32 (it wraps at 2^32); a slot is
 * `index & (entries - 1)` (entries are powers of two). Each index has one
 * writer and sits on its own 64-byte cache line:
 *
 * | index            | writer | reader |
 * |------------------|--------|--------|
 * | sq_tail          | client | daemon |
 * | sq_head          | daemon | client |
 * | err_tail         | daemon | client |
 * | err_head         | client | daemon |
 * | cq[i].tail       | daemon | client |
 * | cq[i].head       | client | daemon |
 *
 * A producer writes the entries, then stores its index with release
 * semantics (JS: Atomics.store; C: __atomic_store_n(.., __ATOMIC_RELEASE));
 * a consumer loads the index with acquire semantics, reads the entries, then
 * stores its own index. The daemon never trusts a client-written index: it
 * keeps its own copies of the indices it writes, and bounds what it reads.
 */

import { WC_OPCODE_VALUES, WC_STATUS_NAMES, type WcOpcode, type WcStatus } from './wc.js';

export const LANE_MAGIC = 0x4c464252; // "RBFL"
export const LANE_VERSION = 1;

export const HEADER_SIZE = 4096;
export const SQE_SIZE = 256;
export const CQE_SIZE = 64;
export const ERR_SIZE = 32;
/** The per-ring header in front of a completion ring's entries. */
export const CQ_RING_HEADER = 256;
/** SGEs that fit in one submission entry. */
export const MAX_SGE = 10;

/** Bounds a client may ask for (the memfd stays a few MiB at most). */
export const LIMITS = {
  minEntries: 8,
  maxSqEntries: 4096,
  maxCqEntries: 4096,
  maxCqRings: 16,
  errEntries: 256,
} as const;

/** Header field offsets (bytes from the start of the memfd). */
export const H = {
  magic: 0,
  version: 4,
  totalSize: 8,
  sqEntries: 12,
  sqEntrySize: 16,
  sqOffset: 20,
  cqRings: 24,
  cqEntries: 28,
  cqEntrySize: 32,
  cqOffset: 36,
  cqRingSize: 40,
  errEntries: 44,
  errEntrySize: 48,
  errOffset: 52,
  maxSge: 56,
  /** Indices, one cache line each. */
  sqTail: 64,
  sqHead: 128,
  errTail: 192,
  /** Error records the daemon dropped because the error ring was full (daemon-written). */
  errDropped: 196,
  errHead: 256,
  /** 1 while the daemon serves the lane, 2 once it is closed (daemon-written). */
  state: 320,
} as const;

/** Offsets inside one completion ring's header (from the ring's start). */
export const R = {
  head: 0,
  tail: 64,
  /** 1: the ring was full and the device CQ may hold more: ring the doorbell after consuming. */
  stalled: 68,
  /** 0 free, 1 attached, 2 the CQ is gone (destroyed or the session ended). */
  state: 72,
  /** The broker handle of the attached CQ (u64). */
  cqHandle: 80,
} as const;

export const LANE_STATE = { open: 1, closed: 2 } as const;
export const RING_STATE = { free: 0, attached: 1, gone: 2 } as const;

/** Submission entry kinds (byte 0). */
export const SqeKind = { NOP: 0, POST_SEND: 1, POST_RECV: 2, SRQ_RECV: 3, REQ_NOTIFY: 4 } as const;

/** Submission entry field offsets. */
export const S = {
  kind: 0,
  opcode: 1,
  numSge: 2,
  sendFlags: 4,
  /** QP (POST_SEND, POST_RECV), SRQ (SRQ_RECV) or CQ (REQ_NOTIFY) handle, u64. */
  handle: 8,
  wrId: 16,
  /** RDMA and atomic remote address; BIND_MW: the window's start address. */
  remoteAddr: 24,
  /** RDMA and atomic rkey; BIND_MW: the new rkey. */
  rkey: 32,
  /** WITH_IMM: imm_data; LOCAL_INV / SEND_WITH_INV: invalidate_rkey; REQ_NOTIFY: solicited_only. */
  imm: 36,
  /** Atomics: compare_add; BIND_MW: the window's length. */
  compareAdd: 40,
  swap: 48,
  /** UD: remote_qpn; XRC_SEND: remote_srqn. */
  remoteQpn: 56,
  remoteQkey: 60,
  /** UD: the AH handle, u64. */
  ah: 64,
  /** BIND_MW: the MW handle and the MR handle, u64 each. */
  bindMw: 72,
  bindMr: 80,
  bindAccess: 88,
  sge: 96,
} as const;
/** An SGE: u64 addr, u32 length, u32 lkey. */
export const SGE_SIZE = 16;

/** Completion entry (struct ibv_wc, flattened) offsets. */
export const C = {
  wrId: 0,
  status: 8,
  opcode: 12,
  vendorErr: 16,
  byteLen: 20,
  immData: 24,
  qpNum: 28,
  srcQp: 32,
  wcFlags: 36,
  pkeyIndex: 40,
  slid: 42,
  sl: 44,
  dlidPathBits: 45,
} as const;

/** Error record offsets. */
export const E = {
  /** The submission's index (the value of sq_tail before it was produced). */
  sqIndex: 0,
  errno: 4,
  code: 8,
  /** kind | opcode << 8, as submitted. */
  kindOpcode: 12,
  wrId: 16,
  handle: 24,
} as const;

/** Error record codes. */
export const LaneErr = {
  /** The entry is malformed (kind, opcode, SGE count, a field out of range). */
  BAD_ENTRY: 1,
  /** A handle names no object of this session. */
  NO_SUCH_HANDLE: 2,
  /** A handle names an object of the wrong type. */
  WRONG_TYPE: 3,
  /** An SGE's address range lies in no MR of this session with the access the opcode needs. */
  BAD_RANGE: 4,
  /** The device refused the post (errno). */
  POST_FAILED: 5,
  /** sq_tail ran more than a ring ahead of sq_head: the pending entries were dropped. */
  RING_CORRUPT: 6,
  /** REQ_NOTIFY names a CQ that is not attached to this lane. */
  NOT_ATTACHED: 7,
  /** The session's state forbids it (ended, busy object, device lost, unsupported). */
  REFUSED: 8,
} as const;

export const LANE_ERR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(LaneErr).map(([k, v]) => [v, k]));

export interface LaneParams {
  sqEntries: number;
  cqRings: number;
  cqEntries: number;
}

export interface LaneLayout extends LaneParams {
  errEntries: number;
  sqOffset: number;
  errOffset: number;
  cqOffset: number;
  cqRingSize: number;
  totalSize: number;
}

const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Checks the parameters (throws RangeError naming the bad one) and computes the offsets. */
export function layoutFor(p: LaneParams): LaneLayout {
  const chk = (name: string, v: number, max: number): void => {
    if (!pow2(v) || v < LIMITS.minEntries || v > max) throw new RangeError(`${name}: a power of two in ${LIMITS.minEntries}..${max}, got ${v}`);
  };
  chk('sq_entries', p.sqEntries, LIMITS.maxSqEntries);
  chk('cq_entries', p.cqEntries, LIMITS.maxCqEntries);
  if (!Number.isInteger(p.cqRings) || p.cqRings < 1 || p.cqRings > LIMITS.maxCqRings) {
    throw new RangeError(`cq_rings: 1..${LIMITS.maxCqRings}, got ${p.cqRings}`);
  }
  const sqOffset = HEADER_SIZE;
  const errOffset = sqOffset + p.sqEntries * SQE_SIZE;
  const cqOffset = errOffset + LIMITS.errEntries * ERR_SIZE;
  const cqRingSize = CQ_RING_HEADER + p.cqEntries * CQE_SIZE;
  const raw = cqOffset + p.cqRings * cqRingSize;
  const totalSize = Math.ceil(raw / 4096) * 4096;
  return { ...p, errEntries: LIMITS.errEntries, sqOffset, errOffset, cqOffset, cqRingSize, totalSize };
}

/** Writes the header fields (the daemon does, once, before handing the memfd out). */
export function writeHeader(v: DataView, l: LaneLayout): void {
  v.setUint32(H.magic, LANE_MAGIC, true);
  v.setUint32(H.version, LANE_VERSION, true);
  v.setUint32(H.totalSize, l.totalSize, true);
  v.setUint32(H.sqEntries, l.sqEntries, true);
  v.setUint32(H.sqEntrySize, SQE_SIZE, true);
  v.setUint32(H.sqOffset, l.sqOffset, true);
  v.setUint32(H.cqRings, l.cqRings, true);
  v.setUint32(H.cqEntries, l.cqEntries, true);
  v.setUint32(H.cqEntrySize, CQE_SIZE, true);
  v.setUint32(H.cqOffset, l.cqOffset, true);
  v.setUint32(H.cqRingSize, l.cqRingSize, true);
  v.setUint32(H.errEntries, l.errEntries, true);
  v.setUint32(H.errEntrySize, ERR_SIZE, true);
  v.setUint32(H.errOffset, l.errOffset, true);
  v.setUint32(H.maxSge, MAX_SGE, true);
  v.setUint32(H.state, LANE_STATE.open, true);
}

/** Reads a header back (the client does, after mapping); throws when it is not a lane of this version. */
export function readHeader(v: DataView): LaneLayout {
  if (v.getUint32(H.magic, true) !== LANE_MAGIC) throw new Error('not a fast-lane memfd (bad magic)');
  if (v.getUint32(H.version, true) !== LANE_VERSION) throw new Error(`fast-lane version ${v.getUint32(H.version, true)}, expected ${LANE_VERSION}`);
  const l = layoutFor({ sqEntries: v.getUint32(H.sqEntries, true), cqRings: v.getUint32(H.cqRings, true), cqEntries: v.getUint32(H.cqEntries, true) });
  if (v.getUint32(H.totalSize, true) !== l.totalSize || v.getUint32(H.cqOffset, true) !== l.cqOffset) throw new Error('fast-lane header does not match its layout');
  return l;
}

/** The byte offset of completion ring `i`. */
export function cqRingOffset(l: LaneLayout, i: number): number {
  return l.cqOffset + i * l.cqRingSize;
}

// ------------------------------------------------------------ ABI values
// The verbs values the entries carry (as in <infiniband/verbs.h>); the
// daemon checks these tables against its backend's in test/unit/lane/layout.test.ts.

/** enum ibv_wr_opcode */
export const WR_OPCODES: Readonly<Record<string, number>> = {
  RDMA_WRITE: 0, RDMA_WRITE_WITH_IMM: 1, SEND: 2, SEND_WITH_IMM: 3, RDMA_READ: 4,
  ATOMIC_CMP_AND_SWP: 5, ATOMIC_FETCH_AND_ADD: 6, LOCAL_INV: 7, BIND_MW: 8, SEND_WITH_INV: 9,
};
/** enum ibv_send_flags */
export const SEND_FLAGS: Readonly<Record<string, number>> = { FENCE: 1, SIGNALED: 2, SOLICITED: 4, INLINE: 8, IP_CSUM: 16 };
/** enum ibv_wc_opcode (./wc.ts: the completion entries carry struct ibv_wc). */
export const WC_OPCODES: Readonly<Record<WcOpcode, number>> = WC_OPCODE_VALUES;
/** enum ibv_wc_status, by value (./wc.ts). */
export const WC_STATUSES: readonly WcStatus[] = WC_STATUS_NAMES;
