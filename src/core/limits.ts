/**
 * The bounds on what a client may send, declared once. Every transport (gRPC,
 * the fd channel) checks names and strings against these at its edge, and
 * the dispatcher checks attribute trees again, so no transport can forget.
 * An error or a log line quotes client text only through {@link quote}: a
 * bounded prefix, so a hostile 1 MiB name can neither make a reply too big
 * to send nor fill the audit log.
 */
import { HandleValue, RefValue, type Plain, type PlainMap } from '../wire/values.js';
import { err, QUOTE_BYTES, quote, type BrokerError } from './errors.js';

export { quote };

export const LIMITS = {
  /** Type, device, method and attribute names, tenant and session ids, filters, session names (bytes of UTF-8). */
  nameBytes: 256,
  /** A string attribute value (enum names, GIDs, IP and MAC addresses). */
  stringBytes: 4096,
  /** A session or fd-channel token, as sent in `x-rdma-session` or `bind`. */
  tokenBytes: 256,
  /** Nesting of attribute values (maps and lists inside maps and lists); the deepest table needs 4. */
  attrDepth: 16,
  /** Attributes in one map, items in one list, before the tables' own (smaller) limits apply. */
  attrItems: 65_536,
  /** Steps in one Batch. */
  batchSteps: 1024,
  /** A Batch yields to the event loop after this many steps, so other sessions are served in between. */
  batchChunk: 32,
  /** What a Batch reply may carry (the gRPC send limit, less headroom for framing). */
  batchReplyBytes: 60 << 20,
  /** How much of a client's string an error message or a log line quotes. */
  quoteBytes: QUOTE_BYTES,
} as const;

/** A client's string for a log field: itself when short, else its bounded prefix. */
export function clip(v: string): string {
  return v.length <= LIMITS.quoteBytes ? v : `${v.slice(0, LIMITS.quoteBytes)}... (${Buffer.byteLength(v)} bytes)`;
}

function tooLong(what: string, v: string, max: number): BrokerError {
  return err.invalid(`${what}: ${Buffer.byteLength(v)} bytes is longer than the limit of ${max} (starts ${quote(v)})`);
}

/**
 * Checks a name (type, device, method, tenant, session id...): a string of at
 * most {@link LIMITS.nameBytes}. Returns it, so `x = checkName(x, 'device')`.
 */
export function checkName(v: unknown, what: string, max: number = LIMITS.nameBytes): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw err.invalid(`${what}: expected a string`);
  // UTF-8 is at most 3 bytes per UTF-16 unit: a short string needs no count.
  if (v.length * 3 > max && Buffer.byteLength(v) > max) throw tooLong(what, v, max);
  return v;
}

/** Checks a list of names (quota names to clear, for instance). */
export function checkNames(v: readonly unknown[], what: string): string[] {
  if (v.length > LIMITS.attrItems) throw err.invalid(`${what}: ${v.length} items is more than ${LIMITS.attrItems}`);
  return v.map((x, i) => checkName(x, `${what}[${i}]`));
}

/**
 * Checks an attribute tree before anything reads it: names and strings
 * within their limits, nesting at most {@link LIMITS.attrDepth}, maps and
 * lists at most {@link LIMITS.attrItems} entries. The depth is checked
 * before a level is entered, so the recursion is at most
 * {@link LIMITS.attrDepth} deep whatever the tree (a deep tree cannot
 * exhaust the stack).
 */
export function checkAttrTree(m: PlainMap, where: string): void {
  checkLevel(m, 1, where);
}

/** A map or a list that needs its own walk: everything else is a leaf. */
function isNode(x: Plain): x is PlainMap | Plain[] {
  if (typeof x !== 'object' || x === null) return false;
  return Array.isArray(x) || (!(x instanceof HandleValue) && !(x instanceof RefValue) && !Buffer.isBuffer(x));
}

function checkString(x: string, where: string): void {
  if (x.length * 3 > LIMITS.stringBytes && Buffer.byteLength(x) > LIMITS.stringBytes) throw tooLong(`${where}: a string value`, x, LIMITS.stringBytes);
}

/**
 * One level: its entries' names and strings first, then the maps and lists
 * in it, the last first (the order of the explicit stack this walk once
 * kept, so the same input meets the same error first). Most levels hold at
 * most one map or list (a verb's map its list of WRs, a WR its SGEs): then
 * nothing is allocated; a second one starts the array.
 */
function checkLevel(v: PlainMap | Plain[], depth: number, where: string): void {
  if (depth > LIMITS.attrDepth) throw err.invalid(`${where}: attribute values nest deeper than ${LIMITS.attrDepth} levels`);
  let first: PlainMap | Plain[] | null = null;
  let more: (PlainMap | Plain[])[] | null = null;
  if (Array.isArray(v)) {
    if (v.length > LIMITS.attrItems) throw err.invalid(`${where}: a list of ${v.length} items is longer than ${LIMITS.attrItems}`);
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (typeof x === 'string') checkString(x, where);
      else if (isNode(x)) {
        if (first === null) first = x;
        else (more ??= []).push(x);
      }
    }
  } else {
    let n = 0;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      if (++n > LIMITS.attrItems) throw err.invalid(`${where}: a map of more than ${LIMITS.attrItems} attributes`);
      // checkName's test, inline: its message is built only for a name too long.
      if (k.length * 3 > LIMITS.nameBytes && Buffer.byteLength(k) > LIMITS.nameBytes) throw tooLong(`${where}: an attribute name`, k, LIMITS.nameBytes);
      const x = v[k]!;
      if (typeof x === 'string') checkString(x, where);
      else if (isNode(x)) {
        if (first === null) first = x;
        else (more ??= []).push(x);
      }
    }
  }
  if (more !== null) for (let i = more.length - 1; i >= 0; i--) checkLevel(more[i]!, depth + 1, where);
  if (first !== null) checkLevel(first, depth + 1, where);
}

const U64_MAX = (1n << 64n) - 1n;

/** "0", or 1 to 19 digits without a leading zero. */
function isCanonicalDecimal(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 19) return false;
  if (n > 1 && v.charCodeAt(0) === 48) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * A client's user_handle (an opaque u64 the daemon hands back in events):
 * a non-negative integer below 2^64, as a number, bigint or decimal string.
 * Anything else (fractions, negative numbers, 2^70, "abc", null, objects)
 * is INVALID_ARGUMENT, never silently 0. Returns the decimal string.
 */
export function checkUserHandle(v: unknown): string {
  if (v === undefined || v === '') return '0';
  // A canonical decimal of at most 19 digits (below 10^19 < 2^64) is its own answer.
  if (typeof v === 'string' && isCanonicalDecimal(v)) return v;
  let b: bigint | null = null;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && v.length <= 20 && /^\d+$/.test(v)) b = BigInt(v);
  if (b === null || b < 0n || b > U64_MAX) {
    throw err.invalid(`user_handle: expected an unsigned 64-bit integer, got ${typeof v === 'string' ? quote(v) : typeof v === 'object' ? (v === null ? 'null' : 'an object') : quote(String(v))}`);
  }
  return b.toString();
}
