// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { SessionClientMessage as _rdmabroker_v1_SessionClientMessage, SessionClientMessage__Output as _rdmabroker_v1_SessionClientMessage__Output } from '../../rdmabroker/v1/SessionClientMessage';
import type { SessionServerMessage as _rdmabroker_v1_SessionServerMessage, SessionServerMessage__Output as _rdmabroker_v1_SessionServerMessage__Output } from '../../rdmabroker/v1/SessionServerMessage';

export interface SessionServiceClient extends grpc.Client {
  /**
   * A session lives as long as this stream (or its resume grace period after the
   * stream ends, or until its lease runs out without a keepalive). The first
   * client message must be `open`. The server answers `opened`, then streams
   * the session's events.
   */
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage__Output>;
  /**
   * A session lives as long as this stream (or its resume grace period after the
   * stream ends, or until its lease runs out without a keepalive). The first
   * client message must be `open`. The server answers `opened`, then streams
   * the session's events.
   */
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage__Output>;
  
}

export interface SessionServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A session lives as long as this stream (or its resume grace period after the
   * stream ends, or until its lease runs out without a keepalive). The first
   * client message must be `open`. The server answers `opened`, then streams
   * the session's events.
   */
  Connect: grpc.handleBidiStreamingCall<_rdmabroker_v1_SessionClientMessage__Output, _rdmabroker_v1_SessionServerMessage>;
  
}

export interface SessionServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage, _rdmabroker_v1_SessionClientMessage__Output, _rdmabroker_v1_SessionServerMessage__Output>
}
