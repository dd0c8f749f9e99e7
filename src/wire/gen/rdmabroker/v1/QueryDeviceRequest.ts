// Original file: proto/rdmabroker/v1/broker.proto


export interface QueryDeviceRequest {
  'device'?: (string);
}

export interface QueryDeviceRequest__Output {
  'device': (string);
}
