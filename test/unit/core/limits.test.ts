import { describe, expect, it } from 'vitest';
import { checkAttrTree, LIMITS } from '../../../src/core/limits.js';
import type { PlainMap } from '../../../src/wire/values.js';

function message(m: PlainMap): string {
  try {
    checkAttrTree(m, 'w');
  } catch (e) {
    return (e as Error).message;
  }
  return 'ok';
}

/** A map nested `n` levels deep (1: a flat map), with `leaf` at the bottom. */
function nested(n: number, leaf: PlainMap = {}): PlainMap {
  let m = leaf;
  for (let i = 1; i < n; i++) m = { x: m };
  return m;
}

describe('checkAttrTree', () => {
  const long = 'x'.repeat(LIMITS.stringBytes + 1);

  it('takes trees within the limits', () => {
    expect(message(nested(LIMITS.attrDepth, { s: 'y'.repeat(LIMITS.stringBytes) }))).toBe('ok');
    expect(message({ l: [[1, 2], { a: [3] }], b: Buffer.alloc(8) })).toBe('ok');
  });

  it('refuses each limit', () => {
    expect(message(nested(LIMITS.attrDepth + 1))).toMatch(/nest deeper than 16/);
    expect(message({ l: [[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]] })).toMatch(/nest deeper/);
    expect(message({ s: long })).toMatch(/a string value/);
    expect(message({ l: ['a', long] })).toMatch(/a string value/);
    expect(message({ ['k'.repeat(LIMITS.nameBytes + 1)]: 1 })).toMatch(/an attribute name/);
    expect(message({ l: new Array(LIMITS.attrItems + 1).fill(0) })).toMatch(/a list of 65537 items/);
  });

  it('a level\'s own strings before what nests in it; the last nested map first', () => {
    // The string at the top is met before the too-deep map, whichever key comes first.
    expect(message({ deep: nested(LIMITS.attrDepth), s: long })).toMatch(/a string value/);
    expect(message({ s: long, deep: nested(LIMITS.attrDepth) })).toMatch(/a string value/);
    // Two nested problems: the one under the later key is met first.
    expect(message({ a: { s: long }, b: nested(LIMITS.attrDepth) })).toMatch(/nest deeper/);
    expect(message({ b: nested(LIMITS.attrDepth), a: { s: long } })).toMatch(/a string value/);
  });

  it('a deep tree costs no deep recursion', () => {
    expect(message(nested(100_000))).toMatch(/nest deeper/);
  });
});
