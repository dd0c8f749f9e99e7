// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One limit below the tenant's current usage.
 */
export interface QuotaOverLimit {
  /**
   * "objects", "sessions", "registered_bytes" or an object type.
   */
  'name'?: (string);
  'current'?: (number | string | Long);
  'limit'?: (number | string | Long);
}

/**
 * One limit below the tenant's current usage.
 */
export interface QuotaOverLimit__Output {
  /**
   * "objects", "sessions", "registered_bytes" or an object type.
   */
  'name': (string);
  'current': (string);
  'limit': (string);
}
