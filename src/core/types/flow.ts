import type { FlowAttr, FlowRef, FlowSpec, QpRef } from '../../verbs/abi.js';
import type { Validated } from '../attrs.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr } from './spec.js';

/** Flow steering rule (UVERBS_OBJECT_FLOW), attached to a QP. */
export const flow: ObjectTypeSpec = {
  name: 'flow',
  id: 14,
  doc: 'flow steering rule steering matching packets to a QP',
  create: {
    ops: ['createFlow'],
    doc: 'ibv_create_flow',
    attrs: [
      attr('qp', 1, 'handle', { mandatory: true, types: ['qp'], parent: true }),
      attr('type', 2, 'enum', { names: { NORMAL: 0, ALL_DEFAULT: 1, MC_DEFAULT: 2, SNIFFER: 3 } }),
      attr('priority', 3, 'u32', { max: 0xffff }),
      attr('port', 4, 'u32', { min: 1, max: 255 }),
      attr('flags', 5, 'u32'),
      attr('specs', 6, 'list', {
        maxItems: 8,
        members: [
          attr('type', 1, 'enum', { mandatory: true, names: { ETH: 0x20, IPV4: 0x30, IPV6: 0x31, TCP: 0x40, UDP: 0x41 } }),
          attr('dst_mac', 2, 'str'),
          attr('ether_type', 3, 'u32', { max: 0xffff }),
          attr('vlan_tag', 4, 'u32', { max: 0xffff }),
          attr('src_ip', 5, 'str'),
          attr('dst_ip', 6, 'str'),
          attr('src_port', 7, 'u32', { max: 0xffff }),
          attr('dst_port', 8, 'u32', { max: 0xffff }),
        ],
      }),
    ],
    run: async (c) => {
      const specs = ((c.attrs.specs as Validated[] | undefined) ?? []).map((s) => ({ ...s }) as unknown as FlowSpec);
      const fa: FlowAttr = {
        type: ((c.attrs.type as string | undefined) ?? 'NORMAL') as FlowAttr['type'],
        priority: (c.attrs.priority as number | undefined) ?? 0,
        port: (c.attrs.port as number | undefined) ?? 1,
        flags: (c.attrs.flags as number | undefined) ?? 0,
        specs,
      };
      const ref = await c.dev.createFlow((c.attrs.qp as { ref: QpRef }).ref, fa, c.tag);
      return { ref, attrs: { type: fa.type, priority: fa.priority, port: fa.port } };
    },
  },
  destroy: (o, dev) => dev.destroyFlow(o.ref as FlowRef),
  methods: {},
};
