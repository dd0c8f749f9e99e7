// Original file: proto/rdmabroker/v1/broker.proto


export interface GetAccountingRequest {
  /**
   * Empty: every tenant the caller may see.
   */
  'tenant'?: (string);
}

export interface GetAccountingRequest__Output {
  /**
   * Empty: every tenant the caller may see.
   */
  'tenant': (string);
}
