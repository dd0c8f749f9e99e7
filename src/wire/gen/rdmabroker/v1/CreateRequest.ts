// Original file: proto/rdmabroker/v1/broker.proto

import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from '../../rdmabroker/v1/Value';
import type { Long } from '@grpc/proto-loader';

export interface CreateRequest {
  'type'?: (string);
  /**
   * The device, for objects without a parent handle (pd, cq, xrcd, ...).
   */
  'device'?: (string);
  'attrs'?: ({[key: string]: _rdmabroker_v1_Value});
  /**
   * Chosen by the client, stored, echoed in events and listings.
   */
  'user_handle'?: (number | string | Long);
}

export interface CreateRequest__Output {
  'type': (string);
  /**
   * The device, for objects without a parent handle (pd, cq, xrcd, ...).
   */
  'device': (string);
  'attrs': ({[key: string]: _rdmabroker_v1_Value__Output});
  /**
   * Chosen by the client, stored, echoed in events and listings.
   */
  'user_handle': (string);
}
