// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectInfo as _rdmabroker_v1_ObjectInfo, ObjectInfo__Output as _rdmabroker_v1_ObjectInfo__Output } from '../../rdmabroker/v1/ObjectInfo';

// Original file: proto/rdmabroker/v1/broker.proto

export const _rdmabroker_v1_ObjectChange_Kind = {
  KIND_UNSPECIFIED: 'KIND_UNSPECIFIED',
  CREATED: 'CREATED',
  MODIFIED: 'MODIFIED',
  DESTROYED: 'DESTROYED',
  SYNCED: 'SYNCED',
} as const;

export type _rdmabroker_v1_ObjectChange_Kind =
  | 'KIND_UNSPECIFIED'
  | 0
  | 'CREATED'
  | 1
  | 'MODIFIED'
  | 2
  | 'DESTROYED'
  | 3
  | 'SYNCED'
  | 4

export type _rdmabroker_v1_ObjectChange_Kind__Output = typeof _rdmabroker_v1_ObjectChange_Kind[keyof typeof _rdmabroker_v1_ObjectChange_Kind]

export interface ObjectChange {
  'kind'?: (_rdmabroker_v1_ObjectChange_Kind);
  'object'?: (_rdmabroker_v1_ObjectInfo | null);
}

export interface ObjectChange__Output {
  'kind': (_rdmabroker_v1_ObjectChange_Kind__Output);
  'object': (_rdmabroker_v1_ObjectInfo__Output | null);
}
