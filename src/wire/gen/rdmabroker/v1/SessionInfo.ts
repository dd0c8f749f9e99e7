// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface SessionInfo {
  'session_id'?: (string);
  'name'?: (string);
  'tenant'?: (string);
  /**
   * "attached", "detached" (stream gone, within resume grace), "closing"
   */
  'state'?: (string);
  'object_count'?: (number);
  'created_unix_ms'?: (number | string | Long);
  'peer'?: (string);
}

export interface SessionInfo__Output {
  'session_id': (string);
  'name': (string);
  'tenant': (string);
  /**
   * "attached", "detached" (stream gone, within resume grace), "closing"
   */
  'state': (string);
  'object_count': (number);
  'created_unix_ms': (string);
  'peer': (string);
}
