/**
 * Attribute values as a client writes them: plain JavaScript, converted to
 * the wire's typed `Value`.
 *
 * - numbers and bigints: integers (u64, or s64 when negative)
 * - strings: strings, enum names ("RTS", "RC"), GIDs
 * - arrays: lists, e.g. flag names `['LOCAL_WRITE', 'REMOTE_WRITE']` or work requests
 * - plain objects: structs (`ah_attr: { dlid: 1, grh: { dgid } }`)
 * - Buffer / Uint8Array: bytes
 * - an object this library returned ({@link ObjectLike}) or `handle(n)`: a handle
 * - `{ ref: N }` or `ref(N)`: in a Batch, the object created by step N
 * - `undefined` / `null`: left out
 */
import { HandleValue, RefValue, fromWireMap, putEntry, toWire, type Plain, type PlainMap } from '../wire/values.js';
import type { Value } from '../wire/gen/rdmabroker/v1/Value.js';
import { invalidArgument } from './errors.js';
import type { Value__Output } from '../wire/gen/rdmabroker/v1/Value.js';

export { HandleValue, RefValue };
export type { Plain, PlainMap };

/** Anything that names an object: its handle, or an object the library returned. */
export interface ObjectLike {
  readonly handle: number;
}

export type AttrValue =
  | number
  | bigint
  | boolean
  | string
  | Buffer
  | Uint8Array
  | HandleValue
  | RefValue
  | ObjectLike
  | { ref: number }
  | null
  | undefined
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

export type AttrMap = { readonly [key: string]: AttrValue };

/** Sends `h` as an object handle (not as a number). */
export function handle(h: number | bigint | string | ObjectLike): HandleValue {
  return new HandleValue(typeof h === 'object' ? h.handle : Number(h));
}

/** In a Batch: the object created by step `n` (0-based). */
export function ref(n: number): RefValue {
  return new RefValue(n);
}

function isRefLiteral(v: object): v is { ref: number } {
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === 'ref' && typeof (v as { ref: unknown }).ref === 'number';
}

/** Recognises handles: objects with a numeric `handle` and a `type` (what the library returns). */
function isObjectLike(v: object): v is ObjectLike {
  return typeof (v as { handle?: unknown }).handle === 'number' && typeof (v as { type?: unknown }).type === 'string';
}

const MIN_S64 = -(2n ** 63n);
const U64_END = 2n ** 64n;

/** A value as a refusal shows it: short, one line. */
export function shown(v: unknown): string {
  switch (typeof v) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    default:
      return v === null || v === undefined ? String(v) : `a ${typeof v}`;
  }
}

/**
 * An object handle as the library sends it: the daemon's handles are
 * integers from 1 to 2^52 (0 names none), so anything but a non-negative
 * safe integer names no object and is refused here rather than wrapped or
 * rounded on the wire.
 */
export function checkHandle(h: unknown, argument: string): number {
  if (typeof h === 'number' && Number.isSafeInteger(h) && h >= 0) return h;
  throw invalidArgument(argument, `${shown(h)} is not an object handle (an integer from 0 to 2^53-1)`);
}

/** A Batch step index (`ref(n)`, `{ref: n}`): sent as 1 + n in a u32. */
export function checkRef(n: unknown, argument: string): number {
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 0xffff_ffff) return n;
  throw invalidArgument(argument, `${shown(n)} is not a Batch step index (an integer from 0)`);
}

/**
 * An integer attribute as the wire carries it (u64, or s64 when negative):
 * the number itself when safe, else its exact value as a bigint (a double
 * beyond 2^53 is an integer, but its decimal string is not its value).
 * Anything else is refused: a fraction, NaN, Infinity, or beyond 64 bits.
 */
export function checkInt(v: number | bigint, argument: string): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isInteger(v)) throw invalidArgument(argument, `${v} is not an integer`);
  }
  const b = BigInt(v);
  if (b < MIN_S64 || b >= U64_END) throw invalidArgument(argument, `${v} does not fit in 64 bits (-2^63 to 2^64-1)`);
  return typeof v === 'bigint' ? v : b;
}

/** Converts a client attribute value to the codec's plain form (refusals: {@link invalidArgument}). */
export function toPlain(v: AttrValue, path = 'value'): Plain | undefined {
  if (v === undefined || v === null) return undefined;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return checkInt(v, path);
    case 'boolean':
    case 'string':
      return v;
    default:
      break;
  }
  if (v instanceof HandleValue) {
    checkHandle(v.handle, path);
    return v;
  }
  if (v instanceof RefValue) {
    checkRef(v.step, path);
    return v;
  }
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) {
    const out: Plain[] = [];
    (v as readonly AttrValue[]).forEach((x, i) => {
      const p = toPlain(x, `${path}[${i}]`);
      if (p === undefined) throw invalidArgument(`${path}[${i}]`, 'lists cannot hold null or undefined');
      out.push(p);
    });
    return out;
  }
  if (typeof v === 'object') {
    if (isObjectLike(v)) return new HandleValue(checkHandle(v.handle, path));
    if (isRefLiteral(v)) return new RefValue(checkRef(v.ref, path));
    return toPlainMap(v as AttrMap, path);
  }
  throw invalidArgument(path, `cannot send a ${typeof v}`);
}

export function toPlainMap(m: AttrMap | undefined, path = 'attrs'): PlainMap {
  const out: PlainMap = {};
  if (!m) return out;
  for (const [k, v] of Object.entries(m)) {
    const p = toPlain(v, `${path}.${k}`);
    if (p !== undefined) putEntry(out, k, p);
  }
  return out;
}

/** Encodes an attribute map for a request. */
export function encodeAttrs(m: AttrMap | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(toPlainMap(m))) putEntry(out, k, toWire(v));
  return out;
}

/** Decodes reply attributes: integers as numbers when they fit exactly, bigints otherwise. */
export function decodeAttrs(m: Record<string, Value__Output> | undefined | null): PlainMap {
  return fromWireMap(m ?? {});
}
