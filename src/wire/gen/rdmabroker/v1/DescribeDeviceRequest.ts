// Original file: proto/rdmabroker/v1/broker.proto


export interface DescribeDeviceRequest {
  'device'?: (string);
}

export interface DescribeDeviceRequest__Output {
  'device': (string);
}
