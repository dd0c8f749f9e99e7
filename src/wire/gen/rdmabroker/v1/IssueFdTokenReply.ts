// Original file: proto/rdmabroker/v1/broker.proto


export interface IssueFdTokenReply {
  /**
   * One-time; expires after `expires_ms` or when the session ends.
   */
  'token'?: (string);
  /**
   * The fd channel's socket path ("" when the daemon serves no fd channel).
   */
  'fd_socket'?: (string);
  'expires_ms'?: (number);
}

export interface IssueFdTokenReply__Output {
  /**
   * One-time; expires after `expires_ms` or when the session ends.
   */
  'token': (string);
  /**
   * The fd channel's socket path ("" when the daemon serves no fd channel).
   */
  'fd_socket': (string);
  'expires_ms': (number);
}
