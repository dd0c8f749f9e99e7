// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface QueryRequest {
  'handle'?: (number | string | Long);
  /**
   * Optional: which attributes to query (default: all).
   */
  'attrs'?: (string)[];
}

export interface QueryRequest__Output {
  'handle': (string);
  /**
   * Optional: which attributes to query (default: all).
   */
  'attrs': (string)[];
}
