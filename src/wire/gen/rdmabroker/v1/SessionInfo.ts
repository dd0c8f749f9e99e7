// Original file: proto/rdmabroker/v1/broker.proto

import type { PodRef as _rdmabroker_v1_PodRef, PodRef__Output as _rdmabroker_v1_PodRef__Output } from '../../rdmabroker/v1/PodRef';
import type { PeerCredentials as _rdmabroker_v1_PeerCredentials, PeerCredentials__Output as _rdmabroker_v1_PeerCredentials__Output } from '../../rdmabroker/v1/PeerCredentials';
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
  /**
   * The opening process as the kernel knows it (SO_PEERCRED), on unix
   * sockets; unset over TCP until the session binds the fd channel.
   */
  'peer_cred'?: (_rdmabroker_v1_PeerCredentials | null);
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
  /**
   * The opening process as the kernel knows it (SO_PEERCRED), on unix
   * sockets; unset over TCP until the session binds the fd channel.
   */
  'peer_cred': (_rdmabroker_v1_PeerCredentials__Output | null);
}
