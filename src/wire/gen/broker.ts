import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ErrorInfo as _google_rpc_ErrorInfo, ErrorInfo__Output as _google_rpc_ErrorInfo__Output } from './google/rpc/ErrorInfo';
import type { AdminServiceClient as _rdmabroker_v1_AdminServiceClient, AdminServiceDefinition as _rdmabroker_v1_AdminServiceDefinition } from './rdmabroker/v1/AdminService';
import type { AttrInfo as _rdmabroker_v1_AttrInfo, AttrInfo__Output as _rdmabroker_v1_AttrInfo__Output } from './rdmabroker/v1/AttrInfo';
import type { Attrs as _rdmabroker_v1_Attrs, Attrs__Output as _rdmabroker_v1_Attrs__Output } from './rdmabroker/v1/Attrs';
import type { BatchReply as _rdmabroker_v1_BatchReply, BatchReply__Output as _rdmabroker_v1_BatchReply__Output } from './rdmabroker/v1/BatchReply';
import type { BatchRequest as _rdmabroker_v1_BatchRequest, BatchRequest__Output as _rdmabroker_v1_BatchRequest__Output } from './rdmabroker/v1/BatchRequest';
import type { BatchStep as _rdmabroker_v1_BatchStep, BatchStep__Output as _rdmabroker_v1_BatchStep__Output } from './rdmabroker/v1/BatchStep';
import type { CreateRequest as _rdmabroker_v1_CreateRequest, CreateRequest__Output as _rdmabroker_v1_CreateRequest__Output } from './rdmabroker/v1/CreateRequest';
import type { DescribeDeviceRequest as _rdmabroker_v1_DescribeDeviceRequest, DescribeDeviceRequest__Output as _rdmabroker_v1_DescribeDeviceRequest__Output } from './rdmabroker/v1/DescribeDeviceRequest';
import type { DescribeDeviceResponse as _rdmabroker_v1_DescribeDeviceResponse, DescribeDeviceResponse__Output as _rdmabroker_v1_DescribeDeviceResponse__Output } from './rdmabroker/v1/DescribeDeviceResponse';
import type { DestroyReply as _rdmabroker_v1_DestroyReply, DestroyReply__Output as _rdmabroker_v1_DestroyReply__Output } from './rdmabroker/v1/DestroyReply';
import type { DestroyRequest as _rdmabroker_v1_DestroyRequest, DestroyRequest__Output as _rdmabroker_v1_DestroyRequest__Output } from './rdmabroker/v1/DestroyRequest';
import type { DeviceServiceClient as _rdmabroker_v1_DeviceServiceClient, DeviceServiceDefinition as _rdmabroker_v1_DeviceServiceDefinition } from './rdmabroker/v1/DeviceService';
import type { DeviceSummary as _rdmabroker_v1_DeviceSummary, DeviceSummary__Output as _rdmabroker_v1_DeviceSummary__Output } from './rdmabroker/v1/DeviceSummary';
import type { ErrorInfo as _rdmabroker_v1_ErrorInfo, ErrorInfo__Output as _rdmabroker_v1_ErrorInfo__Output } from './rdmabroker/v1/ErrorInfo';
import type { Event as _rdmabroker_v1_Event, Event__Output as _rdmabroker_v1_Event__Output } from './rdmabroker/v1/Event';
import type { EvictSessionRequest as _rdmabroker_v1_EvictSessionRequest, EvictSessionRequest__Output as _rdmabroker_v1_EvictSessionRequest__Output } from './rdmabroker/v1/EvictSessionRequest';
import type { EvictSessionResponse as _rdmabroker_v1_EvictSessionResponse, EvictSessionResponse__Output as _rdmabroker_v1_EvictSessionResponse__Output } from './rdmabroker/v1/EvictSessionResponse';
import type { GetAccountingRequest as _rdmabroker_v1_GetAccountingRequest, GetAccountingRequest__Output as _rdmabroker_v1_GetAccountingRequest__Output } from './rdmabroker/v1/GetAccountingRequest';
import type { GetAccountingResponse as _rdmabroker_v1_GetAccountingResponse, GetAccountingResponse__Output as _rdmabroker_v1_GetAccountingResponse__Output } from './rdmabroker/v1/GetAccountingResponse';
import type { GetQuotasRequest as _rdmabroker_v1_GetQuotasRequest, GetQuotasRequest__Output as _rdmabroker_v1_GetQuotasRequest__Output } from './rdmabroker/v1/GetQuotasRequest';
import type { GetQuotasResponse as _rdmabroker_v1_GetQuotasResponse, GetQuotasResponse__Output as _rdmabroker_v1_GetQuotasResponse__Output } from './rdmabroker/v1/GetQuotasResponse';
import type { Gid as _rdmabroker_v1_Gid, Gid__Output as _rdmabroker_v1_Gid__Output } from './rdmabroker/v1/Gid';
import type { InspectionServiceClient as _rdmabroker_v1_InspectionServiceClient, InspectionServiceDefinition as _rdmabroker_v1_InspectionServiceDefinition } from './rdmabroker/v1/InspectionService';
import type { InvokeReply as _rdmabroker_v1_InvokeReply, InvokeReply__Output as _rdmabroker_v1_InvokeReply__Output } from './rdmabroker/v1/InvokeReply';
import type { InvokeRequest as _rdmabroker_v1_InvokeRequest, InvokeRequest__Output as _rdmabroker_v1_InvokeRequest__Output } from './rdmabroker/v1/InvokeRequest';
import type { IssueFdTokenReply as _rdmabroker_v1_IssueFdTokenReply, IssueFdTokenReply__Output as _rdmabroker_v1_IssueFdTokenReply__Output } from './rdmabroker/v1/IssueFdTokenReply';
import type { IssueFdTokenRequest as _rdmabroker_v1_IssueFdTokenRequest, IssueFdTokenRequest__Output as _rdmabroker_v1_IssueFdTokenRequest__Output } from './rdmabroker/v1/IssueFdTokenRequest';
import type { KeepAlive as _rdmabroker_v1_KeepAlive, KeepAlive__Output as _rdmabroker_v1_KeepAlive__Output } from './rdmabroker/v1/KeepAlive';
import type { ListDevicesRequest as _rdmabroker_v1_ListDevicesRequest, ListDevicesRequest__Output as _rdmabroker_v1_ListDevicesRequest__Output } from './rdmabroker/v1/ListDevicesRequest';
import type { ListDevicesResponse as _rdmabroker_v1_ListDevicesResponse, ListDevicesResponse__Output as _rdmabroker_v1_ListDevicesResponse__Output } from './rdmabroker/v1/ListDevicesResponse';
import type { ListObjectsRequest as _rdmabroker_v1_ListObjectsRequest, ListObjectsRequest__Output as _rdmabroker_v1_ListObjectsRequest__Output } from './rdmabroker/v1/ListObjectsRequest';
import type { ListObjectsResponse as _rdmabroker_v1_ListObjectsResponse, ListObjectsResponse__Output as _rdmabroker_v1_ListObjectsResponse__Output } from './rdmabroker/v1/ListObjectsResponse';
import type { ListSessionsRequest as _rdmabroker_v1_ListSessionsRequest, ListSessionsRequest__Output as _rdmabroker_v1_ListSessionsRequest__Output } from './rdmabroker/v1/ListSessionsRequest';
import type { ListSessionsResponse as _rdmabroker_v1_ListSessionsResponse, ListSessionsResponse__Output as _rdmabroker_v1_ListSessionsResponse__Output } from './rdmabroker/v1/ListSessionsResponse';
import type { MethodInfo as _rdmabroker_v1_MethodInfo, MethodInfo__Output as _rdmabroker_v1_MethodInfo__Output } from './rdmabroker/v1/MethodInfo';
import type { ModifyRequest as _rdmabroker_v1_ModifyRequest, ModifyRequest__Output as _rdmabroker_v1_ModifyRequest__Output } from './rdmabroker/v1/ModifyRequest';
import type { ObjectChange as _rdmabroker_v1_ObjectChange, ObjectChange__Output as _rdmabroker_v1_ObjectChange__Output } from './rdmabroker/v1/ObjectChange';
import type { ObjectFilter as _rdmabroker_v1_ObjectFilter, ObjectFilter__Output as _rdmabroker_v1_ObjectFilter__Output } from './rdmabroker/v1/ObjectFilter';
import type { ObjectInfo as _rdmabroker_v1_ObjectInfo, ObjectInfo__Output as _rdmabroker_v1_ObjectInfo__Output } from './rdmabroker/v1/ObjectInfo';
import type { ObjectReply as _rdmabroker_v1_ObjectReply, ObjectReply__Output as _rdmabroker_v1_ObjectReply__Output } from './rdmabroker/v1/ObjectReply';
import type { ObjectServiceClient as _rdmabroker_v1_ObjectServiceClient, ObjectServiceDefinition as _rdmabroker_v1_ObjectServiceDefinition } from './rdmabroker/v1/ObjectService';
import type { ObjectTypeInfo as _rdmabroker_v1_ObjectTypeInfo, ObjectTypeInfo__Output as _rdmabroker_v1_ObjectTypeInfo__Output } from './rdmabroker/v1/ObjectTypeInfo';
import type { OpenSession as _rdmabroker_v1_OpenSession, OpenSession__Output as _rdmabroker_v1_OpenSession__Output } from './rdmabroker/v1/OpenSession';
import type { PeerCredentials as _rdmabroker_v1_PeerCredentials, PeerCredentials__Output as _rdmabroker_v1_PeerCredentials__Output } from './rdmabroker/v1/PeerCredentials';
import type { PodRef as _rdmabroker_v1_PodRef, PodRef__Output as _rdmabroker_v1_PodRef__Output } from './rdmabroker/v1/PodRef';
import type { Port as _rdmabroker_v1_Port, Port__Output as _rdmabroker_v1_Port__Output } from './rdmabroker/v1/Port';
import type { QueryDeviceRequest as _rdmabroker_v1_QueryDeviceRequest, QueryDeviceRequest__Output as _rdmabroker_v1_QueryDeviceRequest__Output } from './rdmabroker/v1/QueryDeviceRequest';
import type { QueryDeviceResponse as _rdmabroker_v1_QueryDeviceResponse, QueryDeviceResponse__Output as _rdmabroker_v1_QueryDeviceResponse__Output } from './rdmabroker/v1/QueryDeviceResponse';
import type { QueryRequest as _rdmabroker_v1_QueryRequest, QueryRequest__Output as _rdmabroker_v1_QueryRequest__Output } from './rdmabroker/v1/QueryRequest';
import type { QuotaOverLimit as _rdmabroker_v1_QuotaOverLimit, QuotaOverLimit__Output as _rdmabroker_v1_QuotaOverLimit__Output } from './rdmabroker/v1/QuotaOverLimit';
import type { SessionClientMessage as _rdmabroker_v1_SessionClientMessage, SessionClientMessage__Output as _rdmabroker_v1_SessionClientMessage__Output } from './rdmabroker/v1/SessionClientMessage';
import type { SessionInfo as _rdmabroker_v1_SessionInfo, SessionInfo__Output as _rdmabroker_v1_SessionInfo__Output } from './rdmabroker/v1/SessionInfo';
import type { SessionOpened as _rdmabroker_v1_SessionOpened, SessionOpened__Output as _rdmabroker_v1_SessionOpened__Output } from './rdmabroker/v1/SessionOpened';
import type { SessionServerMessage as _rdmabroker_v1_SessionServerMessage, SessionServerMessage__Output as _rdmabroker_v1_SessionServerMessage__Output } from './rdmabroker/v1/SessionServerMessage';
import type { SessionServiceClient as _rdmabroker_v1_SessionServiceClient, SessionServiceDefinition as _rdmabroker_v1_SessionServiceDefinition } from './rdmabroker/v1/SessionService';
import type { SetQuotaRequest as _rdmabroker_v1_SetQuotaRequest, SetQuotaRequest__Output as _rdmabroker_v1_SetQuotaRequest__Output } from './rdmabroker/v1/SetQuotaRequest';
import type { SetQuotaResponse as _rdmabroker_v1_SetQuotaResponse, SetQuotaResponse__Output as _rdmabroker_v1_SetQuotaResponse__Output } from './rdmabroker/v1/SetQuotaResponse';
import type { StepResult as _rdmabroker_v1_StepResult, StepResult__Output as _rdmabroker_v1_StepResult__Output } from './rdmabroker/v1/StepResult';
import type { TenantQuota as _rdmabroker_v1_TenantQuota, TenantQuota__Output as _rdmabroker_v1_TenantQuota__Output } from './rdmabroker/v1/TenantQuota';
import type { TenantUsage as _rdmabroker_v1_TenantUsage, TenantUsage__Output as _rdmabroker_v1_TenantUsage__Output } from './rdmabroker/v1/TenantUsage';
import type { TypeUsage as _rdmabroker_v1_TypeUsage, TypeUsage__Output as _rdmabroker_v1_TypeUsage__Output } from './rdmabroker/v1/TypeUsage';
import type { Value as _rdmabroker_v1_Value, Value__Output as _rdmabroker_v1_Value__Output } from './rdmabroker/v1/Value';
import type { ValueList as _rdmabroker_v1_ValueList, ValueList__Output as _rdmabroker_v1_ValueList__Output } from './rdmabroker/v1/ValueList';
import type { VerbCount as _rdmabroker_v1_VerbCount, VerbCount__Output as _rdmabroker_v1_VerbCount__Output } from './rdmabroker/v1/VerbCount';
import type { WatchObjectsRequest as _rdmabroker_v1_WatchObjectsRequest, WatchObjectsRequest__Output as _rdmabroker_v1_WatchObjectsRequest__Output } from './rdmabroker/v1/WatchObjectsRequest';
import type { WhoAmIRequest as _rdmabroker_v1_WhoAmIRequest, WhoAmIRequest__Output as _rdmabroker_v1_WhoAmIRequest__Output } from './rdmabroker/v1/WhoAmIRequest';
import type { WhoAmIResponse as _rdmabroker_v1_WhoAmIResponse, WhoAmIResponse__Output as _rdmabroker_v1_WhoAmIResponse__Output } from './rdmabroker/v1/WhoAmIResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    rpc: {
      ErrorInfo: MessageTypeDefinition<_google_rpc_ErrorInfo, _google_rpc_ErrorInfo__Output>
    }
  }
  rdmabroker: {
    v1: {
      /**
       * Tenants, quotas and accounting. Viewers and admins read every tenant,
       * a tenant only itself; SetQuota and EvictSession are for admins only.
       */
      AdminService: SubtypeConstructor<typeof grpc.Client, _rdmabroker_v1_AdminServiceClient> & { service: _rdmabroker_v1_AdminServiceDefinition }
      AttrInfo: MessageTypeDefinition<_rdmabroker_v1_AttrInfo, _rdmabroker_v1_AttrInfo__Output>
      Attrs: MessageTypeDefinition<_rdmabroker_v1_Attrs, _rdmabroker_v1_Attrs__Output>
      BatchReply: MessageTypeDefinition<_rdmabroker_v1_BatchReply, _rdmabroker_v1_BatchReply__Output>
      BatchRequest: MessageTypeDefinition<_rdmabroker_v1_BatchRequest, _rdmabroker_v1_BatchRequest__Output>
      BatchStep: MessageTypeDefinition<_rdmabroker_v1_BatchStep, _rdmabroker_v1_BatchStep__Output>
      CreateRequest: MessageTypeDefinition<_rdmabroker_v1_CreateRequest, _rdmabroker_v1_CreateRequest__Output>
      DescribeDeviceRequest: MessageTypeDefinition<_rdmabroker_v1_DescribeDeviceRequest, _rdmabroker_v1_DescribeDeviceRequest__Output>
      DescribeDeviceResponse: MessageTypeDefinition<_rdmabroker_v1_DescribeDeviceResponse, _rdmabroker_v1_DescribeDeviceResponse__Output>
      DestroyReply: MessageTypeDefinition<_rdmabroker_v1_DestroyReply, _rdmabroker_v1_DestroyReply__Output>
      DestroyRequest: MessageTypeDefinition<_rdmabroker_v1_DestroyRequest, _rdmabroker_v1_DestroyRequest__Output>
      DeviceService: SubtypeConstructor<typeof grpc.Client, _rdmabroker_v1_DeviceServiceClient> & { service: _rdmabroker_v1_DeviceServiceDefinition }
      DeviceSummary: MessageTypeDefinition<_rdmabroker_v1_DeviceSummary, _rdmabroker_v1_DeviceSummary__Output>
      ErrorInfo: MessageTypeDefinition<_rdmabroker_v1_ErrorInfo, _rdmabroker_v1_ErrorInfo__Output>
      Event: MessageTypeDefinition<_rdmabroker_v1_Event, _rdmabroker_v1_Event__Output>
      EvictSessionRequest: MessageTypeDefinition<_rdmabroker_v1_EvictSessionRequest, _rdmabroker_v1_EvictSessionRequest__Output>
      EvictSessionResponse: MessageTypeDefinition<_rdmabroker_v1_EvictSessionResponse, _rdmabroker_v1_EvictSessionResponse__Output>
      GetAccountingRequest: MessageTypeDefinition<_rdmabroker_v1_GetAccountingRequest, _rdmabroker_v1_GetAccountingRequest__Output>
      GetAccountingResponse: MessageTypeDefinition<_rdmabroker_v1_GetAccountingResponse, _rdmabroker_v1_GetAccountingResponse__Output>
      GetQuotasRequest: MessageTypeDefinition<_rdmabroker_v1_GetQuotasRequest, _rdmabroker_v1_GetQuotasRequest__Output>
      GetQuotasResponse: MessageTypeDefinition<_rdmabroker_v1_GetQuotasResponse, _rdmabroker_v1_GetQuotasResponse__Output>
      Gid: MessageTypeDefinition<_rdmabroker_v1_Gid, _rdmabroker_v1_Gid__Output>
      InspectionService: SubtypeConstructor<typeof grpc.Client, _rdmabroker_v1_InspectionServiceClient> & { service: _rdmabroker_v1_InspectionServiceDefinition }
      InvokeReply: MessageTypeDefinition<_rdmabroker_v1_InvokeReply, _rdmabroker_v1_InvokeReply__Output>
      InvokeRequest: MessageTypeDefinition<_rdmabroker_v1_InvokeRequest, _rdmabroker_v1_InvokeRequest__Output>
      IssueFdTokenReply: MessageTypeDefinition<_rdmabroker_v1_IssueFdTokenReply, _rdmabroker_v1_IssueFdTokenReply__Output>
      IssueFdTokenRequest: MessageTypeDefinition<_rdmabroker_v1_IssueFdTokenRequest, _rdmabroker_v1_IssueFdTokenRequest__Output>
      KeepAlive: MessageTypeDefinition<_rdmabroker_v1_KeepAlive, _rdmabroker_v1_KeepAlive__Output>
      ListDevicesRequest: MessageTypeDefinition<_rdmabroker_v1_ListDevicesRequest, _rdmabroker_v1_ListDevicesRequest__Output>
      ListDevicesResponse: MessageTypeDefinition<_rdmabroker_v1_ListDevicesResponse, _rdmabroker_v1_ListDevicesResponse__Output>
      ListObjectsRequest: MessageTypeDefinition<_rdmabroker_v1_ListObjectsRequest, _rdmabroker_v1_ListObjectsRequest__Output>
      ListObjectsResponse: MessageTypeDefinition<_rdmabroker_v1_ListObjectsResponse, _rdmabroker_v1_ListObjectsResponse__Output>
      ListSessionsRequest: MessageTypeDefinition<_rdmabroker_v1_ListSessionsRequest, _rdmabroker_v1_ListSessionsRequest__Output>
      ListSessionsResponse: MessageTypeDefinition<_rdmabroker_v1_ListSessionsResponse, _rdmabroker_v1_ListSessionsResponse__Output>
      MethodInfo: MessageTypeDefinition<_rdmabroker_v1_MethodInfo, _rdmabroker_v1_MethodInfo__Output>
      ModifyRequest: MessageTypeDefinition<_rdmabroker_v1_ModifyRequest, _rdmabroker_v1_ModifyRequest__Output>
      ObjectChange: MessageTypeDefinition<_rdmabroker_v1_ObjectChange, _rdmabroker_v1_ObjectChange__Output>
      ObjectFilter: MessageTypeDefinition<_rdmabroker_v1_ObjectFilter, _rdmabroker_v1_ObjectFilter__Output>
      ObjectInfo: MessageTypeDefinition<_rdmabroker_v1_ObjectInfo, _rdmabroker_v1_ObjectInfo__Output>
      ObjectReply: MessageTypeDefinition<_rdmabroker_v1_ObjectReply, _rdmabroker_v1_ObjectReply__Output>
      ObjectService: SubtypeConstructor<typeof grpc.Client, _rdmabroker_v1_ObjectServiceClient> & { service: _rdmabroker_v1_ObjectServiceDefinition }
      ObjectTypeInfo: MessageTypeDefinition<_rdmabroker_v1_ObjectTypeInfo, _rdmabroker_v1_ObjectTypeInfo__Output>
      OpenSession: MessageTypeDefinition<_rdmabroker_v1_OpenSession, _rdmabroker_v1_OpenSession__Output>
      PeerCredentials: MessageTypeDefinition<_rdmabroker_v1_PeerCredentials, _rdmabroker_v1_PeerCredentials__Output>
      PodRef: MessageTypeDefinition<_rdmabroker_v1_PodRef, _rdmabroker_v1_PodRef__Output>
      Port: MessageTypeDefinition<_rdmabroker_v1_Port, _rdmabroker_v1_Port__Output>
      QueryDeviceRequest: MessageTypeDefinition<_rdmabroker_v1_QueryDeviceRequest, _rdmabroker_v1_QueryDeviceRequest__Output>
      QueryDeviceResponse: MessageTypeDefinition<_rdmabroker_v1_QueryDeviceResponse, _rdmabroker_v1_QueryDeviceResponse__Output>
      QueryRequest: MessageTypeDefinition<_rdmabroker_v1_QueryRequest, _rdmabroker_v1_QueryRequest__Output>
      QuotaOverLimit: MessageTypeDefinition<_rdmabroker_v1_QuotaOverLimit, _rdmabroker_v1_QuotaOverLimit__Output>
      SessionClientMessage: MessageTypeDefinition<_rdmabroker_v1_SessionClientMessage, _rdmabroker_v1_SessionClientMessage__Output>
      SessionInfo: MessageTypeDefinition<_rdmabroker_v1_SessionInfo, _rdmabroker_v1_SessionInfo__Output>
      SessionOpened: MessageTypeDefinition<_rdmabroker_v1_SessionOpened, _rdmabroker_v1_SessionOpened__Output>
      SessionServerMessage: MessageTypeDefinition<_rdmabroker_v1_SessionServerMessage, _rdmabroker_v1_SessionServerMessage__Output>
      SessionService: SubtypeConstructor<typeof grpc.Client, _rdmabroker_v1_SessionServiceClient> & { service: _rdmabroker_v1_SessionServiceDefinition }
      SetQuotaRequest: MessageTypeDefinition<_rdmabroker_v1_SetQuotaRequest, _rdmabroker_v1_SetQuotaRequest__Output>
      SetQuotaResponse: MessageTypeDefinition<_rdmabroker_v1_SetQuotaResponse, _rdmabroker_v1_SetQuotaResponse__Output>
      StepResult: MessageTypeDefinition<_rdmabroker_v1_StepResult, _rdmabroker_v1_StepResult__Output>
      TenantQuota: MessageTypeDefinition<_rdmabroker_v1_TenantQuota, _rdmabroker_v1_TenantQuota__Output>
      TenantUsage: MessageTypeDefinition<_rdmabroker_v1_TenantUsage, _rdmabroker_v1_TenantUsage__Output>
      TypeUsage: MessageTypeDefinition<_rdmabroker_v1_TypeUsage, _rdmabroker_v1_TypeUsage__Output>
      Value: MessageTypeDefinition<_rdmabroker_v1_Value, _rdmabroker_v1_Value__Output>
      ValueList: MessageTypeDefinition<_rdmabroker_v1_ValueList, _rdmabroker_v1_ValueList__Output>
      VerbCount: MessageTypeDefinition<_rdmabroker_v1_VerbCount, _rdmabroker_v1_VerbCount__Output>
      WatchObjectsRequest: MessageTypeDefinition<_rdmabroker_v1_WatchObjectsRequest, _rdmabroker_v1_WatchObjectsRequest__Output>
      WhoAmIRequest: MessageTypeDefinition<_rdmabroker_v1_WhoAmIRequest, _rdmabroker_v1_WhoAmIRequest__Output>
      WhoAmIResponse: MessageTypeDefinition<_rdmabroker_v1_WhoAmIResponse, _rdmabroker_v1_WhoAmIResponse__Output>
    }
  }
}

