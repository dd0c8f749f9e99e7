// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';

export interface ValueList {
  'items'?: (_rdmabroker_v1_Value)[];
}

export interface ValueList__Output {
  'items': (_rdmabroker_v1_Value__Output)[];
}
