// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectInfo as _rdmabroker_v1_ObjectInfo, ObjectInfo__Output as _rdmabroker_v1_ObjectInfo__Output } from '../../rdmabroker/v1/ObjectInfo';

export interface ObjectReply {
  'object'?: (_rdmabroker_v1_ObjectInfo | null);
}

export interface ObjectReply__Output {
  'object': (_rdmabroker_v1_ObjectInfo__Output | null);
}
