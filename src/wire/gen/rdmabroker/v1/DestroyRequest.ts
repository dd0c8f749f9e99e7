// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface DestroyRequest {
  'handle'?: (number | string | Long);
}

export interface DestroyRequest__Output {
  'handle': (string);
}
