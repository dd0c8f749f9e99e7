/**
 * The generic `map<string, Value>` read straight into plain values
 * (values.ts' {@link PlainMap}) and written straight from them, in one pass:
 * what codec.ts' wire-shaped `Value` objects followed by values.ts'
 * `fromWireMap` / `toWireMap` give, without the objects in between. The
 * daemon's request decoders (src/rpc/codec.ts) and the client library's
 * (src/client/codec.ts) are built on these.
 *
 * Reading is codec.ts' reading (the same bounds, nesting count and skipping
 * of unknown fields) with fromWire's conversion folded in: u64/s64 are
 * numbers while exact, bigints beyond; a Value with no kind set (or a list or
 * map holding one) reads as {@link MALFORMED}, so that the caller can report
 * it as fromWire does ("value without a kind") after the whole message
 * decoded (a later entry of the same key replaces an earlier one, and the
 * message's bytes are checked first). Writing gives toWire's bytes.
 */
import { Reader, TWO32, Writer } from './codec.js';
import { HandleValue, putEntry, RefValue, type Plain, type PlainMap } from './values.js';

/** What a Value without a kind reads as (fromWire's "value without a kind"). */
export const MALFORMED: unique symbol = Symbol('value without a kind');
type Read = Plain | typeof MALFORMED;

/** fromWire's message for a Value without a kind. */
export const MALFORMED_MESSAGE = 'value without a kind';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A uint64 varint: a number while exact, else a bigint. */
export function readU64(r: Reader): number | bigint {
  const lo = r.bits();
  const hi = r.hi;
  if (hi < 0x200000) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** An int64 varint (two's complement): a number while exact, else a bigint. */
function readS64(r: Reader): number | bigint {
  const lo = r.bits();
  const hi = r.hi;
  if (hi < 0x200000) return hi * TWO32 + lo;
  if (hi >= 0xffe00000) {
    const n = -((0xffffffff - hi) * TWO32 + (TWO32 - lo));
    if (Number.isSafeInteger(n)) return n;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** Enters a length-delimited message field: returns the outer bound to give back to {@link leave}. */
export function enter(r: Reader): number {
  const end = r.delimited();
  r.enter();
  const outer = r.end;
  r.end = end;
  return outer;
}

/** Leaves the message {@link enter} entered: the outer bound and depth back. */
export function leave(r: Reader, outer: number): void {
  r.end = outer;
  r.depth--;
}

/** Reads the next tag of the message being read (field number 0 is malformed). */
export function nextTag(r: Reader): number {
  const t = r.u32();
  if (t < 8) throw new RangeError('field number 0');
  return t;
}

/** A Value message field (its length prefix at r.pos). */
export function readValue(r: Reader): Read {
  const outer = enter(r);
  let v: Read = MALFORMED;
  // A later member of the oneof replaces an earlier one.
  while (r.pos < r.end) {
    const t = nextTag(r);
    switch (t) {
      case 8: v = readU64(r); break;
      case 16: v = readS64(r); break;
      case 24: v = r.bool(); break;
      case 34: v = r.str(); break;
      case 42: v = r.bytes(); break;
      case 48: {
        // fromWire's Number(decimal): the double nearest the u64 (hi * 2^32 is exact, the sum rounds once).
        const lo = r.bits();
        v = new HandleValue(r.hi * TWO32 + lo);
        break;
      }
      case 58: v = readList(r); break;
      case 66: v = readMapValue(r); break;
      case 72: v = new RefValue(r.u32()); break;
      default: r.skip(t & 7, t >>> 3);
    }
  }
  leave(r, outer);
  return v;
}

function readList(r: Reader): Read {
  const outer = enter(r);
  const items: Plain[] = [];
  let bad = false;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) {
      const v = readValue(r);
      if (v === MALFORMED) bad = true;
      else items.push(v);
    } else {
      r.skip(t & 7, t >>> 3);
    }
  }
  leave(r, outer);
  return bad ? MALFORMED : items;
}

function readMapValue(r: Reader): Read {
  const outer = enter(r);
  const m: PlainMap = {};
  let bad = 0;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) bad += readEntry(r, m);
    else r.skip(t & 7, t >>> 3);
  }
  leave(r, outer);
  return bad && holdsMalformed(m) ? MALFORMED : m;
}

/**
 * One `map<string, Value>` entry (its length prefix at r.pos) into `m`: a
 * missing key is "", a missing value has no kind. Returns 1 when the value
 * put is {@link MALFORMED}, else 0 (a caller sums them, then asks
 * {@link holdsMalformed} only when the sum is not 0).
 */
export function readEntry(r: Reader, m: PlainMap): number {
  const outer = enter(r);
  let k = '';
  let v: Read = MALFORMED;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) k = r.str();
    else if (t === 18) v = readValue(r);
    else r.skip(t & 7, t >>> 3);
  }
  leave(r, outer);
  putEntry(m as Record<string, Read>, k, v);
  return v === MALFORMED ? 1 : 0;
}

/** Whether a map read by {@link readEntry} kept a {@link MALFORMED} value. */
export function holdsMalformed(m: PlainMap): boolean {
  for (const k in m) if (Object.hasOwn(m, k) && (m[k] as unknown) === MALFORMED) return true;
  return false;
}

// ------------------------------------------------------------------ writing

/**
 * Opens one entry of a map field `tag`: the entry's length prefix, its key `k`
 * and the tag of its value. Returns the entry's fork; the caller writes the
 * value (its own fork), then joins the value and this fork.
 */
export function openEntry(w: Writer, tag: number, k: string): number {
  w.u32(tag);
  const e = w.fork();
  w.u32(10);
  w.str(k);
  w.u32(18);
  return e;
}

/** A `map<string, Value>` field (tag `tag`, one entry per key), as toWireMap then codec.ts write it. */
export function writeMap(w: Writer, tag: number, m: PlainMap | null | undefined): void {
  if (!m) return;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    const v = m[k];
    if (v === undefined) continue;
    const e = openEntry(w, tag, k);
    const vv = w.fork();
    writeValue(w, v);
    w.join(vv);
    w.join(e);
  }
}

/** A Value's fields (the body of a Value message), as toWire then codec.ts write them. */
export function writeValue(w: Writer, v: Plain): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isInteger(v)) throw new TypeError(`not an integer: ${v}`);
      w.u32(v < 0 ? 16 : 8);
      // Beyond 2^53 toWire sends the decimal: the same 64 bits.
      w.u64(Number.isSafeInteger(v) ? v : String(v));
      return;
    case 'bigint':
      w.u32(v < 0n ? 16 : 8);
      w.u64(v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v);
      return;
    case 'boolean':
      w.u32(24);
      w.u32(v ? 1 : 0);
      return;
    case 'string':
      w.u32(34);
      w.str(v);
      return;
    default:
      break;
  }
  if (v instanceof HandleValue) {
    w.u32(48);
    w.u64(Number.isSafeInteger(v.handle) ? v.handle : String(v.handle));
    return;
  }
  if (v instanceof RefValue) {
    w.u32(72);
    w.u32(Number(v.step) >>> 0);
    return;
  }
  if (v instanceof Uint8Array) {
    w.u32(42);
    w.bytes(v);
    return;
  }
  if (Array.isArray(v)) {
    w.u32(58);
    const at = w.fork();
    for (const it of v) {
      w.u32(10);
      const a = w.fork();
      writeValue(w, it);
      w.join(a);
    }
    w.join(at);
    return;
  }
  // A struct; anything else (null, say) is what toWire makes of it: a map of its own keys.
  w.u32(66);
  const at = w.fork();
  writeMap(w, 10, v as PlainMap);
  w.join(at);
}
