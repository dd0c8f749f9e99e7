// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface KeepAlive {
  'nonce'?: (number | string | Long);
}

export interface KeepAlive__Output {
  'nonce': (string);
}
