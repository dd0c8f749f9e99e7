// Original file: proto/rdmabroker/v1/broker.proto

import type { OpenSession as _rdmabroker_v1_OpenSession, OpenSession__Output as _rdmabroker_v1_OpenSession__Output } from '../../rdmabroker/v1/OpenSession';
import type { KeepAlive as _rdmabroker_v1_KeepAlive, KeepAlive__Output as _rdmabroker_v1_KeepAlive__Output } from '../../rdmabroker/v1/KeepAlive';

export interface SessionClientMessage {
  'open'?: (_rdmabroker_v1_OpenSession | null);
  'keepalive'?: (_rdmabroker_v1_KeepAlive | null);
  'msg'?: "open"|"keepalive";
}

export interface SessionClientMessage__Output {
  'open'?: (_rdmabroker_v1_OpenSession__Output | null);
  'keepalive'?: (_rdmabroker_v1_KeepAlive__Output | null);
  'msg'?: "open"|"keepalive";
}
