// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { Gid as _rdmabroker_v1_Gid, Gid__Output as _rdmabroker_v1_Gid__Output } from '../../rdmabroker/v1/Gid';

export interface Port {
  'port'?: (number);
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
  'gids'?: (_rdmabroker_v1_Gid)[];
}

export interface Port__Output {
  'port': (number);
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
  'gids': (_rdmabroker_v1_Gid__Output)[];
}
