// Original file: proto/rdmabroker/v1/broker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Limits by name: "objects" (all objects, like the rdma cgroup's hca_object),
 * "sessions" (like hca_handle), "registered_bytes", and one per object type
 * ("qp", "mr", ...). A missing name has no limit.
 */
export interface TenantQuota {
  'tenant'?: (string);
  'limits'?: ({[key: string]: number | string | Long});
}

/**
 * Limits by name: "objects" (all objects, like the rdma cgroup's hca_object),
 * "sessions" (like hca_handle), "registered_bytes", and one per object type
 * ("qp", "mr", ...). A missing name has no limit.
 */
export interface TenantQuota__Output {
  'tenant': (string);
  'limits': ({[key: string]: string});
}
