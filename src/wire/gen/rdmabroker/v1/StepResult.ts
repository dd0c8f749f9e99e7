// Original file: proto/rdmabroker/v1/broker.proto

import type { ObjectReply as _rdmabroker_v1_ObjectReply, ObjectReply__Output as _rdmabroker_v1_ObjectReply__Output } from '../../rdmabroker/v1/ObjectReply';
import type { DestroyReply as _rdmabroker_v1_DestroyReply, DestroyReply__Output as _rdmabroker_v1_DestroyReply__Output } from '../../rdmabroker/v1/DestroyReply';
import type { InvokeReply as _rdmabroker_v1_InvokeReply, InvokeReply__Output as _rdmabroker_v1_InvokeReply__Output } from '../../rdmabroker/v1/InvokeReply';

export interface StepResult {
  'object'?: (_rdmabroker_v1_ObjectReply | null);
  'destroyed'?: (_rdmabroker_v1_DestroyReply | null);
  'invoked'?: (_rdmabroker_v1_InvokeReply | null);
  'result'?: "object"|"destroyed"|"invoked";
}

export interface StepResult__Output {
  'object'?: (_rdmabroker_v1_ObjectReply__Output | null);
  'destroyed'?: (_rdmabroker_v1_DestroyReply__Output | null);
  'invoked'?: (_rdmabroker_v1_InvokeReply__Output | null);
  'result'?: "object"|"destroyed"|"invoked";
}
