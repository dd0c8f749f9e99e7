import { SrqAttrMask, type SrqAttr, type SrqRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, typed } from './spec.js';
import { recvWrsSpec, toRecvWrs } from './common.js';
import { checkRecvWrs } from '../memory-check.js';

declare module './spec.js' {
  interface RefTypes {
    srq: SrqRef;
  }
}

const t = typed<SrqRef>();

/** Shared receive queue (UVERBS_OBJECT_SRQ). */
export const srq: ObjectTypeSpec = {
  name: 'srq',
  id: 10,
  doc: 'shared receive queue',
  create: t.create({
    ops: ['createSrq'],
    doc: 'ibv_create_srq',
    attrs: [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'], parent: true }),
      attr('max_wr', 2, 'u32', { mandatory: true, min: 1 }),
      attr('max_sge', 3, 'u32', { min: 1 }),
      attr('srq_limit', 4, 'u32'),
      attr('srq_type', 5, 'enum', { names: { BASIC: 0, XRC: 1 }, doc: 'XRC: ibv_create_srq_ex, needs xrcd and cq (only where xrcd.create is supported)' }),
      attr('xrcd', 6, 'handle', { types: ['xrcd'], parent: true }),
      attr('cq', 7, 'handle', { types: ['cq'], parent: true }),
    ],
    out: [out('max_wr', 10, 'u32'), out('max_sge', 11, 'u32'), out('srq_limit', 12, 'u32'), out('srq_num', 13, 'u32')],
    run: async (c) => {
      const init = {
        max_wr: c.attrs.max_wr,
        max_sge: c.attrs.max_sge ?? 1,
        srq_limit: c.attrs.srq_limit ?? 0,
      };
      const ref = await c.dev.createSrq(c.attrs.pd.ref, {
        ...init,
        srq_type: c.attrs.srq_type ?? 'BASIC',
        xrcd: c.attrs.xrcd?.ref ?? null,
        cq: c.attrs.cq?.ref ?? null,
      }, c.tag);
      const q = await c.dev.querySrq(ref).catch(() => init);
      return { ref, attrs: { ...q, ...(ref.srq_num !== undefined ? { srq_num: ref.srq_num } : {}) } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.destroySrq(o.ref)),
  query: t.query({ ops: ['querySrq'], run: async (c) => ({ ...(await c.dev.querySrq(c.obj.ref)) }) }),
  modify: t.modify({
    ops: ['modifySrq'],
    attrs: [attr('max_wr', 1, 'u32', { min: 1 }), attr('srq_limit', 2, 'u32')],
    run: async (c) => {
      const a: Partial<SrqAttr> = {};
      let mask = 0;
      if (c.attrs.max_wr !== undefined) { a.max_wr = c.attrs.max_wr; mask |= SrqAttrMask.MAX_WR; }
      if (c.attrs.srq_limit !== undefined) { a.srq_limit = c.attrs.srq_limit; mask |= SrqAttrMask.LIMIT; }
      await c.dev.modifySrq(c.obj.ref, a, mask);
      return { ...(await c.dev.querySrq(c.obj.ref)) };
    },
  }),
  methods: {
    post_recv: t.method({
      ops: ['postSrqRecv'],
      id: 16,
      doc: 'ibv_post_srq_recv',
      lock: 'read',
      posts: true,
      attrs: [recvWrsSpec],
      run: async (c) => {
        const wrs = toRecvWrs(c.attrs.wrs);
        checkRecvWrs(c.mem, c.device, wrs, 'srq.post_recv');
        await c.dev.postSrqRecv(c.obj.ref, wrs);
        return {};
      },
    }),
  },
};
