// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectTypeInfo as _rdmabroker_v1_ObjectTypeInfo, ObjectTypeInfo__Output as _rdmabroker_v1_ObjectTypeInfo__Output } from '../../rdmabroker/v1/ObjectTypeInfo';

export interface DescribeDeviceResponse {
  'device'?: (string);
  'types'?: (_rdmabroker_v1_ObjectTypeInfo)[];
  /**
   * Whether ibv_import_device works on this device (mlx5 yes, rxe no).
   */
  'supports_import'?: (boolean);
  'capabilities'?: (string)[];
}

export interface DescribeDeviceResponse__Output {
  'device': (string);
  'types': (_rdmabroker_v1_ObjectTypeInfo__Output)[];
  /**
   * Whether ibv_import_device works on this device (mlx5 yes, rxe no).
   */
  'supports_import': (boolean);
  'capabilities': (string)[];
}
