// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { Long } from '@grpc/proto-loader';

export interface ModifyRequest {
  'handle'?: (number | string | Long);
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
}

export interface ModifyRequest__Output {
  'handle': (string);
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
}
