import type { PdRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    pd: PdRef;
  }
}

const t = typed<PdRef>();

/** Protection domain (UVERBS_OBJECT_PD). */
export const pd: ObjectTypeSpec = {
  name: 'pd',
  id: 3,
  doc: 'protection domain: the scope of MRs, MWs, QPs, SRQs and AHs',
  importable: true,
  create: t.create({
    doc: 'ibv_alloc_pd',
    attrs: [],
    run: async (c) => ({ ref: await c.dev.allocPd(c.tag), attrs: {} }),
  }),
  destroy: t.destroy((o, dev) => dev.deallocPd(o.ref)),
  methods: {},
};
