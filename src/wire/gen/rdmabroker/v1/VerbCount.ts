// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface VerbCount {
  'type'?: (string);
  'method'?: (string);
  /**
   * "ok" or a stable error code (QUOTA_EXCEEDED, NO_SUCH_HANDLE, ERRNO, ...).
   */
  'result'?: (string);
  'count'?: (number | string | Long);
}

export interface VerbCount__Output {
  'type': (string);
  'method': (string);
  /**
   * "ok" or a stable error code (QUOTA_EXCEEDED, NO_SUCH_HANDLE, ERRNO, ...).
   */
  'result': (string);
  'count': (string);
}
