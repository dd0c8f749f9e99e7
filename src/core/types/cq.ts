import { WC_OPCODE_VALUES, type CqRef, type Wc } from '../../verbs/abi.js';
import type { PlainMap } from '../../wire/values.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, sizeArg, typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    cq: CqRef;
  }
}

const t = typed<CqRef>();

/** An upper bound of one encoded work completion (a map of a dozen named fields). */
const WC_REPLY_BYTES = 512;

void WC_OPCODE_VALUES;

export function wcToPlain(w: Wc): PlainMap {
  return {
    wr_id: w.wr_id,
    status: w.status,
    opcode: w.opcode,
    vendor_err: w.vendor_err,
    byte_len: w.byte_len,
    imm_data: w.imm_data,
    qp_num: w.qp_num,
    src_qp: w.src_qp,
    wc_flags: w.wc_flags,
    pkey_index: w.pkey_index,
    slid: w.slid,
    sl: w.sl,
    dlid_path_bits: w.dlid_path_bits,
  };
}

/** Completion queue (UVERBS_OBJECT_CQ). */
export const cq: ObjectTypeSpec = {
  name: 'cq',
  id: 4,
  doc: 'completion queue',
  create: t.create({
    doc: 'ibv_create_cq',
    attrs: [
      attr('cqe', 1, 'u32', { mandatory: true, min: 1 }),
      attr('channel', 2, 'handle', { types: ['comp_channel'], parent: true }),
      attr('comp_vector', 3, 'u32'),
    ],
    out: [out('cqe', 10, 'u32')],
    run: async (c) => {
      const ref = await c.dev.createCq(c.attrs.cqe, c.attrs.channel?.ref ?? null, c.attrs.comp_vector ?? 0, c.tag);
      return { ref, attrs: { cqe: ref.cqe } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.destroyCq(o.ref)),
  query: t.query({ run: async (c) => ({ cqe: c.obj.ref.cqe }) }),
  methods: {
    poll: t.method({
      id: 16,
      doc: 'ibv_poll_cq: up to `max` work completions (wc_flags: libibverbs\' bits on every device, GRH 1, WITH_IMM 2, IP_CSUM_OK 4, WITH_INV 8; imm_data: the immediate, or the rkey WITH_INV revoked)',
      lock: 'read',
      attrs: [attr('max', 1, 'u32', { min: 1, max: 4096 })],
      out: [out('wcs', 2, 'list')],
      replyBytes: (a) => sizeArg(a.max, 16, 4096) * WC_REPLY_BYTES,
      run: async (c) => {
        const wcs = await c.dev.pollCq(c.obj.ref, c.attrs.max ?? 16);
        return { wcs: wcs.map(wcToPlain) };
      },
    }),
    req_notify: t.method({
      id: 17,
      doc: 'ibv_req_notify_cq: arm the CQ; the next completion raises a completion event on the session',
      lock: 'read',
      attrs: [attr('solicited_only', 1, 'bool')],
      run: async (c) => {
        await c.dev.reqNotifyCq(c.obj.ref, c.attrs.solicited_only ?? false);
        return {};
      },
    }),
    resize: t.method({
      id: 18,
      doc: 'ibv_resize_cq',
      lock: 'write',
      attrs: [attr('cqe', 1, 'u32', { mandatory: true, min: 1 })],
      out: [out('cqe', 2, 'u32')],
      run: async (c) => ({ cqe: await c.dev.resizeCq(c.obj.ref, c.attrs.cqe) }),
    }),
  },
};
