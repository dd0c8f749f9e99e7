import type { MemorySource, MrRef } from '../../verbs/abi.js';
import { err } from '../errors.js';
import { checkMrOffset } from '../memory-check.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, sizeArg, typed } from './spec.js';
import { ACCESS_NAMES } from './common.js';

declare module './spec.js' {
  interface RefTypes {
    mr: MrRef;
  }
}

/** Largest read/write through the control path; bulk data belongs on a mapped memfd. */
export const MR_IO_MAX = 16 << 20;

const t = typed<MrRef>();

/** Memory region (UVERBS_OBJECT_MR). */
export const mr: ObjectTypeSpec = {
  name: 'mr',
  id: 7,
  doc: 'memory region: daemon-allocated shared memory (or a client memfd) registered with the device',
  // The memfd behind the pages stays open: the fd channel hands it out
  // (get_fd, mapMr), and a mapping cannot give back its fd; so it is counted.
  fds: 1,
  importable: true,
  create: t.create({
    doc: 'ibv_reg_mr over memory the daemon allocates (a memfd it maps)',
    attrs: [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'], parent: true }),
      attr('length', 2, 'u64', { mandatory: true, min: 1 }),
      attr('access', 3, 'flags', { names: ACCESS_NAMES, doc: 'ibv_access_flags' }),
    ],
    out: [out('addr', 10, 'u64'), out('length', 11, 'u64'), out('lkey', 12, 'u32'), out('rkey', 13, 'u32')],
    takesMemory: true,
    charge: (a) => Number(a.length),
    run: async (c) => {
      const length = c.attrs.length;
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw err.invalid('mr.length is too large');
      const m = c.memory;
      const n = Number(length);
      // Handed-in pages (fd channel) or daemon-allocated shared memory.
      const source: MemorySource = m === null
        ? { kind: 'alloc', length: n }
        : m.kind === 'memfd'
          ? { kind: 'memfd', fd: m.fd, offset: m.offset, length: n }
          : { kind: 'dmabuf', fd: m.fd, offset: m.offset, length: n, iova: m.iova };
      const access = c.attrs.access ?? 0;
      const ref = await c.dev.regMr(c.attrs.pd.ref, source, access, c.tag);
      return {
        ref,
        attrs: { addr: ref.addr, length: ref.length, lkey: ref.lkey, rkey: ref.rkey },
        bytes: ref.length,
        memory: { addr: ref.addr, length: ref.length, lkey: ref.lkey, access, mapped: ref.memory !== null },
      };
    },
  }),
  destroy: t.destroy((o, dev) => dev.deregMr(o.ref)),
  query: t.query({
    run: async (c) => {
      const r = c.obj.ref;
      return { addr: r.addr, length: r.length, lkey: r.lkey, rkey: r.rkey };
    },
  }),
  methods: {
    read: t.method({
      id: 16,
      doc: 'read bytes of the MR memory (control path; up to 16 MiB)',
      lock: 'read',
      attrs: [attr('offset', 1, 'u64'), attr('length', 2, 'u32', { mandatory: true, max: MR_IO_MAX })],
      out: [out('data', 3, 'bytes')],
      replyBytes: (a) => sizeArg(a.length, MR_IO_MAX, MR_IO_MAX) + 64,
      run: async (c) => {
        const r = c.obj.ref;
        if (!r.memory) throw err.invalid('this MR has no memory the daemon can read');
        const off = checkMrOffset(r, c.attrs.offset ?? 0n, c.attrs.length, 'mr.read');
        return { data: r.memory.read(off, c.attrs.length) };
      },
    }),
    write: t.method({
      id: 17,
      doc: 'write bytes into the MR memory (control path; up to 16 MiB)',
      lock: 'read',
      attrs: [attr('offset', 1, 'u64'), attr('data', 2, 'bytes', { mandatory: true, max: MR_IO_MAX })],
      run: async (c) => {
        const r = c.obj.ref;
        if (!r.memory) throw err.invalid('this MR has no memory the daemon can write');
        const data = c.attrs.data;
        const off = checkMrOffset(r, c.attrs.offset ?? 0n, data.length, 'mr.write');
        r.memory.write(off, data);
        return {};
      },
    }),
  },
};
