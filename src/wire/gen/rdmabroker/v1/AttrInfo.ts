// Original file: proto/rdmabroker/v1/broker.proto

import type { AttrInfo as _rdmabroker_v1_AttrInfo, AttrInfo__Output as _rdmabroker_v1_AttrInfo__Output } from '../../rdmabroker/v1/AttrInfo';

export interface AttrInfo {
  'name'?: (string);
  'id'?: (number);
  /**
   * u32, u64, s64, bool, str, bytes, handle, enum, flags, list, struct, gid
   */
  'kind'?: (string);
  /**
   * "in" or "out"
   */
  'direction'?: (string);
  'mandatory'?: (boolean);
  /**
   * For handle attributes: the object type(s) accepted.
   */
  'handle_types'?: (string)[];
  /**
   * For handle attributes: new / read / write / destroy (as the kernel's access).
   */
  'access'?: (string);
  /**
   * For enum and flags attributes: the accepted names.
   */
  'names'?: (string)[];
  /**
   * For struct and list attributes: the member attributes.
   */
  'members'?: (_rdmabroker_v1_AttrInfo)[];
  'min'?: (string);
  'max'?: (string);
  'doc'?: (string);
}

export interface AttrInfo__Output {
  'name': (string);
  'id': (number);
  /**
   * u32, u64, s64, bool, str, bytes, handle, enum, flags, list, struct, gid
   */
  'kind': (string);
  /**
   * "in" or "out"
   */
  'direction': (string);
  'mandatory': (boolean);
  /**
   * For handle attributes: the object type(s) accepted.
   */
  'handle_types': (string)[];
  /**
   * For handle attributes: new / read / write / destroy (as the kernel's access).
   */
  'access': (string);
  /**
   * For enum and flags attributes: the accepted names.
   */
  'names': (string)[];
  /**
   * For struct and list attributes: the member attributes.
   */
  'members': (_rdmabroker_v1_AttrInfo__Output)[];
  'min': (string);
  'max': (string);
  'doc': (string);
}
