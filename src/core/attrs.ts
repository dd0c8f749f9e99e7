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
   * `path` names the attribute for an error (built only then).
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

/**
 * Validates one value against its spec. The attribute is `key` under
 * `where` (see {@link pathOf}; null: `where` itself).
 */
export function validateValue(spec: AttrSpec, v: Plain, where: string, key: string | number | null, ctx: ResolveCtx): unknown {
  switch (spec.kind) {
    case 'u32': {
      const n = typeof v === 'bigint' && v <= BigInt(U32_MAX) && v >= 0n ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad(pathOf(where, key), 'an unsigned integer', v);
      const min = spec.min ?? 0;
      const max = spec.max ?? U32_MAX;
      if (n < min || n > max) throw err.invalid(`attribute ${pathOf(where, key)}: ${n} is out of range [${min}, ${max}]`, pathOf(where, key));
      return n;
    }
    case 'u64': {
      const b = toBigInt(v);
      if (b === null || b < 0n || b > U64_MAX) throw bad(pathOf(where, key), 'an unsigned 64-bit integer', v);
      if (spec.min !== undefined && b < BigInt(spec.min)) throw err.invalid(`attribute ${pathOf(where, key)}: ${b} is below ${spec.min}`, pathOf(where, key));
      if (spec.max !== undefined && b > BigInt(spec.max)) throw err.invalid(`attribute ${pathOf(where, key)}: ${b} is above ${spec.max}`, pathOf(where, key));
      return b;
    }
    case 's64': {
      const b = toBigInt(v);
      if (b === null) throw bad(pathOf(where, key), 'a signed 64-bit integer', v);
      return b;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw bad(pathOf(where, key), 'a boolean', v);
    case 'str':
      if (typeof v !== 'string') throw bad(pathOf(where, key), 'a string', v);
      return v;
    case 'bytes':
      if (!Buffer.isBuffer(v)) throw bad(pathOf(where, key), 'bytes', v);
      if (spec.max !== undefined && v.length > spec.max) throw err.invalid(`attribute ${pathOf(where, key)}: ${v.length} bytes exceeds ${spec.max}`, pathOf(where, key));
      return v;
    case 'handle': {
      const path = (): string => pathOf(where, key);
      if (v instanceof RefValue) return ctx.resolve(ctx.ref(v.step, path), spec, path);
      if (!(v instanceof HandleValue)) throw bad(path(), 'a handle', v);
      return ctx.resolve(v.handle, spec, path);
    }
    case 'enum': {
      const names = spec.names ?? {};
      if (typeof v === 'string') {
        // Names are upper case in the tables: most values come so and need no copy.
        if (Object.hasOwn(names, v)) return v;
        const upper = v.toUpperCase();
        if (Object.hasOwn(names, upper)) return upper;
      } else if (typeof v === 'number') {
        const hit = Object.entries(names).find(([, val]) => val === v);
        if (hit) return hit[0];
      }
      throw err.invalid(`attribute ${pathOf(where, key)}: expected one of ${Object.keys(names).join(', ')}, got ${describe(v)}`, pathOf(where, key));
    }
    case 'flags': {
      const names = spec.names ?? {};
      const all = maskOf(names);
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
        if ((v & ~all) !== 0 || v > U32_MAX) {
          throw err.invalid(`attribute ${pathOf(where, key)}: unknown flag bits 0x${(v & ~all >>> 0).toString(16)} (known: ${Object.keys(names).join(', ')})`, pathOf(where, key));
        }
        return v;
      }
      if (Array.isArray(v)) {
        let mask = 0;
        for (const item of v) {
          const name = typeof item === 'string' ? item.toUpperCase() : '';
          const bit = Object.hasOwn(names, name) ? names[name] : undefined;
          if (bit === undefined) throw err.invalid(`attribute ${pathOf(where, key)}: unknown flag ${describe(item)} (known: ${Object.keys(names).join(', ')})`, pathOf(where, key));
          mask |= bit;
        }
        return mask >>> 0;
      }
      throw bad(pathOf(where, key), 'a flag mask or a list of flag names', v);
    }
    case 'gid': {
      // The path is built only for the error.
      const text = gidOf(v);
      if (text === null) throw bad(pathOf(where, key), 'a GID (IPv6 notation or 16 bytes)', v);
      return text;
    }
    case 'struct': {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v) || v instanceof HandleValue) {
        throw bad(pathOf(where, key), 'a map', v);
      }
      return validateMap(spec.members ?? [], v as PlainMap, pathOf(where, key), ctx);
    }
    case 'list': {
      if (!Array.isArray(v)) throw bad(pathOf(where, key), 'a list', v);
      if (spec.maxItems !== undefined && v.length > spec.maxItems) {
        throw err.invalid(`attribute ${pathOf(where, key)}: ${v.length} items exceeds ${spec.maxItems}`, pathOf(where, key));
      }
      const elem = elementOf(spec);
      const path = pathOf(where, key);
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = validateValue(elem, v[i]!, path, i, ctx);
      return out;
    }
  }
}

/**
 * Per spec table (they are static data): its input attributes, their
 * positions by name, and the positions of the mandatory ones.
 */
interface Inputs {
  readonly specs: readonly AttrSpec[];
  readonly pos: Map<string, number>;
  readonly mandatory: readonly number[];
}

const inputsByTable = new WeakMap<readonly AttrSpec[], Inputs>();

function inputsOf(table: readonly AttrSpec[]): Inputs {
  let m = inputsByTable.get(table);
  if (!m) {
    const specs: AttrSpec[] = [];
    const pos = new Map<string, number>();
    const mandatory: number[] = [];
    for (const s of table) {
      if (s.dir === 'out' || pos.has(s.name)) continue;
      pos.set(s.name, specs.length);
      if (s.mandatory) mandatory.push(specs.length);
      specs.push(s);
    }
    m = { specs, pos, mandatory };
    inputsByTable.set(table, m);
  }
  return m;
}

/** Per flags table (static data): the mask of all its bits. */
const masks = new WeakMap<Readonly<Record<string, number>>, number>();

function maskOf(names: Readonly<Record<string, number>>): number {
  let all = masks.get(names);
  if (all === undefined) {
    all = 0;
    for (const val of Object.values(names)) all |= val;
    masks.set(names, all);
  }
  return all;
}

/** Per list spec: the spec of its elements. */
const elementSpecs = new WeakMap<AttrSpec, AttrSpec>();

function elementOf(spec: AttrSpec): AttrSpec {
  let e = elementSpecs.get(spec);
  if (!e) {
    e = spec.members
      ? { name: spec.name, id: spec.id, kind: 'struct', members: spec.members }
      : { name: spec.name, id: spec.id, kind: spec.element ?? 'u64' };
    elementSpecs.set(spec, e);
  }
  return e;
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
 * out of declaration order is sorted, and the mandatory ones are looked up
 * by name.
 */
export function validateMap(specs: readonly AttrSpec[], input: PlainMap, where: string, ctx: ResolveCtx): Validated {
  const t = inputsOf(specs);
  // Positions of the present attributes, in input order; `sorted` while they ascend.
  const present: number[] = [];
  let sorted = true;
  let last = -1;
  for (const key in input) {
    if (!Object.hasOwn(input, key)) continue;
    const i = t.pos.get(key);
    if (i === undefined) {
      const known = specs.filter((s) => s.dir !== 'out').map((s) => s.name);
      throw err.invalid(`unknown attribute ${where}.${quote(key)} (known: ${known.join(', ') || 'none'})`, `${where}.${key.slice(0, 64)}`);
    }
    if (input[key] === undefined) continue;
    if (i < last) sorted = false;
    last = i;
    present.push(i);
  }
  if (!sorted) present.sort((a, b) => a - b);
  // The first mandatory attribute that is absent, by position (Infinity: none).
  let missing = Infinity;
  for (const i of t.mandatory) {
    if (input[t.specs[i]!.name] === undefined) {
      missing = i;
      break;
    }
  }
  const out: Validated = {};
  for (const i of present) {
    if (i > missing) break;
    const spec = t.specs[i]!;
    out[spec.name] = validateValue(spec, input[spec.name]!, where, spec.name, ctx);
  }
  if (missing !== Infinity) throw err.missing(`${where}.${t.specs[missing]!.name}`);
  return out;
}
