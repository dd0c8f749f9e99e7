// Original file: proto/rdmabroker/v1/broker.proto

import type { TypeUsage as _rdmabroker_v1_TypeUsage, TypeUsage__Output as _rdmabroker_v1_TypeUsage__Output } from '../../rdmabroker/v1/TypeUsage';
import type { VerbCount as _rdmabroker_v1_VerbCount, VerbCount__Output as _rdmabroker_v1_VerbCount__Output } from '../../rdmabroker/v1/VerbCount';
import type { Long } from '@grpc/proto-loader';

export interface TenantUsage {
  'tenant'?: (string);
  'role'?: (string);
  'objects'?: (number | string | Long);
  'objects_high_water'?: (number | string | Long);
  'sessions'?: (number | string | Long);
  'sessions_high_water'?: (number | string | Long);
  'registered_bytes'?: (number | string | Long);
  'registered_bytes_high_water'?: (number | string | Long);
  'types'?: (_rdmabroker_v1_TypeUsage)[];
  'verbs'?: (_rdmabroker_v1_VerbCount)[];
  'quota'?: ({[key: string]: number | string | Long});
  /**
   * Daemon fds held for the tenant (MR memfds, completion channels, fd-channel
   * connections, event mirrors): the `fds` quota counts these.
   */
  'fds'?: (number | string | Long);
  'fds_high_water'?: (number | string | Long);
}

export interface TenantUsage__Output {
  'tenant': (string);
  'role': (string);
  'objects': (string);
  'objects_high_water': (string);
  'sessions': (string);
  'sessions_high_water': (string);
  'registered_bytes': (string);
  'registered_bytes_high_water': (string);
  'types': (_rdmabroker_v1_TypeUsage__Output)[];
  'verbs': (_rdmabroker_v1_VerbCount__Output)[];
  'quota': ({[key: string]: string});
  /**
   * Daemon fds held for the tenant (MR memfds, completion channels, fd-channel
   * connections, event mirrors): the `fds` quota counts these.
   */
  'fds': (string);
  'fds_high_water': (string);
}
