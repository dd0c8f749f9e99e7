import { QpAttrMask, type QpAttr, type QpRef, type SendWr } from '../../verbs/abi.js';
import type { PlainMap } from '../../wire/values.js';
import { checkBind, checkRecvWrs, checkSendWrs } from '../memory-check.js';
import type { AttrsOf, ObjectTypeSpec, ValueOf } from './spec.js';
import { attr, out, typed } from './spec.js';
import {
  ACCESS_NAMES, MIG_STATE_NAMES, MTU_NAMES, QP_STATE_NAMES, QP_TYPE_NAMES, SEND_FLAG_NAMES, WR_OPCODE_NAMES,
  ahAttrMembers, capMembers, fromAhAttr, recvWrsSpec, sgeSpec, toAhAttr, toRecvWrs, toSges,
} from './common.js';

declare module './spec.js' {
  interface RefTypes {
    qp: QpRef;
  }
}

const t = typed<QpRef>();

const mtuName = (v: number): string => Object.entries(MTU_NAMES).find(([, n]) => n === v)?.[0] ?? String(v);

/**
 * qp.modify attributes and their ibv_qp_attr_mask bits: the mask is derived
 * from which attributes are present, so clients never build masks by hand.
 * The backend (the kernel, or the simulated device) checks them against the
 * state machine, exactly as ib_modify_qp_is_ok does.
 */
const MODIFY_ATTRS = [
  { spec: attr('qp_state', 1, 'enum', { names: QP_STATE_NAMES }), bit: QpAttrMask.STATE },
  { spec: attr('cur_qp_state', 2, 'enum', { names: QP_STATE_NAMES }), bit: QpAttrMask.CUR_STATE },
  { spec: attr('en_sqd_async_notify', 3, 'u32', { max: 1 }), bit: QpAttrMask.EN_SQD_ASYNC_NOTIFY },
  { spec: attr('qp_access_flags', 4, 'flags', { names: ACCESS_NAMES }), bit: QpAttrMask.ACCESS_FLAGS },
  { spec: attr('pkey_index', 5, 'u32', { max: 0xffff }), bit: QpAttrMask.PKEY_INDEX },
  { spec: attr('port_num', 6, 'u32', { min: 1, max: 255 }), bit: QpAttrMask.PORT },
  { spec: attr('qkey', 7, 'u32'), bit: QpAttrMask.QKEY },
  { spec: attr('ah_attr', 8, 'struct', { members: ahAttrMembers }), bit: QpAttrMask.AV },
  { spec: attr('path_mtu', 9, 'enum', { names: MTU_NAMES }), bit: QpAttrMask.PATH_MTU },
  { spec: attr('timeout', 10, 'u32', { max: 31 }), bit: QpAttrMask.TIMEOUT },
  // retry_cnt, rnr_retry and min_rnr_timer are u8 fields the kernel (rxe) does not range-check.
  { spec: attr('retry_cnt', 11, 'u32', { max: 255 }), bit: QpAttrMask.RETRY_CNT },
  { spec: attr('rnr_retry', 12, 'u32', { max: 255 }), bit: QpAttrMask.RNR_RETRY },
  { spec: attr('rq_psn', 13, 'u32', { max: 0xffffff }), bit: QpAttrMask.RQ_PSN },
  { spec: attr('max_rd_atomic', 14, 'u32', { max: 255 }), bit: QpAttrMask.MAX_QP_RD_ATOMIC },
  { spec: attr('alt_ah_attr', 15, 'struct', { members: ahAttrMembers }), bit: QpAttrMask.ALT_PATH },
  { spec: attr('min_rnr_timer', 16, 'u32', { max: 255 }), bit: QpAttrMask.MIN_RNR_TIMER },
  { spec: attr('sq_psn', 17, 'u32', { max: 0xffffff }), bit: QpAttrMask.SQ_PSN },
  { spec: attr('max_dest_rd_atomic', 18, 'u32', { max: 255 }), bit: QpAttrMask.MAX_DEST_RD_ATOMIC },
  { spec: attr('path_mig_state', 19, 'enum', { names: MIG_STATE_NAMES }), bit: QpAttrMask.PATH_MIG_STATE },
  { spec: attr('cap', 20, 'struct', { members: capMembers }), bit: QpAttrMask.CAP },
  { spec: attr('dest_qp_num', 21, 'u32', { max: 0xffffff }), bit: QpAttrMask.DEST_QPN },
  { spec: attr('rate_limit', 22, 'u32'), bit: QpAttrMask.RATE_LIMIT },
] as const;

const MODIFY_SPECS = MODIFY_ATTRS.map((m) => m.spec);

/** qp.modify's attributes by name: their mask bits. */
const MODIFY_BITS = new Map<string, number>(MODIFY_ATTRS.map((m) => [m.spec.name, m.bit]));

/**
 * struct ibv_qp_attr and its mask from qp.modify's validated attributes.
 * The mask comes from one walk over the attributes given (a modify names a
 * few of 22); the fields are copied by name, which costs a modify far less
 * than a loop of lookups by computed name and an object rest and spread.
 */
function toQpAttr(v: AttrsOf<typeof MODIFY_SPECS>): { attr: Partial<QpAttr>; mask: number } {
  let mask = 0;
  // Validated maps hold only declared attributes, each with a value.
  for (const name in v) mask |= MODIFY_BITS.get(name) ?? 0;
  const a: Partial<QpAttr> = {};
  // These are ibv_qp_attr fields of the same name and value.
  if (v.qp_state !== undefined) a.qp_state = v.qp_state;
  if (v.cur_qp_state !== undefined) a.cur_qp_state = v.cur_qp_state;
  if (v.en_sqd_async_notify !== undefined) a.en_sqd_async_notify = v.en_sqd_async_notify;
  if (v.qp_access_flags !== undefined) a.qp_access_flags = v.qp_access_flags;
  if (v.pkey_index !== undefined) a.pkey_index = v.pkey_index;
  if (v.port_num !== undefined) a.port_num = v.port_num;
  if (v.qkey !== undefined) a.qkey = v.qkey;
  if (v.timeout !== undefined) a.timeout = v.timeout;
  if (v.retry_cnt !== undefined) a.retry_cnt = v.retry_cnt;
  if (v.rnr_retry !== undefined) a.rnr_retry = v.rnr_retry;
  if (v.rq_psn !== undefined) a.rq_psn = v.rq_psn;
  if (v.max_rd_atomic !== undefined) a.max_rd_atomic = v.max_rd_atomic;
  if (v.min_rnr_timer !== undefined) a.min_rnr_timer = v.min_rnr_timer;
  if (v.sq_psn !== undefined) a.sq_psn = v.sq_psn;
  if (v.max_dest_rd_atomic !== undefined) a.max_dest_rd_atomic = v.max_dest_rd_atomic;
  if (v.dest_qp_num !== undefined) a.dest_qp_num = v.dest_qp_num;
  if (v.rate_limit !== undefined) a.rate_limit = v.rate_limit;
  // The others are converted.
  if (v.ah_attr !== undefined) a.ah_attr = toAhAttr(v.ah_attr);
  if (v.path_mtu !== undefined) a.path_mtu = MTU_NAMES[v.path_mtu];
  if (v.alt_ah_attr !== undefined) {
    a.alt_ah_attr = toAhAttr(v.alt_ah_attr);
    // The alternate path's port and pkey travel inside alt_ah_attr on the wire.
    a.alt_port_num = a.alt_ah_attr.port_num;
  }
  if (v.path_mig_state !== undefined) a.path_mig_state = MIG_STATE_NAMES[v.path_mig_state];
  if (v.cap !== undefined) a.cap = { max_send_wr: 0, max_recv_wr: 0, max_send_sge: 0, max_recv_sge: 0, max_inline_data: 0, ...v.cap };
  return { attr: a, mask };
}

function qpAttrToPlain(a: QpAttr): PlainMap {
  return {
    qp_state: a.qp_state,
    cur_qp_state: a.cur_qp_state,
    path_mtu: mtuName(a.path_mtu),
    qkey: a.qkey,
    rq_psn: a.rq_psn,
    sq_psn: a.sq_psn,
    dest_qp_num: a.dest_qp_num,
    qp_access_flags: a.qp_access_flags,
    pkey_index: a.pkey_index,
    port_num: a.port_num,
    ah_attr: fromAhAttr(a.ah_attr),
    max_rd_atomic: a.max_rd_atomic,
    max_dest_rd_atomic: a.max_dest_rd_atomic,
    min_rnr_timer: a.min_rnr_timer,
    timeout: a.timeout,
    retry_cnt: a.retry_cnt,
    rnr_retry: a.rnr_retry,
    sq_draining: a.sq_draining,
    cap: { ...a.cap },
  };
}

const sendWrSpec = attr('wrs', 1, 'list', {
  mandatory: true,
  maxItems: 4096,
  members: [
    attr('wr_id', 1, 'u64'),
    attr('opcode', 2, 'enum', { mandatory: true, names: WR_OPCODE_NAMES }),
    sgeSpec,
    attr('send_flags', 4, 'flags', { names: SEND_FLAG_NAMES }),
    attr('imm_data', 5, 'u32'),
    attr('remote_addr', 6, 'u64'),
    attr('rkey', 7, 'u32'),
    attr('compare_add', 8, 'u64'),
    attr('swap', 9, 'u64'),
    attr('ah', 10, 'handle', { types: ['ah'] }),
    attr('remote_qpn', 11, 'u32', { max: 0xffffff }),
    attr('remote_qkey', 12, 'u32'),
    attr('invalidate_rkey', 13, 'u32'),
    attr('bind_mw', 14, 'struct', {
      doc: 'BIND_MW: bind a type 2 window (or a type 1 one) through the send queue; rkey is the new rkey (only its key byte is taken)',
      members: [
        attr('mw', 1, 'handle', { mandatory: true, types: ['mw'], access: 'write' }),
        attr('rkey', 2, 'u32', { mandatory: true }),
        attr('mr', 3, 'handle', { mandatory: true, types: ['mr'] }),
        attr('addr', 4, 'u64', { mandatory: true }),
        attr('length', 5, 'u64', { mandatory: true }),
        attr('mw_access_flags', 6, 'flags', { names: ACCESS_NAMES }),
      ],
    }),
    attr('remote_srqn', 15, 'u32', { max: 0xffffff, doc: 'XRC_SEND: the target XRC SRQ (its srq_num)' }),
  ],
});

function toSendWrs(v: ValueOf<typeof sendWrSpec>): SendWr[] {
  return v.map((w) => {
    const wr: SendWr = {
      wr_id: w.wr_id ?? 0n,
      opcode: w.opcode,
      send_flags: w.send_flags ?? 0,
      sg_list: toSges(w.sg_list),
    };
    if (w.imm_data !== undefined) wr.imm_data = w.imm_data;
    if (w.remote_addr !== undefined) wr.remote_addr = w.remote_addr;
    if (w.rkey !== undefined) wr.rkey = w.rkey;
    if (w.compare_add !== undefined) wr.compare_add = w.compare_add;
    if (w.swap !== undefined) wr.swap = w.swap;
    if (w.ah !== undefined) wr.ah = w.ah.ref;
    if (w.remote_qpn !== undefined) wr.remote_qpn = w.remote_qpn;
    if (w.remote_qkey !== undefined) wr.remote_qkey = w.remote_qkey;
    if (w.invalidate_rkey !== undefined) wr.invalidate_rkey = w.invalidate_rkey;
    if (w.bind_mw !== undefined) {
      const b = w.bind_mw;
      wr.bind_mw = {
        mw: b.mw.ref,
        rkey: b.rkey,
        mr: b.mr.ref,
        addr: b.addr,
        length: Number(b.length),
        mw_access_flags: b.mw_access_flags ?? 0,
      };
    }
    if (w.remote_srqn !== undefined) wr.remote_srqn = w.remote_srqn;
    return wr;
  });
}

/** Queue pair (UVERBS_OBJECT_QP). */
export const qp: ObjectTypeSpec = {
  name: 'qp',
  id: 8,
  doc: 'queue pair (RC, UC, UD): move it through RESET -> INIT -> RTR -> RTS with modify',
  create: t.create({
    doc: 'ibv_create_qp',
    attrs: [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'], parent: true }),
      attr('send_cq', 2, 'handle', { mandatory: true, types: ['cq'], parent: true }),
      attr('recv_cq', 3, 'handle', { mandatory: true, types: ['cq'], parent: true }),
      attr('srq', 4, 'handle', { types: ['srq'], parent: true }),
      attr('qp_type', 5, 'enum', { mandatory: true, names: QP_TYPE_NAMES }),
      attr('cap', 6, 'struct', { members: capMembers }),
      attr('sq_sig_all', 7, 'bool'),
      attr('xrcd', 8, 'handle', { types: ['xrcd'], parent: true, doc: 'XRC_RECV: the XRC domain (ibv_create_qp_ex; only where xrcd.create is supported)' }),
    ],
    out: [out('qp_num', 10, 'u32'), out('qp_state', 11, 'enum'), out('cap', 12, 'struct')],
    run: async (c) => {
      const cap = c.attrs.cap ?? {};
      const ref = await c.dev.createQp(c.attrs.pd.ref, {
        qp_type: c.attrs.qp_type,
        send_cq: c.attrs.send_cq.ref,
        recv_cq: c.attrs.recv_cq.ref,
        srq: c.attrs.srq?.ref ?? null,
        cap: {
          max_send_wr: cap.max_send_wr ?? 16,
          max_recv_wr: cap.max_recv_wr ?? 16,
          max_send_sge: cap.max_send_sge ?? 1,
          max_recv_sge: cap.max_recv_sge ?? 1,
          max_inline_data: cap.max_inline_data ?? 0,
        },
        sq_sig_all: c.attrs.sq_sig_all ?? false,
        xrcd: c.attrs.xrcd?.ref ?? null,
      }, c.tag);
      return { ref, attrs: { qp_num: ref.qp_num, qp_type: ref.qp_type, qp_state: 'RESET' } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.destroyQp(o.ref)),
  query: t.query({
    run: async (c) => {
      const ref = c.obj.ref;
      const q = await c.dev.queryQp(ref);
      return { qp_num: ref.qp_num, qp_type: q.init.qp_type, sq_sig_all: q.init.sq_sig_all, ...qpAttrToPlain(q.attr) };
    },
  }),
  modify: t.modify({
    attrs: MODIFY_SPECS,
    run: async (c) => {
      const { attr: a, mask } = toQpAttr(c.attrs);
      await c.dev.modifyQp(c.obj.ref, a, mask);
      const ref = c.obj.ref;
      const q = await c.dev.queryQp(ref);
      return { qp_num: ref.qp_num, qp_type: ref.qp_type, qp_state: q.attr.qp_state };
    },
  }),
  methods: {
    post_send: t.method({
      id: 16,
      doc: 'ibv_post_send: work requests in order; stops at the first bad one (a local address outside the session\'s MRs refuses the whole list, EINVAL, before any is posted)',
      lock: 'read',
      posts: true,
      attrs: [sendWrSpec],
      run: async (c) => {
        const wrs = toSendWrs(c.attrs.wrs);
        checkSendWrs(c.mem, c.device, wrs, 'qp.post_send');
        await c.dev.postSend(c.obj.ref, wrs);
        return {};
      },
    }),
    post_recv: t.method({
      id: 17,
      doc: 'ibv_post_recv',
      lock: 'read',
      posts: true,
      attrs: [recvWrsSpec],
      run: async (c) => {
        const wrs = toRecvWrs(c.attrs.wrs);
        checkRecvWrs(c.mem, c.device, wrs, 'qp.post_recv');
        await c.dev.postRecv(c.obj.ref, wrs);
        return {};
      },
    }),
    attach_mcast: t.method({
      ops: ['attachMcast'],
      id: 18,
      doc: 'ibv_attach_mcast (UD QPs)',
      lock: 'write',
      attrs: [attr('gid', 1, 'gid', { mandatory: true }), attr('lid', 2, 'u32', { max: 0xffff })],
      run: async (c) => {
        await c.dev.attachMcast(c.obj.ref, c.attrs.gid, c.attrs.lid ?? 0);
        return {};
      },
    }),
    detach_mcast: t.method({
      ops: ['detachMcast'],
      id: 19,
      doc: 'ibv_detach_mcast',
      lock: 'write',
      attrs: [attr('gid', 1, 'gid', { mandatory: true }), attr('lid', 2, 'u32', { max: 0xffff })],
      run: async (c) => {
        await c.dev.detachMcast(c.obj.ref, c.attrs.gid, c.attrs.lid ?? 0);
        return {};
      },
    }),
    bind_mw: t.method({
      ops: ['bindMw'],
      id: 20,
      doc: 'ibv_bind_mw: bind a type 1 MW to a range of an MR through this QP; returns the new rkey',
      lock: 'read',
      attrs: [
        attr('mw', 1, 'handle', { mandatory: true, types: ['mw'], access: 'write' }),
        attr('mr', 2, 'handle', { mandatory: true, types: ['mr'] }),
        attr('addr', 3, 'u64', { mandatory: true }),
        attr('length', 4, 'u64', { mandatory: true }),
        attr('mw_access_flags', 5, 'flags', { names: ACCESS_NAMES }),
        attr('wr_id', 6, 'u64'),
        attr('send_flags', 7, 'flags', { names: SEND_FLAG_NAMES }),
      ],
      out: [out('rkey', 8, 'u32')],
      run: async (c) => {
        const mr = c.attrs.mr.ref;
        const length = Number(c.attrs.length);
        checkBind(mr, c.attrs.addr, length, 'qp.bind_mw');
        const rkey = await c.dev.bindMw(c.obj.ref, c.attrs.mw.ref, {
          wr_id: c.attrs.wr_id ?? 0n,
          send_flags: c.attrs.send_flags ?? 2,
          mr,
          addr: c.attrs.addr,
          length,
          mw_access_flags: c.attrs.mw_access_flags ?? 0,
        });
        return { rkey };
      },
    }),
  },
};
