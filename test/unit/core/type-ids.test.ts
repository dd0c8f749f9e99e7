/**
 * Object type ids are a wire contract (DescribeDevice's ObjectTypeInfo.id):
 * the published ones keep their numbers, and no two types share one. They are
 * the broker's own numbering, not the kernel's UVERBS_OBJECT_* values
 * (src/core/types/index.ts says why); a new type appends an unused id.
 */
import { describe, expect, it } from 'vitest';
import { OBJECT_TYPES } from '../../../src/core/types/index.js';
import { DRIVER_NAMESPACE } from '../../../src/core/types/spec.js';

/** The ids as published; a change here breaks clients that kept them. */
const PUBLISHED: Record<string, number> = {
  device: 0, port: 1, ah: 2, pd: 3, cq: 4, comp_channel: 5, mw: 6, mr: 7, qp: 8, srq: 10, xrcd: 12, flow: 14, dm: 15, dm_mr: 16,
};

describe('object type ids', () => {
  it('keeps every published id', () => {
    const ids = Object.fromEntries(OBJECT_TYPES.map((t) => [t.name, t.id]));
    for (const [name, id] of Object.entries(PUBLISHED)) expect(ids[name], name).toBe(id);
  });

  it('gives each type its own id, and driver-specific types the namespace bit', () => {
    const seen = new Map<number, string>();
    for (const t of OBJECT_TYPES) {
      expect(seen.get(t.id), `${t.name} and ${seen.get(t.id) ?? ''} share id ${t.id}`).toBeUndefined();
      seen.set(t.id, t.name);
      expect((t.id & DRIVER_NAMESPACE) !== 0, t.name).toBe(t.driver ?? false);
    }
  });
});
