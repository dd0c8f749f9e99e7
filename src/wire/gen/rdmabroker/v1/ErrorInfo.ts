// Original file: proto/rdmabroker/v1/broker.proto


export interface ErrorInfo {
  /**
   * The gRPC status code the verb would have had alone.
   */
  'status'?: (number);
  /**
   * Stable error code: NO_SUCH_HANDLE, INVALID_ATTR, BUSY, ERRNO, ...
   */
  'code'?: (string);
  'message'?: (string);
  'errno'?: (number);
  'call'?: (string);
  /**
   * A post verb's failing work request: its index in the list (libibverbs'
   * *bad_wr); -1 when the error is not about one WR.
   */
  'wr_index'?: (number);
}

export interface ErrorInfo__Output {
  /**
   * The gRPC status code the verb would have had alone.
   */
  'status': (number);
  /**
   * Stable error code: NO_SUCH_HANDLE, INVALID_ATTR, BUSY, ERRNO, ...
   */
  'code': (string);
  'message': (string);
  'errno': (number);
  'call': (string);
  /**
   * A post verb's failing work request: its index in the list (libibverbs'
   * *bad_wr); -1 when the error is not about one WR.
   */
  'wr_index': (number);
}
