/**
 * Handles tell a tenant nothing about other tenants (issue 9, point 9):
 * two tenants creating in turn see no +1 (or any fixed step) pattern, the
 * handles are spread over the whole 52-bit space, never reused while the
 * daemon runs, still nonzero safe integers; listings still page every object
 * once in creation order, also across a cursor object destroyed between
 * pages.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLE_SPACE, HandleCipher } from '../../src/core/handles.js';
import { Caller, h, startHarness, unix, type Harness, type Json } from '../integration/tenants/harness.js';

describe('the handle permutation', () => {
  it('round-trips, stays within 1 .. 2^52 and is a bijection on what it issues', () => {
    const c = new HandleCipher(Buffer.alloc(16, 7));
    const seen = new Set<number>();
    for (const seq of [0, 1, 2, HANDLE_SPACE - 2, HANDLE_SPACE - 1, ...Array.from({ length: 5000 }, (_, i) => i * 104_729 + 3)]) {
      const hd = c.handleOf(seq);
      expect(Number.isSafeInteger(hd) && hd >= 1 && hd <= HANDLE_SPACE).toBe(true);
      expect(c.seqOf(hd)).toBe(seq);
      expect(seen.has(hd)).toBe(false);
      seen.add(hd);
    }
    for (const bad of [0, -1, 1.5, HANDLE_SPACE + 1, 2 ** 53]) expect(c.seqOf(bad)).toBeNull();
    expect(() => c.handleOf(HANDLE_SPACE)).toThrow(RangeError);
  });

  it('issues in runs exactly the handles it issues one by one', () => {
    const c = new HandleCipher(Buffer.alloc(16, 9));
    for (const [seq, count] of [[0, 1], [0, 64], [1000, 33], [123_456_789, 4096], [HANDLE_SPACE - 5, 5]] as const) {
      expect(c.handlesFrom(seq, count)).toEqual(Array.from({ length: count }, (_, i) => c.handleOf(seq + i)));
    }
    expect(() => c.handlesFrom(HANDLE_SPACE - 1, 2)).toThrow(RangeError);
    expect(() => c.handlesFrom(0, 0)).toThrow(RangeError);
  });

  it('depends on the key: two runs issue different handles for the same sequence', () => {
    const a = new HandleCipher();
    const b = new HandleCipher();
    const same = Array.from({ length: 64 }, (_, i) => a.handleOf(i) === b.handleOf(i)).filter(Boolean).length;
    expect(same).toBe(0);
  });
});

describe('handles of two tenants creating in turn', () => {
  let hx: Harness;
  let A: Caller;
  let B: Caller;

  beforeAll(async () => {
    hx = await startHarness({ tenants: [{ name: 'team-a', socket: 'a/broker.sock' }, { name: 'team-b', socket: 'b/broker.sock' }] });
    A = new Caller(unix(path.join(hx.dir, 'a', 'broker.sock')));
    B = new Caller(unix(path.join(hx.dir, 'b', 'broker.sock')));
    await A.open('a');
    await B.open('b');
  });
  afterAll(async () => {
    A?.close();
    B?.close();
    await hx?.stop();
  });

  it('show no +1 pattern, no fixed step and no order, and fill the 52-bit space', async () => {
    const all: number[] = [];
    const mine: number[] = [];
    for (let i = 0; i < 60; i++) {
      const a = Number((await A.create('pd')).handle);
      const b = Number((await B.create('pd')).handle);
      all.push(a, b);
      mine.push(a);
    }
    for (const x of all) expect(Number.isSafeInteger(x) && x > 0 && x <= HANDLE_SPACE).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    const steps = all.slice(1).map((x, i) => x - all[i]!);
    // Sequential handles would step by 1 (A then B then A...): here no step repeats, none is small.
    expect(steps.filter((d) => Math.abs(d) <= 1_000_000)).toEqual([]);
    expect(new Set(steps).size).toBe(steps.length);
    // A's own handles do not even grow: B's activity cannot be read off the gaps.
    const aSteps = mine.slice(1).map((x, i) => x - mine[i]!);
    expect(aSteps.some((d) => d < 0)).toBe(true);
    expect(aSteps.some((d) => d > 0)).toBe(true);
    // Spread over the space: the mean of 120 uniform draws is within a few percent of the middle.
    const mean = all.reduce((s, x) => s + x, 0) / all.length;
    expect(mean / HANDLE_SPACE).toBeGreaterThan(0.3);
    expect(mean / HANDLE_SPACE).toBeLessThan(0.7);
    // B's handle from A's side is just an unknown one.
    const code = await A.code('ObjectService', 'Query', h(all[1]));
    expect(code).toBe(5);
  });

  it('are never reused across creates and destroys', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const o = await A.create('pd');
      expect(seen.has(o.handle as string)).toBe(false);
      seen.add(o.handle as string);
      await A.call('ObjectService', 'Destroy', h(o.handle));
    }
  });

  it('list every object once in creation order, page by page, across a destroyed cursor', async () => {
    const made: string[] = [];
    for (let i = 0; i < 23; i++) made.push((await A.create('cq', { cqe: { u64: '4' } })).handle as string);
    const seen: string[] = [];
    let start = '0';
    let pages = 0;
    for (;;) {
      const page = await A.call<Json>('InspectionService', 'ListObjects', { filter: { type: 'cq' }, start_handle: start, max_results: 5 });
      seen.push(...(page.objects as Json[]).map((o) => o.handle as string));
      if (page.end) break;
      start = page.next_start_handle as string;
      // The object the cursor names goes away before the next page is asked for.
      if (pages++ === 1) {
        await A.call('ObjectService', 'Destroy', h(start));
        made.splice(made.indexOf(start), 1);
      }
    }
    expect(seen).toEqual(made);
  });
});
