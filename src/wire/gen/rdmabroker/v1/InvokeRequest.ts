// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { Long } from '@grpc/proto-loader';

export interface InvokeRequest {
  'handle'?: (number | string | Long);
  'method'?: (string);
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
  'device'?: (string);
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref'?: (number);
}

export interface InvokeRequest__Output {
  'handle': (string);
  'method': (string);
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
  'device': (string);
  /**
   * In a Batch only: 1 + the index of an earlier create step whose object
   * this verb acts on (0: use `handle`).
   */
  'handle_ref': (number);
}
