// Original file: proto/rdmabroker/v1/broker.proto

import type { BatchStep as _rdmabroker_v1_BatchStep, BatchStep__Output as _rdmabroker_v1_BatchStep__Output } from '../../rdmabroker/v1/BatchStep';

export interface BatchRequest {
  'steps'?: (_rdmabroker_v1_BatchStep)[];
}

export interface BatchRequest__Output {
  'steps': (_rdmabroker_v1_BatchStep__Output)[];
}
