// Original file: proto/rdmabroker/v1/broker.proto

import type { DeviceSummary as _rdmabroker_v1_DeviceSummary, DeviceSummary__Output as _rdmabroker_v1_DeviceSummary__Output } from '../../rdmabroker/v1/DeviceSummary';

export interface ListDevicesResponse {
  'devices'?: (_rdmabroker_v1_DeviceSummary)[];
}

export interface ListDevicesResponse__Output {
  'devices': (_rdmabroker_v1_DeviceSummary__Output)[];
}
