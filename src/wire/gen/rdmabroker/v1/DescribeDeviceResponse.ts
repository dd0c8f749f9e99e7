// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectTypeInfo as _rdmabroker_v1_ObjectTypeInfo, ObjectTypeInfo__Output as _rdmabroker_v1_ObjectTypeInfo__Output } from '../../rdmabroker/v1/ObjectTypeInfo';
import type { Long } from '@grpc/proto-loader';

export interface DescribeDeviceResponse {
  'device'?: (string);
  'types'?: (_rdmabroker_v1_ObjectTypeInfo)[];
  /**
   * Whether ibv_import_device works on this device (mlx5 yes, rxe no).
   */
  'supports_import'?: (boolean);
  'capabilities'?: (string)[];
  /**
   * The daemon's fixed bounds on requests (the same on every device):
   * batch_steps (steps per Batch), batch_reply_bytes, name_bytes (type, device,
   * method and attribute names, ids), string_bytes (a string value),
   * token_bytes, attr_depth (nesting of attribute values), attr_items.
   */
  'limits'?: ({[key: string]: number | string | Long});
}

export interface DescribeDeviceResponse__Output {
  'device': (string);
  'types': (_rdmabroker_v1_ObjectTypeInfo__Output)[];
  /**
   * Whether ibv_import_device works on this device (mlx5 yes, rxe no).
   */
  'supports_import': (boolean);
  'capabilities': (string)[];
  /**
   * The daemon's fixed bounds on requests (the same on every device):
   * batch_steps (steps per Batch), batch_reply_bytes, name_bytes (type, device,
   * method and attribute names, ids), string_bytes (a string value),
   * token_bytes, attr_depth (nesting of attribute values), attr_items.
   */
  'limits': ({[key: string]: string});
}
