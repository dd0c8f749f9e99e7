// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectFilter as _rdmabroker_v1_ObjectFilter, ObjectFilter__Output as _rdmabroker_v1_ObjectFilter__Output } from '../../rdmabroker/v1/ObjectFilter';

export interface WatchObjectsRequest {
  'filter'?: (_rdmabroker_v1_ObjectFilter | null);
  'initial'?: (boolean);
}

export interface WatchObjectsRequest__Output {
  'filter': (_rdmabroker_v1_ObjectFilter__Output | null);
  'initial': (boolean);
}
