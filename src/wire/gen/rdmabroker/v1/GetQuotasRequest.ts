// Original file: proto/rdmabroker/v1/broker.proto


export interface GetQuotasRequest {
  /**
   * Empty: every tenant the caller may see.
   */
  'tenant'?: (string);
}

export interface GetQuotasRequest__Output {
  /**
   * Empty: every tenant the caller may see.
   */
  'tenant': (string);
}
