// Original file: proto/rdmabroker/v1/broker.proto

import type { DeviceSummary as _rdmabroker_v1_DeviceSummary, DeviceSummary__Output as _rdmabroker_v1_DeviceSummary__Output } from '../../rdmabroker/v1/DeviceSummary';
import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { Port as _rdmabroker_v1_Port, Port__Output as _rdmabroker_v1_Port__Output } from '../../rdmabroker/v1/Port';

export interface QueryDeviceResponse {
  'device'?: (_rdmabroker_v1_DeviceSummary | null);
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
  'ports'?: (_rdmabroker_v1_Port)[];
}

export interface QueryDeviceResponse__Output {
  'device': (_rdmabroker_v1_DeviceSummary__Output | null);
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
  'ports': (_rdmabroker_v1_Port__Output)[];
}
