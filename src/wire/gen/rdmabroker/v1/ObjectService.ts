// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BatchReply as _rdmabroker_v1_BatchReply, BatchReply__Output as _rdmabroker_v1_BatchReply__Output } from '../../rdmabroker/v1/BatchReply';
import type { BatchRequest as _rdmabroker_v1_BatchRequest, BatchRequest__Output as _rdmabroker_v1_BatchRequest__Output } from '../../rdmabroker/v1/BatchRequest';
import type { CreateRequest as _rdmabroker_v1_CreateRequest, CreateRequest__Output as _rdmabroker_v1_CreateRequest__Output } from '../../rdmabroker/v1/CreateRequest';
import type { DestroyReply as _rdmabroker_v1_DestroyReply, DestroyReply__Output as _rdmabroker_v1_DestroyReply__Output } from '../../rdmabroker/v1/DestroyReply';
import type { DestroyRequest as _rdmabroker_v1_DestroyRequest, DestroyRequest__Output as _rdmabroker_v1_DestroyRequest__Output } from '../../rdmabroker/v1/DestroyRequest';
import type { InvokeReply as _rdmabroker_v1_InvokeReply, InvokeReply__Output as _rdmabroker_v1_InvokeReply__Output } from '../../rdmabroker/v1/InvokeReply';
import type { InvokeRequest as _rdmabroker_v1_InvokeRequest, InvokeRequest__Output as _rdmabroker_v1_InvokeRequest__Output } from '../../rdmabroker/v1/InvokeRequest';
import type { ModifyRequest as _rdmabroker_v1_ModifyRequest, ModifyRequest__Output as _rdmabroker_v1_ModifyRequest__Output } from '../../rdmabroker/v1/ModifyRequest';
import type { ObjectReply as _rdmabroker_v1_ObjectReply, ObjectReply__Output as _rdmabroker_v1_ObjectReply__Output } from '../../rdmabroker/v1/ObjectReply';
import type { QueryRequest as _rdmabroker_v1_QueryRequest, QueryRequest__Output as _rdmabroker_v1_QueryRequest__Output } from '../../rdmabroker/v1/QueryRequest';

export interface ObjectServiceClient extends grpc.Client {
  /**
   * Many verbs in one round trip, in order; stops at the first error.
   */
  Batch(argument: _rdmabroker_v1_BatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  Batch(argument: _rdmabroker_v1_BatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  Batch(argument: _rdmabroker_v1_BatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  Batch(argument: _rdmabroker_v1_BatchRequest, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  /**
   * Many verbs in one round trip, in order; stops at the first error.
   */
  batch(argument: _rdmabroker_v1_BatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  batch(argument: _rdmabroker_v1_BatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  batch(argument: _rdmabroker_v1_BatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  batch(argument: _rdmabroker_v1_BatchRequest, callback: grpc.requestCallback<_rdmabroker_v1_BatchReply__Output>): grpc.ClientUnaryCall;
  
  Create(argument: _rdmabroker_v1_CreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _rdmabroker_v1_CreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _rdmabroker_v1_CreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Create(argument: _rdmabroker_v1_CreateRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  create(argument: _rdmabroker_v1_CreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  create(argument: _rdmabroker_v1_CreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  create(argument: _rdmabroker_v1_CreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  create(argument: _rdmabroker_v1_CreateRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  
  Destroy(argument: _rdmabroker_v1_DestroyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  Destroy(argument: _rdmabroker_v1_DestroyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  Destroy(argument: _rdmabroker_v1_DestroyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  Destroy(argument: _rdmabroker_v1_DestroyRequest, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  destroy(argument: _rdmabroker_v1_DestroyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  destroy(argument: _rdmabroker_v1_DestroyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  destroy(argument: _rdmabroker_v1_DestroyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  destroy(argument: _rdmabroker_v1_DestroyRequest, callback: grpc.requestCallback<_rdmabroker_v1_DestroyReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Calls a method on an object (post_send, poll, req_notify, attach_mcast, ...),
   * or on a device when `handle` is 0 and `device` is set.
   */
  Invoke(argument: _rdmabroker_v1_InvokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _rdmabroker_v1_InvokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _rdmabroker_v1_InvokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  Invoke(argument: _rdmabroker_v1_InvokeRequest, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  /**
   * Calls a method on an object (post_send, poll, req_notify, attach_mcast, ...),
   * or on a device when `handle` is 0 and `device` is set.
   */
  invoke(argument: _rdmabroker_v1_InvokeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _rdmabroker_v1_InvokeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _rdmabroker_v1_InvokeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  invoke(argument: _rdmabroker_v1_InvokeRequest, callback: grpc.requestCallback<_rdmabroker_v1_InvokeReply__Output>): grpc.ClientUnaryCall;
  
  Modify(argument: _rdmabroker_v1_ModifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Modify(argument: _rdmabroker_v1_ModifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Modify(argument: _rdmabroker_v1_ModifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Modify(argument: _rdmabroker_v1_ModifyRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  modify(argument: _rdmabroker_v1_ModifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  modify(argument: _rdmabroker_v1_ModifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  modify(argument: _rdmabroker_v1_ModifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  modify(argument: _rdmabroker_v1_ModifyRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  
  Query(argument: _rdmabroker_v1_QueryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryRequest, callback: grpc.requestCallback<_rdmabroker_v1_ObjectReply__Output>): grpc.ClientUnaryCall;
  
}

export interface ObjectServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Many verbs in one round trip, in order; stops at the first error.
   */
  Batch: grpc.handleUnaryCall<_rdmabroker_v1_BatchRequest__Output, _rdmabroker_v1_BatchReply>;
  
  Create: grpc.handleUnaryCall<_rdmabroker_v1_CreateRequest__Output, _rdmabroker_v1_ObjectReply>;
  
  Destroy: grpc.handleUnaryCall<_rdmabroker_v1_DestroyRequest__Output, _rdmabroker_v1_DestroyReply>;
  
  /**
   * Calls a method on an object (post_send, poll, req_notify, attach_mcast, ...),
   * or on a device when `handle` is 0 and `device` is set.
   */
  Invoke: grpc.handleUnaryCall<_rdmabroker_v1_InvokeRequest__Output, _rdmabroker_v1_InvokeReply>;
  
  Modify: grpc.handleUnaryCall<_rdmabroker_v1_ModifyRequest__Output, _rdmabroker_v1_ObjectReply>;
  
  Query: grpc.handleUnaryCall<_rdmabroker_v1_QueryRequest__Output, _rdmabroker_v1_ObjectReply>;
  
}

export interface ObjectServiceDefinition extends grpc.ServiceDefinition {
  Batch: MethodDefinition<_rdmabroker_v1_BatchRequest, _rdmabroker_v1_BatchReply, _rdmabroker_v1_BatchRequest__Output, _rdmabroker_v1_BatchReply__Output>
  Create: MethodDefinition<_rdmabroker_v1_CreateRequest, _rdmabroker_v1_ObjectReply, _rdmabroker_v1_CreateRequest__Output, _rdmabroker_v1_ObjectReply__Output>
  Destroy: MethodDefinition<_rdmabroker_v1_DestroyRequest, _rdmabroker_v1_DestroyReply, _rdmabroker_v1_DestroyRequest__Output, _rdmabroker_v1_DestroyReply__Output>
  Invoke: MethodDefinition<_rdmabroker_v1_InvokeRequest, _rdmabroker_v1_InvokeReply, _rdmabroker_v1_InvokeRequest__Output, _rdmabroker_v1_InvokeReply__Output>
  Modify: MethodDefinition<_rdmabroker_v1_ModifyRequest, _rdmabroker_v1_ObjectReply, _rdmabroker_v1_ModifyRequest__Output, _rdmabroker_v1_ObjectReply__Output>
  Query: MethodDefinition<_rdmabroker_v1_QueryRequest, _rdmabroker_v1_ObjectReply, _rdmabroker_v1_QueryRequest__Output, _rdmabroker_v1_ObjectReply__Output>
}
