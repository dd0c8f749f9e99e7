import { describe, expect, it } from 'vitest';
import { normalizeGid, validateMap, type AttrSpec, type ResolveCtx } from '../../../src/core/attrs.js';
import { BrokerError } from '../../../src/core/errors.js';
import { HandleValue, RefValue } from '../../../src/wire/values.js';
import { attr } from '../../../src/core/types/spec.js';

const objects = new Map<number, { type: string }>([[7, { type: 'pd' }], [8, { type: 'cq' }]]);
const ctx: ResolveCtx = {
  resolve: (h, spec, path) => {
    const o = objects.get(h);
    if (!o) throw new BrokerError('NO_SUCH_HANDLE', `no ${h}`);
    if (spec.types && !spec.types.includes(o.type)) throw new BrokerError('WRONG_TYPE', path());
    return o;
  },
  ref: (step) => {
    if (step === 0) return 7;
    throw new BrokerError('INVALID_ATTR', 'bad ref');
  },
};

const specs: AttrSpec[] = [
  attr('pd', 1, 'handle', { mandatory: true, types: ['pd'] }),
  attr('cqe', 2, 'u32', { min: 1, max: 100 }),
  attr('len', 3, 'u64'),
  attr('state', 4, 'enum', { names: { RESET: 0, INIT: 1 } }),
  attr('access', 5, 'flags', { names: { A: 1, B: 2 } }),
  attr('gid', 6, 'gid'),
  attr('list', 7, 'list', { maxItems: 2, members: [attr('x', 1, 'u32', { mandatory: true })] }),
  attr('out', 8, 'u32', { dir: 'out' }),
];

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as BrokerError).code;
  }
  return 'ok';
}

describe('validateMap', () => {
  it('converts kinds and resolves handles', () => {
    const v = validateMap(specs, {
      pd: new HandleValue(7), cqe: 5, len: 2n ** 60n, state: 'init', access: ['A', 'B'], gid: 'fe80::1', list: [{ x: 1 }],
    }, 't', ctx);
    expect(v.pd).toBe(objects.get(7));
    expect(v.cqe).toBe(5);
    expect(v.len).toBe(2n ** 60n);
    expect(v.state).toBe('INIT');
    expect(v.access).toBe(3);
    expect(v.gid).toBe('fe80:0000:0000:0000:0000:0000:0000:0001');
    expect(v.list).toEqual([{ x: 1 }]);
  });

  it('resolves batch refs', () => {
    expect(validateMap(specs, { pd: new RefValue(0) }, 't', ctx).pd).toBe(objects.get(7));
    expect(code(() => validateMap(specs, { pd: new RefValue(3) }, 't', ctx))).toBe('INVALID_ATTR');
  });

  it.each([
    ['missing mandatory', {}, 'MISSING_ATTR'],
    ['unknown attribute', { pd: new HandleValue(7), nope: 1 }, 'INVALID_ATTR'],
    ['output attribute as input', { pd: new HandleValue(7), out: 1 }, 'INVALID_ATTR'],
    ['below min', { pd: new HandleValue(7), cqe: 0 }, 'INVALID_ATTR'],
    ['above max', { pd: new HandleValue(7), cqe: 101 }, 'INVALID_ATTR'],
    ['not an integer', { pd: new HandleValue(7), cqe: 'x' }, 'INVALID_ATTR'],
    ['negative u64', { pd: new HandleValue(7), len: -1 }, 'INVALID_ATTR'],
    ['unknown enum', { pd: new HandleValue(7), state: 'RTS' }, 'INVALID_ATTR'],
    ['unknown flag bit', { pd: new HandleValue(7), access: 4 }, 'INVALID_ATTR'],
    ['unknown flag name', { pd: new HandleValue(7), access: ['C'] }, 'INVALID_ATTR'],
    ['bad gid', { pd: new HandleValue(7), gid: 'fe80:::1' }, 'INVALID_ATTR'],
    ['too many items', { pd: new HandleValue(7), list: [{ x: 1 }, { x: 2 }, { x: 3 }] }, 'INVALID_ATTR'],
    ['missing member', { pd: new HandleValue(7), list: [{}] }, 'MISSING_ATTR'],
    ['number as handle', { pd: 7 }, 'INVALID_ATTR'],
    ['wrong handle type', { pd: new HandleValue(8) }, 'WRONG_TYPE'],
    ['foreign handle', { pd: new HandleValue(99) }, 'NO_SUCH_HANDLE'],
  ])('rejects %s', (_n, input, want) => {
    expect(code(() => validateMap(specs, input as never, 't', ctx))).toBe(want);
  });
});

describe('validateMap: which problem is reported, whatever the input order', () => {
  const table: AttrSpec[] = [
    attr('a', 1, 'u32', { max: 10 }),
    attr('b', 2, 'u32', { mandatory: true }),
    attr('c', 3, 'u32', { max: 10 }),
    attr('d', 4, 'u32', { mandatory: true }),
  ];
  const message = (input: Record<string, unknown>): string => {
    try {
      validateMap(table, input as never, 't', ctx);
    } catch (e) {
      return (e as BrokerError).message;
    }
    return 'ok';
  };

  it('an unknown name before anything else', () => {
    expect(message({ a: 99, zz: 1 })).toMatch(/unknown attribute t\."zz"/);
    expect(message({ zz: 1, a: 99 })).toMatch(/unknown attribute t\."zz"/);
  });

  it('then the first problem in declaration order', () => {
    // a is bad and comes before the missing b, in either input order.
    expect(message({ c: 1, a: 99 })).toMatch(/t\.a/);
    expect(message({ a: 99, c: 1 })).toMatch(/t\.a/);
    // b is missing before c is bad.
    expect(message({ c: 99, a: 1 })).toMatch(/t\.b/);
    // b and d present, c bad.
    expect(message({ d: 1, c: 99, b: 1 })).toMatch(/t\.c/);
    // All good but d missing.
    expect(message({ c: 1, b: 1, a: 1 })).toMatch(/t\.d/);
  });

  it('keys come out in declaration order', () => {
    expect(Object.keys(validateMap(table, { d: 4, c: 3, b: 2, a: 1 }, 't', ctx))).toEqual(['a', 'b', 'c', 'd']);
    expect(Object.keys(validateMap(table, { b: 2, d: 4 }, 't', ctx))).toEqual(['b', 'd']);
  });

  it('an attribute set to undefined is absent', () => {
    expect(message({ a: undefined, b: 1, d: undefined })).toMatch(/t\.d/);
    expect(Object.keys(validateMap(table, { a: undefined, b: 1, d: 2 } as never, 't', ctx))).toEqual(['b', 'd']);
  });
});

describe('validateMap: error paths below the top', () => {
  const table: AttrSpec[] = [
    attr('pd', 1, 'handle', { types: ['pd'] }),
    attr('wrs', 2, 'list', {
      members: [attr('x', 1, 'u32', { max: 9 }), attr('s', 2, 'struct', { members: [attr('h', 1, 'handle', { types: ['pd'] }), attr('y', 2, 'u32', { mandatory: true })] })],
    }),
  ];
  const failure = (input: Record<string, unknown>): BrokerError => {
    try {
      validateMap(table, input as never, 'qp.post', ctx);
    } catch (e) {
      return e as BrokerError;
    }
    throw new Error('validated');
  };

  it('names the list index and the struct member of the bad value', () => {
    expect(failure({ wrs: [{ x: 1 }, { x: 10 }] }).message).toBe('attribute qp.post.wrs[1].x: 10 is out of range [0, 9]');
    expect(failure({ wrs: [{ s: { y: 1 } }, { s: {} }] }).message).toBe('missing mandatory attribute qp.post.wrs[1].s.y');
    expect(failure({ wrs: [{ s: { y: 1, zz: 2 } }] }).message).toMatch(/^unknown attribute qp\.post\.wrs\[0\]\.s\."zz"/);
    expect(failure({ wrs: [{ s: { h: new HandleValue(8), y: 1 } }] }).message).toBe('qp.post.wrs[0].s.h');
    expect(failure({ wrs: [{ s: { h: 3, y: 1 } }] }).message).toBe('attribute qp.post.wrs[0].s.h: expected a handle, got number "3"');
  });

  it('gives each handle a path of its own, still right after the validation', () => {
    const kept: (() => string)[] = [];
    const keeping: ResolveCtx = { resolve: (h, spec, path) => (kept.push(path), ctx.resolve(h, spec, path)), ref: ctx.ref };
    validateMap(table, { pd: new HandleValue(7), wrs: [{ x: 1 }, { s: { h: new HandleValue(7), y: 1 } }] }, 'qp.post', keeping);
    expect(kept.map((p) => p())).toEqual(['qp.post.pd', 'qp.post.wrs[1].s.h']);
  });

  it('starts from the top again after a failure deep inside', () => {
    failure({ wrs: [{ s: { y: 1 } }, { s: { y: 'no' } }] });
    expect(failure({ pd: new HandleValue(8) }).message).toBe('qp.post.pd');
    expect(validateMap(table, { wrs: [{ x: 2, s: { y: 3 } }] }, 't', ctx)).toEqual({ wrs: [{ x: 2, s: { y: 3 } }] });
  });
});

describe('normalizeGid', () => {
  it('keeps the full form as it is and parses the others', () => {
    const full = 'fe80:0000:0000:0000:0211:22ff:fe33:4455';
    expect(normalizeGid(full, 'g')).toBe(full);
    expect(normalizeGid('FE80:0000:0000:0000:0211:22FF:FE33:4455', 'g')).toBe(full);
    expect(normalizeGid(` ${full} `, 'g')).toBe(full);
    expect(normalizeGid('fe80::211:22ff:fe33:4455', 'g')).toBe(full);
    expect(normalizeGid('fe80:0:0:0:211:22ff:fe33:4455', 'g')).toBe(full);
    // 39 characters but not the full form.
    for (const bad of ['fe80:0000:0000:0000:0211:22ff:fe33:445g', 'fe80:0000:0000:0000:0211:22ff:fe33::455', 'fe80:0000:0000:0000:0211:22ff:fe3:34455']) {
      expect(() => normalizeGid(bad, 'g')).toThrow(BrokerError);
    }
  });

  it('accepts compressed, full and raw forms', () => {
    expect(normalizeGid('::', 'g')).toBe('0000:0000:0000:0000:0000:0000:0000:0000');
    expect(normalizeGid('fe80:0000:0000:0000:0211:22ff:fe33:4455', 'g')).toBe('fe80:0000:0000:0000:0211:22ff:fe33:4455');
    const raw = Buffer.alloc(16);
    raw[0] = 0xfe;
    raw[15] = 1;
    expect(normalizeGid(raw, 'g')).toBe('fe00:0000:0000:0000:0000:0000:0000:0001');
    expect(() => normalizeGid('1:2:3', 'g')).toThrow(BrokerError);
  });
});
