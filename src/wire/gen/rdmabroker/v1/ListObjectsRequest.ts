// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectFilter as _rdmabroker_v1_ObjectFilter, ObjectFilter__Output as _rdmabroker_v1_ObjectFilter__Output } from '../../rdmabroker/v1/ObjectFilter';
import type { Long } from '@grpc/proto-loader';

export interface ListObjectsRequest {
  'filter'?: (_rdmabroker_v1_ObjectFilter | null);
  'start_handle'?: (number | string | Long);
  'max_results'?: (number);
}

export interface ListObjectsRequest__Output {
  'filter': (_rdmabroker_v1_ObjectFilter__Output | null);
  'start_handle': (string);
  'max_results': (number);
}
