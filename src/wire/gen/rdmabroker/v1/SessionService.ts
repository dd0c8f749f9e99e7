// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { IssueFdTokenReply as _rdmabroker_v1_IssueFdTokenReply, IssueFdTokenReply__Output as _rdmabroker_v1_IssueFdTokenReply__Output } from '../../rdmabroker/v1/IssueFdTokenReply';
import type { IssueFdTokenRequest as _rdmabroker_v1_IssueFdTokenRequest, IssueFdTokenRequest__Output as _rdmabroker_v1_IssueFdTokenRequest__Output } from '../../rdmabroker/v1/IssueFdTokenRequest';
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
  
  /**
   * A one-time token that binds one connection of the fd channel (a unix
   * socket beside the gRPC socket, see docs/fd-channel.md) to the session
   * named by the `x-rdma-session` header.
   */
  IssueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  IssueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  IssueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  IssueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  /**
   * A one-time token that binds one connection of the fd channel (a unix
   * socket beside the gRPC socket, see docs/fd-channel.md) to the session
   * named by the `x-rdma-session` header.
   */
  issueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  issueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  issueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  issueFdToken(argument: _rdmabroker_v1_IssueFdTokenRequest, callback: grpc.requestCallback<_rdmabroker_v1_IssueFdTokenReply__Output>): grpc.ClientUnaryCall;
  
}

export interface SessionServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A session lives as long as this stream (or its resume grace period after the
   * stream ends, or until its lease runs out without a keepalive). The first
   * client message must be `open`. The server answers `opened`, then streams
   * the session's events.
   */
  Connect: grpc.handleBidiStreamingCall<_rdmabroker_v1_SessionClientMessage__Output, _rdmabroker_v1_SessionServerMessage>;
  
  /**
   * A one-time token that binds one connection of the fd channel (a unix
   * socket beside the gRPC socket, see docs/fd-channel.md) to the session
   * named by the `x-rdma-session` header.
   */
  IssueFdToken: grpc.handleUnaryCall<_rdmabroker_v1_IssueFdTokenRequest__Output, _rdmabroker_v1_IssueFdTokenReply>;
  
}

export interface SessionServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionServerMessage, _rdmabroker_v1_SessionClientMessage__Output, _rdmabroker_v1_SessionServerMessage__Output>
  IssueFdToken: MethodDefinition<_rdmabroker_v1_IssueFdTokenRequest, _rdmabroker_v1_IssueFdTokenReply, _rdmabroker_v1_IssueFdTokenRequest__Output, _rdmabroker_v1_IssueFdTokenReply__Output>
}
