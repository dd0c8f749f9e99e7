// Original file: proto/rdmabroker/v1/broker.proto

import type { AttrInfo as _rdmabroker_v1_AttrInfo, AttrInfo__Output as _rdmabroker_v1_AttrInfo__Output } from '../../rdmabroker/v1/AttrInfo';

export interface MethodInfo {
  'name'?: (string);
  'id'?: (number);
  'attrs'?: (_rdmabroker_v1_AttrInfo)[];
  /**
   * False when this device's provider does not implement the method: calls
   * answer UNIMPLEMENTED.
   */
  'supported'?: (boolean);
  'doc'?: (string);
}

export interface MethodInfo__Output {
  'name': (string);
  'id': (number);
  'attrs': (_rdmabroker_v1_AttrInfo__Output)[];
  /**
   * False when this device's provider does not implement the method: calls
   * answer UNIMPLEMENTED.
   */
  'supported': (boolean);
  'doc': (string);
}
