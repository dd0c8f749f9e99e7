// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';

export interface InvokeReply {
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
}

export interface InvokeReply__Output {
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
}
