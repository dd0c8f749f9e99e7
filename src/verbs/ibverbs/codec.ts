/**
 * Converting between the backend interface's plain objects and the C structs
 * of binding.ts (offsets from {@link L}); no calls into the library here.
 *
 * Byte order: `imm_data` travels in network order (`__be32` in ibv_send_wr
 * and ibv_wc); the interface carries host values, so it is swapped here.
 * GUIDs are `__be64`.
 */
import {
  ASYNC_EVENT_NAMES, QP_STATE_VALUES, QP_TYPE_VALUES, WC_FLAGS, WC_OPCODE_VALUES, WC_STATUS_NAMES, type AhAttr,
  type AsyncEventType, type DeviceAttr, type FlowAttr, type LinkLayer, type Mtu, type PortAttr, type PortState,
  type QpAttr, type QpCap, type QpState, type QpType, type Sge, type Wc, type WcFlagName, type WcOpcode, type WcStatus,
} from '../abi.js';
import { VerbsError, Errno } from '../errno.js';
import { normalizeGid } from '../../wire/gid.js';
import { FLOW_SPEC, L, type NativeBlock } from './binding.js';

const QP_STATE_NAMES = new Map<number, QpState>(Object.entries(QP_STATE_VALUES).map(([k, v]) => [v, k as QpState]));
const QP_TYPE_NAMES = new Map<number, QpType>(Object.entries(QP_TYPE_VALUES).map(([k, v]) => [v, k as QpType]));
const WC_OPCODE_NAMES = new Map<number, WcOpcode>(Object.entries(WC_OPCODE_VALUES).map(([k, v]) => [v, k as WcOpcode]));
const PORT_STATES: readonly PortState[] = ['NOP', 'DOWN', 'INIT', 'ARMED', 'ACTIVE', 'ACTIVE_DEFER'];
const LINK_LAYERS: readonly LinkLayer[] = ['UNSPECIFIED', 'InfiniBand', 'Ethernet'];

export function qpStateName(v: number): QpState {
  return QP_STATE_NAMES.get(v) ?? 'ERR';
}
export function qpTypeName(v: number): QpType {
  return QP_TYPE_NAMES.get(v) ?? 'RC';
}
export function asyncEventName(v: number): AsyncEventType | null {
  return ASYNC_EVENT_NAMES[v] ?? null;
}

/** "0011:22ff:fe33:4455" from a __be64 read as a little-endian u64. */
export function guidText(raw: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(raw);
  const h = b.toString('hex');
  return `${h.slice(0, 4)}:${h.slice(4, 8)}:${h.slice(8, 12)}:${h.slice(12, 16)}`;
}

export function gidText(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  const g: string[] = [];
  for (let i = 0; i < 32; i += 4) g.push(h.slice(i, i + 4));
  return g.join(':');
}

/** 16 raw bytes of a GID in text form; throws EINVAL when it is not one. */
export function gidBytes(text: string, call: string): Buffer {
  const full = normalizeGid(text);
  if (!full) throw new VerbsError(call, Errno.EINVAL, `${call}: ${JSON.stringify(text)} is not a GID`);
  return Buffer.from(full.replace(/:/g, ''), 'hex');
}

// ------------------------------------------------------------------ device

export function decodeDeviceAttr(b: NativeBlock): DeviceAttr {
  const v = b.view;
  const o = L.deviceAttr;
  const i32 = (off: number): number => v.getInt32(off, true);
  const fw = Buffer.from(b.bytes(o.fw_ver, 64));
  const nul = fw.indexOf(0);
  return {
    fw_ver: fw.subarray(0, nul < 0 ? 64 : nul).toString('latin1'),
    node_guid: guidText(v.getBigUint64(o.node_guid, true)),
    sys_image_guid: guidText(v.getBigUint64(o.sys_image_guid, true)),
    max_mr_size: v.getBigUint64(o.max_mr_size, true),
    // Only ibv_query_device_ex reports it (control.ts queryDevice); ibv_query_device's struct has no such field.
    max_dm_size: 0n,
    page_size_cap: v.getBigUint64(o.page_size_cap, true),
    vendor_id: v.getUint32(o.vendor_id, true),
    vendor_part_id: v.getUint32(o.vendor_part_id, true),
    hw_ver: v.getUint32(o.hw_ver, true),
    max_qp: i32(o.max_qp),
    max_qp_wr: i32(o.max_qp_wr),
    device_cap_flags: v.getUint32(o.device_cap_flags, true),
    max_sge: i32(o.max_sge),
    max_sge_rd: i32(o.max_sge_rd),
    max_cq: i32(o.max_cq),
    max_cqe: i32(o.max_cqe),
    max_mr: i32(o.max_mr),
    max_pd: i32(o.max_pd),
    max_qp_rd_atom: i32(o.max_qp_rd_atom),
    max_ee_rd_atom: i32(o.max_ee_rd_atom),
    max_res_rd_atom: i32(o.max_res_rd_atom),
    max_qp_init_rd_atom: i32(o.max_qp_init_rd_atom),
    max_ee_init_rd_atom: i32(o.max_ee_init_rd_atom),
    atomic_cap: i32(o.atomic_cap),
    max_ee: i32(o.max_ee),
    max_rdd: i32(o.max_rdd),
    max_mw: i32(o.max_mw),
    max_raw_ipv6_qp: i32(o.max_raw_ipv6_qp),
    max_raw_ethy_qp: i32(o.max_raw_ethy_qp),
    max_mcast_grp: i32(o.max_mcast_grp),
    max_mcast_qp_attach: i32(o.max_mcast_qp_attach),
    max_total_mcast_qp_attach: i32(o.max_total_mcast_qp_attach),
    max_ah: i32(o.max_ah),
    max_fmr: i32(o.max_fmr),
    max_map_per_fmr: i32(o.max_map_per_fmr),
    max_srq: i32(o.max_srq),
    max_srq_wr: i32(o.max_srq_wr),
    max_srq_sge: i32(o.max_srq_sge),
    max_pkeys: v.getUint16(o.max_pkeys, true),
    local_ca_ack_delay: v.getUint8(o.local_ca_ack_delay),
    phys_port_cnt: v.getUint8(o.phys_port_cnt),
  };
}

export function decodePortAttr(b: NativeBlock): PortAttr {
  const v = b.view;
  const o = L.portAttr;
  return {
    state: PORT_STATES[v.getUint32(o.state, true)] ?? 'NOP',
    max_mtu: v.getUint32(o.max_mtu, true) as Mtu,
    active_mtu: v.getUint32(o.active_mtu, true) as Mtu,
    gid_tbl_len: v.getInt32(o.gid_tbl_len, true),
    port_cap_flags: v.getUint32(o.port_cap_flags, true),
    max_msg_sz: v.getUint32(o.max_msg_sz, true),
    bad_pkey_cntr: v.getUint32(o.bad_pkey_cntr, true),
    qkey_viol_cntr: v.getUint32(o.qkey_viol_cntr, true),
    pkey_tbl_len: v.getUint16(o.pkey_tbl_len, true),
    lid: v.getUint16(o.lid, true),
    sm_lid: v.getUint16(o.sm_lid, true),
    lmc: v.getUint8(o.lmc),
    max_vl_num: v.getUint8(o.max_vl_num),
    sm_sl: v.getUint8(o.sm_sl),
    subnet_timeout: v.getUint8(o.subnet_timeout),
    init_type_reply: v.getUint8(o.init_type_reply),
    active_width: v.getUint8(o.active_width),
    active_speed: v.getUint8(o.active_speed),
    phys_state: v.getUint8(o.phys_state),
    link_layer: LINK_LAYERS[v.getUint8(o.link_layer)] ?? 'UNSPECIFIED',
  };
}

// ------------------------------------------------------------------ qp

export function encodeCap(v: DataView, off: number, c: QpCap): void {
  const o = L.qpCap;
  v.setUint32(off + o.max_send_wr, c.max_send_wr >>> 0, true);
  v.setUint32(off + o.max_recv_wr, c.max_recv_wr >>> 0, true);
  v.setUint32(off + o.max_send_sge, c.max_send_sge >>> 0, true);
  v.setUint32(off + o.max_recv_sge, c.max_recv_sge >>> 0, true);
  v.setUint32(off + o.max_inline_data, c.max_inline_data >>> 0, true);
}

export function decodeCap(v: DataView, off: number): QpCap {
  const o = L.qpCap;
  return {
    max_send_wr: v.getUint32(off + o.max_send_wr, true),
    max_recv_wr: v.getUint32(off + o.max_recv_wr, true),
    max_send_sge: v.getUint32(off + o.max_send_sge, true),
    max_recv_sge: v.getUint32(off + o.max_recv_sge, true),
    max_inline_data: v.getUint32(off + o.max_inline_data, true),
  };
}

/** Writes a struct ibv_ah_attr at `off`. */
export function encodeAh(b: NativeBlock, off: number, a: AhAttr, call: string): void {
  const v = b.view;
  const o = L.ahAttr;
  if (a.grh) {
    b.bytes(off + o.grh + L.grh.dgid, 16).set(gidBytes(a.grh.dgid, call));
    v.setUint32(off + o.grh + L.grh.flow_label, a.grh.flow_label >>> 0, true);
    v.setUint8(off + o.grh + L.grh.sgid_index, a.grh.sgid_index & 0xff);
    v.setUint8(off + o.grh + L.grh.hop_limit, a.grh.hop_limit & 0xff);
    v.setUint8(off + o.grh + L.grh.traffic_class, a.grh.traffic_class & 0xff);
  }
  v.setUint16(off + o.dlid, a.dlid & 0xffff, true);
  v.setUint8(off + o.sl, a.sl & 0xff);
  v.setUint8(off + o.src_path_bits, a.src_path_bits & 0xff);
  v.setUint8(off + o.static_rate, a.static_rate & 0xff);
  v.setUint8(off + o.is_global, a.grh ? 1 : 0);
  v.setUint8(off + o.port_num, a.port_num & 0xff);
}

export function decodeAh(b: NativeBlock, off: number): AhAttr {
  const v = b.view;
  const o = L.ahAttr;
  const global = v.getUint8(off + o.is_global) !== 0;
  return {
    grh: global
      ? {
          dgid: gidText(b.bytes(off + o.grh + L.grh.dgid, 16)),
          flow_label: v.getUint32(off + o.grh + L.grh.flow_label, true),
          sgid_index: v.getUint8(off + o.grh + L.grh.sgid_index),
          hop_limit: v.getUint8(off + o.grh + L.grh.hop_limit),
          traffic_class: v.getUint8(off + o.grh + L.grh.traffic_class),
        }
      : null,
    dlid: v.getUint16(off + o.dlid, true),
    sl: v.getUint8(off + o.sl),
    src_path_bits: v.getUint8(off + o.src_path_bits),
    static_rate: v.getUint8(off + o.static_rate),
    port_num: v.getUint8(off + o.port_num),
  };
}

/** enum ibv_qp_attr_mask bits, by the field they cover. */
const M = {
  STATE: 1 << 0, CUR_STATE: 1 << 1, EN_SQD_ASYNC_NOTIFY: 1 << 2, ACCESS_FLAGS: 1 << 3, PKEY_INDEX: 1 << 4,
  PORT: 1 << 5, QKEY: 1 << 6, AV: 1 << 7, PATH_MTU: 1 << 8, TIMEOUT: 1 << 9, RETRY_CNT: 1 << 10,
  RNR_RETRY: 1 << 11, RQ_PSN: 1 << 12, MAX_QP_RD_ATOMIC: 1 << 13, ALT_PATH: 1 << 14, MIN_RNR_TIMER: 1 << 15,
  SQ_PSN: 1 << 16, MAX_DEST_RD_ATOMIC: 1 << 17, PATH_MIG_STATE: 1 << 18, CAP: 1 << 19, DEST_QPN: 1 << 20,
  RATE_LIMIT: 1 << 25,
} as const;

function stateValue(s: unknown, call: string): number {
  const v = typeof s === 'string' ? QP_STATE_VALUES[s as QpState] : undefined;
  if (v === undefined) throw new VerbsError(call, Errno.EINVAL, `${call}: bad QP state ${JSON.stringify(s)}`);
  return v;
}

/** Writes the fields of `a` that `mask` selects into a zeroed struct ibv_qp_attr. */
export function encodeQpAttr(b: NativeBlock, a: Partial<QpAttr>, mask: number, call: string): void {
  const v = b.view;
  const o = L.qpAttr;
  const u8 = (off: number, x: number | undefined): void => v.setUint8(off, (x ?? 0) & 0xff);
  const u16 = (off: number, x: number | undefined): void => v.setUint16(off, (x ?? 0) & 0xffff, true);
  const u32 = (off: number, x: number | undefined): void => v.setUint32(off, (x ?? 0) >>> 0, true);
  if (mask & M.STATE) u32(o.qp_state, stateValue(a.qp_state, call));
  if (mask & M.CUR_STATE) u32(o.cur_qp_state, stateValue(a.cur_qp_state, call));
  if (mask & M.EN_SQD_ASYNC_NOTIFY) u8(o.en_sqd_async_notify, a.en_sqd_async_notify);
  if (mask & M.ACCESS_FLAGS) u32(o.qp_access_flags, a.qp_access_flags);
  if (mask & M.PKEY_INDEX) u16(o.pkey_index, a.pkey_index);
  if (mask & M.PORT) u8(o.port_num, a.port_num);
  if (mask & M.QKEY) u32(o.qkey, a.qkey);
  if (mask & M.AV) {
    if (!a.ah_attr) throw new VerbsError(call, Errno.EINVAL, `${call}: AV set in the mask without ah_attr`);
    encodeAh(b, o.ah_attr, a.ah_attr, call);
  }
  if (mask & M.PATH_MTU) u32(o.path_mtu, a.path_mtu);
  if (mask & M.TIMEOUT) u8(o.timeout, a.timeout);
  if (mask & M.RETRY_CNT) u8(o.retry_cnt, a.retry_cnt);
  if (mask & M.RNR_RETRY) u8(o.rnr_retry, a.rnr_retry);
  if (mask & M.RQ_PSN) u32(o.rq_psn, a.rq_psn);
  if (mask & M.MAX_QP_RD_ATOMIC) u8(o.max_rd_atomic, a.max_rd_atomic);
  if (mask & M.ALT_PATH) {
    if (!a.alt_ah_attr) throw new VerbsError(call, Errno.EINVAL, `${call}: ALT_PATH set in the mask without alt_ah_attr`);
    encodeAh(b, o.alt_ah_attr, a.alt_ah_attr, call);
    u16(o.alt_pkey_index, a.alt_pkey_index);
    u8(o.alt_port_num, a.alt_port_num);
    u8(o.alt_timeout, a.alt_timeout);
  }
  if (mask & M.MIN_RNR_TIMER) u8(o.min_rnr_timer, a.min_rnr_timer);
  if (mask & M.SQ_PSN) u32(o.sq_psn, a.sq_psn);
  if (mask & M.MAX_DEST_RD_ATOMIC) u8(o.max_dest_rd_atomic, a.max_dest_rd_atomic);
  if (mask & M.PATH_MIG_STATE) u32(o.path_mig_state, a.path_mig_state);
  if (mask & M.CAP && a.cap) encodeCap(v, o.cap, a.cap);
  if (mask & M.DEST_QPN) u32(o.dest_qp_num, a.dest_qp_num);
  if (mask & M.RATE_LIMIT) u32(o.rate_limit, a.rate_limit);
}

export function decodeQpAttr(b: NativeBlock): QpAttr {
  const v = b.view;
  const o = L.qpAttr;
  return {
    qp_state: qpStateName(v.getUint32(o.qp_state, true)),
    cur_qp_state: qpStateName(v.getUint32(o.cur_qp_state, true)),
    path_mtu: v.getUint32(o.path_mtu, true) as Mtu,
    path_mig_state: v.getUint32(o.path_mig_state, true),
    qkey: v.getUint32(o.qkey, true),
    rq_psn: v.getUint32(o.rq_psn, true),
    sq_psn: v.getUint32(o.sq_psn, true),
    dest_qp_num: v.getUint32(o.dest_qp_num, true),
    qp_access_flags: v.getUint32(o.qp_access_flags, true),
    cap: decodeCap(v, o.cap),
    ah_attr: decodeAh(b, o.ah_attr),
    alt_ah_attr: decodeAh(b, o.alt_ah_attr),
    pkey_index: v.getUint16(o.pkey_index, true),
    alt_pkey_index: v.getUint16(o.alt_pkey_index, true),
    en_sqd_async_notify: v.getUint8(o.en_sqd_async_notify),
    sq_draining: v.getUint8(o.sq_draining),
    max_rd_atomic: v.getUint8(o.max_rd_atomic),
    max_dest_rd_atomic: v.getUint8(o.max_dest_rd_atomic),
    min_rnr_timer: v.getUint8(o.min_rnr_timer),
    port_num: v.getUint8(o.port_num),
    timeout: v.getUint8(o.timeout),
    retry_cnt: v.getUint8(o.retry_cnt),
    rnr_retry: v.getUint8(o.rnr_retry),
    alt_port_num: v.getUint8(o.alt_port_num),
    alt_timeout: v.getUint8(o.alt_timeout),
    rate_limit: v.getUint32(o.rate_limit, true),
  };
}

// ------------------------------------------------------------------ WR lists

/** The chain fields shared by struct ibv_send_wr and struct ibv_recv_wr. */
interface WrChainLayout {
  $size: number;
  wr_id: number;
  next: number;
  sg_list: number;
  num_sge: number;
}

/** Where a posted WR list lies in one block: the WRs back to back, then all their SGEs, then the 8-byte bad_wr out-pointer. */
export interface WrListPlace {
  sgeBase: number;
  badOff: number;
  /** Bytes the block needs. */
  size: number;
}

export function wrListPlace(W: WrChainLayout, wrs: readonly { sg_list: readonly Sge[] }[]): WrListPlace {
  let sges = 0;
  for (const wr of wrs) sges += wr.sg_list.length;
  const sgeBase = wrs.length * W.$size;
  const badOff = sgeBase + sges * L.sge.$size;
  return { sgeBase, badOff, size: badOff + 8 };
}

/**
 * Encodes a WR list as the chain libibverbs walks: each WR's wr_id, `next`
 * (the following WR, NULL after the last), sg_list and num_sge, and its SGEs
 * at `place.sgeBase`; `fill` writes each WR's own fields (it may throw to
 * refuse a WR). The block must be zeroed and `place.size` long.
 */
export function encodeWrList<T extends { wr_id: bigint; sg_list: readonly Sge[] }>(
  b: NativeBlock, W: WrChainLayout, place: WrListPlace, wrs: readonly T[],
  fill: (v: DataView, off: number, wr: T, i: number) => void = () => {},
): void {
  const v = b.view;
  let s = 0;
  for (let i = 0; i < wrs.length; i++) {
    const wr = wrs[i] as T;
    const off = i * W.$size;
    fill(v, off, wr, i);
    v.setBigUint64(off + W.wr_id, BigInt.asUintN(64, wr.wr_id), true);
    v.setBigUint64(off + W.next, i + 1 < wrs.length ? b.at((i + 1) * W.$size) : 0n, true);
    v.setBigUint64(off + W.sg_list, wr.sg_list.length ? b.at(place.sgeBase + s * L.sge.$size) : 0n, true);
    v.setInt32(off + W.num_sge, wr.sg_list.length, true);
    for (const sge of wr.sg_list) {
      const so = place.sgeBase + s++ * L.sge.$size;
      v.setBigUint64(so + L.sge.addr, BigInt.asUintN(64, sge.addr), true);
      v.setUint32(so + L.sge.length, sge.length >>> 0, true);
      v.setUint32(so + L.sge.lkey, sge.lkey >>> 0, true);
    }
  }
}

// ------------------------------------------------------------------ wc

/**
 * How a provider numbers `ibv_wc.wc_flags`. Most write libibverbs' `enum
 * ibv_wc_flags` (the broker's {@link WC_FLAGS}). rxe's CQ ring holds the
 * kernel's `struct ib_uverbs_wc`, which its provider's poll_cq copies out as
 * is, so its bits are the kernel's `enum ib_wc_flags`, where bit 2 is
 * WITH_INVALIDATE (libibverbs' IP_CSUM_OK) and bit 3 IP_CSUM_OK (libibverbs'
 * WITH_INV): on rxe0 a SEND_WITH_INV receive completes with wc_flags 5 (GRH,
 * WITH_INVALIDATE). The rdmavt providers (hfi1, qib) copy ring entries that
 * the kernel fills the same way.
 */
export type WcFlagsAbi = 'libibverbs' | 'kernel';

/**
 * Providers (as the backend names them: index.ts's providerOf, by the
 * kernel's driver id, or by the PCI driver where netlink cannot say, which
 * names qib `ib_qib`) whose CQ entries are the kernel's.
 */
const KERNEL_WC_PROVIDERS: ReadonlySet<string> = new Set(['rxe', 'hfi1', 'qib', 'ib_qib']);

/** The numbering of `wc_flags` of a provider. */
export function wcFlagsAbi(provider: string): WcFlagsAbi {
  return KERNEL_WC_PROVIDERS.has(provider) ? 'kernel' : 'libibverbs';
}

/** Each ABI's named bits. The kernel's bits 4..6 (WITH_SMAC, WITH_VLAN, WITH_NETWORK_HDR_TYPE) never reach userspace here and have no libibverbs name. */
const WC_FLAG_BITS: Record<WcFlagsAbi, readonly (readonly [number, WcFlagName])[]> = {
  libibverbs: Object.entries(WC_FLAGS).map(([name, bit]) => [bit, name as WcFlagName] as const),
  kernel: [[1, 'GRH'], [2, 'WITH_IMM'], [4, 'WITH_INV'], [8, 'IP_CSUM_OK']],
};
/** Every named bit of both ABIs lies in the low 7. */
const WC_FLAG_SPAN = 0x7f;

/**
 * A provider's wc_flags to the broker's, by name: a table indexed by the
 * provider's low 7 bits (a completion's flags cost one lookup). Bits without
 * a name are dropped.
 */
export function wcFlagsTable(abi: WcFlagsAbi): Uint8Array {
  const t = new Uint8Array(WC_FLAG_SPAN + 1);
  for (let raw = 0; raw <= WC_FLAG_SPAN; raw++) {
    for (const [bit, name] of WC_FLAG_BITS[abi]) if (raw & bit) t[raw]! |= WC_FLAGS[name];
  }
  return t;
}

/** struct ibv_wc at `off`, its flags mapped through `flagsTable` ({@link wcFlagsTable} of the provider's ABI). */
export function decodeWc(v: DataView, off: number, flagsTable: Uint8Array): Wc {
  const o = L.wc;
  const flags = flagsTable[v.getUint32(off + o.wc_flags, true) & WC_FLAG_SPAN]!;
  const status = v.getUint32(off + o.status, true);
  // imm_data is __be32; the invalidated rkey shares its place, in host order (providers store it as a plain u32).
  const imm = flags & WC_FLAGS.WITH_IMM ? v.getUint32(off + o.imm_data, false) : flags & WC_FLAGS.WITH_INV ? v.getUint32(off + o.imm_data, true) : 0;
  return {
    wr_id: v.getBigUint64(off + o.wr_id, true),
    status: (WC_STATUS_NAMES[status] ?? 'GENERAL_ERR') as WcStatus,
    // The opcode is only defined for successful completions; flushed ones keep whatever the provider wrote.
    opcode: WC_OPCODE_NAMES.get(v.getUint32(off + o.opcode, true)) ?? 'SEND',
    vendor_err: v.getUint32(off + o.vendor_err, true),
    byte_len: v.getUint32(off + o.byte_len, true),
    imm_data: imm,
    qp_num: v.getUint32(off + o.qp_num, true),
    src_qp: v.getUint32(off + o.src_qp, true),
    wc_flags: flags,
    pkey_index: v.getUint16(off + o.pkey_index, true),
    slid: v.getUint16(off + o.slid, true),
    sl: v.getUint8(off + o.sl),
    dlid_path_bits: v.getUint8(off + o.dlid_path_bits),
  };
}

// ------------------------------------------------------------------ flow

const FLOW_TYPES = { NORMAL: 0, ALL_DEFAULT: 1, MC_DEFAULT: 2, SNIFFER: 3 } as const;

function macBytes(s: string, call: string): Buffer {
  const m = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/i.exec(s.trim());
  if (!m) throw new VerbsError(call, Errno.EINVAL, `${call}: bad MAC ${JSON.stringify(s)}`);
  return Buffer.from(m.slice(1).join(''), 'hex');
}

function ipv4Bytes(s: string, call: string): Buffer {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new VerbsError(call, Errno.EINVAL, `${call}: bad IPv4 address ${JSON.stringify(s)}`);
  }
  return Buffer.from(p);
}

/** The size of the encoded struct ibv_flow_attr plus its specs. */
export function flowSize(a: FlowAttr): number {
  let n = L.flowAttr.$size;
  for (const s of a.specs) {
    n += s.type === 'ETH' ? L.specEth.$size : s.type === 'IPV4' ? L.specIpv4.$size : s.type === 'IPV6' ? L.specIpv6.$size : L.specTcpUdp.$size;
  }
  return n;
}

/** A matched field: its value, and all ones at the same place in the spec's mask half (`half` bytes on). */
function matchBytes(b: NativeBlock, at: number, half: number, value: Uint8Array): void {
  b.bytes(at, value.length).set(value);
  b.bytes(at + half, value.length).fill(0xff);
}

/** A matched 16-bit field in network order (ether type, VLAN tag, ports). */
function matchU16(v: DataView, at: number, half: number, value: number): void {
  v.setUint16(at, value, false);
  v.setUint16(at + half, 0xffff, false);
}

/** Encodes struct ibv_flow_attr followed by its specs; every given field is matched exactly (mask all ones). */
export function encodeFlow(b: NativeBlock, a: FlowAttr, call: string): void {
  const v = b.view;
  const fa = L.flowAttr;
  const size = flowSize(a);
  const type = FLOW_TYPES[a.type];
  if (type === undefined || a.specs.length > 255) throw new VerbsError(call, Errno.EINVAL, `${call}: bad flow attr`);
  v.setUint32(fa.type, type, true);
  v.setUint16(fa.size, size, true);
  v.setUint16(fa.priority, a.priority & 0xffff, true);
  v.setUint8(fa.num_of_specs, a.specs.length);
  v.setUint8(fa.port, a.port & 0xff);
  v.setUint32(fa.flags, a.flags >>> 0, true);
  let off = fa.$size;
  for (const s of a.specs) {
    switch (s.type) {
      case 'ETH': {
        const o = L.specEth;
        const half = o.mask - o['val.dst_mac'];
        v.setUint32(off + o.type, FLOW_SPEC.ETH, true);
        v.setUint16(off + o.size, o.$size, true);
        matchBytes(b, off + o['val.dst_mac'], half, macBytes(s.dst_mac, call));
        if (s.ether_type !== undefined) matchU16(v, off + o['val.ether_type'], half, s.ether_type);
        if (s.vlan_tag !== undefined) matchU16(v, off + o['val.vlan_tag'], half, s.vlan_tag);
        off += o.$size;
        break;
      }
      case 'IPV4':
      case 'IPV6': {
        const [o, spec, addr] = s.type === 'IPV4' ? [L.specIpv4, FLOW_SPEC.IPV4, ipv4Bytes] : [L.specIpv6, FLOW_SPEC.IPV6, gidBytes];
        const half = o.mask - o['val.src_ip'];
        v.setUint32(off + o.type, spec, true);
        v.setUint16(off + o.size, o.$size, true);
        if (s.src_ip) matchBytes(b, off + o['val.src_ip'], half, addr(s.src_ip, call));
        if (s.dst_ip) matchBytes(b, off + o['val.dst_ip'], half, addr(s.dst_ip, call));
        off += o.$size;
        break;
      }
      default: {
        const o = L.specTcpUdp;
        const half = o.mask - o['val.dst_port'];
        v.setUint32(off + o.type, s.type === 'TCP' ? FLOW_SPEC.TCP : FLOW_SPEC.UDP, true);
        v.setUint16(off + o.size, o.$size, true);
        if (s.dst_port !== undefined) matchU16(v, off + o['val.dst_port'], half, s.dst_port);
        if (s.src_port !== undefined) matchU16(v, off + o['val.src_port'], half, s.src_port);
        off += o.$size;
        break;
      }
    }
  }
}
