/**
 * Plain JavaScript values <-> the wire's typed `Value`.
 *
 * JS side ("plain"): number | bigint | boolean | string | Buffer | PlainList |
 * PlainMap, plus {@link HandleValue} and {@link RefValue} wrappers for object
 * references. Integers that fit a double may be numbers; 64-bit values are
 * bigints. The wire carries them as u64/s64 strings.
 */
import type { Value, Value__Output } from './gen/rdmabroker/v1/Value.js';

export class HandleValue {
  constructor(readonly handle: number) {}
}
export class RefValue {
  constructor(readonly step: number) {}
}

export type Plain =
  | number
  | bigint
  | boolean
  | string
  | Buffer
  | HandleValue
  | RefValue
  | Plain[]
  | { [key: string]: Plain };
export type PlainMap = { [key: string]: Plain };

/** Wraps a handle so it is sent as a handle, not as a number. */
export const handle = (h: number | bigint | string): HandleValue => new HandleValue(Number(h));
/** In a Batch: the handle created by step `n`. */
export const ref = (n: number): RefValue => new RefValue(n);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

export function toWire(v: Plain): Value {
  switch (typeof v) {
    // Safe integers go out as numbers: protobufjs encodes a number directly,
    // while a decimal string is parsed into a Long first (a visible share of
    // a Batch's encode time). Larger values stay exact as strings.
    case 'number':
      if (!Number.isInteger(v)) throw new TypeError(`not an integer: ${v}`);
      if (!Number.isSafeInteger(v)) return v < 0 ? { s64: String(v) } : { u64: String(v) };
      return v < 0 ? { s64: v } : { u64: v };
    case 'bigint':
      if (v >= MIN_SAFE && v <= MAX_SAFE) return v < 0n ? { s64: Number(v) } : { u64: Number(v) };
      return v < 0n ? { s64: v.toString() } : { u64: v.toString() };
    case 'boolean':
      return { flag: v };
    case 'string':
      return { str: v };
    default:
      break;
  }
  if (v instanceof HandleValue) return { handle: Number.isSafeInteger(v.handle) ? v.handle : String(v.handle) };
  if (v instanceof RefValue) return { ref: v.step };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { raw: Buffer.from(v) };
  if (Array.isArray(v)) return { list: { items: v.map(toWire) } };
  return { map: { fields: toWireMap(v) } };
}

/**
 * Stores a map entry: a key "__proto__" is an own property (an assignment
 * would set the map's prototype instead, and every lookup would read
 * through it).
 */
export function putEntry<T>(m: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
  else m[k] = v;
}

export function toWireMap(m: PlainMap | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  if (!m) return out;
  // for-in over own keys: no [key, value] array per entry (Object.entries).
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    const v = m[k];
    if (v === undefined) continue;
    putEntry(out, k, toWire(v));
  }
  return out;
}

/**
 * Decodes a wire value. u64/s64 become numbers when they fit exactly, bigints
 * otherwise (pass `bigints` to always get bigints).
 */
export function fromWire(v: Value__Output | Value, bigints = false): Plain {
  switch (v.kind) {
    case 'u64':
    case 's64': {
      // Decimal strings (the loader's longs: String) or numbers; a safe
      // integer becomes a number without a BigInt round trip.
      const x = v[v.kind] as string | number | bigint | null | undefined;
      if (!bigints && (typeof x === 'number' || (typeof x === 'string' && isDecimal(x)))) {
        const n = Number(x);
        // A decimal beyond 2^53 rounds to at least 2^53, which is not safe.
        if (Number.isSafeInteger(n)) return n;
      }
      return BigInt(String(x));
    }
    case 'flag':
      return Boolean(v.flag);
    case 'str':
      return v.str ?? '';
    case 'raw':
      return Buffer.from(v.raw as Buffer);
    case 'handle':
      return new HandleValue(Number(v.handle));
    case 'ref':
      return new RefValue(v.ref ?? 0);
    case 'list':
      return (v.list?.items ?? []).map((x: Value__Output | Value) => fromWire(x, bigints));
    case 'map':
      return fromWireMap(v.map?.fields, bigints);
    default:
      throw new TypeError('value without a kind');
  }
}

/** An optional minus and 1 to 20 digits. */
function isDecimal(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 21) return false;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function fromWireMap(m: Record<string, Value__Output | Value> | undefined | null, bigints = false): PlainMap {
  const out: PlainMap = {};
  if (!m) return out;
  for (const k in m) if (Object.hasOwn(m, k)) putEntry(out, k, fromWire(m[k]!, bigints));
  return out;
}

/** JSON-friendly rendering (bigints as strings, handles as numbers, bytes as hex). */
export function toJson(v: Plain): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof HandleValue) return v.handle;
  if (v instanceof RefValue) return { ref: v.step };
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJson(x);
    return o;
  }
  return v;
}
