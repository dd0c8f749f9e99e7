// Original file: proto/rdmabroker/v1/broker.proto


export interface ObjectFilter {
  'device'?: (string);
  'session'?: (string);
  'type'?: (string);
  'tenant'?: (string);
}

export interface ObjectFilter__Output {
  'device': (string);
  'session': (string);
  'type': (string);
  'tenant': (string);
}
