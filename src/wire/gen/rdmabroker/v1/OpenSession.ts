// Original file: proto/rdmabroker/v1/broker.proto


export interface OpenSession {
  /**
   * A free-form label for listings (process name, pod, ...).
   */
  'name'?: (string);
  /**
   * Resume a session whose stream ended, within its grace period.
   */
  'resume_token'?: (string);
  /**
   * Lease: the session ends when no client message arrives for this long.
   * 0 takes the daemon default.
   */
  'lease_ms'?: (number);
  /**
   * How long the session outlives its stream, waiting for a resume.
   * 0: the session ends with its stream. Capped by the daemon.
   */
  'resume_grace_ms'?: (number);
}

export interface OpenSession__Output {
  /**
   * A free-form label for listings (process name, pod, ...).
   */
  'name': (string);
  /**
   * Resume a session whose stream ended, within its grace period.
   */
  'resume_token': (string);
  /**
   * Lease: the session ends when no client message arrives for this long.
   * 0 takes the daemon default.
   */
  'lease_ms': (number);
  /**
   * How long the session outlives its stream, waiting for a resume.
   * 0: the session ends with its stream. Capped by the daemon.
   */
  'resume_grace_ms': (number);
}
