import type { ObjectRef } from '../../verbs/abi.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, typed } from './spec.js';

/** The device has no ref of its own: device methods run on its probe context. */
const t = typed<ObjectRef>();

/**
 * The device itself (UVERBS_OBJECT_DEVICE): pre-existing and read-only.
 * Its methods are invoked with handle 0 and the device name.
 */
export const device: ObjectTypeSpec = {
  name: 'device',
  id: 0,
  doc: 'an RDMA device: pre-existing, read-only; invoke its methods with handle 0 and `device`',
  readOnly: true,
  deviceScoped: true,
  methods: {
    query_port: t.method({
      id: 16,
      doc: 'ibv_query_port',
      lock: 'read',
      attrs: [attr('port', 1, 'u32', { mandatory: true, min: 1, max: 255 })],
      out: [out('attrs', 2, 'struct')],
      run: async (c) => ({ ...(await c.dev.queryPort(c.attrs.port)) }),
    }),
    query_gid: t.method({
      id: 17,
      doc: 'ibv_query_gid_ex: one GID table entry',
      lock: 'read',
      attrs: [attr('port', 1, 'u32', { mandatory: true, min: 1, max: 255 }), attr('index', 2, 'u32', { mandatory: true })],
      out: [out('gid', 3, 'gid'), out('type', 4, 'str'), out('netdev', 5, 'str')],
      run: async (c) => {
        const table = await c.dev.queryGidTable(c.attrs.port);
        const e = table.find((g) => g.index === c.attrs.index);
        if (!e) {
          const { VerbsError, Errno } = await import('../../verbs/errno.js');
          throw new VerbsError('ibv_query_gid_ex', Errno.EINVAL);
        }
        return { gid: e.gid, type: e.type, netdev: e.netdev };
      },
    }),
  },
};

/** A port of a device (pre-existing, read-only): listed by DeviceService.Query. */
export const port: ObjectTypeSpec = {
  name: 'port',
  id: 1,
  doc: 'a device port: pre-existing, read-only; see DeviceService.Query and device.query_port',
  readOnly: true,
  methods: {},
};
