/**
 * The whole C boundary of the libibverbs backend: the library is loaded and
 * every function, function-pointer prototype and struct layout the backend
 * uses is declared here, typed, so no other module spells a C name.
 *
 * Facts this file encodes (rdma-core 44, x86_64; see DESIGN.md):
 * - Pointers are koffi 3 values: bigint addresses, NULL comes back as null.
 * - `ibv_post_send`, `ibv_post_recv`, `ibv_post_srq_recv`, `ibv_poll_cq`,
 *   `ibv_req_notify_cq`, `ibv_alloc_mw`, `ibv_bind_mw`, `ibv_dealloc_mw` are
 *   inline in verbs.h: they call `context->ops.*`. `ibv_open_xrcd`,
 *   `ibv_close_xrcd`, `ibv_create_flow`, `ibv_destroy_flow` are inline too and
 *   go through the `struct verbs_context` that precedes `struct ibv_context`.
 *   We read those pointers and call them the way libibverbs itself does.
 * - Struct layouts are in {@link LAYOUT}, keyed by C struct and member path,
 *   so a test can compile an offsetof program against the installed headers
 *   and compare every number (test/unit/verbs/ibverbs/layout.test.ts).
 * - Constructors return NULL and set errno (read it with {@link errno} in the
 *   same callback); other verbs return a positive errno.
 */
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';

/** A native address (koffi 3 passes pointers as bigint). */
export type Ptr = bigint;

/** The shared object, and the Debian packages that provide it and the device drivers. */
export const LIBRARY = 'libibverbs.so.1';
export const DEBIAN_PACKAGES = 'libibverbs1 and ibverbs-providers (Debian rdma-core)';

// ------------------------------------------------------------------ layouts

/**
 * Byte offsets (and `$size`) of every struct member the backend reads or
 * writes, for rdma-core 44 on x86_64 (LP64). Keys are the C struct names and
 * the member designators offsetof() accepts.
 */
export const LAYOUT = {
  ibv_device: { $size: 664, node_type: 16, transport_type: 20, name: 24 },
  ibv_context: {
    $size: 328, device: 0, ops: 8, cmd_fd: 264, async_fd: 268, num_comp_vectors: 272, abi_compat: 320,
    'ops.alloc_mw': 64, 'ops.bind_mw': 72, 'ops.dealloc_mw': 80, 'ops.poll_cq': 96, 'ops.req_notify_cq': 104,
    'ops.post_srq_recv': 168, 'ops.post_send': 208, 'ops.post_recv': 216,
  },
  verbs_context: {
    $size: 648, sz: 312, context: 320, open_xrcd: 288, close_xrcd: 296, ibv_create_flow: 240, ibv_destroy_flow: 224,
    create_qp_ex: 264, create_srq_ex: 280, get_srq_num: 272, query_device_ex: 216, reg_dm_mr: 56, alloc_dm: 64, free_dm: 72,
  },
  ibv_device_attr_ex: { $size: 400, orig_attr: 0, max_dm_size: 376 },
  ibv_alloc_dm_attr: { $size: 16, length: 0, log_align_req: 8, comp_mask: 12 },
  ibv_dm: { $size: 32, context: 0, memcpy_to_dm: 8, memcpy_from_dm: 16, comp_mask: 24, handle: 28 },
  ibv_device_attr: {
    $size: 232, fw_ver: 0, node_guid: 64, sys_image_guid: 72, max_mr_size: 80, page_size_cap: 88, vendor_id: 96,
    vendor_part_id: 100, hw_ver: 104, max_qp: 108, max_qp_wr: 112, device_cap_flags: 116, max_sge: 120,
    max_sge_rd: 124, max_cq: 128, max_cqe: 132, max_mr: 136, max_pd: 140, max_qp_rd_atom: 144, max_ee_rd_atom: 148,
    max_res_rd_atom: 152, max_qp_init_rd_atom: 156, max_ee_init_rd_atom: 160, atomic_cap: 164, max_ee: 168,
    max_rdd: 172, max_mw: 176, max_raw_ipv6_qp: 180, max_raw_ethy_qp: 184, max_mcast_grp: 188,
    max_mcast_qp_attach: 192, max_total_mcast_qp_attach: 196, max_ah: 200, max_fmr: 204, max_map_per_fmr: 208,
    max_srq: 212, max_srq_wr: 216, max_srq_sge: 220, max_pkeys: 224, local_ca_ack_delay: 226, phys_port_cnt: 227,
  },
  ibv_port_attr: {
    $size: 52, state: 0, max_mtu: 4, active_mtu: 8, gid_tbl_len: 12, port_cap_flags: 16, max_msg_sz: 20,
    bad_pkey_cntr: 24, qkey_viol_cntr: 28, pkey_tbl_len: 32, lid: 34, sm_lid: 36, lmc: 38, max_vl_num: 39,
    sm_sl: 40, subnet_timeout: 41, init_type_reply: 42, active_width: 43, active_speed: 44, phys_state: 45,
    link_layer: 46,
  },
  ibv_gid_entry: { $size: 32, gid: 0, gid_index: 16, port_num: 20, gid_type: 24, ndev_ifindex: 28 },
  ibv_pd: { context: 0, handle: 8 },
  ibv_mr: { context: 0, pd: 8, addr: 16, length: 24, handle: 32, lkey: 36, rkey: 40 },
  ibv_mw: { context: 0, pd: 8, rkey: 16, handle: 20, type: 24 },
  ibv_comp_channel: { context: 0, fd: 8, refcnt: 12 },
  ibv_cq: { context: 0, channel: 8, cq_context: 16, handle: 24, cqe: 28 },
  ibv_qp: { context: 0, qp_context: 8, pd: 16, send_cq: 24, recv_cq: 32, srq: 40, handle: 48, qp_num: 52, state: 56, qp_type: 60 },
  ibv_flow: { context: 8 },
  ibv_xrcd: { context: 0 },
  ibv_async_event: { $size: 16, element: 0, event_type: 8 },
  ibv_qp_cap: { $size: 20, max_send_wr: 0, max_recv_wr: 4, max_send_sge: 8, max_recv_sge: 12, max_inline_data: 16 },
  ibv_qp_init_attr: { $size: 64, qp_context: 0, send_cq: 8, recv_cq: 16, srq: 24, cap: 32, qp_type: 52, sq_sig_all: 56 },
  ibv_srq_attr: { $size: 12, max_wr: 0, max_sge: 4, srq_limit: 8 },
  ibv_srq_init_attr: { $size: 24, srq_context: 0, attr: 8 },
  ibv_srq_init_attr_ex: { $size: 64, srq_context: 0, attr: 8, comp_mask: 20, srq_type: 24, pd: 32, xrcd: 40, cq: 48 },
  ibv_qp_init_attr_ex: {
    $size: 136, qp_context: 0, send_cq: 8, recv_cq: 16, srq: 24, cap: 32, qp_type: 52, sq_sig_all: 56, comp_mask: 60, pd: 64,
    xrcd: 72,
  },
  ibv_xrcd_init_attr: { $size: 12, comp_mask: 0, fd: 4, oflags: 8 },
  ibv_global_route: { $size: 24, dgid: 0, flow_label: 16, sgid_index: 20, hop_limit: 21, traffic_class: 22 },
  ibv_ah_attr: { $size: 32, grh: 0, dlid: 24, sl: 26, src_path_bits: 27, static_rate: 28, is_global: 29, port_num: 30 },
  ibv_qp_attr: {
    $size: 144, qp_state: 0, cur_qp_state: 4, path_mtu: 8, path_mig_state: 12, qkey: 16, rq_psn: 20, sq_psn: 24,
    dest_qp_num: 28, qp_access_flags: 32, cap: 36, ah_attr: 56, alt_ah_attr: 88, pkey_index: 120,
    alt_pkey_index: 122, en_sqd_async_notify: 124, sq_draining: 125, max_rd_atomic: 126, max_dest_rd_atomic: 127,
    min_rnr_timer: 128, port_num: 129, timeout: 130, retry_cnt: 131, rnr_retry: 132, alt_port_num: 133,
    alt_timeout: 134, rate_limit: 136,
  },
  ibv_sge: { $size: 16, addr: 0, length: 8, lkey: 12 },
  ibv_send_wr: {
    $size: 128, wr_id: 0, next: 8, sg_list: 16, num_sge: 24, opcode: 28, send_flags: 32, imm_data: 36,
    invalidate_rkey: 36, 'wr.rdma.remote_addr': 40, 'wr.rdma.rkey': 48, 'wr.atomic.remote_addr': 40,
    'wr.atomic.compare_add': 48, 'wr.atomic.swap': 56, 'wr.atomic.rkey': 64, 'wr.ud.ah': 40,
    'wr.ud.remote_qpn': 48, 'wr.ud.remote_qkey': 52, 'qp_type.xrc.remote_srqn': 72, 'bind_mw.mw': 80,
    'bind_mw.rkey': 88, 'bind_mw.bind_info': 96, 'bind_mw.bind_info.mr': 96, 'bind_mw.bind_info.addr': 104,
    'bind_mw.bind_info.length': 112, 'bind_mw.bind_info.mw_access_flags': 120,
  },
  ibv_recv_wr: { $size: 32, wr_id: 0, next: 8, sg_list: 16, num_sge: 24 },
  ibv_wc: {
    $size: 48, wr_id: 0, status: 8, opcode: 12, vendor_err: 16, byte_len: 20, imm_data: 24, qp_num: 28, src_qp: 32,
    wc_flags: 36, pkey_index: 40, slid: 42, sl: 44, dlid_path_bits: 45,
  },
  ibv_mw_bind_info: { $size: 32, mr: 0, addr: 8, length: 16, mw_access_flags: 24 },
  ibv_mw_bind: { $size: 48, wr_id: 0, send_flags: 8, bind_info: 16 },
  ibv_flow_attr: { $size: 20, comp_mask: 0, type: 4, size: 8, priority: 10, num_of_specs: 12, port: 13, flags: 16 },
  ibv_flow_spec_eth: { $size: 40, type: 0, size: 4, 'val.dst_mac': 6, 'val.src_mac': 12, 'val.ether_type': 18, 'val.vlan_tag': 20, mask: 22 },
  ibv_flow_spec_ipv4: { $size: 24, type: 0, size: 4, 'val.src_ip': 8, 'val.dst_ip': 12, mask: 16 },
  ibv_flow_spec_ipv6: { $size: 88, type: 0, size: 4, 'val.src_ip': 8, 'val.dst_ip': 24, mask: 48 },
  ibv_flow_spec_tcp_udp: { $size: 16, type: 0, size: 4, 'val.dst_port': 6, 'val.src_port': 8, mask: 10 },
} as const satisfies Record<string, Record<string, number>>;

/** Short aliases used by the backend (same numbers). */
export const L = {
  device: LAYOUT.ibv_device,
  context: LAYOUT.ibv_context,
  vctx: LAYOUT.verbs_context,
  deviceAttr: LAYOUT.ibv_device_attr,
  deviceAttrEx: LAYOUT.ibv_device_attr_ex,
  allocDmAttr: LAYOUT.ibv_alloc_dm_attr,
  dm: LAYOUT.ibv_dm,
  portAttr: LAYOUT.ibv_port_attr,
  gidEntry: LAYOUT.ibv_gid_entry,
  pd: LAYOUT.ibv_pd,
  mr: LAYOUT.ibv_mr,
  mw: LAYOUT.ibv_mw,
  channel: LAYOUT.ibv_comp_channel,
  cq: LAYOUT.ibv_cq,
  qp: LAYOUT.ibv_qp,
  flow: LAYOUT.ibv_flow,
  xrcd: LAYOUT.ibv_xrcd,
  asyncEvent: LAYOUT.ibv_async_event,
  qpCap: LAYOUT.ibv_qp_cap,
  qpInit: LAYOUT.ibv_qp_init_attr,
  srqAttr: LAYOUT.ibv_srq_attr,
  srqInit: LAYOUT.ibv_srq_init_attr,
  srqInitEx: LAYOUT.ibv_srq_init_attr_ex,
  qpInitEx: LAYOUT.ibv_qp_init_attr_ex,
  xrcdInit: LAYOUT.ibv_xrcd_init_attr,
  grh: LAYOUT.ibv_global_route,
  ahAttr: LAYOUT.ibv_ah_attr,
  qpAttr: LAYOUT.ibv_qp_attr,
  sge: LAYOUT.ibv_sge,
  sendWr: LAYOUT.ibv_send_wr,
  recvWr: LAYOUT.ibv_recv_wr,
  wc: LAYOUT.ibv_wc,
  mwBindInfo: LAYOUT.ibv_mw_bind_info,
  mwBind: LAYOUT.ibv_mw_bind,
  flowAttr: LAYOUT.ibv_flow_attr,
  specEth: LAYOUT.ibv_flow_spec_eth,
  specIpv4: LAYOUT.ibv_flow_spec_ipv4,
  specIpv6: LAYOUT.ibv_flow_spec_ipv6,
  specTcpUdp: LAYOUT.ibv_flow_spec_tcp_udp,
} as const;

/** `ibv_context.abi_compat` of a context that has a `struct verbs_context` before it. */
export const VERBS_ABI_IS_EXTENDED = 0xffff_ffff_ffff_ffffn;
/** enum ibv_flow_spec_type */
export const FLOW_SPEC = { ETH: 0x20, IPV4: 0x30, IPV6: 0x31, TCP: 0x40, UDP: 0x41 } as const;
/** enum ibv_gid_type (verbs.h): IB, RoCE v1, RoCE v2 */
export const GID_TYPE_NAMES = ['IB', 'RoCE v1', 'RoCE v2'] as const;
/** enum ibv_transport_type: IBV_TRANSPORT_IB = 0, IBV_TRANSPORT_IWARP = 1 */
export const TRANSPORT_IB = 0;
export const TRANSPORT_IWARP = 1;

// -------------------------------------------------------- function types

type Async<A extends unknown[], R> = ((...a: A) => R) & {
  async: (...a: [...A, (err: unknown, res: R) => void]) => void;
};

/** The exported functions the backend calls. */
export interface IbvFunctions {
  get_device_list: Async<[num: Ptr], Ptr | null>;
  free_device_list: (list: Ptr) => void;
  get_device_name: (dev: Ptr) => string | null;
  get_device_guid: (dev: Ptr) => bigint;
  open_device: Async<[dev: Ptr], Ptr | null>;
  close_device: Async<[ctx: Ptr], number>;
  query_device: Async<[ctx: Ptr, attr: Ptr], number>;
  query_port: Async<[ctx: Ptr, port: number, attr: Ptr], number>;
  query_gid_table: Async<[ctx: Ptr, entries: Ptr, max: number, flags: number, entrySize: number], number | bigint>;
  alloc_pd: Async<[ctx: Ptr], Ptr | null>;
  dealloc_pd: Async<[pd: Ptr], number>;
  reg_mr_iova2: Async<[pd: Ptr, addr: Ptr, length: number, iova: bigint, access: number], Ptr | null>;
  reg_dmabuf_mr: Async<[pd: Ptr, offset: bigint, length: number, iova: bigint, fd: number, access: number], Ptr | null>;
  dereg_mr: Async<[mr: Ptr], number>;
  create_comp_channel: Async<[ctx: Ptr], Ptr | null>;
  destroy_comp_channel: Async<[ch: Ptr], number>;
  create_cq: Async<[ctx: Ptr, cqe: number, cqContext: Ptr | null, channel: Ptr | null, compVector: number], Ptr | null>;
  resize_cq: Async<[cq: Ptr, cqe: number], number>;
  destroy_cq: Async<[cq: Ptr], number>;
  get_cq_event: (channel: Ptr, cqOut: Ptr, ctxOut: Ptr) => number;
  ack_cq_events: (cq: Ptr, n: number) => void;
  create_srq: Async<[pd: Ptr, init: Ptr], Ptr | null>;
  modify_srq: Async<[srq: Ptr, attr: Ptr, mask: number], number>;
  query_srq: Async<[srq: Ptr, attr: Ptr], number>;
  destroy_srq: Async<[srq: Ptr], number>;
  create_qp: Async<[pd: Ptr, init: Ptr], Ptr | null>;
  modify_qp: Async<[qp: Ptr, attr: Ptr, mask: number], number>;
  query_qp: Async<[qp: Ptr, attr: Ptr, mask: number, init: Ptr], number>;
  destroy_qp: Async<[qp: Ptr], number>;
  attach_mcast: Async<[qp: Ptr, gid: Ptr, lid: number], number>;
  detach_mcast: Async<[qp: Ptr, gid: Ptr, lid: number], number>;
  create_ah: Async<[pd: Ptr, attr: Ptr], Ptr | null>;
  destroy_ah: Async<[ah: Ptr], number>;
  get_async_event: (ctx: Ptr, event: Ptr) => number;
  ack_async_event: (event: Ptr) => void;
  import_device: Async<[cmdFd: number], Ptr | null>;
}

/** Provider entry points reached through `context->ops` / `verbs_context` (inline verbs). */
export interface IbvOps {
  alloc_mw: Async<[pd: Ptr, type: number], Ptr | null>;
  dealloc_mw: Async<[mw: Ptr], number>;
  bind_mw: Async<[qp: Ptr, mw: Ptr, bind: Ptr], number>;
  poll_cq: (cq: Ptr, n: number, wc: Ptr) => number;
  req_notify_cq: (cq: Ptr, solicitedOnly: number) => number;
  post_send: (qp: Ptr, wr: Ptr, bad: Ptr) => number;
  post_recv: (qp: Ptr, wr: Ptr, bad: Ptr) => number;
  post_srq_recv: (srq: Ptr, wr: Ptr, bad: Ptr) => number;
  /** null when the provider has no such entry point (the inline verb answers EOPNOTSUPP). */
  open_xrcd: Async<[ctx: Ptr, attr: Ptr], Ptr | null> | null;
  close_xrcd: Async<[xrcd: Ptr], number> | null;
  create_flow: Async<[qp: Ptr, attr: Ptr], Ptr | null> | null;
  destroy_flow: Async<[flow: Ptr], number> | null;
  /** XRC QPs and SRQs (ibv_create_qp_ex / ibv_create_srq_ex / ibv_get_srq_num). */
  create_qp_ex: Async<[ctx: Ptr, attr: Ptr], Ptr | null> | null;
  create_srq_ex: Async<[ctx: Ptr, attr: Ptr], Ptr | null> | null;
  get_srq_num: Async<[srq: Ptr, num: Ptr], number> | null;
  /** ibv_query_device_ex (the inline verb falls back to ibv_query_device without it). */
  query_device_ex: Async<[ctx: Ptr, input: Ptr | null, attr: Ptr, size: number], number> | null;
  /** Device memory (ibv_alloc_dm / ibv_free_dm / ibv_reg_dm_mr); the copies are the DM's own ops ({@link Ibv.dmOps}). */
  alloc_dm: Async<[ctx: Ptr, attr: Ptr], Ptr | null> | null;
  free_dm: Async<[dm: Ptr], number> | null;
  reg_dm_mr: Async<[pd: Ptr, dm: Ptr, offset: bigint, length: number, access: number], Ptr | null> | null;
}

/** The copy ops a struct ibv_dm carries (ibv_memcpy_to_dm / ibv_memcpy_from_dm are inline calls of them). */
export interface IbvDmOps {
  memcpy_to_dm: Async<[dm: Ptr, offset: bigint, host: Ptr, length: number], number>;
  memcpy_from_dm: Async<[host: Ptr, dm: Ptr, offset: bigint, length: number], number>;
}

/** The loaded library. */
export interface Ibv {
  readonly fn: IbvFunctions;
  /** Resolves the provider entry points of an open context (once per context). */
  ops(ctx: Ptr): IbvOps;
  /** The copy ops of a struct ibv_dm the provider returned. */
  dmOps(dm: Ptr): IbvDmOps;
}

// ----------------------------------------------------------------- loading

const PROTOS = {
  alloc_mw: 'void *rdmab_alloc_mw_t(void *pd, int type)',
  dealloc_mw: 'int rdmab_dealloc_mw_t(void *mw)',
  bind_mw: 'int rdmab_bind_mw_t(void *qp, void *mw, void *bind)',
  poll_cq: 'int rdmab_poll_cq_t(void *cq, int n, void *wc)',
  req_notify_cq: 'int rdmab_req_notify_cq_t(void *cq, int solicited_only)',
  post_send: 'int rdmab_post_send_t(void *qp, void *wr, void *bad)',
  post_recv: 'int rdmab_post_recv_t(void *qp, void *wr, void *bad)',
  post_srq_recv: 'int rdmab_post_srq_recv_t(void *srq, void *wr, void *bad)',
  open_xrcd: 'void *rdmab_open_xrcd_t(void *ctx, void *attr)',
  close_xrcd: 'int rdmab_close_xrcd_t(void *xrcd)',
  create_flow: 'void *rdmab_create_flow_t(void *qp, void *attr)',
  destroy_flow: 'int rdmab_destroy_flow_t(void *flow)',
  create_qp_ex: 'void *rdmab_create_qp_ex_t(void *ctx, void *attr)',
  create_srq_ex: 'void *rdmab_create_srq_ex_t(void *ctx, void *attr)',
  get_srq_num: 'int rdmab_get_srq_num_t(void *srq, void *num)',
  query_device_ex: 'int rdmab_query_device_ex_t(void *ctx, void *input, void *attr, size_t size)',
  alloc_dm: 'void *rdmab_alloc_dm_t(void *ctx, void *attr)',
  free_dm: 'int rdmab_free_dm_t(void *dm)',
  reg_dm_mr: 'void *rdmab_reg_dm_mr_t(void *pd, void *dm, uint64_t offset, size_t length, unsigned int access)',
  memcpy_to_dm: 'int rdmab_memcpy_to_dm_t(void *dm, uint64_t offset, void *host, size_t length)',
  memcpy_from_dm: 'int rdmab_memcpy_from_dm_t(void *host, void *dm, uint64_t offset, size_t length)',
} as const;
type ProtoName = keyof typeof PROTOS;
let protos: Record<ProtoName, TypeObject> | null = null;

let loaded: Ibv | null = null;

/** Thrown when libibverbs.so.1 cannot be loaded. */
export class LibraryMissingError extends Error {
  constructor(cause: unknown) {
    super(
      `cannot load ${LIBRARY} (${cause instanceof Error ? cause.message : String(cause)}); ` +
        `install ${DEBIAN_PACKAGES}: apt-get install libibverbs1 ibverbs-providers`,
    );
    this.name = 'LibraryMissingError';
  }
}

/**
 * Loads libibverbs once; throws {@link LibraryMissingError} naming the Debian
 * packages when it is missing. `path` exists for tests of that error.
 */
export function loadIbverbs(path: string = LIBRARY): Ibv {
  if (loaded && path === LIBRARY) return loaded;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new LibraryMissingError(e);
  }
  const f = (decl: string): never => lib.func(decl) as never;
  const fn: IbvFunctions = {
    get_device_list: f('void *ibv_get_device_list(void *num)'),
    free_device_list: f('void ibv_free_device_list(void *list)'),
    get_device_name: f('const char *ibv_get_device_name(void *dev)'),
    get_device_guid: f('uint64_t ibv_get_device_guid(void *dev)'),
    open_device: f('void *ibv_open_device(void *dev)'),
    close_device: f('int ibv_close_device(void *ctx)'),
    query_device: f('int ibv_query_device(void *ctx, void *attr)'),
    query_port: f('int ibv_query_port(void *ctx, uint8_t port, void *attr)'),
    query_gid_table: f('intptr_t _ibv_query_gid_table(void *ctx, void *entries, size_t max, uint32_t flags, size_t entry_size)'),
    alloc_pd: f('void *ibv_alloc_pd(void *ctx)'),
    dealloc_pd: f('int ibv_dealloc_pd(void *pd)'),
    reg_mr_iova2: f('void *ibv_reg_mr_iova2(void *pd, void *addr, size_t length, uint64_t iova, unsigned int access)'),
    reg_dmabuf_mr: f('void *ibv_reg_dmabuf_mr(void *pd, uint64_t offset, size_t length, uint64_t iova, int fd, int access)'),
    dereg_mr: f('int ibv_dereg_mr(void *mr)'),
    create_comp_channel: f('void *ibv_create_comp_channel(void *ctx)'),
    destroy_comp_channel: f('int ibv_destroy_comp_channel(void *ch)'),
    create_cq: f('void *ibv_create_cq(void *ctx, int cqe, void *cq_context, void *channel, int comp_vector)'),
    resize_cq: f('int ibv_resize_cq(void *cq, int cqe)'),
    destroy_cq: f('int ibv_destroy_cq(void *cq)'),
    get_cq_event: f('int ibv_get_cq_event(void *channel, void *cq_out, void *ctx_out)'),
    ack_cq_events: f('void ibv_ack_cq_events(void *cq, unsigned int nevents)'),
    create_srq: f('void *ibv_create_srq(void *pd, void *init)'),
    modify_srq: f('int ibv_modify_srq(void *srq, void *attr, int mask)'),
    query_srq: f('int ibv_query_srq(void *srq, void *attr)'),
    destroy_srq: f('int ibv_destroy_srq(void *srq)'),
    create_qp: f('void *ibv_create_qp(void *pd, void *init)'),
    modify_qp: f('int ibv_modify_qp(void *qp, void *attr, int mask)'),
    query_qp: f('int ibv_query_qp(void *qp, void *attr, int mask, void *init)'),
    destroy_qp: f('int ibv_destroy_qp(void *qp)'),
    attach_mcast: f('int ibv_attach_mcast(void *qp, void *gid, uint16_t lid)'),
    detach_mcast: f('int ibv_detach_mcast(void *qp, void *gid, uint16_t lid)'),
    create_ah: f('void *ibv_create_ah(void *pd, void *attr)'),
    destroy_ah: f('int ibv_destroy_ah(void *ah)'),
    get_async_event: f('int ibv_get_async_event(void *ctx, void *event)'),
    ack_async_event: f('void ibv_ack_async_event(void *event)'),
    import_device: f('void *ibv_import_device(int cmd_fd)'),
  };
  if (!protos) {
    const p = {} as Record<ProtoName, TypeObject>;
    for (const k of Object.keys(PROTOS) as ProtoName[]) p[k] = koffi.proto(PROTOS[k]);
    protos = p;
  }
  const pr = protos;
  const decode = <T>(ptr: Ptr, name: ProtoName): T => koffi.decode(ptr, pr[name]) as T;
  const ibv: Ibv = {
    fn,
    ops(ctx: Ptr): IbvOps {
      const op = <T>(field: `ops.${ProtoName}`, name: ProtoName): T => {
        const p = readPtr(ctx, L.context[field as keyof typeof L.context] as number);
        if (p === 0n) return missingOp(name) as T;
        return decode<T>(p, name);
      };
      // verbs_get_ctx_op: only when the context is extended and the op lies inside vctx->sz.
      const vop = <T>(field: 'open_xrcd' | 'close_xrcd' | 'ibv_create_flow' | 'ibv_destroy_flow' | 'create_qp_ex' | 'create_srq_ex' | 'get_srq_num' | 'query_device_ex' | 'alloc_dm' | 'free_dm' | 'reg_dm_mr', name: ProtoName): T | null => {
        if (readU64(ctx, L.context.abi_compat) !== VERBS_ABI_IS_EXTENDED) return null;
        const base = ctx - BigInt(L.vctx.context);
        const sz = readU64(base, L.vctx.sz);
        if (sz < BigInt(L.vctx.$size - L.vctx[field])) return null;
        const p = readPtr(base, L.vctx[field]);
        return p === 0n ? null : decode<T>(p, name);
      };
      return {
        alloc_mw: op('ops.alloc_mw', 'alloc_mw'),
        dealloc_mw: op('ops.dealloc_mw', 'dealloc_mw'),
        bind_mw: op('ops.bind_mw', 'bind_mw'),
        poll_cq: op('ops.poll_cq', 'poll_cq'),
        req_notify_cq: op('ops.req_notify_cq', 'req_notify_cq'),
        post_send: op('ops.post_send', 'post_send'),
        post_recv: op('ops.post_recv', 'post_recv'),
        post_srq_recv: op('ops.post_srq_recv', 'post_srq_recv'),
        open_xrcd: vop('open_xrcd', 'open_xrcd'),
        close_xrcd: vop('close_xrcd', 'close_xrcd'),
        create_flow: vop('ibv_create_flow', 'create_flow'),
        destroy_flow: vop('ibv_destroy_flow', 'destroy_flow'),
        create_qp_ex: vop('create_qp_ex', 'create_qp_ex'),
        create_srq_ex: vop('create_srq_ex', 'create_srq_ex'),
        get_srq_num: vop('get_srq_num', 'get_srq_num'),
        query_device_ex: vop('query_device_ex', 'query_device_ex'),
        alloc_dm: vop('alloc_dm', 'alloc_dm'),
        free_dm: vop('free_dm', 'free_dm'),
        reg_dm_mr: vop('reg_dm_mr', 'reg_dm_mr'),
      };
    },
    dmOps(dm: Ptr): IbvDmOps {
      return {
        memcpy_to_dm: decode(readPtr(dm, L.dm.memcpy_to_dm), 'memcpy_to_dm'),
        memcpy_from_dm: decode(readPtr(dm, L.dm.memcpy_from_dm), 'memcpy_from_dm'),
      };
    },
  };
  if (path === LIBRARY) loaded = ibv;
  return ibv;
}

/** A NULL ops entry behaves like libibverbs' inline check: EOPNOTSUPP (errno for constructors). */
function missingOp(name: ProtoName): unknown {
  const EOPNOTSUPP = 95;
  const ctor = name === 'alloc_mw';
  const call = (): unknown => {
    if (ctor) {
      koffi.errno(EOPNOTSUPP);
      return null;
    }
    return EOPNOTSUPP;
  };
  const f = call as ((...a: unknown[]) => unknown) & { async: (...a: unknown[]) => void };
  f.async = (...a: unknown[]) => {
    const cb = a[a.length - 1] as (e: unknown, r: unknown) => void;
    setImmediate(() => cb(null, call()));
  };
  return f;
}

// ------------------------------------------------------------ raw memory

/** The errno of the last failed call on this thread (inside an async callback: the worker's). */
export function errno(): number {
  return koffi.errno();
}

export function readU8(p: Ptr, off: number): number {
  return koffi.decode(p, off, 'uint8_t') as number;
}
export function readU32(p: Ptr, off: number): number {
  return koffi.decode(p, off, 'uint32_t') as number;
}
export function readI32(p: Ptr, off: number): number {
  return koffi.decode(p, off, 'int32_t') as number;
}
export function readU64(p: Ptr, off: number): bigint {
  return BigInt(koffi.decode(p, off, 'uint64_t') as number | bigint);
}
export function writeU32(p: Ptr, off: number, value: number): void {
  koffi.encode(p, off, 'uint32_t', value >>> 0);
}
export function readPtr(p: Ptr, off: number): Ptr {
  return readU64(p, off);
}

/**
 * A block of native memory (calloc'd by koffi) with a DataView over it: the
 * structs handed to libibverbs live here, so their addresses can be written
 * into other structs (WR lists, SGE arrays) and stay put during async calls.
 */
export class NativeBlock {
  readonly ptr: Ptr;
  readonly view: DataView;
  private freed = false;

  constructor(readonly size: number) {
    this.ptr = koffi.alloc('uint8_t', Math.max(8, size)) as Ptr;
    this.view = new DataView(koffi.view(this.ptr, Math.max(8, size)));
    this.zero();
  }

  zero(from = 0, length = this.size - from): void {
    new Uint8Array(this.view.buffer, from, length).fill(0);
  }

  /** The address of byte `off`. */
  at(off: number): Ptr {
    return this.ptr + BigInt(off);
  }

  bytes(off: number, length: number): Uint8Array {
    return new Uint8Array(this.view.buffer, off, length);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi.free(this.ptr);
  }
}

/** Runs `fn` with a fresh zeroed block and frees it afterwards (also on throw / rejection). */
export async function withBlock<T>(size: number, fn: (b: NativeBlock) => Promise<T>): Promise<T> {
  const b = new NativeBlock(size);
  try {
    return await fn(b);
  } finally {
    b.free();
  }
}

/** Promisifies one koffi async call. */
export function callAsync<A extends unknown[], R>(f: Async<A, R>, ...args: A): Promise<{ res: R; errno: number }> {
  return new Promise((resolve, reject) => {
    f.async(...args, (err: unknown, res: R) => {
      // errno must be read in this callback, before anything else runs on the thread.
      const e = koffi.errno();
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ res, errno: e });
    });
  });
}
