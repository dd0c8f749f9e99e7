import type { ChannelRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    comp_channel: ChannelRef;
  }
}

const t = typed<ChannelRef>();

/**
 * Completion channel (UVERBS_OBJECT_COMP_CHANNEL). The daemon reads and acks
 * every event on it itself, then tells the owning session which CQ fired: a
 * client can never make a CQ destroy wait on its acks.
 */
export const compChannel: ObjectTypeSpec = {
  name: 'comp_channel',
  id: 5,
  doc: 'completion channel: CQs attached to it report completion notifications as session events',
  // ibv_create_comp_channel opens one.
  fds: 1,
  create: t.create({
    doc: 'ibv_create_comp_channel',
    attrs: [],
    run: async (c) => ({ ref: await c.dev.createCompChannel(c.tag), attrs: {} }),
  }),
  destroy: t.destroy((o, dev) => dev.destroyCompChannel(o.ref)),
  methods: {},
};
