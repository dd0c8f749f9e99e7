import type { XrcdRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    xrcd: XrcdRef;
  }
}

const t = typed<XrcdRef>();

/** XRC domain (UVERBS_OBJECT_XRCD). */
export const xrcd: ObjectTypeSpec = {
  name: 'xrcd',
  id: 12,
  doc: 'XRC domain (ibv_open_xrcd without a file: a private domain)',
  create: {
    ops: ['openXrcd'],
    doc: 'ibv_open_xrcd',
    attrs: [],
    run: async (c) => ({ ref: await c.dev.openXrcd(c.tag), attrs: {} }),
  },
  destroy: t.destroy((o, dev) => dev.closeXrcd(o.ref)),
  methods: {},
};
