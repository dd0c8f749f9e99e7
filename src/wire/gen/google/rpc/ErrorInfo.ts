// Original file: proto/google/rpc/error_details.proto


/**
 * Why a call failed, in a form a program can act on. rdma-brokerd's:
 * reason   the broker's stable error code (NO_SUCH_HANDLE, INVALID_ATTR,
 * BUSY, LOCKED, QUOTA_EXCEEDED, ERRNO, ..., INTERNAL)
 * domain   "rdma-broker.io"
 * metadata "errno"     the positive errno (a device's answer, or EINVAL for
 * what the broker refuses before the device, as
 * libibverbs would); absent when none
 * "call"      the verb that failed on the device (ibv_post_recv)
 * "attribute" the request attribute at fault (qp.cap.max_send_wr)
 * "wr_index"  a post verb's failing work request, its index in
 * the list (libibverbs' *bad_wr)
 * Keys without a value are left out.
 */
export interface ErrorInfo {
  'reason'?: (string);
  'domain'?: (string);
  'metadata'?: ({[key: string]: string});
}

/**
 * Why a call failed, in a form a program can act on. rdma-brokerd's:
 * reason   the broker's stable error code (NO_SUCH_HANDLE, INVALID_ATTR,
 * BUSY, LOCKED, QUOTA_EXCEEDED, ERRNO, ..., INTERNAL)
 * domain   "rdma-broker.io"
 * metadata "errno"     the positive errno (a device's answer, or EINVAL for
 * what the broker refuses before the device, as
 * libibverbs would); absent when none
 * "call"      the verb that failed on the device (ibv_post_recv)
 * "attribute" the request attribute at fault (qp.cap.max_send_wr)
 * "wr_index"  a post verb's failing work request, its index in
 * the list (libibverbs' *bad_wr)
 * Keys without a value are left out.
 */
export interface ErrorInfo__Output {
  'reason': (string);
  'domain': (string);
  'metadata': ({[key: string]: string});
}
