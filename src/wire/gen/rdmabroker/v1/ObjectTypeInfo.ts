// Original file: proto/rdmabroker/v1/broker.proto

import type { MethodInfo as _rdmabroker_v1_MethodInfo, MethodInfo__Output as _rdmabroker_v1_MethodInfo__Output } from '../../rdmabroker/v1/MethodInfo';

export interface ObjectTypeInfo {
  'name'?: (string);
  /**
   * The numeric id, stable (appended, never renumbered). The broker's own
   * numbering, not the kernel's UVERBS_OBJECT_* values (only device 0 and
   * mr 7 coincide; src/core/types/index.ts says why). Driver-specific types
   * have the namespace bit (0x1000, as the kernel's UVERBS_API_NS_FLAG) set.
   */
  'id'?: (number);
  /**
   * Pre-existing objects (device, port) cannot be created or destroyed.
   */
  'read_only'?: (boolean);
  /**
   * The create method is among `methods` under the name "create", destroy
   * under "destroy", query under "query", modify under "modify".
   */
  'methods'?: (_rdmabroker_v1_MethodInfo)[];
  'driver_specific'?: (boolean);
  'supported'?: (boolean);
  'doc'?: (string);
  /**
   * Object types that may be this type's parents (by create attribute).
   */
  'parent_types'?: (string)[];
}

export interface ObjectTypeInfo__Output {
  'name': (string);
  /**
   * The numeric id, stable (appended, never renumbered). The broker's own
   * numbering, not the kernel's UVERBS_OBJECT_* values (only device 0 and
   * mr 7 coincide; src/core/types/index.ts says why). Driver-specific types
   * have the namespace bit (0x1000, as the kernel's UVERBS_API_NS_FLAG) set.
   */
  'id': (number);
  /**
   * Pre-existing objects (device, port) cannot be created or destroyed.
   */
  'read_only': (boolean);
  /**
   * The create method is among `methods` under the name "create", destroy
   * under "destroy", query under "query", modify under "modify".
   */
  'methods': (_rdmabroker_v1_MethodInfo__Output)[];
  'driver_specific': (boolean);
  'supported': (boolean);
  'doc': (string);
  /**
   * Object types that may be this type's parents (by create attribute).
   */
  'parent_types': (string)[];
}
