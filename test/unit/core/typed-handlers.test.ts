/**
 * The object-type tables' handlers read attributes typed from their own
 * declarations (src/core/types/spec.ts: attr, AttrsOf, ValueOf, typed<R>()),
 * so a handler needs no casts. This test keeps it so: every type assertion
 * (`x as T`, `<T>x`) in src/core/types fails it unless it is one of the few
 * the type system cannot express, listed below with why; `as const` is not a
 * cast. The type-level checks at the end fail `npm run typecheck` when the
 * derivation loses precision (an enum read as string, a handle as an untyped ref).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AsyncEventType, CqRef, FlowAttr, PdRef, QpRef, QpType, SrqRef, WrOpcode } from '../../../src/verbs/abi.js';
import type { DeviceContext } from '../../../src/verbs/backend.js';
import { flow } from '../../../src/core/types/flow.js';
import { ahAttrMembers, capMembers, recvWrsSpec } from '../../../src/core/types/common.js';
import { attr, indexedNames, type AttrsOf, type CreateCtx, type ObjectHandle, type ValueOf } from '../../../src/core/types/spec.js';
import { QP_TYPE_NAMES, WR_OPCODE_NAMES } from '../../../src/core/types/common.js';
// The type files fill in RefTypes (each its own ref); importing the table brings them all in.
import '../../../src/core/types/index.js';

const TYPES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/core/types');

/** The casts that stay, by file and text, with why (each also says so in a comment at the cast). */
const ALLOWED: readonly { file: string; text: string; why: string }[] = [
  { file: 'spec.ts', text: 'more as M', why: 'attr(): spreading an absent `more` (M defaults to {}); TS types the spread of `M | undefined` as partial' },
  { file: 'spec.ts', text: 'more as M', why: 'out(): as attr()' },
  { file: 'spec.ts', text: 'Object.fromEntries(names.map((n, i) => [n, i])) as Record<N, number>', why: 'indexedNames(): Object.fromEntries types its keys as string' },
];

interface Cast {
  file: string;
  line: number;
  text: string;
}

/** Every type assertion in a source text: `x as T` (but `as const`), `<T>x`. */
export function castsOf(file: string, text: string): Cast[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Cast[] = [];
  const visit = (n: ts.Node): void => {
    const isCast = (ts.isAsExpression(n) && !ts.isConstTypeReference(n.type)) || ts.isTypeAssertionExpression(n);
    if (isCast) out.push({ file, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1, text: n.getText(sf) });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function typeFiles(): string[] {
  return fs.readdirSync(TYPES_DIR).filter((f) => f.endsWith('.ts')).sort();
}

describe('typed handlers: no casts in the object-type tables', () => {
  it('finds casts (the checker itself), and not `as const` or key remapping', () => {
    const src = [
      'const a = x as number;',
      'const b = <string>y;',
      'const c = [1] as const;',
      'type M<T> = { [K in keyof T as `x${string & K}`]: T[K] };',
      'const d = (z as unknown) as Buffer;',
    ].join('\n');
    expect(castsOf('t.ts', src).map((c) => c.text)).toEqual(['x as number', '<string>y', '(z as unknown) as Buffer', 'z as unknown']);
  });

  it('src/core/types has no casts but the listed ones', () => {
    const found = typeFiles().flatMap((f) => castsOf(f, fs.readFileSync(path.join(TYPES_DIR, f), 'utf8')));
    const left = [...ALLOWED];
    const unexpected: string[] = [];
    for (const c of found) {
      const i = left.findIndex((a) => a.file === c.file && a.text === c.text);
      if (i >= 0) left.splice(i, 1);
      else unexpected.push(`${c.file}:${c.line}: ${c.text}`);
    }
    expect(unexpected, 'a new cast in a type table: type the attribute through its declaration (src/core/types/spec.ts) instead').toEqual([]);
    // An entry whose cast is gone: take it off the list, so the list stays the truth.
    expect(left.map((a) => `${a.file}: ${a.text}`), 'allowed casts no longer there').toEqual([]);
  });

  it('each cast that stays says why in a comment just above it', () => {
    for (const f of new Set(ALLOWED.map((a) => a.file))) {
      const lines = fs.readFileSync(path.join(TYPES_DIR, f), 'utf8').split('\n');
      for (const c of castsOf(f, lines.join('\n'))) {
        const above = lines.slice(Math.max(0, c.line - 6), c.line - 1).join('\n');
        expect(above, `${f}:${c.line}: ${c.text}`).toMatch(/\/\/ .*cast/i);
      }
    }
  });
});

describe('typed handlers: attribute types follow the declarations', () => {
  it('derives value types from kinds, names, handle types, structs and lists', () => {
    const decl = [
      attr('pd', 1, 'handle', { mandatory: true, types: ['pd'] }),
      attr('target', 2, 'handle', { types: ['qp', 'cq', 'srq'] }),
      attr('qp_type', 3, 'enum', { mandatory: true, names: QP_TYPE_NAMES }),
      attr('event', 4, 'enum', { names: indexedNames(['CQ_ERR', 'PORT_ERR'] as const) }),
      attr('cap', 5, 'struct', { members: capMembers }),
      recvWrsSpec,
      attr('length', 7, 'u64', { mandatory: true }),
    ] as const;
    type A = AttrsOf<typeof decl>;
    expectTypeOf<A['pd']>().toEqualTypeOf<ObjectHandle<PdRef>>();
    expectTypeOf<A['target']>().toEqualTypeOf<ObjectHandle<QpRef | CqRef | SrqRef> | undefined>();
    expectTypeOf<A['qp_type']>().toEqualTypeOf<QpType>();
    expectTypeOf<A['event']>().toEqualTypeOf<'CQ_ERR' | 'PORT_ERR' | undefined>();
    expectTypeOf<NonNullable<A['cap']>['max_send_wr']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<A['wrs'][number]['wr_id']>().toEqualTypeOf<bigint | undefined>();
    expectTypeOf<NonNullable<A['wrs'][number]['sg_list']>[number]['addr']>().toEqualTypeOf<bigint>();
    expectTypeOf<A['length']>().toEqualTypeOf<bigint>();
    type Grh = NonNullable<AttrsOf<typeof ahAttrMembers>['grh']>;
    expectTypeOf<Grh['dgid']>().toEqualTypeOf<string>();
    expectTypeOf<Grh['hop_limit']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ValueOf<{ readonly kind: 'enum'; readonly names: typeof WR_OPCODE_NAMES }>>().toEqualTypeOf<WrOpcode>();
    // The runtime tables behind the names are the ABI's.
    expect(indexedNames(['CQ_ERR', 'PORT_ERR'] satisfies AsyncEventType[])).toEqual({ CQ_ERR: 0, PORT_ERR: 1 });
  });
});

describe('flow.create: specs to the backend', () => {
  const qp: ObjectHandle<QpRef> = { handle: 9, type: 'qp', device: 'sim0', ref: { tag: 9, kind: 'qp', qp_num: 0x11, qp_type: 'RAW_PACKET' } };
  function ctx(specs: unknown[]): { c: CreateCtx; got: FlowAttr[] } {
    const got: FlowAttr[] = [];
    const dev = { createFlow: async (_q: QpRef, a: FlowAttr, tag: number) => { got.push(a); return { tag, kind: 'flow' }; } };
    // A test double: only the op the handler calls.
    return { c: { dev: dev as unknown as DeviceContext, device: 'sim0', attrs: { qp, specs }, tag: 12, memory: null }, got };
  }

  it('passes each spec as given, with the defaults of ibv_flow_attr', async () => {
    const { c, got } = ctx([{ type: 'ETH', dst_mac: '02:00:00:00:00:01', ether_type: 0x0800 }, { type: 'UDP', dst_port: 4791 }]);
    const r = await flow.create!.run(c);
    expect(got).toEqual([{ type: 'NORMAL', priority: 0, port: 1, flags: 0, specs: [{ type: 'ETH', dst_mac: '02:00:00:00:00:01', ether_type: 0x0800 }, { type: 'UDP', dst_port: 4791 }] }]);
    expect(r.attrs).toEqual({ type: 'NORMAL', priority: 0, port: 1 });
  });

  it('refuses an ETH spec without dst_mac (EINVAL, naming the attribute) before the device is called', async () => {
    const { c, got } = ctx([{ type: 'UDP' }, { type: 'ETH', ether_type: 0x0800 }]);
    await expect(flow.create!.run(c)).rejects.toMatchObject({ code: 'MISSING_ATTR', errno: 22, attribute: 'flow.create.specs[1].dst_mac' });
    expect(got).toEqual([]);
  });
});
