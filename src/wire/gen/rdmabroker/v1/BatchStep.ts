// Original file: proto/rdmabroker/v1/broker.proto

import type { CreateRequest as _rdmabroker_v1_CreateRequest, CreateRequest__Output as _rdmabroker_v1_CreateRequest__Output } from '../../rdmabroker/v1/CreateRequest';
import type { QueryRequest as _rdmabroker_v1_QueryRequest, QueryRequest__Output as _rdmabroker_v1_QueryRequest__Output } from '../../rdmabroker/v1/QueryRequest';
import type { ModifyRequest as _rdmabroker_v1_ModifyRequest, ModifyRequest__Output as _rdmabroker_v1_ModifyRequest__Output } from '../../rdmabroker/v1/ModifyRequest';
import type { DestroyRequest as _rdmabroker_v1_DestroyRequest, DestroyRequest__Output as _rdmabroker_v1_DestroyRequest__Output } from '../../rdmabroker/v1/DestroyRequest';
import type { InvokeRequest as _rdmabroker_v1_InvokeRequest, InvokeRequest__Output as _rdmabroker_v1_InvokeRequest__Output } from '../../rdmabroker/v1/InvokeRequest';

export interface BatchStep {
  'create'?: (_rdmabroker_v1_CreateRequest | null);
  'query'?: (_rdmabroker_v1_QueryRequest | null);
  'modify'?: (_rdmabroker_v1_ModifyRequest | null);
  'destroy'?: (_rdmabroker_v1_DestroyRequest | null);
  'invoke'?: (_rdmabroker_v1_InvokeRequest | null);
  'verb'?: "create"|"query"|"modify"|"destroy"|"invoke";
}

export interface BatchStep__Output {
  'create'?: (_rdmabroker_v1_CreateRequest__Output | null);
  'query'?: (_rdmabroker_v1_QueryRequest__Output | null);
  'modify'?: (_rdmabroker_v1_ModifyRequest__Output | null);
  'destroy'?: (_rdmabroker_v1_DestroyRequest__Output | null);
  'invoke'?: (_rdmabroker_v1_InvokeRequest__Output | null);
  'verb'?: "create"|"query"|"modify"|"destroy"|"invoke";
}
