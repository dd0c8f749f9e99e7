// Original file: proto/rdmabroker/v1/broker.proto


export interface WhoAmIResponse {
  'tenant'?: (string);
  /**
   * "tenant", "viewer" or "admin"
   */
  'role'?: (string);
  /**
   * How the caller was identified: "socket", "tenant-socket", "token", "cert", "insecure-tcp".
   */
  'via'?: (string);
}

export interface WhoAmIResponse__Output {
  'tenant': (string);
  /**
   * "tenant", "viewer" or "admin"
   */
  'role': (string);
  /**
   * How the caller was identified: "socket", "tenant-socket", "token", "cert", "insecure-tcp".
   */
  'via': (string);
}
