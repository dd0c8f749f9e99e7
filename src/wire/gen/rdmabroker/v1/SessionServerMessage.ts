// Original file: proto/rdmabroker/v1/broker.proto

import type { SessionOpened as _rdmabroker_v1_SessionOpened, SessionOpened__Output as _rdmabroker_v1_SessionOpened__Output } from '../../rdmabroker/v1/SessionOpened';
import type { KeepAlive as _rdmabroker_v1_KeepAlive, KeepAlive__Output as _rdmabroker_v1_KeepAlive__Output } from '../../rdmabroker/v1/KeepAlive';
import type { Event as _rdmabroker_v1_Event, Event__Output as _rdmabroker_v1_Event__Output } from '../../rdmabroker/v1/Event';

export interface SessionServerMessage {
  'opened'?: (_rdmabroker_v1_SessionOpened | null);
  'keepalive'?: (_rdmabroker_v1_KeepAlive | null);
  'event'?: (_rdmabroker_v1_Event | null);
  'msg'?: "opened"|"keepalive"|"event";
}

export interface SessionServerMessage__Output {
  'opened'?: (_rdmabroker_v1_SessionOpened__Output | null);
  'keepalive'?: (_rdmabroker_v1_KeepAlive__Output | null);
  'event'?: (_rdmabroker_v1_Event__Output | null);
  'msg'?: "opened"|"keepalive"|"event";
}
