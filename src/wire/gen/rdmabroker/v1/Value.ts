// Original file: proto/rdmabroker/v1/broker.proto

import type { ValueList as _rdmabroker_v1_ValueList, ValueList__Output as _rdmabroker_v1_ValueList__Output } from '../../rdmabroker/v1/ValueList';
import type { Attrs as _rdmabroker_v1_Attrs, Attrs__Output as _rdmabroker_v1_Attrs__Output } from '../../rdmabroker/v1/Attrs';
import type { Long } from '@grpc/proto-loader';

/**
 * A typed attribute value. Integers are accepted where an enum or flag set is
 * expected, and so are names ("RTS", ["LOCAL_WRITE", "REMOTE_WRITE"]).
 */
export interface Value {
  'u64'?: (number | string | Long);
  's64'?: (number | string | Long);
  'flag'?: (boolean);
  'str'?: (string);
  'raw'?: (Buffer | Uint8Array | string);
  /**
   * An object handle (a parent, a CQ for a QP, an MR for a bind, ...).
   */
  'handle'?: (number | string | Long);
  'list'?: (_rdmabroker_v1_ValueList | null);
  'map'?: (_rdmabroker_v1_Attrs | null);
  /**
   * In a Batch only: the handle created by the step with this index.
   */
  'ref'?: (number);
  'kind'?: "u64"|"s64"|"flag"|"str"|"raw"|"handle"|"list"|"map"|"ref";
}

/**
 * A typed attribute value. Integers are accepted where an enum or flag set is
 * expected, and so are names ("RTS", ["LOCAL_WRITE", "REMOTE_WRITE"]).
 */
export interface Value__Output {
  'u64'?: (string);
  's64'?: (string);
  'flag'?: (boolean);
  'str'?: (string);
  'raw'?: (Buffer);
  /**
   * An object handle (a parent, a CQ for a QP, an MR for a bind, ...).
   */
  'handle'?: (string);
  'list'?: (_rdmabroker_v1_ValueList__Output | null);
  'map'?: (_rdmabroker_v1_Attrs__Output | null);
  /**
   * In a Batch only: the handle created by the step with this index.
   */
  'ref'?: (number);
  'kind'?: "u64"|"s64"|"flag"|"str"|"raw"|"handle"|"list"|"map"|"ref";
}
