/**
 * The verbs ABI as the backends and the core share it: libibverbs' enums
 * (with their C values), its attribute structs (with libibverbs' own field
 * names, so wire attribute names, the tables and the C structs line up one to
 * one), and the opaque references to backend objects. The interface that takes
 * them is in backend.ts.
 */

// ------------------------------------------------------------------ enums

export type QpType = 'RC' | 'UC' | 'UD' | 'RAW_PACKET' | 'XRC_SEND' | 'XRC_RECV';
export const QP_TYPE_VALUES: Record<QpType, number> = {
  RC: 2, UC: 3, UD: 4, RAW_PACKET: 8, XRC_SEND: 9, XRC_RECV: 10,
};

export type QpState = 'RESET' | 'INIT' | 'RTR' | 'RTS' | 'SQD' | 'SQE' | 'ERR';
export const QP_STATE_VALUES: Record<QpState, number> = {
  RESET: 0, INIT: 1, RTR: 2, RTS: 3, SQD: 4, SQE: 5, ERR: 6,
};

/** enum ibv_access_flags */
export const Access = {
  LOCAL_WRITE: 1,
  REMOTE_WRITE: 2,
  REMOTE_READ: 4,
  REMOTE_ATOMIC: 8,
  MW_BIND: 16,
  ZERO_BASED: 32,
  ON_DEMAND: 64,
  HUGETLB: 128,
  RELAXED_ORDERING: 1 << 20,
} as const;

/** enum ibv_qp_attr_mask */
export const QpAttrMask = {
  STATE: 1 << 0,
  CUR_STATE: 1 << 1,
  EN_SQD_ASYNC_NOTIFY: 1 << 2,
  ACCESS_FLAGS: 1 << 3,
  PKEY_INDEX: 1 << 4,
  PORT: 1 << 5,
  QKEY: 1 << 6,
  AV: 1 << 7,
  PATH_MTU: 1 << 8,
  TIMEOUT: 1 << 9,
  RETRY_CNT: 1 << 10,
  RNR_RETRY: 1 << 11,
  RQ_PSN: 1 << 12,
  MAX_QP_RD_ATOMIC: 1 << 13,
  ALT_PATH: 1 << 14,
  MIN_RNR_TIMER: 1 << 15,
  SQ_PSN: 1 << 16,
  MAX_DEST_RD_ATOMIC: 1 << 17,
  PATH_MIG_STATE: 1 << 18,
  CAP: 1 << 19,
  DEST_QPN: 1 << 20,
  RATE_LIMIT: 1 << 25,
} as const;

export type WrOpcode =
  | 'RDMA_WRITE' | 'RDMA_WRITE_WITH_IMM' | 'SEND' | 'SEND_WITH_IMM' | 'RDMA_READ'
  | 'ATOMIC_CMP_AND_SWP' | 'ATOMIC_FETCH_AND_ADD' | 'LOCAL_INV' | 'BIND_MW' | 'SEND_WITH_INV';
export const WR_OPCODE_VALUES: Record<WrOpcode, number> = {
  RDMA_WRITE: 0, RDMA_WRITE_WITH_IMM: 1, SEND: 2, SEND_WITH_IMM: 3, RDMA_READ: 4,
  ATOMIC_CMP_AND_SWP: 5, ATOMIC_FETCH_AND_ADD: 6, LOCAL_INV: 7, BIND_MW: 8, SEND_WITH_INV: 9,
};

/** enum ibv_send_flags */
export const SendFlags = { FENCE: 1, SIGNALED: 2, SOLICITED: 4, INLINE: 8, IP_CSUM: 16 } as const;

// The work completion and its enums are shared with the fast lane's client (src/wire/wc.ts).
export { WC_FLAGS, WC_OPCODE_VALUES, WC_STATUS_NAMES, type Wc, type WcFlagName, type WcOpcode, type WcStatus } from '../wire/wc.js';

/** enum ibv_event_type, by value. */
export const ASYNC_EVENT_NAMES = [
  'CQ_ERR', 'QP_FATAL', 'QP_REQ_ERR', 'QP_ACCESS_ERR', 'COMM_EST', 'SQ_DRAINED', 'PATH_MIG',
  'PATH_MIG_ERR', 'DEVICE_FATAL', 'PORT_ACTIVE', 'PORT_ERR', 'LID_CHANGE', 'PKEY_CHANGE',
  'SM_CHANGE', 'SRQ_ERR', 'SRQ_LIMIT_REACHED', 'QP_LAST_WQE_REACHED', 'CLIENT_REREGISTER',
  'GID_CHANGE', 'WQ_FATAL',
] as const;
export type AsyncEventType = (typeof ASYNC_EVENT_NAMES)[number];

export type PortState = 'NOP' | 'DOWN' | 'INIT' | 'ARMED' | 'ACTIVE' | 'ACTIVE_DEFER';
export type LinkLayer = 'UNSPECIFIED' | 'InfiniBand' | 'Ethernet';

/** IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5 */
export type Mtu = 1 | 2 | 3 | 4 | 5;
export function mtuBytes(mtu: number): number {
  return 128 << mtu;
}

// ------------------------------------------------------------ device data

export interface DeviceListing {
  name: string;
  /** Hex, as ibv_devinfo prints it: "0011:22ff:fe33:4455". */
  node_guid: string;
  provider: string;
  transport: 'InfiniBand' | 'iWARP' | 'unknown';
}

/** struct ibv_device_attr, plus the firmware string. */
export interface DeviceAttr {
  fw_ver: string;
  node_guid: string;
  sys_image_guid: string;
  max_mr_size: bigint;
  /** ibv_device_attr_ex.max_dm_size: the most device memory one ibv_alloc_dm may ask for (0: no device memory). */
  max_dm_size: bigint;
  page_size_cap: bigint;
  vendor_id: number;
  vendor_part_id: number;
  hw_ver: number;
  max_qp: number;
  max_qp_wr: number;
  device_cap_flags: number;
  max_sge: number;
  max_sge_rd: number;
  max_cq: number;
  max_cqe: number;
  max_mr: number;
  max_pd: number;
  max_qp_rd_atom: number;
  max_ee_rd_atom: number;
  max_res_rd_atom: number;
  max_qp_init_rd_atom: number;
  max_ee_init_rd_atom: number;
  atomic_cap: number;
  max_ee: number;
  max_rdd: number;
  max_mw: number;
  max_raw_ipv6_qp: number;
  max_raw_ethy_qp: number;
  max_mcast_grp: number;
  max_mcast_qp_attach: number;
  max_total_mcast_qp_attach: number;
  max_ah: number;
  max_fmr: number;
  max_map_per_fmr: number;
  max_srq: number;
  max_srq_wr: number;
  max_srq_sge: number;
  max_pkeys: number;
  local_ca_ack_delay: number;
  phys_port_cnt: number;
}

/** struct ibv_port_attr */
export interface PortAttr {
  state: PortState;
  max_mtu: Mtu;
  active_mtu: Mtu;
  gid_tbl_len: number;
  port_cap_flags: number;
  max_msg_sz: number;
  bad_pkey_cntr: number;
  qkey_viol_cntr: number;
  pkey_tbl_len: number;
  lid: number;
  sm_lid: number;
  lmc: number;
  max_vl_num: number;
  sm_sl: number;
  subnet_timeout: number;
  init_type_reply: number;
  active_width: number;
  active_speed: number;
  phys_state: number;
  link_layer: LinkLayer;
}

export interface GidEntry {
  index: number;
  /** "fe80:0000:0000:0000:0211:22ff:fe33:4455" (8 groups of 4 hex digits). */
  gid: string;
  type: 'IB' | 'RoCE v1' | 'RoCE v2';
  netdev: string;
}


// ---------------------------------------------------------- object inputs

/** How an MR gets its memory. */
export type MemorySource =
  /** The daemon allocates a shared memory block (a memfd it maps). */
  | { kind: 'alloc'; length: number }
  /** Pages of a memfd the client handed in. The backend dups nothing: the caller keeps the fd. */
  | { kind: 'memfd'; fd: number; offset: number; length: number }
  /** A dma-buf fd, where the device supports it. */
  | { kind: 'dmabuf'; fd: number; offset: number; length: number; iova: bigint };

/** struct ibv_alloc_dm_attr */
export interface AllocDmAttr {
  length: number;
  /** log2 of the alignment the caller needs. */
  log_align_req: number;
  /** No bits are defined: anything but 0 answers EINVAL. */
  comp_mask: number;
}

export interface SrqInitAttr {
  max_wr: number;
  max_sge: number;
  srq_limit: number;
  /** An XRC SRQ (ibv_create_srq_ex, IBV_SRQT_XRC): needs `xrcd` and `cq`. Default BASIC. */
  srq_type?: 'BASIC' | 'XRC';
  xrcd?: XrcdRef | null;
  cq?: CqRef | null;
}

/** struct ibv_srq_attr; enum ibv_srq_attr_mask: MAX_WR = 1, LIMIT = 2 */
export interface SrqAttr {
  max_wr: number;
  max_sge: number;
  srq_limit: number;
}
export const SrqAttrMask = { MAX_WR: 1, LIMIT: 2 } as const;

export interface QpCap {
  max_send_wr: number;
  max_recv_wr: number;
  max_send_sge: number;
  max_recv_sge: number;
  max_inline_data: number;
}

export interface QpInitAttr {
  qp_type: QpType;
  send_cq: CqRef;
  recv_cq: CqRef;
  srq: SrqRef | null;
  cap: QpCap;
  sq_sig_all: boolean;
  /**
   * XRC_RECV QPs only: their XRC domain (ibv_create_qp_ex). XRC QPs and XRC
   * SRQs exist only where XRC domains do: where `xrcd.create` is unsupported,
   * creating them answers EOPNOTSUPP.
   */
  xrcd?: XrcdRef | null;
}

export interface GlobalRoute {
  /** 8 groups of 4 hex digits, or "::"-compressed IPv6 notation. */
  dgid: string;
  flow_label: number;
  sgid_index: number;
  hop_limit: number;
  traffic_class: number;
}

/** struct ibv_ah_attr */
export interface AhAttr {
  grh: GlobalRoute | null;
  dlid: number;
  sl: number;
  src_path_bits: number;
  static_rate: number;
  port_num: number;
}

/** struct ibv_qp_attr: each field only meaningful when its mask bit is set. */
export interface QpAttr {
  qp_state: QpState;
  cur_qp_state: QpState;
  path_mtu: Mtu;
  path_mig_state: number;
  qkey: number;
  rq_psn: number;
  sq_psn: number;
  dest_qp_num: number;
  qp_access_flags: number;
  cap: QpCap;
  ah_attr: AhAttr;
  alt_ah_attr: AhAttr;
  pkey_index: number;
  alt_pkey_index: number;
  en_sqd_async_notify: number;
  sq_draining: number;
  max_rd_atomic: number;
  max_dest_rd_atomic: number;
  min_rnr_timer: number;
  port_num: number;
  timeout: number;
  retry_cnt: number;
  rnr_retry: number;
  alt_port_num: number;
  alt_timeout: number;
  rate_limit: number;
}

export interface Sge {
  addr: bigint;
  length: number;
  lkey: number;
}

export interface SendWr {
  wr_id: bigint;
  opcode: WrOpcode;
  send_flags: number;
  sg_list: Sge[];
  imm_data?: number;
  /** RDMA WRITE/READ, atomics */
  remote_addr?: bigint;
  rkey?: number;
  /** atomics */
  compare_add?: bigint;
  swap?: bigint;
  /** UD */
  ah?: AhRef;
  remote_qpn?: number;
  remote_qkey?: number;
  /** LOCAL_INV / SEND_WITH_INV */
  invalidate_rkey?: number;
  /** XRC_SEND: the target XRC SRQ's number */
  remote_srqn?: number;
  /** BIND_MW (a type 2 window, or a type 1 one bound through the SQ) */
  bind_mw?: SendWrBind;
}

/**
 * The bind_mw fields of ibv_send_wr. `rkey` is the window's new rkey: only
 * its low byte (the key) is taken (rxe accepts an unchanged key).
 * The MR is required (rxe reads its lkey even to unbind). A refused bind
 * completes with MW_BIND_ERR and moves the QP to ERR. The libibverbs backend
 * sets ibv_mw.rkey to the new rkey when posting, as libibverbs callers do, so
 * after a refused bind that window's rkey no longer matches the device's.
 */
export interface SendWrBind {
  mw: MwRef;
  rkey: number;
  mr: MrRef;
  addr: bigint;
  length: number;
  mw_access_flags: number;
}

export interface RecvWr {
  wr_id: bigint;
  sg_list: Sge[];
}

export interface MwBind {
  wr_id: bigint;
  send_flags: number;
  mr: MrRef;
  addr: bigint;
  length: number;
  mw_access_flags: number;
}


/** A flow steering rule (struct ibv_flow_attr with its specs). */
export interface FlowAttr {
  type: 'NORMAL' | 'ALL_DEFAULT' | 'MC_DEFAULT' | 'SNIFFER';
  priority: number;
  port: number;
  flags: number;
  specs: FlowSpec[];
}
export type FlowSpec =
  | { type: 'ETH'; dst_mac: string; ether_type?: number; vlan_tag?: number }
  | { type: 'IPV4'; src_ip?: string; dst_ip?: string }
  | { type: 'IPV6'; src_ip?: string; dst_ip?: string }
  | { type: 'TCP' | 'UDP'; src_port?: number; dst_port?: number };

// ------------------------------------------------------------ object refs
//
// Opaque references to backend objects. Each backend attaches its own state;
// the core only reads the documented fields.

export interface ObjectRef {
  /** The broker handle given at creation; events carry it back. */
  readonly tag: number;
}
export interface PdRef extends ObjectRef { readonly kind: 'pd' }
export interface MrRef extends ObjectRef {
  readonly kind: 'mr';
  readonly addr: bigint;
  readonly length: number;
  readonly lkey: number;
  readonly rkey: number;
  /** The MR's memory, as seen by the daemon (null for dma-buf). */
  readonly memory: MemoryView | null;
}
export interface MwRef extends ObjectRef { readonly kind: 'mw'; readonly type: 1 | 2; readonly rkey: number }
export interface ChannelRef extends ObjectRef { readonly kind: 'comp_channel' }
export interface CqRef extends ObjectRef { readonly kind: 'cq'; readonly cqe: number }
export interface SrqRef extends ObjectRef {
  readonly kind: 'srq';
  /** XRC SRQs: the number XRC_SEND work requests name (remote_srqn). */
  readonly srq_num?: number;
}
export interface QpRef extends ObjectRef { readonly kind: 'qp'; readonly qp_num: number; readonly qp_type: QpType }
export interface AhRef extends ObjectRef { readonly kind: 'ah' }
export interface XrcdRef extends ObjectRef { readonly kind: 'xrcd' }
export interface FlowRef extends ObjectRef { readonly kind: 'flow' }
/** Device memory (struct ibv_dm). */
export interface DmRef extends ObjectRef { readonly kind: 'dm'; readonly length: number }

/** Memory the daemon can read and write (an MR's pages). */
export interface MemoryView {
  readonly length: number;
  /** A memfd backing the pages, when there is one (daemon-owned; dup before passing). */
  readonly fd: number | null;
  /** The offset of the MR's first byte in `fd`. */
  readonly fdOffset: number;
  read(offset: number, length: number): Buffer;
  write(offset: number, data: Uint8Array): void;
}
