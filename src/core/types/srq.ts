import { SrqAttrMask, type CqRef, type PdRef, type SrqAttr, type SrqRef, type XrcdRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out } from './spec.js';
import { recvWrsSpec, toRecvWrs } from './common.js';
import { checkRecvWrs } from '../memory-check.js';

/** Shared receive queue (UVERBS_OBJECT_SRQ). */
export const srq: ObjectTypeSpec = {
  name: 'srq',
  id: 10,
  doc: 'shared receive queue',
  create: {
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
        max_wr: c.attrs.max_wr as number,
        max_sge: (c.attrs.max_sge as number | undefined) ?? 1,
        srq_limit: (c.attrs.srq_limit as number | undefined) ?? 0,
      };
      const ref = await c.dev.createSrq((c.attrs.pd as { ref: PdRef }).ref, {
        ...init,
        srq_type: (c.attrs.srq_type as 'BASIC' | 'XRC' | undefined) ?? 'BASIC',
        xrcd: (c.attrs.xrcd as { ref: XrcdRef } | undefined)?.ref ?? null,
        cq: (c.attrs.cq as { ref: CqRef } | undefined)?.ref ?? null,
      }, c.tag);
      const q = await c.dev.querySrq(ref).catch(() => init);
      return { ref, attrs: { ...q, ...(ref.srq_num !== undefined ? { srq_num: ref.srq_num } : {}) } };
    },
  },
  destroy: (o, dev) => dev.destroySrq(o.ref as SrqRef),
  query: { ops: ['querySrq'], run: async (c) => ({ ...(await c.dev.querySrq(c.obj.ref as SrqRef)) }) },
  modify: {
    ops: ['modifySrq'],
    attrs: [attr('max_wr', 1, 'u32', { min: 1 }), attr('srq_limit', 2, 'u32')],
    run: async (c) => {
      const a: Partial<SrqAttr> = {};
      let mask = 0;
      if (c.attrs.max_wr !== undefined) { a.max_wr = c.attrs.max_wr as number; mask |= SrqAttrMask.MAX_WR; }
      if (c.attrs.srq_limit !== undefined) { a.srq_limit = c.attrs.srq_limit as number; mask |= SrqAttrMask.LIMIT; }
      await c.dev.modifySrq(c.obj.ref as SrqRef, a, mask);
      return { ...(await c.dev.querySrq(c.obj.ref as SrqRef)) };
    },
  },
  methods: {
    post_recv: {
      ops: ['postSrqRecv'],
      id: 16,
      doc: 'ibv_post_srq_recv',
      lock: 'read',
      posts: true,
      attrs: [recvWrsSpec],
      run: async (c) => {
        const wrs = toRecvWrs(c.attrs.wrs);
        checkRecvWrs(c.mem, c.device, wrs, 'srq.post_recv');
        await c.dev.postSrqRecv(c.obj.ref as SrqRef, wrs);
        return {};
      },
    },
  },
};
