// Original file: proto/rdmabroker/v1/broker.proto

import type { ErrorInfo as _google_rpc_ErrorInfo, ErrorInfo__Output as _google_rpc_ErrorInfo__Output } from '../../google/rpc/ErrorInfo';

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
  /**
   * The same google.rpc.ErrorInfo a unary call's grpc-status-details-bin
   * trailer would carry for this failure.
   */
  'details'?: (_google_rpc_ErrorInfo | null);
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
  /**
   * The same google.rpc.ErrorInfo a unary call's grpc-status-details-bin
   * trailer would carry for this failure.
   */
  'details': (_google_rpc_ErrorInfo__Output | null);
}
