// Original file: proto/rdmabroker/v1/broker.proto

import type { TenantUsage as _rdmabroker_v1_TenantUsage, TenantUsage__Output as _rdmabroker_v1_TenantUsage__Output } from '../../rdmabroker/v1/TenantUsage';

export interface GetAccountingResponse {
  'tenants'?: (_rdmabroker_v1_TenantUsage)[];
}

export interface GetAccountingResponse__Output {
  'tenants': (_rdmabroker_v1_TenantUsage__Output)[];
}
