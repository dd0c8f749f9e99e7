// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

export interface SetQuotaRequest {
  'tenant'?: (string);
  /**
   * Limits to set.
   */
  'set'?: ({[key: string]: number | string | Long});
  /**
   * Limits to remove (no limit).
   */
  'clear'?: (string)[];
}

export interface SetQuotaRequest__Output {
  'tenant': (string);
  /**
   * Limits to set.
   */
  'set': ({[key: string]: string});
  /**
   * Limits to remove (no limit).
   */
  'clear': (string)[];
}
