// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface QueryRequest {
  'handle'?: (number | string | Long);
  /**
   * Optional: which attributes to query (default: all).
   */
  'attrs'?: (string)[];
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref'?: (number);
}

export interface QueryRequest__Output {
  'handle': (string);
  /**
   * Optional: which attributes to query (default: all).
   */
  'attrs': (string)[];
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref': (number);
}
