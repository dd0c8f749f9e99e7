// Original file: proto/rdmabroker/v1/broker.proto

import type { TenantQuota as _rdmabroker_v1_TenantQuota, TenantQuota__Output as _rdmabroker_v1_TenantQuota__Output } from '../../rdmabroker/v1/TenantQuota';

export interface SetQuotaResponse {
  'quota'?: (_rdmabroker_v1_TenantQuota | null);
}

export interface SetQuotaResponse__Output {
  'quota': (_rdmabroker_v1_TenantQuota__Output | null);
}
