/**
 * The work completion (struct ibv_wc) as both sides of the broker see it:
 * the backends return it (src/verbs), the fast lane carries it in its
 * completion rings (./lane-layout.ts) and the client reads it back from
 * them (src/client/lane.ts). One definition for all of them, here, because
 * the client may not import the daemon's backends. Pure: imports nothing.
 */

export type WcOpcode =
  | 'SEND' | 'RDMA_WRITE' | 'RDMA_READ' | 'COMP_SWAP' | 'FETCH_ADD' | 'BIND_MW' | 'LOCAL_INV'
  | 'RECV' | 'RECV_RDMA_WITH_IMM';

/** enum ibv_wc_opcode */
export const WC_OPCODE_VALUES: Record<WcOpcode, number> = {
  SEND: 0, RDMA_WRITE: 1, RDMA_READ: 2, COMP_SWAP: 3, FETCH_ADD: 4, BIND_MW: 5, LOCAL_INV: 6,
  RECV: 128, RECV_RDMA_WITH_IMM: 129,
};

/** enum ibv_wc_status, by value. */
export const WC_STATUS_NAMES = [
  'SUCCESS', 'LOC_LEN_ERR', 'LOC_QP_OP_ERR', 'LOC_EEC_OP_ERR', 'LOC_PROT_ERR', 'WR_FLUSH_ERR',
  'MW_BIND_ERR', 'BAD_RESP_ERR', 'LOC_ACCESS_ERR', 'REM_INV_REQ_ERR', 'REM_ACCESS_ERR',
  'REM_OP_ERR', 'RETRY_EXC_ERR', 'RNR_RETRY_EXC_ERR', 'LOC_RDD_VIOL_ERR', 'REM_INV_RD_REQ_ERR',
  'REM_ABORT_ERR', 'INV_EECN_ERR', 'INV_EEC_STATE_ERR', 'FATAL_ERR', 'RESP_TIMEOUT_ERR',
  'GENERAL_ERR', 'TM_ERR', 'TM_RNDV_INCOMPLETE',
] as const;
export type WcStatus = (typeof WC_STATUS_NAMES)[number];

/**
 * The bits of {@link Wc.wc_flags} as the broker reports them, on every
 * backend and on both of its paths (gRPC `cq.poll`, the fast lane's
 * completion ring): libibverbs' `enum ibv_wc_flags`, by name. A backend maps
 * whatever its provider wrote to these names (the kernel's own enum numbers
 * some of them differently: src/verbs/ibverbs/codec.ts); bits without a name
 * here are not reported.
 */
export const WC_FLAGS = {
  /** A GRH precedes the data of a UD receive (always on RoCE receives). */
  GRH: 1,
  /** `imm_data` holds the immediate of a *_WITH_IMM. */
  WITH_IMM: 2,
  /** The device verified the IP checksum of a received packet. */
  IP_CSUM_OK: 4,
  /** A SEND_WITH_INV revoked a key: `imm_data` holds that rkey. */
  WITH_INV: 8,
  TM_SYNC_REQ: 16,
  TM_MATCH: 32,
  TM_DATA_VALID: 64,
} as const;
export type WcFlagName = keyof typeof WC_FLAGS;

/** struct ibv_wc */
export interface Wc {
  wr_id: bigint;
  status: WcStatus;
  opcode: WcOpcode;
  vendor_err: number;
  byte_len: number;
  /** WITH_IMM: the immediate (host order); WITH_INV: the invalidated rkey; else 0. */
  imm_data: number;
  qp_num: number;
  src_qp: number;
  /** {@link WC_FLAGS} bits. */
  wc_flags: number;
  pkey_index: number;
  slid: number;
  sl: number;
  dlid_path_bits: number;
}
