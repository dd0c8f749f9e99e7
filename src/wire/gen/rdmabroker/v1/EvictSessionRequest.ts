// Original file: proto/rdmabroker/v1/broker.proto


export interface EvictSessionRequest {
  'session_id'?: (string);
}

export interface EvictSessionRequest__Output {
  'session_id': (string);
}
