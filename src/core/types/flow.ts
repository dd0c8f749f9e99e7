import type { FlowAttr, FlowRef, FlowSpec } from '../../verbs/abi.js';
import { err } from '../errors.js';
import type { ObjectTypeSpec, ValueOf } from './spec.js';
import { attr, typed } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    flow: FlowRef;
  }
}

const t = typed<FlowRef>();

const specsSpec = attr('specs', 6, 'list', {
  maxItems: 8,
  members: [
    attr('type', 1, 'enum', { mandatory: true, names: { ETH: 0x20, IPV4: 0x30, IPV6: 0x31, TCP: 0x40, UDP: 0x41 } }),
    attr('dst_mac', 2, 'str', { doc: 'ETH: mandatory' }),
    attr('ether_type', 3, 'u32', { max: 0xffff }),
    attr('vlan_tag', 4, 'u32', { max: 0xffff }),
    attr('src_ip', 5, 'str'),
    attr('dst_ip', 6, 'str'),
    attr('src_port', 7, 'u32', { max: 0xffff }),
    attr('dst_port', 8, 'u32', { max: 0xffff }),
  ],
});

/**
 * One validated spec as the backend's FlowSpec. The fields are passed as
 * given (the backend encodes those of the spec's type); an ETH spec must
 * name its dst_mac, which ibv_flow_spec_eth always matches.
 */
function toFlowSpec(s: ValueOf<typeof specsSpec>[number], i: number): FlowSpec {
  switch (s.type) {
    case 'ETH': {
      if (s.dst_mac === undefined) throw err.missing(`flow.create.specs[${i}].dst_mac`);
      return { ...s, type: s.type, dst_mac: s.dst_mac };
    }
    case 'IPV4':
    case 'IPV6':
    case 'TCP':
    case 'UDP':
      return { ...s, type: s.type };
  }
}

/** Flow steering rule (UVERBS_OBJECT_FLOW), attached to a QP. */
export const flow: ObjectTypeSpec = {
  name: 'flow',
  id: 14,
  doc: 'flow steering rule steering matching packets to a QP',
  create: t.create({
    ops: ['createFlow'],
    doc: 'ibv_create_flow',
    attrs: [
      attr('qp', 1, 'handle', { mandatory: true, types: ['qp'], parent: true }),
      attr('type', 2, 'enum', { names: { NORMAL: 0, ALL_DEFAULT: 1, MC_DEFAULT: 2, SNIFFER: 3 } }),
      attr('priority', 3, 'u32', { max: 0xffff }),
      attr('port', 4, 'u32', { min: 1, max: 255 }),
      attr('flags', 5, 'u32'),
      specsSpec,
    ],
    run: async (c) => {
      const fa: FlowAttr = {
        type: c.attrs.type ?? 'NORMAL',
        priority: c.attrs.priority ?? 0,
        port: c.attrs.port ?? 1,
        flags: c.attrs.flags ?? 0,
        specs: (c.attrs.specs ?? []).map(toFlowSpec),
      };
      const ref = await c.dev.createFlow(c.attrs.qp.ref, fa, c.tag);
      return { ref, attrs: { type: fa.type, priority: fa.priority, port: fa.port } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.destroyFlow(o.ref)),
  methods: {},
};
