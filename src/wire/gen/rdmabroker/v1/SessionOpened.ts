// Original file: proto/rdmabroker/v1/broker.proto


export interface SessionOpened {
  'session_id'?: (string);
  /**
   * Secret: goes in the `x-rdma-session` header and resumes the session.
   */
  'token'?: (string);
  'lease_ms'?: (number);
  'resume_grace_ms'?: (number);
  'resumed'?: (boolean);
  'tenant'?: (string);
  /**
   * A one-time token for one fd-channel connection (see IssueFdToken), and
   * the fd channel's socket path; both "" when the daemon serves none.
   */
  'fd_token'?: (string);
  'fd_socket'?: (string);
}

export interface SessionOpened__Output {
  'session_id': (string);
  /**
   * Secret: goes in the `x-rdma-session` header and resumes the session.
   */
  'token': (string);
  'lease_ms': (number);
  'resume_grace_ms': (number);
  'resumed': (boolean);
  'tenant': (string);
  /**
   * A one-time token for one fd-channel connection (see IssueFdToken), and
   * the fd channel's socket path; both "" when the daemon serves none.
   */
  'fd_token': (string);
  'fd_socket': (string);
}
