import type { MwRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    mw: MwRef;
  }
}

const t = typed<MwRef>();

/**
 * Memory window (UVERBS_OBJECT_MW); type 1 windows are bound with qp.bind_mw,
 * type 2 windows with a BIND_MW work request (qp.post_send's bind_mw) and
 * revoked with LOCAL_INV / SEND_WITH_INV.
 */
export const mw: ObjectTypeSpec = {
  name: 'mw',
  id: 6,
  destroyOrder: 0,
  doc: 'memory window: remote access to a part of an MR, bound and re-bound at run time',
  create: t.create({
    ops: ['allocMw'],
    doc: 'ibv_alloc_mw',
    attrs: [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'], parent: true }),
      attr('mw_type', 2, 'u32', { min: 1, max: 2, doc: '1 or 2 (IBV_MW_TYPE_1/2); default 1' }),
    ],
    out: [out('rkey', 10, 'u32'), out('mw_type', 11, 'u32')],
    run: async (c) => {
      // The validator kept mw_type in [1, 2].
      const type = c.attrs.mw_type === 2 ? 2 : 1;
      const ref = await c.dev.allocMw(c.attrs.pd.ref, type, c.tag);
      return { ref, attrs: { rkey: ref.rkey, mw_type: ref.type } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.deallocMw(o.ref)),
  query: t.query({ run: async (c) => ({ rkey: c.obj.ref.rkey, mw_type: c.obj.ref.type }) }),
  methods: {},
};
