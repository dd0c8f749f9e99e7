/**
 * Enum and flag name tables shared by several object types (values as in
 * verbs.h), and the attribute declarations and converters shared by several
 * of them. The tables keep their literal keys, so an enum attribute reads as
 * the union of its names (qp_type as a QpType) and the converters take the
 * attributes typed from the declarations they convert ({@link AttrsOf}).
 */
import { Access, QpAttrMask, QP_STATE_VALUES, QP_TYPE_VALUES, SendFlags, WR_OPCODE_VALUES } from '../../verbs/abi.js';
import type { AhAttr, GlobalRoute, Mtu, RecvWr, Sge } from '../../verbs/abi.js';
import type { PlainMap } from '../../wire/values.js';
import { attr, type AttrsOf, type ValueOf } from './spec.js';

export const ACCESS_NAMES = { ...Access };
export const QP_TYPE_NAMES = { ...QP_TYPE_VALUES };
export const QP_STATE_NAMES = { ...QP_STATE_VALUES };
export const WR_OPCODE_NAMES = { ...WR_OPCODE_VALUES };
export const SEND_FLAG_NAMES = { ...SendFlags };
export const MTU_NAMES = { MTU_256: 1, MTU_512: 2, MTU_1024: 3, MTU_2048: 4, MTU_4096: 5 } as const satisfies Record<string, Mtu>;
export const MIG_STATE_NAMES = { MIGRATED: 0, REARM: 1, ARMED: 2 } as const;
export { QpAttrMask };

export const grhSpec = attr('grh', 6, 'struct', {
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
export const ahAttrMembers = [
  attr('dlid', 1, 'u32', { max: 0xffff }),
  attr('sl', 2, 'u32', { max: 15 }),
  attr('src_path_bits', 3, 'u32', { max: 127 }),
  attr('static_rate', 4, 'u32', { max: 255 }),
  attr('port_num', 5, 'u32', { min: 1, max: 255 }),
  grhSpec,
] as const;

/** struct ibv_ah_attr from its validated members (absent ones as ibv_ah_attr's zeroes, port 1, hop limit 1). */
export function toAhAttr(v: AttrsOf<typeof ahAttrMembers>): AhAttr {
  const g = v.grh;
  const grh: GlobalRoute | null = g
    ? {
        dgid: g.dgid,
        flow_label: g.flow_label ?? 0,
        sgid_index: g.sgid_index ?? 0,
        hop_limit: g.hop_limit ?? 1,
        traffic_class: g.traffic_class ?? 0,
      }
    : null;
  return {
    grh,
    dlid: v.dlid ?? 0,
    sl: v.sl ?? 0,
    src_path_bits: v.src_path_bits ?? 0,
    static_rate: v.static_rate ?? 0,
    port_num: v.port_num ?? 1,
  };
}

export function fromAhAttr(a: AhAttr): PlainMap {
  const o: PlainMap = {
    dlid: a.dlid, sl: a.sl, src_path_bits: a.src_path_bits, static_rate: a.static_rate, port_num: a.port_num,
  };
  if (a.grh) o.grh = { ...a.grh };
  return o;
}

export const sgeSpec = attr('sg_list', 3, 'list', {
  maxItems: 64,
  doc: 'local memory: each SGE inside an MR of this session (checked by ../memory-check.ts; inline data by address)',
  members: [
    attr('addr', 1, 'u64', { mandatory: true }),
    attr('length', 2, 'u32', { mandatory: true }),
    attr('lkey', 3, 'u32', { mandatory: true }),
  ],
});

/**
 * The validated SGEs are already struct ibv_sge's fields (addr, length,
 * lkey, all mandatory) in objects of their own, made for this call: they are
 * the list, with no copy.
 */
export function toSges(v: ValueOf<typeof sgeSpec> | undefined): Sge[] {
  return v ?? [];
}

/** Receive work requests: shared by qp.post_recv and srq.post_recv. */
export const recvWrsSpec = attr('wrs', 1, 'list', {
  mandatory: true,
  maxItems: 4096,
  members: [attr('wr_id', 1, 'u64'), sgeSpec],
});

export function toRecvWrs(v: ValueOf<typeof recvWrsSpec>): RecvWr[] {
  return v.map((w) => ({ wr_id: w.wr_id ?? 0n, sg_list: toSges(w.sg_list) }));
}

export const capMembers = [
  attr('max_send_wr', 1, 'u32'),
  attr('max_recv_wr', 2, 'u32'),
  attr('max_send_sge', 3, 'u32'),
  attr('max_recv_sge', 4, 'u32'),
  attr('max_inline_data', 5, 'u32'),
] as const;
