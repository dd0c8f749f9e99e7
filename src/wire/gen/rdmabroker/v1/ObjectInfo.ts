// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { PodRef as _rdmabroker_v1_PodRef, PodRef__Output as _rdmabroker_v1_PodRef__Output } from '../../rdmabroker/v1/PodRef';
import type { Long } from '@grpc/proto-loader';

export interface ObjectInfo {
  'handle'?: (number | string | Long);
  'type'?: (string);
  'device'?: (string);
  'session'?: (string);
  'tenant'?: (string);
  'user_handle'?: (number | string | Long);
  'parents'?: (number | string | Long)[];
  'created_unix_ms'?: (number | string | Long);
  /**
   * Key attributes (lkey, rkey, qp_num, state, cqe, ...).
   */
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
  /**
   * The pod of the owning session, if it was opened on a pod's allocation socket.
   */
  'pod'?: (_rdmabroker_v1_PodRef | null);
}

export interface ObjectInfo__Output {
  'handle': (string);
  'type': (string);
  'device': (string);
  'session': (string);
  'tenant': (string);
  'user_handle': (string);
  'parents': (string)[];
  'created_unix_ms': (string);
  /**
   * Key attributes (lkey, rkey, qp_num, state, cqe, ...).
   */
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
  /**
   * The pod of the owning session, if it was opened on a pod's allocation socket.
   */
  'pod': (_rdmabroker_v1_PodRef__Output | null);
}
