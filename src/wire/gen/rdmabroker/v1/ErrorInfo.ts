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
}
