/**
 * Device and port attributes of the simulated device, modelled on the
 * soft-RoCE driver's defaults (drivers/infiniband/sw/rxe/rxe_param.h, Linux
 * 6.x, where most pools are sized from DEFAULT_MAX_VALUE = 1 << 20). Only the
 * numbers are taken; tests may shrink any of them through
 * {@link SimDeviceOptions.limits}.
 */
import type { DeviceAttr, PortAttr } from '../abi.js';

const DEFAULT_MAX_VALUE = 1 << 20;
const MAX_MR_INDEX = DEFAULT_MAX_VALUE >> 1;

/** rxe's device_cap_flags (IB_DEVICE_*): bad p/q-key counters, auto path mig, change phy port,
 * UD AV port enforce, port active event, sys image guid, RC RNR NAK gen, SRQ resize,
 * mem mgt extensions, memory windows and type 2B windows. */
const RXE_DEVICE_CAP_FLAGS =
  (1 << 1) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 7) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) |
  (1 << 17) | (1 << 21) | (1 << 24);

/** The limits a test can override. */
export interface SimLimits {
  max_qp: number;
  max_qp_wr: number;
  max_sge: number;
  max_sge_rd: number;
  max_cq: number;
  max_cqe: number;
  max_mr: number;
  max_mr_size: bigint;
  /**
   * Device memory (ibv_alloc_dm): the most one allocation may ask for, and
   * also the size of the device's pool all contexts allocate from, like
   * mlx5's MEMIC region. rxe has none; the sim has some, so the dm verbs
   * can be exercised without hardware.
   */
  max_dm_size: number;
  max_pd: number;
  max_qp_rd_atom: number;
  max_qp_init_rd_atom: number;
  max_res_rd_atom: number;
  max_srq: number;
  max_srq_wr: number;
  max_srq_sge: number;
  max_ah: number;
  max_mw: number;
  max_mcast_grp: number;
  max_mcast_qp_attach: number;
  max_total_mcast_qp_attach: number;
  max_pkeys: number;
  /** Largest inline payload a send WR may carry. */
  max_inline_data: number;
  /** Completion vectors (rxe: one per possible CPU). */
  num_comp_vectors: number;
  /** IBV_MTU_* of the port: rxe on a 1500-byte netdev runs at 1024. */
  active_mtu: 1 | 2 | 3 | 4 | 5;
  /** Entries in the port's pkey table (rxe: 1, the default pkey). */
  pkey_tbl_len: number;
}

export const RXE_LIMITS: Readonly<SimLimits> = {
  max_qp: DEFAULT_MAX_VALUE - 16,
  max_qp_wr: DEFAULT_MAX_VALUE,
  max_sge: 32,
  max_sge_rd: 32,
  max_cq: DEFAULT_MAX_VALUE,
  max_cqe: (1 << 15) - 1,
  max_mr: MAX_MR_INDEX - 1,
  max_mr_size: 0xffff_ffff_ffff_ffffn,
  max_dm_size: 128 << 10,
  max_pd: DEFAULT_MAX_VALUE,
  max_qp_rd_atom: 128,
  max_qp_init_rd_atom: 128,
  max_res_rd_atom: 0x3f000,
  max_srq: DEFAULT_MAX_VALUE - 0x20001,
  max_srq_wr: DEFAULT_MAX_VALUE,
  max_srq_sge: 27,
  max_ah: (1 << 15) - 1,
  max_mw: DEFAULT_MAX_VALUE - (MAX_MR_INDEX + 1),
  max_mcast_grp: 8192,
  max_mcast_qp_attach: 56,
  max_total_mcast_qp_attach: 0x70000,
  max_pkeys: 64,
  max_inline_data: 400,
  num_comp_vectors: 1,
  active_mtu: 3,
  pkey_tbl_len: 1,
};

/** First index of each key space, as rxe's pools lay them out (QPNs start at 16; MW keys above MR keys). */
export const QPN_MIN = 16;
export const QPN_MAX = 0xffffff;
export const MR_INDEX_MIN = 1;
export const MR_INDEX_MAX = MAX_MR_INDEX;
export const MW_INDEX_MIN = MAX_MR_INDEX + 1;
export const MW_INDEX_MAX = DEFAULT_MAX_VALUE;

export function deviceAttr(l: SimLimits, guid: string): DeviceAttr {
  return {
    fw_ver: '0.0.0',
    node_guid: guid,
    sys_image_guid: guid,
    max_mr_size: l.max_mr_size,
    max_dm_size: BigInt(l.max_dm_size),
    page_size_cap: 0xfffff000n,
    vendor_id: 0xffffff,
    vendor_part_id: 0,
    hw_ver: 0,
    max_qp: l.max_qp,
    max_qp_wr: l.max_qp_wr,
    device_cap_flags: RXE_DEVICE_CAP_FLAGS,
    max_sge: l.max_sge,
    max_sge_rd: l.max_sge_rd,
    max_cq: l.max_cq,
    max_cqe: l.max_cqe,
    max_mr: l.max_mr,
    max_pd: l.max_pd,
    max_qp_rd_atom: l.max_qp_rd_atom,
    max_ee_rd_atom: 0,
    max_res_rd_atom: l.max_res_rd_atom,
    max_qp_init_rd_atom: l.max_qp_init_rd_atom,
    max_ee_init_rd_atom: 0,
    atomic_cap: 1, // IBV_ATOMIC_HCA
    max_ee: 0,
    max_rdd: 0,
    max_mw: l.max_mw,
    max_raw_ipv6_qp: 0,
    max_raw_ethy_qp: 0,
    max_mcast_grp: l.max_mcast_grp,
    max_mcast_qp_attach: l.max_mcast_qp_attach,
    max_total_mcast_qp_attach: l.max_total_mcast_qp_attach,
    max_ah: l.max_ah,
    max_fmr: 0,
    max_map_per_fmr: 0,
    max_srq: l.max_srq,
    max_srq_wr: l.max_srq_wr,
    max_srq_sge: l.max_srq_sge,
    max_pkeys: l.max_pkeys,
    local_ca_ack_delay: 15,
    phys_port_cnt: 1,
  };
}

export function portAttr(l: SimLimits, active: boolean): PortAttr {
  return {
    state: active ? 'ACTIVE' : 'DOWN',
    max_mtu: 5,
    active_mtu: l.active_mtu,
    gid_tbl_len: 1024,
    port_cap_flags: 1 << 16, // IB_PORT_CM_SUP
    max_msg_sz: 0x80000000,
    bad_pkey_cntr: 0,
    qkey_viol_cntr: 0,
    pkey_tbl_len: l.pkey_tbl_len,
    lid: 0,
    sm_lid: 0,
    lmc: 0,
    max_vl_num: 1,
    sm_sl: 0,
    subnet_timeout: 0,
    init_type_reply: 0,
    active_width: 1, // 1X
    active_speed: 1, // SDR
    phys_state: active ? 5 : 3, // LINK_UP : DISABLED
    link_layer: 'Ethernet',
  };
}
