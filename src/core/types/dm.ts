import type { DmRef, MrRef } from '../../verbs/abi.js';
import { err } from '../errors.js';
import type { ObjectTypeSpec } from './spec.js';
import { attr, out, sizeArg, typed } from './spec.js';
import { ACCESS_NAMES } from './common.js';

declare module './spec.js' {
  interface RefTypes {
    dm: DmRef;
    dm_mr: MrRef;
  }
}

const t = typed<DmRef>();
const tMr = typed<MrRef>();

/** Largest copy to or from device memory through the control path (device memory is small: mlx5 has 128-256 KiB). */
export const DM_IO_MAX = 1 << 20;

/**
 * Device memory (UVERBS_OBJECT_DM): memory on the device itself, written and
 * read with copies and reachable by RDMA through MRs on it (`dm_mr`).
 */
export const dm: ObjectTypeSpec = {
  name: 'dm',
  id: 15,
  doc: 'device memory (ibv_alloc_dm): bytes on the device, copied to and from, registered with dm_mr',
  // After the MRs on it (they are its children too, so a session's end frees it last).
  destroyOrder: 2,
  create: t.create({
    ops: ['allocDm'],
    doc: 'ibv_alloc_dm',
    attrs: [
      attr('length', 1, 'u64', { mandatory: true, min: 1, doc: 'bytes (at most the device attribute max_dm_size)' }),
      attr('log_align_req', 2, 'u32', { max: 63, doc: 'log2 of the alignment needed' }),
      attr('comp_mask', 3, 'u32', { doc: 'no bits are defined: must be 0' }),
    ],
    out: [out('length', 10, 'u64')],
    run: async (c) => {
      const length = c.attrs.length;
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw err.invalid('dm.length is too large');
      const ref = await c.dev.allocDm({
        length: Number(length),
        log_align_req: c.attrs.log_align_req ?? 0,
        comp_mask: c.attrs.comp_mask ?? 0,
      }, c.tag);
      return { ref, attrs: { length: BigInt(ref.length) } };
    },
  }),
  destroy: t.destroy((o, dev) => dev.freeDm(o.ref)),
  query: t.query({ run: async (c) => ({ length: BigInt(c.obj.ref.length) }) }),
  methods: {
    copy_to: t.method({
      id: 16,
      doc: 'ibv_memcpy_to_dm: write bytes at an offset (up to 1 MiB; mlx5 copies in 4-byte units)',
      lock: 'read',
      ops: ['copyToDm'],
      attrs: [attr('offset', 1, 'u64'), attr('data', 2, 'bytes', { mandatory: true, max: DM_IO_MAX })],
      run: async (c) => {
        await c.dev.copyToDm(c.obj.ref, c.attrs.offset ?? 0n, c.attrs.data);
        return {};
      },
    }),
    copy_from: t.method({
      id: 17,
      doc: 'ibv_memcpy_from_dm: read bytes at an offset (up to 1 MiB)',
      lock: 'read',
      ops: ['copyFromDm'],
      attrs: [attr('offset', 1, 'u64'), attr('length', 2, 'u32', { mandatory: true, max: DM_IO_MAX })],
      out: [out('data', 3, 'bytes')],
      replyBytes: (a) => sizeArg(a.length, DM_IO_MAX, DM_IO_MAX) + 64,
      run: async (c) => ({
        data: await c.dev.copyFromDm(c.obj.ref, c.attrs.offset ?? 0n, c.attrs.length),
      }),
    }),
  },
};

/**
 * A memory region on device memory (ibv_reg_dm_mr). In the kernel it is an
 * MR (UVERBS_METHOD_DM_MR_REG on UVERBS_OBJECT_MR); here it is a type of its
 * own because it is made from other attributes and holds no daemon memory.
 * There is no UVERBS_OBJECT_* id for it: its id follows dm's. Its addresses
 * are zero-based: SGEs and RDMA name [0, length).
 */
export const dmMr: ObjectTypeSpec = {
  name: 'dm_mr',
  id: 16,
  doc: 'memory region on device memory (ibv_reg_dm_mr); zero-based',
  create: tMr.create({
    ops: ['regDmMr'],
    doc: 'ibv_reg_dm_mr: access must include ZERO_BASED',
    attrs: [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'], parent: true }),
      attr('dm', 2, 'handle', { mandatory: true, types: ['dm'], parent: true }),
      attr('offset', 3, 'u64', { doc: 'where the MR starts in the DM' }),
      attr('length', 4, 'u64', { mandatory: true, min: 1 }),
      attr('access', 5, 'flags', { mandatory: true, names: ACCESS_NAMES, doc: 'ibv_access_flags, ZERO_BASED included' }),
    ],
    out: [out('addr', 10, 'u64'), out('length', 11, 'u64'), out('lkey', 12, 'u32'), out('rkey', 13, 'u32')],
    run: async (c) => {
      const length = c.attrs.length;
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) throw err.invalid('dm_mr.length is too large');
      const access = c.attrs.access;
      const ref = await c.dev.regDmMr(c.attrs.pd.ref, c.attrs.dm.ref, c.attrs.offset ?? 0n, Number(length), access, c.tag);
      return {
        ref,
        attrs: { addr: ref.addr, length: BigInt(ref.length), lkey: ref.lkey, rkey: ref.rkey },
        // Work requests may name it (by lkey); the daemon cannot read it, so no inline copies from it.
        memory: { addr: ref.addr, length: ref.length, lkey: ref.lkey, access, mapped: false },
      };
    },
  }),
  destroy: tMr.destroy((o, dev) => dev.deregMr(o.ref)),
  query: tMr.query({
    run: async (c) => {
      const r = c.obj.ref;
      return { addr: r.addr, length: BigInt(r.length), lkey: r.lkey, rkey: r.rkey };
    },
  }),
  methods: {},
};
