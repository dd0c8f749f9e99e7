// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectInfo as _rdmabroker_v1_ObjectInfo, ObjectInfo__Output as _rdmabroker_v1_ObjectInfo__Output } from '../../rdmabroker/v1/ObjectInfo';
import type { Long } from '@grpc/proto-loader';

export interface ListObjectsResponse {
  'objects'?: (_rdmabroker_v1_ObjectInfo)[];
  /**
   * True when no objects follow.
   */
  'end'?: (boolean);
  'next_start_handle'?: (number | string | Long);
}

export interface ListObjectsResponse__Output {
  'objects': (_rdmabroker_v1_ObjectInfo__Output)[];
  /**
   * True when no objects follow.
   */
  'end': (boolean);
  'next_start_handle': (string);
}
