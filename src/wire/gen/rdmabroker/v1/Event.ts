// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface Event {
  'seq'?: (number | string | Long);
  /**
   * "async" (a kernel async event), "completion" (a CQ's completion channel
   * fired), "device_lost", "object_released" (the broker destroyed an object
   * the session owned, for example on device loss).
   */
  'kind'?: (string);
  /**
   * The object handle, or 0 for device/port events.
   */
  'handle'?: (number | string | Long);
  'user_handle'?: (number | string | Long);
  /**
   * For async events: CQ_ERR, QP_FATAL, ..., PORT_ACTIVE, DEVICE_FATAL.
   */
  'event_type'?: (string);
  'device'?: (string);
  'port'?: (number);
  'time_unix_ms'?: (number | string | Long);
  'type'?: (string);
}

export interface Event__Output {
  'seq': (string);
  /**
   * "async" (a kernel async event), "completion" (a CQ's completion channel
   * fired), "device_lost", "object_released" (the broker destroyed an object
   * the session owned, for example on device loss).
   */
  'kind': (string);
  /**
   * The object handle, or 0 for device/port events.
   */
  'handle': (string);
  'user_handle': (string);
  /**
   * For async events: CQ_ERR, QP_FATAL, ..., PORT_ACTIVE, DEVICE_FATAL.
   */
  'event_type': (string);
  'device': (string);
  'port': (number);
  'time_unix_ms': (string);
  'type': (string);
}
