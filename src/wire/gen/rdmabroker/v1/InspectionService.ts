// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListObjectsRequest as _rdmabroker_v1_ListObjectsRequest, ListObjectsRequest__Output as _rdmabroker_v1_ListObjectsRequest__Output } from '../../rdmabroker/v1/ListObjectsRequest';
import type { ListObjectsResponse as _rdmabroker_v1_ListObjectsResponse, ListObjectsResponse__Output as _rdmabroker_v1_ListObjectsResponse__Output } from '../../rdmabroker/v1/ListObjectsResponse';
import type { ListSessionsRequest as _rdmabroker_v1_ListSessionsRequest, ListSessionsRequest__Output as _rdmabroker_v1_ListSessionsRequest__Output } from '../../rdmabroker/v1/ListSessionsRequest';
import type { ListSessionsResponse as _rdmabroker_v1_ListSessionsResponse, ListSessionsResponse__Output as _rdmabroker_v1_ListSessionsResponse__Output } from '../../rdmabroker/v1/ListSessionsResponse';
import type { ObjectChange as _rdmabroker_v1_ObjectChange, ObjectChange__Output as _rdmabroker_v1_ObjectChange__Output } from '../../rdmabroker/v1/ObjectChange';
import type { WatchObjectsRequest as _rdmabroker_v1_WatchObjectsRequest, WatchObjectsRequest__Output as _rdmabroker_v1_WatchObjectsRequest__Output } from '../../rdmabroker/v1/WatchObjectsRequest';

export interface InspectionServiceClient extends grpc.Client {
  /**
   * Lists objects in creation order, paged: pass the last response's
   * next_start_handle as start_handle (handles are opaque and unordered; the
   * page starts where that object was, even if it has gone since).
   */
  ListObjects(argument: _rdmabroker_v1_ListObjectsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  ListObjects(argument: _rdmabroker_v1_ListObjectsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  ListObjects(argument: _rdmabroker_v1_ListObjectsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  ListObjects(argument: _rdmabroker_v1_ListObjectsRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists objects in creation order, paged: pass the last response's
   * next_start_handle as start_handle (handles are opaque and unordered; the
   * page starts where that object was, even if it has gone since).
   */
  listObjects(argument: _rdmabroker_v1_ListObjectsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  listObjects(argument: _rdmabroker_v1_ListObjectsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  listObjects(argument: _rdmabroker_v1_ListObjectsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  listObjects(argument: _rdmabroker_v1_ListObjectsRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListObjectsResponse__Output>): grpc.ClientUnaryCall;
  
  ListSessions(argument: _rdmabroker_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _rdmabroker_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _rdmabroker_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  ListSessions(argument: _rdmabroker_v1_ListSessionsRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _rdmabroker_v1_ListSessionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _rdmabroker_v1_ListSessionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _rdmabroker_v1_ListSessionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  listSessions(argument: _rdmabroker_v1_ListSessionsRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListSessionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams object changes; with `initial`, first every matching object as
   * CREATED, then a SYNCED marker.
   */
  WatchObjects(argument: _rdmabroker_v1_WatchObjectsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rdmabroker_v1_ObjectChange__Output>;
  WatchObjects(argument: _rdmabroker_v1_WatchObjectsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rdmabroker_v1_ObjectChange__Output>;
  /**
   * Streams object changes; with `initial`, first every matching object as
   * CREATED, then a SYNCED marker.
   */
  watchObjects(argument: _rdmabroker_v1_WatchObjectsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rdmabroker_v1_ObjectChange__Output>;
  watchObjects(argument: _rdmabroker_v1_WatchObjectsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rdmabroker_v1_ObjectChange__Output>;
  
}

export interface InspectionServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Lists objects in creation order, paged: pass the last response's
   * next_start_handle as start_handle (handles are opaque and unordered; the
   * page starts where that object was, even if it has gone since).
   */
  ListObjects: grpc.handleUnaryCall<_rdmabroker_v1_ListObjectsRequest__Output, _rdmabroker_v1_ListObjectsResponse>;
  
  ListSessions: grpc.handleUnaryCall<_rdmabroker_v1_ListSessionsRequest__Output, _rdmabroker_v1_ListSessionsResponse>;
  
  /**
   * Streams object changes; with `initial`, first every matching object as
   * CREATED, then a SYNCED marker.
   */
  WatchObjects: grpc.handleServerStreamingCall<_rdmabroker_v1_WatchObjectsRequest__Output, _rdmabroker_v1_ObjectChange>;
  
}

export interface InspectionServiceDefinition extends grpc.ServiceDefinition {
  ListObjects: MethodDefinition<_rdmabroker_v1_ListObjectsRequest, _rdmabroker_v1_ListObjectsResponse, _rdmabroker_v1_ListObjectsRequest__Output, _rdmabroker_v1_ListObjectsResponse__Output>
  ListSessions: MethodDefinition<_rdmabroker_v1_ListSessionsRequest, _rdmabroker_v1_ListSessionsResponse, _rdmabroker_v1_ListSessionsRequest__Output, _rdmabroker_v1_ListSessionsResponse__Output>
  WatchObjects: MethodDefinition<_rdmabroker_v1_WatchObjectsRequest, _rdmabroker_v1_ObjectChange, _rdmabroker_v1_WatchObjectsRequest__Output, _rdmabroker_v1_ObjectChange__Output>
}
