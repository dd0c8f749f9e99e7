/**
 * Attribute types for the client's verbs, derived from the object-type
 * tables' declarations (src/wire/verb-attrs.gen.ts, generated from the
 * daemon's tables: the client may not import the daemon's core). Each
 * attribute takes what the daemon's validator accepts for its kind (as
 * values.ts describes): a handle is an object this library returned,
 * `handle(n)` or (in a Batch) `ref(n)`; an enum its name or value; flags a
 * mask or a list of names; a struct or list its members.
 */
import type { VerbAttrDecls } from '../wire/verb-attrs.gen.js';
import type { HandleValue, ObjectLike, RefValue } from './values.js';

/** An attribute declaration as the generated file states it. */
interface Decl {
  readonly name: string;
  readonly kind: string;
  readonly mandatory?: true;
  readonly names?: string;
  readonly members?: readonly Decl[];
  readonly element?: string;
}

/** What a client may send for one attribute. */
export type InputOf<D> =
  D extends { readonly kind: 'u32' } ? number | bigint
  : D extends { readonly kind: 'u64' | 's64' } ? number | bigint | string
  : D extends { readonly kind: 'bool' } ? boolean
  : D extends { readonly kind: 'str' } ? string
  : D extends { readonly kind: 'gid' } ? string | Buffer | Uint8Array
  : D extends { readonly kind: 'bytes' } ? Buffer | Uint8Array
  : D extends { readonly kind: 'handle' } ? ObjectLike | HandleValue | RefValue | { readonly ref: number }
  : D extends { readonly kind: 'enum'; readonly names: infer N } ? N | number
  : D extends { readonly kind: 'flags'; readonly names: infer N } ? number | readonly N[]
  : D extends { readonly kind: 'struct'; readonly members: infer M extends readonly Decl[] } ? InputAttrs<M>
  : D extends { readonly kind: 'list'; readonly members: infer M extends readonly Decl[] } ? readonly InputAttrs<M>[]
  : D extends { readonly kind: 'list'; readonly element: infer E } ? readonly InputOf<{ readonly kind: E }>[]
  : never;

/** An attribute map typed from its declarations: mandatory attributes required, the others optional (null or undefined: left out). */
export type InputAttrs<S extends readonly Decl[]> = {
  readonly [A in S[number] as A extends { readonly mandatory: true } ? A['name'] : never]: InputOf<A>;
} & {
  readonly [A in S[number] as A extends { readonly mandatory: true } ? never : A['name']]?: InputOf<A> | null;
};

/** The object types, by name. */
export type ObjectTypeName = keyof VerbAttrDecls;

type CreatableType = { [T in ObjectTypeName]: VerbAttrDecls[T] extends { readonly create: readonly Decl[] } ? T : never }[ObjectTypeName];
type ModifiableType = { [T in ObjectTypeName]: VerbAttrDecls[T] extends { readonly modify: readonly Decl[] } ? T : never }[ObjectTypeName];

/** The attributes of `create` for type T (`CreateAttrs<'qp'>`: pd, send_cq, recv_cq, qp_type, cap, ...). */
export type CreateAttrs<T extends CreatableType> = VerbAttrDecls[T] extends { readonly create: infer S extends readonly Decl[] } ? InputAttrs<S> : never;

/** The attributes of `modify` for type T (`ModifyAttrs<'qp'>`: qp_state, ah_attr, ...; the mask follows from the names). */
export type ModifyAttrs<T extends ModifiableType> = VerbAttrDecls[T] extends { readonly modify: infer S extends readonly Decl[] } ? InputAttrs<S> : never;

/** The attributes of method M of type T (`MethodAttrs<'qp', 'post_send'>`: wrs). */
export type MethodAttrs<T extends ObjectTypeName, M extends keyof VerbAttrDecls[T]['methods']> =
  VerbAttrDecls[T]['methods'][M] extends infer S extends readonly Decl[] ? InputAttrs<S> : never;

/** A send work request (`qp.post_send`): `{wr_id, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [...], remote_addr, rkey}`. */
export type SendWrAttrs = MethodAttrs<'qp', 'post_send'>['wrs'][number];
/** A receive work request (`qp.post_recv`, `srq.post_recv`): `{wr_id, sg_list}`. */
export type RecvWrAttrs = MethodAttrs<'qp', 'post_recv'>['wrs'][number];
/** One scatter/gather element of a work request: `{addr, length, lkey}`. */
export type SgeAttrs = NonNullable<RecvWrAttrs['sg_list']>[number];
