/**
 * src/wire/verb-attrs.gen.ts is the input half of the object-type tables
 * (src/core/types) as types only, for the client, which may not import the
 * daemon's core (test/unit/architecture.test.ts): the client's typed helpers
 * derive their attribute types from it (src/client/attr-types.ts). This test
 * generates it from the live tables and fails when the checked-in file
 * differs; `npx vitest run test/unit/wire/verb-attrs.test.ts -u` rewrites it.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AttrSpec } from '../../../src/core/attrs.js';
import { OBJECT_TYPES } from '../../../src/core/types/index.js';
import type { CreateAttrs, MethodAttrs, ModifyAttrs } from '../../../src/client/attr-types.js';
import type { HandleValue, ObjectLike, RefValue } from '../../../src/client/values.js';

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const union = (xs: readonly string[]): string => (xs.length ? xs.map(q).join(' | ') : 'never');

/** One attribute declaration as a type literal: what a client may send for it. */
function declOf(s: AttrSpec, indent: string): string {
  const f = [`readonly name: ${q(s.name)}`, `readonly kind: ${q(s.kind)}`];
  if (s.mandatory) f.push('readonly mandatory: true');
  if (s.kind === 'handle') f.push(`readonly types: ${union(s.types ?? [])}`);
  if (s.kind === 'enum' || s.kind === 'flags') f.push(`readonly names: ${union(Object.keys(s.names ?? {}))}`);
  if (s.kind === 'list' && !s.members) f.push(`readonly element: ${q(s.element ?? 'u64')}`);
  if (s.members) f.push(`readonly members: ${declsOf(s.members, `${indent}  `)}`);
  return `{ ${f.join('; ')} }`;
}

function declsOf(specs: readonly AttrSpec[], indent: string): string {
  const inputs = specs.filter((s) => s.dir !== 'out');
  if (inputs.length === 0) return 'readonly []';
  return `readonly [\n${inputs.map((s) => `${indent}  ${declOf(s, indent)},\n`).join('')}${indent}]`;
}

/** The generated file's text, from the tables. */
export function generate(): string {
  const out: string[] = [
    '// Generated from the object-type tables (src/core/types) by test/unit/wire/verb-attrs.test.ts: do not edit.',
    '// Rewrite it with `npx vitest run test/unit/wire/verb-attrs.test.ts -u` after changing a declaration.',
    '/**',
    ' * The input attributes of every verb, by object type: create, modify and',
    ' * the methods, each as its declarations (name, kind, mandatory, handle',
    ' * types, enum or flag names, struct / list members). Types only: the client',
    ' * derives its attribute types from them (src/client/attr-types.ts).',
    ' */',
    'export interface VerbAttrDecls {',
  ];
  for (const t of OBJECT_TYPES) {
    out.push(`  readonly ${t.name}: {`);
    if (t.create) out.push(`    readonly create: ${declsOf(t.create.attrs, '    ')};`);
    if (t.modify) out.push(`    readonly modify: ${declsOf(t.modify.attrs, '    ')};`);
    const methods = Object.entries(t.methods);
    if (methods.length === 0) out.push('    readonly methods: {};');
    else {
      out.push('    readonly methods: {');
      for (const [name, m] of methods) out.push(`      readonly ${name}: ${declsOf(m.attrs, '      ')};`);
      out.push('    };');
    }
    out.push('  };');
  }
  out.push('}', '');
  return out.join('\n');
}

describe('wire: verb attribute declarations for the client', () => {
  it('src/wire/verb-attrs.gen.ts is what the tables declare (after changing a declaration: npx vitest run test/unit/wire/verb-attrs.test.ts -u)', async () => {
    await expect(generate()).toMatchFileSnapshot('../../../src/wire/verb-attrs.gen.ts');
  });

  it('gives the client typed create, modify and method attributes', () => {
    type Qp = CreateAttrs<'qp'>;
    type HandleIn = ObjectLike | HandleValue | RefValue | { readonly ref: number };
    expectTypeOf<Qp['pd']>().toEqualTypeOf<HandleIn>();
    expectTypeOf<Qp['qp_type']>().toEqualTypeOf<'RC' | 'UC' | 'UD' | 'RAW_PACKET' | 'XRC_SEND' | 'XRC_RECV' | number>();
    expectTypeOf<NonNullable<Qp['cap']>['max_send_wr']>().toEqualTypeOf<number | bigint | null | undefined>();
    expectTypeOf<CreateAttrs<'mr'>['length']>().toEqualTypeOf<number | bigint | string>();
    type Access = NonNullable<CreateAttrs<'mr'>['access']>;
    expectTypeOf<'LOCAL_WRITE'[]>().toExtend<Access>();
    expectTypeOf<number>().toExtend<Access>();
    expectTypeOf<'NOT_A_FLAG'[]>().not.toExtend<Access>();
    type Wr = MethodAttrs<'qp', 'post_send'>['wrs'][number];
    expectTypeOf<Wr['opcode']>().toEqualTypeOf<'RDMA_WRITE' | 'RDMA_WRITE_WITH_IMM' | 'SEND' | 'SEND_WITH_IMM' | 'RDMA_READ' | 'ATOMIC_CMP_AND_SWP' | 'ATOMIC_FETCH_AND_ADD' | 'LOCAL_INV' | 'BIND_MW' | 'SEND_WITH_INV' | number>();
    expectTypeOf<ModifyAttrs<'qp'>['qp_state']>().toEqualTypeOf<'RESET' | 'INIT' | 'RTR' | 'RTS' | 'SQD' | 'SQE' | 'ERR' | number | null | undefined>();
  });
});
