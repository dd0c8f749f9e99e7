import type { AhRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    ah: AhRef;
  }
}

const t = typed<AhRef>();
import { ahAttrMembers, fromAhAttr, toAhAttr } from './common.js';

/** Address handle (UVERBS_OBJECT_AH), for UD sends. */
export const ah: ObjectTypeSpec = {
  name: 'ah',
  id: 2,
  doc: 'address handle: the route to a remote port, for UD work requests',
  create: t.create({
    ops: ['createAh'],
    doc: 'ibv_create_ah',
    attrs: [attr('pd', 100, 'handle', { mandatory: true, types: ['pd'], parent: true }), ...ahAttrMembers],
    run: async (c) => {
      const a = toAhAttr(c.attrs);
      const ref = await c.dev.createAh(c.attrs.pd.ref, a, c.tag);
      return { ref, attrs: fromAhAttr(a) };
    },
  }),
  destroy: t.destroy((o, dev) => dev.destroyAh(o.ref)),
  methods: {},
};
