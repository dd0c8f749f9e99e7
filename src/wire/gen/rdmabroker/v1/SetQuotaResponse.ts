// Original file: proto/rdmabroker/v1/broker.proto

import type { TenantQuota as _rdmabroker_v1_TenantQuota, TenantQuota__Output as _rdmabroker_v1_TenantQuota__Output } from '../../rdmabroker/v1/TenantQuota';
import type { QuotaOverLimit as _rdmabroker_v1_QuotaOverLimit, QuotaOverLimit__Output as _rdmabroker_v1_QuotaOverLimit__Output } from '../../rdmabroker/v1/QuotaOverLimit';

export interface SetQuotaResponse {
  'quota'?: (_rdmabroker_v1_TenantQuota | null);
  /**
   * The new limits the tenant already uses more of. SetQuota never destroys
   * objects: the existing ones are kept, and creating more is refused
   * (RESOURCE_EXHAUSTED) until usage is below the limit again.
   */
  'over_limit'?: (_rdmabroker_v1_QuotaOverLimit)[];
}

export interface SetQuotaResponse__Output {
  'quota': (_rdmabroker_v1_TenantQuota__Output | null);
  /**
   * The new limits the tenant already uses more of. SetQuota never destroys
   * objects: the existing ones are kept, and creating more is refused
   * (RESOURCE_EXHAUSTED) until usage is below the limit again.
   */
  'over_limit': (_rdmabroker_v1_QuotaOverLimit__Output)[];
}
