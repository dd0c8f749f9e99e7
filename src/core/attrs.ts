/**
 * Attribute specifications and the one generic validator, in the manner of
 * the kernel's uverbs attribute tables: every method declares its attributes
 * as data, and nothing reaches a handler before presence, kind, range and
 * handle type have been checked.
 */
import { HandleValue, RefValue, type Plain, type PlainMap } from '../wire/values.js';
import { normalizeGid as gidText } from '../wire/gid.js';
import { BrokerError, err, quote } from './errors.js';

export type AttrKind =
  | 'u32' | 'u64' | 's64' | 'bool' | 'str' | 'bytes' | 'handle' | 'enum' | 'flags' | 'gid' | 'list' | 'struct';

/** How a method uses an object named by a handle attribute (the kernel's UVERBS_ACCESS_*). */
export type Access = 'read' | 'write' | 'destroy';

export interface AttrSpec {
  readonly name: string;
  readonly id: number;
  readonly kind: AttrKind;
  readonly dir?: 'in' | 'out';
  readonly mandatory?: boolean;
  /** handle: the object types accepted. */
  readonly types?: readonly string[];
  /** handle: the lock the method takes on it (default read). */
  readonly access?: Access;
  /** handle: this attribute names the new object's parent (tracked for cleanup order and EBUSY). */
  readonly parent?: boolean;
  /** enum / flags: name -> value. */
  readonly names?: Readonly<Record<string, number>>;
  readonly min?: number;
  readonly max?: number;
  /** struct: members; list: the members of each element when it is a struct. */
  readonly members?: readonly AttrSpec[];
  /** list: the element kind when elements are not structs. */
  readonly element?: AttrKind;
  readonly maxItems?: number;
  readonly doc?: string;
}

/** A validated attribute map: handles already resolved by the caller's resolver. */
export type Validated = { [name: string]: unknown };

export interface ResolveCtx {
  /**
   * Resolves a handle attribute to the caller's object, checking type; throws NO_SUCH_HANDLE / WRONG_TYPE.
   * `path` names the attribute for an error (built only then; it may be
   * kept and called later).
   */
  resolve(handle: number, spec: AttrSpec, path: () => string): unknown;
  /** In a Batch: the handle created by an earlier step; throws INVALID_ATTR otherwise. */
  ref(step: number, path: () => string): number;
}

/**
 * Where an attribute is, for error messages: `where` and, below it, a map
 * key or a list index. Built only when a message needs it, so a valid
 * attribute costs no string.
 */
function pathOf(where: string, key: string | number | null): string {
  return key === null ? where : typeof key === 'number' ? `${where}[${key}]` : `${where}.${key}`;
}

/*
 * The path of the value being validated, kept as the top-level `where` and
 * the keys and indexes entered below it (a stack: validation is synchronous
 * and one call runs at a time), so a nested map or list costs no string
 * until an error names it.
 */
let pathBase = '';
const pathKeys: (string | number | null)[] = [];
let pathDepth = 0;

/** The path of the map or list being validated. */
function here(): string {
  let p = pathBase;
  for (let i = 0; i < pathDepth; i++) p = pathOf(p, pathKeys[i]!);
  return p;
}

/**
 * The path of a handle attribute at `key` under {@link here}, for
 * {@link ResolveCtx}, which may keep it past the validation (a refusal of
 * objects on two devices names their attributes): it holds its own copy of
 * the position, a copy of the keys only below the top level.
 */
function handlePath(key: string | number | null): () => string {
  const base = pathBase;
  if (pathDepth === 0) return () => pathOf(base, key);
  const keys = pathKeys.slice(0, pathDepth);
  return () => {
    let p = base;
    for (const k of keys) p = pathOf(p, k);
    return pathOf(p, key);
  };
}

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function describe(v: Plain): string {
  if (v instanceof HandleValue) return `handle ${v.handle}`;
  if (Buffer.isBuffer(v)) return `${v.length} bytes`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${quote(v)}`;
  return `${typeof v} ${quote(String(v))}`;
}

function bad(path: string, want: string, got: Plain): BrokerError {
  return err.invalid(`attribute ${path}: expected ${want}, got ${describe(got)}`, path);
}

function toBigInt(v: Plain): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  return null;
}

/** A GID as 16 raw bytes or IPv6 text, in the 8-group form; null when it is neither. */
function gidOf(v: Plain): string | null {
  if (Buffer.isBuffer(v) && v.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(v.readUInt16BE(i).toString(16).padStart(4, '0'));
    return groups.join(':');
  }
  return typeof v === 'string' ? gidText(v) : null;
}

/** Parses an IPv6-style GID (compressed or 8 groups) or 16 raw bytes into the 8-group form. */
export function normalizeGid(v: Plain, path: string): string {
  const text = gidOf(v);
  if (text === null) throw bad(path, 'a GID (IPv6 notation or 16 bytes)', v);
  return text;
}

/** Kinds as small integers, so a value's kind is one switch over numbers. */
const enum K { U32, U64, S64, Bool, Str, Bytes, Handle, Enum, Flags, Gid, Struct, List }

const KIND_CODES: Readonly<Record<AttrKind, K>> = {
  u32: K.U32, u64: K.U64, s64: K.S64, bool: K.Bool, str: K.Str, bytes: K.Bytes, handle: K.Handle,
  enum: K.Enum, flags: K.Flags, gid: K.Gid, struct: K.Struct, list: K.List,
};

/**
 * One attribute's declaration compiled once (the tables are static data):
 * its kind as a number, its bounds, its flag mask, the plan of its members
 * or the check of its elements; so a value is checked without a lookup.
 */
interface Check {
  readonly spec: AttrSpec;
  readonly kind: K;
  readonly min: number;
  readonly max: number;
  /** enum / flags: the names; flags: the mask of all their bits; enum: names by value. */
  readonly names: Readonly<Record<string, number>>;
  readonly mask: number;
  readonly byValue: ReadonlyMap<number, string> | null;
  /** struct: its members' plan. */
  readonly plan: Plan | null;
  /** list: the check of each element. */
  readonly elem: Check | null;
}

/**
 * Per spec table: its input attributes, their positions by name, the
 * positions of the mandatory ones, and each one's {@link Check}.
 */
interface Plan {
  readonly specs: readonly AttrSpec[];
  readonly pos: Map<string, number>;
  readonly mandatory: readonly number[];
  checks: readonly Check[];
  /** The declared input names, for the unknown-attribute message. */
  readonly known: readonly string[];
}

const plans = new WeakMap<readonly AttrSpec[], Plan>();

function planOf(table: readonly AttrSpec[]): Plan {
  let p = plans.get(table);
  if (!p) {
    const specs: AttrSpec[] = [];
    const pos = new Map<string, number>();
    const mandatory: number[] = [];
    for (const s of table) {
      if (s.dir === 'out' || pos.has(s.name)) continue;
      pos.set(s.name, specs.length);
      if (s.mandatory) mandatory.push(specs.length);
      specs.push(s);
    }
    const plan: Plan = { specs, pos, mandatory, checks: [], known: table.filter((s) => s.dir !== 'out').map((s) => s.name) };
    // Entered before its checks are compiled: a table that (one day) nests itself ends the recursion here.
    plans.set(table, plan);
    plan.checks = specs.map(compile);
    p = plan;
  }
  return p;
}

function compile(spec: AttrSpec): Check {
  const kind = KIND_CODES[spec.kind];
  const names = spec.names ?? {};
  let mask = 0;
  for (const val of Object.values(names)) mask |= val;
  let byValue: Map<number, string> | null = null;
  if (kind === K.Enum) {
    // The first name of a value wins, as a search in declaration order would find it.
    byValue = new Map();
    for (const [n, val] of Object.entries(names)) if (!byValue.has(val)) byValue.set(val, n);
  }
  const elemSpec: AttrSpec | null = kind !== K.List ? null : spec.members
    ? { name: spec.name, id: spec.id, kind: 'struct', members: spec.members }
    : { name: spec.name, id: spec.id, kind: spec.element ?? 'u64' };
  return {
    spec,
    kind,
    min: spec.min ?? 0,
    max: spec.max ?? U32_MAX,
    names,
    mask,
    byValue,
    plan: kind === K.Struct ? planOf(spec.members ?? []) : null,
    elem: elemSpec ? compile(elemSpec) : null,
  };
}

/** Checks one value; `key` names it under {@link here} (null: the path itself). */
function check(c: Check, v: Plain, key: string | number | null, ctx: ResolveCtx): unknown {
  const spec = c.spec;
  switch (c.kind) {
    case K.U32: {
      const n = typeof v === 'bigint' && v <= BigInt(U32_MAX) && v >= 0n ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad(pathOf(here(), key), 'an unsigned integer', v);
      if (n < c.min || n > c.max) throw err.invalid(`attribute ${pathOf(here(), key)}: ${n} is out of range [${c.min}, ${c.max}]`, pathOf(here(), key));
      return n;
    }
    case K.U64: {
      const b = toBigInt(v);
      if (b === null || b < 0n || b > U64_MAX) throw bad(pathOf(here(), key), 'an unsigned 64-bit integer', v);
      if (spec.min !== undefined && b < BigInt(spec.min)) throw err.invalid(`attribute ${pathOf(here(), key)}: ${b} is below ${spec.min}`, pathOf(here(), key));
      if (spec.max !== undefined && b > BigInt(spec.max)) throw err.invalid(`attribute ${pathOf(here(), key)}: ${b} is above ${spec.max}`, pathOf(here(), key));
      return b;
    }
    case K.S64: {
      const b = toBigInt(v);
      if (b === null) throw bad(pathOf(here(), key), 'a signed 64-bit integer', v);
      return b;
    }
    case K.Bool:
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw bad(pathOf(here(), key), 'a boolean', v);
    case K.Str:
      if (typeof v !== 'string') throw bad(pathOf(here(), key), 'a string', v);
      return v;
    case K.Bytes:
      if (!Buffer.isBuffer(v)) throw bad(pathOf(here(), key), 'bytes', v);
      if (spec.max !== undefined && v.length > spec.max) throw err.invalid(`attribute ${pathOf(here(), key)}: ${v.length} bytes exceeds ${spec.max}`, pathOf(here(), key));
      return v;
    case K.Handle: {
      if (v instanceof RefValue) {
        const path = handlePath(key);
        return ctx.resolve(ctx.ref(v.step, path), spec, path);
      }
      if (!(v instanceof HandleValue)) throw bad(pathOf(here(), key), 'a handle', v);
      return ctx.resolve(v.handle, spec, handlePath(key));
    }
    case K.Enum: {
      const names = c.names;
      if (typeof v === 'string') {
        // Names are upper case in the tables: most values come so and need no copy.
        if (Object.hasOwn(names, v)) return v;
        const upper = v.toUpperCase();
        if (Object.hasOwn(names, upper)) return upper;
      } else if (typeof v === 'number') {
        const hit = c.byValue!.get(v);
        if (hit !== undefined) return hit;
      }
      throw err.invalid(`attribute ${pathOf(here(), key)}: expected one of ${Object.keys(names).join(', ')}, got ${describe(v)}`, pathOf(here(), key));
    }
    case K.Flags: {
      const names = c.names;
      const all = c.mask;
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
        if ((v & ~all) !== 0 || v > U32_MAX) {
          throw err.invalid(`attribute ${pathOf(here(), key)}: unknown flag bits 0x${(v & ~all >>> 0).toString(16)} (known: ${Object.keys(names).join(', ')})`, pathOf(here(), key));
        }
        return v;
      }
      if (Array.isArray(v)) {
        let mask = 0;
        for (const item of v) {
          const name = typeof item === 'string' ? item.toUpperCase() : '';
          const bit = Object.hasOwn(names, name) ? names[name] : undefined;
          if (bit === undefined) throw err.invalid(`attribute ${pathOf(here(), key)}: unknown flag ${describe(item)} (known: ${Object.keys(names).join(', ')})`, pathOf(here(), key));
          mask |= bit;
        }
        return mask >>> 0;
      }
      throw bad(pathOf(here(), key), 'a flag mask or a list of flag names', v);
    }
    case K.Gid: {
      const text = gidOf(v);
      if (text === null) throw bad(pathOf(here(), key), 'a GID (IPv6 notation or 16 bytes)', v);
      return text;
    }
    case K.Struct: {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v) || v instanceof HandleValue) {
        throw bad(pathOf(here(), key), 'a map', v);
      }
      pathKeys[pathDepth++] = key;
      const out = validateIn(c.plan!, v as PlainMap, ctx);
      pathDepth--;
      return out;
    }
    case K.List: {
      if (!Array.isArray(v)) throw bad(pathOf(here(), key), 'a list', v);
      if (spec.maxItems !== undefined && v.length > spec.maxItems) {
        throw err.invalid(`attribute ${pathOf(here(), key)}: ${v.length} items exceeds ${spec.maxItems}`, pathOf(here(), key));
      }
      const elem = c.elem!;
      pathKeys[pathDepth++] = key;
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = check(elem, v[i]!, i, ctx);
      pathDepth--;
      return out;
    }
  }
}

/**
 * The present attributes of the maps being validated, as a stack of
 * (position, value) pairs: a nested map pushes above its parent's and pops
 * when done, so validating a map allocates no array for them.
 */
const stackPos: number[] = [];
const stackVal: (Plain | undefined)[] = [];
let stackTop = 0;
/** Whether a validation is running (the path and the stack are its own). */
let active = false;

/** Starts a validation from the top: the path starts at `where`. */
function begin(where: string): void {
  // The resolver never validates: a second validation inside one would share its path and stack.
  if (active) throw new Error('attribute validation is not re-entrant');
  active = true;
  pathBase = where;
}

/** Ends it: after a failure the path and the stack are reset, and the stack keeps no client value past the call. */
function end(): void {
  active = false;
  if (pathDepth !== 0 || stackTop !== 0) {
    pathDepth = 0;
    stackTop = 0;
    stackVal.fill(undefined);
  }
}

/**
 * Validates one value against its spec. The attribute is `key` under
 * `where` (null: `where` itself).
 */
export function validateValue(spec: AttrSpec, v: Plain, where: string, key: string | number | null, ctx: ResolveCtx): unknown {
  begin(where);
  try {
    return check(compile(spec), v, key, ctx);
  } finally {
    end();
  }
}

/**
 * Validates an input map against specs: unknown names, missing mandatory
 * attributes, kinds and ranges. Unknown names are refused before anything
 * else; then the first problem in declaration order wins (a missing
 * mandatory attribute or a bad value), and the result's keys come in
 * declaration order.
 *
 * The walk goes over the input's keys (a verb sends a few of its
 * attributes), not over every declared attribute: only a map whose keys are
 * out of declaration order is sorted, and the mandatory ones are found by
 * merging their positions with the present ones'.
 */
export function validateMap(specs: readonly AttrSpec[], input: PlainMap, where: string, ctx: ResolveCtx): Validated {
  const plan = planOf(specs);
  begin(where);
  try {
    return validateIn(plan, input, ctx);
  } finally {
    end();
  }
}

function validateIn(t: Plan, input: PlainMap, ctx: ResolveCtx): Validated {
  const start = stackTop;
  let top = start;
  // Positions and values of the present attributes, in input order; `sorted` while they ascend.
  let sorted = true;
  let last = -1;
  for (const key in input) {
    if (!Object.hasOwn(input, key)) continue;
    const i = t.pos.get(key);
    if (i === undefined) {
      throw err.invalid(`unknown attribute ${here()}.${quote(key)} (known: ${t.known.join(', ') || 'none'})`, `${here()}.${key.slice(0, 64)}`);
    }
    const v = input[key];
    if (v === undefined) continue;
    if (i < last) sorted = false;
    last = i;
    stackPos[top] = i;
    stackVal[top] = v;
    top++;
  }
  stackTop = top;
  if (!sorted) sortRange(start, top);
  // The first mandatory attribute that is absent, by position (Infinity: none): a merge of two ascending lists.
  let missing = Infinity;
  let j = start;
  for (const m of t.mandatory) {
    while (j < top && stackPos[j]! < m) j++;
    if (j === top || stackPos[j] !== m) {
      missing = m;
      break;
    }
  }
  const out: Validated = {};
  for (let k = start; k < top; k++) {
    const i = stackPos[k]!;
    if (i > missing) break;
    const spec = t.specs[i]!;
    const v = stackVal[k]!;
    stackVal[k] = undefined;
    out[spec.name] = check(t.checks[i]!, v, spec.name, ctx);
  }
  if (missing !== Infinity) throw err.missing(`${here()}.${t.specs[missing]!.name}`);
  stackTop = start;
  return out;
}

/** Insertion sort of the stack's pairs in [from, to) by position (at most one pair per declared attribute). */
function sortRange(from: number, to: number): void {
  for (let a = from + 1; a < to; a++) {
    const p = stackPos[a]!;
    const v = stackVal[a]!;
    let b = a - 1;
    while (b >= from && stackPos[b]! > p) {
      stackPos[b + 1] = stackPos[b]!;
      stackVal[b + 1] = stackVal[b]!;
      b--;
    }
    stackPos[b + 1] = p;
    stackVal[b + 1] = v;
  }
}
