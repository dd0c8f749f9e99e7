// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EvictSessionRequest as _rdmabroker_v1_EvictSessionRequest, EvictSessionRequest__Output as _rdmabroker_v1_EvictSessionRequest__Output } from '../../rdmabroker/v1/EvictSessionRequest';
import type { EvictSessionResponse as _rdmabroker_v1_EvictSessionResponse, EvictSessionResponse__Output as _rdmabroker_v1_EvictSessionResponse__Output } from '../../rdmabroker/v1/EvictSessionResponse';
import type { GetAccountingRequest as _rdmabroker_v1_GetAccountingRequest, GetAccountingRequest__Output as _rdmabroker_v1_GetAccountingRequest__Output } from '../../rdmabroker/v1/GetAccountingRequest';
import type { GetAccountingResponse as _rdmabroker_v1_GetAccountingResponse, GetAccountingResponse__Output as _rdmabroker_v1_GetAccountingResponse__Output } from '../../rdmabroker/v1/GetAccountingResponse';
import type { GetQuotasRequest as _rdmabroker_v1_GetQuotasRequest, GetQuotasRequest__Output as _rdmabroker_v1_GetQuotasRequest__Output } from '../../rdmabroker/v1/GetQuotasRequest';
import type { GetQuotasResponse as _rdmabroker_v1_GetQuotasResponse, GetQuotasResponse__Output as _rdmabroker_v1_GetQuotasResponse__Output } from '../../rdmabroker/v1/GetQuotasResponse';
import type { SetQuotaRequest as _rdmabroker_v1_SetQuotaRequest, SetQuotaRequest__Output as _rdmabroker_v1_SetQuotaRequest__Output } from '../../rdmabroker/v1/SetQuotaRequest';
import type { SetQuotaResponse as _rdmabroker_v1_SetQuotaResponse, SetQuotaResponse__Output as _rdmabroker_v1_SetQuotaResponse__Output } from '../../rdmabroker/v1/SetQuotaResponse';
import type { WhoAmIRequest as _rdmabroker_v1_WhoAmIRequest, WhoAmIRequest__Output as _rdmabroker_v1_WhoAmIRequest__Output } from '../../rdmabroker/v1/WhoAmIRequest';
import type { WhoAmIResponse as _rdmabroker_v1_WhoAmIResponse, WhoAmIResponse__Output as _rdmabroker_v1_WhoAmIResponse__Output } from '../../rdmabroker/v1/WhoAmIResponse';

/**
 * Tenants, quotas and accounting. Viewers and admins read every tenant,
 * a tenant only itself; SetQuota and EvictSession are for admins only.
 */
export interface AdminServiceClient extends grpc.Client {
  /**
   * Ends a session now: its objects are destroyed children-first.
   */
  EvictSession(argument: _rdmabroker_v1_EvictSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  EvictSession(argument: _rdmabroker_v1_EvictSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  EvictSession(argument: _rdmabroker_v1_EvictSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  EvictSession(argument: _rdmabroker_v1_EvictSessionRequest, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Ends a session now: its objects are destroyed children-first.
   */
  evictSession(argument: _rdmabroker_v1_EvictSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  evictSession(argument: _rdmabroker_v1_EvictSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  evictSession(argument: _rdmabroker_v1_EvictSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  evictSession(argument: _rdmabroker_v1_EvictSessionRequest, callback: grpc.requestCallback<_rdmabroker_v1_EvictSessionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Usage per tenant and object type: current, high-water, verbs by result.
   */
  GetAccounting(argument: _rdmabroker_v1_GetAccountingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  GetAccounting(argument: _rdmabroker_v1_GetAccountingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  GetAccounting(argument: _rdmabroker_v1_GetAccountingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  GetAccounting(argument: _rdmabroker_v1_GetAccountingRequest, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Usage per tenant and object type: current, high-water, verbs by result.
   */
  getAccounting(argument: _rdmabroker_v1_GetAccountingRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  getAccounting(argument: _rdmabroker_v1_GetAccountingRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  getAccounting(argument: _rdmabroker_v1_GetAccountingRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  getAccounting(argument: _rdmabroker_v1_GetAccountingRequest, callback: grpc.requestCallback<_rdmabroker_v1_GetAccountingResponse__Output>): grpc.ClientUnaryCall;
  
  GetQuotas(argument: _rdmabroker_v1_GetQuotasRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  GetQuotas(argument: _rdmabroker_v1_GetQuotasRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  GetQuotas(argument: _rdmabroker_v1_GetQuotasRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  GetQuotas(argument: _rdmabroker_v1_GetQuotasRequest, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  getQuotas(argument: _rdmabroker_v1_GetQuotasRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  getQuotas(argument: _rdmabroker_v1_GetQuotasRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  getQuotas(argument: _rdmabroker_v1_GetQuotasRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  getQuotas(argument: _rdmabroker_v1_GetQuotasRequest, callback: grpc.requestCallback<_rdmabroker_v1_GetQuotasResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Changes a tenant's quota at run time (until the config file is reloaded).
   * Lowering a limit below the current usage refuses new objects; it destroys nothing.
   */
  SetQuota(argument: _rdmabroker_v1_SetQuotaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  SetQuota(argument: _rdmabroker_v1_SetQuotaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  SetQuota(argument: _rdmabroker_v1_SetQuotaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  SetQuota(argument: _rdmabroker_v1_SetQuotaRequest, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Changes a tenant's quota at run time (until the config file is reloaded).
   * Lowering a limit below the current usage refuses new objects; it destroys nothing.
   */
  setQuota(argument: _rdmabroker_v1_SetQuotaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  setQuota(argument: _rdmabroker_v1_SetQuotaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  setQuota(argument: _rdmabroker_v1_SetQuotaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  setQuota(argument: _rdmabroker_v1_SetQuotaRequest, callback: grpc.requestCallback<_rdmabroker_v1_SetQuotaResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The caller's tenant and role, as the daemon identified them.
   */
  WhoAmI(argument: _rdmabroker_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _rdmabroker_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _rdmabroker_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _rdmabroker_v1_WhoAmIRequest, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The caller's tenant and role, as the daemon identified them.
   */
  whoAmI(argument: _rdmabroker_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _rdmabroker_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _rdmabroker_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _rdmabroker_v1_WhoAmIRequest, callback: grpc.requestCallback<_rdmabroker_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Tenants, quotas and accounting. Viewers and admins read every tenant,
 * a tenant only itself; SetQuota and EvictSession are for admins only.
 */
export interface AdminServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Ends a session now: its objects are destroyed children-first.
   */
  EvictSession: grpc.handleUnaryCall<_rdmabroker_v1_EvictSessionRequest__Output, _rdmabroker_v1_EvictSessionResponse>;
  
  /**
   * Usage per tenant and object type: current, high-water, verbs by result.
   */
  GetAccounting: grpc.handleUnaryCall<_rdmabroker_v1_GetAccountingRequest__Output, _rdmabroker_v1_GetAccountingResponse>;
  
  GetQuotas: grpc.handleUnaryCall<_rdmabroker_v1_GetQuotasRequest__Output, _rdmabroker_v1_GetQuotasResponse>;
  
  /**
   * Changes a tenant's quota at run time (until the config file is reloaded).
   * Lowering a limit below the current usage refuses new objects; it destroys nothing.
   */
  SetQuota: grpc.handleUnaryCall<_rdmabroker_v1_SetQuotaRequest__Output, _rdmabroker_v1_SetQuotaResponse>;
  
  /**
   * The caller's tenant and role, as the daemon identified them.
   */
  WhoAmI: grpc.handleUnaryCall<_rdmabroker_v1_WhoAmIRequest__Output, _rdmabroker_v1_WhoAmIResponse>;
  
}

export interface AdminServiceDefinition extends grpc.ServiceDefinition {
  EvictSession: MethodDefinition<_rdmabroker_v1_EvictSessionRequest, _rdmabroker_v1_EvictSessionResponse, _rdmabroker_v1_EvictSessionRequest__Output, _rdmabroker_v1_EvictSessionResponse__Output>
  GetAccounting: MethodDefinition<_rdmabroker_v1_GetAccountingRequest, _rdmabroker_v1_GetAccountingResponse, _rdmabroker_v1_GetAccountingRequest__Output, _rdmabroker_v1_GetAccountingResponse__Output>
  GetQuotas: MethodDefinition<_rdmabroker_v1_GetQuotasRequest, _rdmabroker_v1_GetQuotasResponse, _rdmabroker_v1_GetQuotasRequest__Output, _rdmabroker_v1_GetQuotasResponse__Output>
  SetQuota: MethodDefinition<_rdmabroker_v1_SetQuotaRequest, _rdmabroker_v1_SetQuotaResponse, _rdmabroker_v1_SetQuotaRequest__Output, _rdmabroker_v1_SetQuotaResponse__Output>
  WhoAmI: MethodDefinition<_rdmabroker_v1_WhoAmIRequest, _rdmabroker_v1_WhoAmIResponse, _rdmabroker_v1_WhoAmIRequest__Output, _rdmabroker_v1_WhoAmIResponse__Output>
}
