/** Enum and flag name tables shared by several object types (values as in verbs.h). */
import { Access, QpAttrMask, QP_STATE_VALUES, QP_TYPE_VALUES, SendFlags, WR_OPCODE_VALUES } from '../../verbs/abi.js';
import type { AhAttr, GlobalRoute, Sge } from '../../verbs/abi.js';
import type { AttrSpec, Validated } from '../attrs.js';
import { attr } from './spec.js';

export const ACCESS_NAMES: Record<string, number> = { ...Access };
export const QP_TYPE_NAMES: Record<string, number> = { ...QP_TYPE_VALUES };
export const QP_STATE_NAMES: Record<string, number> = { ...QP_STATE_VALUES };
export const WR_OPCODE_NAMES: Record<string, number> = { ...WR_OPCODE_VALUES };
export const SEND_FLAG_NAMES: Record<string, number> = { ...SendFlags };
export const MTU_NAMES: Record<string, number> = { MTU_256: 1, MTU_512: 2, MTU_1024: 3, MTU_2048: 4, MTU_4096: 5 };
export const MIG_STATE_NAMES: Record<string, number> = { MIGRATED: 0, REARM: 1, ARMED: 2 };
export { QpAttrMask };

export const grhSpec: AttrSpec = attr('grh', 6, 'struct', {
  doc: 'global route header; required on RoCE (Ethernet link layer)',
  members: [
    attr('dgid', 1, 'gid', { mandatory: true }),
    attr('flow_label', 2, 'u32', { max: 0xfffff }),
    attr('sgid_index', 3, 'u32', { max: 255 }),
    attr('hop_limit', 4, 'u32', { max: 255 }),
    attr('traffic_class', 5, 'u32', { max: 255 }),
  ],
});

/** struct ibv_ah_attr members, shared by ah.create and qp.modify's ah_attr. */
export const ahAttrMembers: AttrSpec[] = [
  attr('dlid', 1, 'u32', { max: 0xffff }),
  attr('sl', 2, 'u32', { max: 15 }),
  attr('src_path_bits', 3, 'u32', { max: 127 }),
  attr('static_rate', 4, 'u32', { max: 255 }),
  attr('port_num', 5, 'u32', { min: 1, max: 255 }),
  grhSpec,
];

export function toAhAttr(v: Validated): AhAttr {
  const g = v.grh as Validated | undefined;
  const grh: GlobalRoute | null = g
    ? {
        dgid: g.dgid as string,
        flow_label: (g.flow_label as number | undefined) ?? 0,
        sgid_index: (g.sgid_index as number | undefined) ?? 0,
        hop_limit: (g.hop_limit as number | undefined) ?? 1,
        traffic_class: (g.traffic_class as number | undefined) ?? 0,
      }
    : null;
  return {
    grh,
    dlid: (v.dlid as number | undefined) ?? 0,
    sl: (v.sl as number | undefined) ?? 0,
    src_path_bits: (v.src_path_bits as number | undefined) ?? 0,
    static_rate: (v.static_rate as number | undefined) ?? 0,
    port_num: (v.port_num as number | undefined) ?? 1,
  };
}

export function fromAhAttr(a: AhAttr): Record<string, number | string | Record<string, number | string>> {
  const o: Record<string, number | string | Record<string, number | string>> = {
    dlid: a.dlid, sl: a.sl, src_path_bits: a.src_path_bits, static_rate: a.static_rate, port_num: a.port_num,
  };
  if (a.grh) o.grh = { ...a.grh };
  return o;
}

export const sgeSpec: AttrSpec = attr('sg_list', 3, 'list', {
  maxItems: 64,
  doc: 'local memory: each SGE inside an MR of this session (checked by ../memory-check.ts; inline data by address)',
  members: [
    attr('addr', 1, 'u64', { mandatory: true }),
    attr('length', 2, 'u32', { mandatory: true }),
    attr('lkey', 3, 'u32', { mandatory: true }),
  ],
});

export function toSges(v: unknown): Sge[] {
  return ((v as Validated[] | undefined) ?? []).map((s) => ({
    addr: s.addr as bigint,
    length: s.length as number,
    lkey: s.lkey as number,
  }));
}

/** Receive work requests: shared by qp.post_recv and srq.post_recv. */
export const recvWrsSpec: AttrSpec = attr('wrs', 1, 'list', {
  mandatory: true,
  maxItems: 4096,
  members: [attr('wr_id', 1, 'u64'), sgeSpec],
});

export function toRecvWrs(v: unknown): { wr_id: bigint; sg_list: Sge[] }[] {
  return (v as Validated[]).map((w) => ({ wr_id: (w.wr_id as bigint | undefined) ?? 0n, sg_list: toSges(w.sg_list) }));
}

export const capMembers: AttrSpec[] = [
  attr('max_send_wr', 1, 'u32'),
  attr('max_recv_wr', 2, 'u32'),
  attr('max_send_sge', 3, 'u32'),
  attr('max_recv_sge', 4, 'u32'),
  attr('max_inline_data', 5, 'u32'),
];
