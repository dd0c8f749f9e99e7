import { describe, expect, it } from 'vitest';
import { qp } from '../../../src/core/types/qp.js';
import { QpAttrMask } from '../../../src/verbs/abi.js';
import type { DeviceContext } from '../../../src/verbs/backend.js';
import type { TargetCtx } from '../../../src/core/types/spec.js';

/** Runs qp.modify's handler over validated attributes; returns what reached the backend's modifyQp. */
async function modifyArgs(attrs: Record<string, unknown>): Promise<{ attr: Record<string, unknown>; mask: number }> {
  let got: { attr: Record<string, unknown>; mask: number } | null = null;
  const dev = {
    modifyQp: async (_ref: unknown, attr: Record<string, unknown>, mask: number) => {
      got = { attr, mask };
    },
    queryQp: async () => ({ attr: { qp_state: 'RTS' } }),
  } as unknown as DeviceContext;
  const ref = { tag: 1, qp_num: 17, qp_type: 'RC' };
  await qp.modify!.run({ dev, device: 'sim0', attrs, obj: { handle: 1, type: 'qp', ref, device: 'sim0' }, mem: null } as unknown as TargetCtx);
  if (!got) throw new Error('modifyQp not called');
  return got;
}

describe('qp.modify: every attribute reaches ibv_modify_qp with its mask bit', () => {
  const ah = { port_num: 1, grh: { dgid: 'fe80:0000:0000:0000:0000:0000:0000:0001', sgid_index: 0 } };
  // Attribute, its value as validated, the field and value expected in struct ibv_qp_attr, and its bit.
  const cases: [string, unknown, string, unknown, number][] = [
    ['qp_state', 'INIT', 'qp_state', 'INIT', QpAttrMask.STATE],
    ['cur_qp_state', 'RESET', 'cur_qp_state', 'RESET', QpAttrMask.CUR_STATE],
    ['en_sqd_async_notify', 1, 'en_sqd_async_notify', 1, QpAttrMask.EN_SQD_ASYNC_NOTIFY],
    ['qp_access_flags', 7, 'qp_access_flags', 7, QpAttrMask.ACCESS_FLAGS],
    ['pkey_index', 3, 'pkey_index', 3, QpAttrMask.PKEY_INDEX],
    ['port_num', 1, 'port_num', 1, QpAttrMask.PORT],
    ['qkey', 0x11, 'qkey', 0x11, QpAttrMask.QKEY],
    ['path_mtu', 'MTU_1024', 'path_mtu', 3, QpAttrMask.PATH_MTU],
    ['timeout', 14, 'timeout', 14, QpAttrMask.TIMEOUT],
    ['retry_cnt', 7, 'retry_cnt', 7, QpAttrMask.RETRY_CNT],
    ['rnr_retry', 6, 'rnr_retry', 6, QpAttrMask.RNR_RETRY],
    ['rq_psn', 5, 'rq_psn', 5, QpAttrMask.RQ_PSN],
    ['max_rd_atomic', 2, 'max_rd_atomic', 2, QpAttrMask.MAX_QP_RD_ATOMIC],
    ['min_rnr_timer', 12, 'min_rnr_timer', 12, QpAttrMask.MIN_RNR_TIMER],
    ['sq_psn', 9, 'sq_psn', 9, QpAttrMask.SQ_PSN],
    ['max_dest_rd_atomic', 4, 'max_dest_rd_atomic', 4, QpAttrMask.MAX_DEST_RD_ATOMIC],
    ['path_mig_state', 'ARMED', 'path_mig_state', 2, QpAttrMask.PATH_MIG_STATE],
    ['dest_qp_num', 0x123, 'dest_qp_num', 0x123, QpAttrMask.DEST_QPN],
    ['rate_limit', 1000, 'rate_limit', 1000, QpAttrMask.RATE_LIMIT],
    ['cap', { max_send_wr: 8 }, 'cap', { max_send_wr: 8, max_recv_wr: 0, max_send_sge: 0, max_recv_sge: 0, max_inline_data: 0 }, QpAttrMask.CAP],
    ['ah_attr', ah, 'ah_attr', { dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1, grh: { dgid: ah.grh.dgid, flow_label: 0, sgid_index: 0, hop_limit: 1, traffic_class: 0 } }, QpAttrMask.AV],
    ['alt_ah_attr', ah, 'alt_port_num', 1, QpAttrMask.ALT_PATH],
  ];

  it('covers every declared attribute', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual(qp.modify!.attrs.map((a) => a.name).sort());
  });

  it.each(cases)('%s', async (name, value, field, want, bit) => {
    const { attr, mask } = await modifyArgs({ [name]: value });
    expect(mask).toBe(bit);
    expect(attr[field]).toEqual(want);
  });

  it('several at once: the union of their bits, each field once', async () => {
    const { attr, mask } = await modifyArgs({ qp_state: 'RTS', timeout: 14, retry_cnt: 7, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 });
    expect(mask).toBe(QpAttrMask.STATE | QpAttrMask.TIMEOUT | QpAttrMask.RETRY_CNT | QpAttrMask.RNR_RETRY | QpAttrMask.SQ_PSN | QpAttrMask.MAX_QP_RD_ATOMIC);
    expect(attr).toEqual({ qp_state: 'RTS', timeout: 14, retry_cnt: 7, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 });
  });
});
