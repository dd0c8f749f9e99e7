// Original file: proto/rdmabroker/v1/broker.proto


export interface ListSessionsRequest {
  'tenant'?: (string);
}

export interface ListSessionsRequest__Output {
  'tenant': (string);
}
