// Original file: proto/rdmabroker/v1/broker.proto

import type { StepResult as _rdmabroker_v1_StepResult, StepResult__Output as _rdmabroker_v1_StepResult__Output } from '../../rdmabroker/v1/StepResult';
import type { ErrorInfo as _rdmabroker_v1_ErrorInfo, ErrorInfo__Output as _rdmabroker_v1_ErrorInfo__Output } from '../../rdmabroker/v1/ErrorInfo';

export interface BatchReply {
  /**
   * One result per step that succeeded, in order.
   */
  'results'?: (_rdmabroker_v1_StepResult)[];
  /**
   * Set when a step failed: the steps after it did not run.
   */
  'failed'?: (boolean);
  'failed_index'?: (number);
  'error'?: (_rdmabroker_v1_ErrorInfo | null);
}

export interface BatchReply__Output {
  /**
   * One result per step that succeeded, in order.
   */
  'results': (_rdmabroker_v1_StepResult__Output)[];
  /**
   * Set when a step failed: the steps after it did not run.
   */
  'failed': (boolean);
  'failed_index': (number);
  'error': (_rdmabroker_v1_ErrorInfo__Output | null);
}
