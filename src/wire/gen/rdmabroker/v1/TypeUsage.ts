// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface TypeUsage {
  'type'?: (string);
  'current'?: (number | string | Long);
  'high_water'?: (number | string | Long);
}

export interface TypeUsage__Output {
  'type': (string);
  'current': (string);
  'high_water': (string);
}
