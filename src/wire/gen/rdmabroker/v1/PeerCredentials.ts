// Original file: proto/rdmabroker/v1/broker.proto


/**
 * A local process's credentials, from SO_PEERCRED of its socket.
 */
export interface PeerCredentials {
  'pid'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  /**
   * Which socket they were read from: "grpc" (the session's own
   * connection) or "fd-channel" (the connection that bound its fd channel).
   */
  'via'?: (string);
}

/**
 * A local process's credentials, from SO_PEERCRED of its socket.
 */
export interface PeerCredentials__Output {
  'pid': (number);
  'uid': (number);
  'gid': (number);
  /**
   * Which socket they were read from: "grpc" (the session's own
   * connection) or "fd-channel" (the connection that bound its fd channel).
   */
  'via': (string);
}
