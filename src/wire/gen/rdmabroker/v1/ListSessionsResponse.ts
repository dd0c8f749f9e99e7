// Original file: proto/rdmabroker/v1/broker.proto

import type { SessionInfo as _rdmabroker_v1_SessionInfo, SessionInfo__Output as _rdmabroker_v1_SessionInfo__Output } from '../../rdmabroker/v1/SessionInfo';

export interface ListSessionsResponse {
  'sessions'?: (_rdmabroker_v1_SessionInfo)[];
}

export interface ListSessionsResponse__Output {
  'sessions': (_rdmabroker_v1_SessionInfo__Output)[];
}
