// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface DestroyRequest {
  'handle'?: (number | string | Long);
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref'?: (number);
}

export interface DestroyRequest__Output {
  'handle': (string);
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref': (number);
}
