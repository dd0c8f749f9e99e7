// Original file: proto/rdmabroker/v1/broker.proto


export interface EvictSessionResponse {
  'tenant'?: (string);
  'objects_destroyed'?: (number);
}

export interface EvictSessionResponse__Output {
  'tenant': (string);
  'objects_destroyed': (number);
}
