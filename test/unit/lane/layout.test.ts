/** The fast lane's layout module: its bounds, and its verbs values against the backend's. */
import { describe, expect, it } from 'vitest';
import { CQ_RING_HEADER, CQE_SIZE, ERR_SIZE, HEADER_SIZE, LIMITS, SQE_SIZE, WC_OPCODES, WC_STATUSES, WR_OPCODES, SEND_FLAGS, cqRingOffset, layoutFor, readHeader, writeHeader } from '../../../src/wire/lane-layout.js';
import { SendFlags, WC_OPCODE_VALUES, WC_STATUS_NAMES, WR_OPCODE_VALUES } from '../../../src/verbs/abi.js';

describe('lane layout', () => {
  it('places the rings after the header, page-rounds the total, and reads back what it wrote', () => {
    const l = layoutFor({ sqEntries: 16, cqRings: 3, cqEntries: 32 });
    expect(l.sqOffset).toBe(HEADER_SIZE);
    expect(l.errOffset).toBe(HEADER_SIZE + 16 * SQE_SIZE);
    expect(l.cqOffset).toBe(l.errOffset + LIMITS.errEntries * ERR_SIZE);
    expect(cqRingOffset(l, 2)).toBe(l.cqOffset + 2 * (CQ_RING_HEADER + 32 * CQE_SIZE));
    expect(l.totalSize % 4096).toBe(0);
    expect(l.totalSize).toBeGreaterThanOrEqual(cqRingOffset(l, 3));
    const b = new DataView(new ArrayBuffer(l.totalSize));
    writeHeader(b, l);
    expect(readHeader(b)).toEqual(l);
    b.setUint32(0, 0, true);
    expect(() => readHeader(b)).toThrow(/magic/);
  });

  it('refuses sizes that are not powers of two or out of bounds', () => {
    for (const bad of [{ sqEntries: 12 }, { sqEntries: 4 }, { sqEntries: 8192 }, { cqEntries: 0 }, { cqRings: 0 }, { cqRings: 17 }, { cqEntries: 1.5 }]) {
      expect(() => layoutFor({ sqEntries: 16, cqRings: 1, cqEntries: 16, ...bad })).toThrow(RangeError);
    }
    // The largest lane stays a few MiB.
    expect(layoutFor({ sqEntries: LIMITS.maxSqEntries, cqRings: LIMITS.maxCqRings, cqEntries: LIMITS.maxCqEntries }).totalSize).toBeLessThan(6 << 20);
  });

  it('carries the backend\'s verbs values', () => {
    expect(WR_OPCODES).toEqual(WR_OPCODE_VALUES);
    expect(WC_OPCODES).toEqual(WC_OPCODE_VALUES);
    expect(WC_STATUSES).toEqual(WC_STATUS_NAMES);
    expect(SEND_FLAGS).toEqual(SendFlags);
  });
});
