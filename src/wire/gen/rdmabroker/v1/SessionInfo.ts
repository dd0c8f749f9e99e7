// Original file: proto/rdmabroker/v1/broker.proto

import type { PodRef as _rdmabroker_v1_PodRef, PodRef__Output as _rdmabroker_v1_PodRef__Output } from '../../rdmabroker/v1/PodRef';
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
  /**
   * The Kubernetes pod whose allocation socket the session was opened on
   * (unset on other sockets).
   */
  'pod'?: (_rdmabroker_v1_PodRef | null);
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
  /**
   * The Kubernetes pod whose allocation socket the session was opened on
   * (unset on other sockets).
   */
  'pod': (_rdmabroker_v1_PodRef__Output | null);
}
