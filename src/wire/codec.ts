/**
 * A protobuf codec for ObjectService's messages and the generic
 * `Value`/`Attrs` (`map<string, Value>`), written for these messages: it reads
 * the bytes straight into the plain objects the handlers use and writes them
 * straight from them, with no message instances, no Long objects and no
 * defaults pass (proto-loader's `toObject` with `defaults` and `longs: String`
 * was most of a verb's CPU on both sides).
 *
 * The wire format is proto/rdmabroker/v1/broker.proto's, byte for byte what
 * protobufjs writes for the same object (fields in declaration order, packed
 * repeated scalars, a field written whenever it is not null/undefined), and
 * any conforming encoder's bytes decode: unknown fields (of any wire type,
 * groups included) are skipped, repeated scalars are read packed or not.
 *
 * Decoded objects are exactly what proto-loader gives with src/wire/proto.ts'
 * options (`keepCase`, `longs: String`, `oneofs`, `defaults`, `arrays`), so
 * code on the generated types does not notice: 64-bit integers are decimal
 * strings, made straight from the varint (no Long in between).
 *
 * Hostile bytes: every length is checked against the buffer, messages nest at
 * most {@link MAX_NESTING} deep (as protobufjs' limit), work is linear in the
 * input; anything malformed throws an Error (rpc/status.ts turns a throwing
 * request deserializer into INVALID_ARGUMENT).
 */

/** Messages nested deeper than this do not decode (protobufjs' own recursion limit). */
export const MAX_NESTING = 100;

type U64In = number | string | bigint | { low: number; high: number; unsigned?: boolean } | null | undefined;

export const TWO32 = 4294967296;

// ------------------------------------------------------------------ writer

/** Writes protobuf bytes into a growing buffer (length-delimited bodies by {@link Writer.fork} and {@link Writer.join}). */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** An unsigned 32-bit varint (tags, lengths, uint32). */
  u32(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    v >>>= 0;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int32: negatives are sign-extended to 10 bytes, as the spec says. */
  i32(v: number): void {
    v |= 0;
    if (v >= 0) this.u32(v);
    else this.bits(v >>> 0, 0xffffffff);
  }

  /** A 64-bit varint from its two 32-bit halves. */
  bits(lo: number, hi: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    lo >>>= 0;
    hi >>>= 0;
    while (hi > 0) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  /** uint64 / int64 from what proto-loader accepts (numbers, decimal strings, bigints, Longs). */
  u64(v: U64In): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
      if (v < TWO32) this.u32(v);
      else this.bits(v % TWO32, Math.floor(v / TWO32));
      return;
    }
    const x = toU64(v);
    this.bits(Number(x & 0xffffffffn), Number(x >> 32n));
  }

  str(s: string): void {
    const n = s.length;
    // Short ASCII (names, attribute keys) is copied by hand; the rest through Buffer.
    if (n < 128) {
      this.ensure(n + 1);
      const b = this.buf;
      const start = this.pos;
      b[start] = n;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        b[p++] = c;
      }
      if (i === n) {
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s);
    this.u32(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Starts a length-delimited field's body (one byte reserved for its length). */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends it: writes the length, moving the body up when it needs more than one byte. */
  join(start: number): void {
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      return;
    }
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    const end = this.pos + size - 1;
    this.pos = start;
    this.u32(len);
    this.pos = end;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** A uint64 as proto-loader's encoder reads it (Long.fromValue, then unsigned): wraps into 64 bits. */
function toU64(v: U64In): bigint {
  switch (typeof v) {
    case 'bigint':
      return BigInt.asUintN(64, v);
    case 'number':
      if (!Number.isFinite(v)) return 0n;
      return BigInt.asUintN(64, BigInt(Math.trunc(v)));
    case 'string': {
      const s = v.trim();
      if (!/^[-+]?\d+$/.test(s)) throw new TypeError(`not an integer: ${JSON.stringify(v.slice(0, 40))}`);
      return BigInt.asUintN(64, BigInt(s));
    }
    default:
      break;
  }
  if (v && typeof v === 'object' && typeof v.low === 'number' && typeof v.high === 'number') {
    return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  }
  return 0n;
}

const present = (v: unknown): boolean => v !== null && v !== undefined;

function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw new TypeError('bytes: not a Buffer, Uint8Array or base64 string');
}

// Tags: (field << 3) | wire type.
const T = {
  f1v: 8, f1l: 10, f2v: 16, f2l: 18, f3v: 24, f3l: 26, f4v: 32, f4l: 34, f5l: 42, f5v: 40,
  f6v: 48, f6l: 50, f7l: 58, f8v: 64, f8l: 66, f9v: 72, f9l: 74, f10v: 80, f10l: 82,
} as const;

type Obj = Record<string, unknown>;

function encodeValue(w: Writer, v: Obj): void {
  if (present(v.u64)) {
    w.u32(T.f1v);
    w.u64(v.u64 as U64In);
  }
  if (present(v.s64)) {
    w.u32(T.f2v);
    w.u64(v.s64 as U64In);
  }
  if (present(v.flag)) {
    w.u32(T.f3v);
    w.u32(v.flag ? 1 : 0);
  }
  if (present(v.str)) {
    w.u32(T.f4l);
    w.str(String(v.str));
  }
  if (present(v.raw)) {
    w.u32(T.f5l);
    w.bytes(bytesOf(v.raw));
  }
  if (present(v.handle)) {
    w.u32(T.f6v);
    w.u64(v.handle as U64In);
  }
  if (present(v.list)) {
    w.u32(T.f7l);
    const at = w.fork();
    const items = (v.list as Obj).items as Obj[] | null | undefined;
    if (items) {
      for (const it of items) {
        w.u32(T.f1l);
        const a = w.fork();
        encodeValue(w, it);
        w.join(a);
      }
    }
    w.join(at);
  }
  if (present(v.map)) {
    w.u32(T.f8l);
    const at = w.fork();
    encodeMap(w, T.f1l, (v.map as Obj).fields as Obj | null | undefined);
    w.join(at);
  }
  if (present(v.ref)) {
    w.u32(T.f9v);
    w.u32(Number(v.ref) >>> 0);
  }
}

/** A `map<string, Value>` field: one entry message (key 1, value 2) per key. */
function encodeMap(w: Writer, tag: number, m: Obj | null | undefined): void {
  if (!m) return;
  for (const k in m) {
    if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
    w.u32(tag);
    const e = w.fork();
    w.u32(T.f1l);
    w.str(k);
    w.u32(T.f2l);
    const vv = w.fork();
    const v = m[k];
    if (v) encodeValue(w, v as Obj);
    w.join(vv);
    w.join(e);
  }
}

function strField(w: Writer, tag: number, v: unknown): void {
  if (!present(v)) return;
  w.u32(tag);
  w.str(String(v));
}

function u64Field(w: Writer, tag: number, v: unknown): void {
  if (!present(v)) return;
  w.u32(tag);
  w.u64(v as U64In);
}

function u32Field(w: Writer, tag: number, v: unknown): void {
  if (!present(v)) return;
  w.u32(tag);
  w.u32(Number(v) >>> 0);
}

function i32Field(w: Writer, tag: number, v: unknown): void {
  if (!present(v)) return;
  w.u32(tag);
  w.i32(Number(v));
}

function msgField(w: Writer, tag: number, v: unknown, enc: (w: Writer, m: Obj) => void): void {
  if (!present(v)) return;
  w.u32(tag);
  const at = w.fork();
  enc(w, v as Obj);
  w.join(at);
}

function encCreate(w: Writer, m: Obj): void {
  strField(w, T.f1l, m.type);
  strField(w, T.f2l, m.device);
  encodeMap(w, T.f3l, m.attrs as Obj);
  u64Field(w, T.f4v, m.user_handle);
}

// Fields go out in field-number order, as protobufjs writes them (handle_ref = 10 last).
function encQuery(w: Writer, m: Obj): void {
  u64Field(w, T.f1v, m.handle);
  const a = m.attrs as unknown[] | null | undefined;
  if (a) for (const s of a) strField(w, T.f2l, s);
  u32Field(w, T.f10v, m.handle_ref);
}

function encModify(w: Writer, m: Obj): void {
  u64Field(w, T.f1v, m.handle);
  encodeMap(w, T.f2l, m.attrs as Obj);
  u32Field(w, T.f10v, m.handle_ref);
}

function encDestroy(w: Writer, m: Obj): void {
  u64Field(w, T.f1v, m.handle);
  u32Field(w, T.f10v, m.handle_ref);
}

function encInvoke(w: Writer, m: Obj): void {
  u64Field(w, T.f1v, m.handle);
  strField(w, T.f2l, m.method);
  encodeMap(w, T.f3l, m.attrs as Obj);
  strField(w, T.f4l, m.device);
  u32Field(w, T.f10v, m.handle_ref);
}

function encStep(w: Writer, m: Obj): void {
  msgField(w, T.f1l, m.create, encCreate);
  msgField(w, T.f2l, m.query, encQuery);
  msgField(w, T.f3l, m.modify, encModify);
  msgField(w, T.f4l, m.destroy, encDestroy);
  msgField(w, T.f5l, m.invoke, encInvoke);
}

function encBatch(w: Writer, m: Obj): void {
  const steps = m.steps as Obj[] | null | undefined;
  if (steps) for (const s of steps) msgField(w, T.f1l, s, encStep);
}

function encPod(w: Writer, m: Obj): void {
  strField(w, T.f1l, m.namespace);
  strField(w, T.f2l, m.name);
  strField(w, T.f3l, m.container);
}

function encObjectInfo(w: Writer, m: Obj): void {
  u64Field(w, T.f1v, m.handle);
  strField(w, T.f2l, m.type);
  strField(w, T.f3l, m.device);
  strField(w, T.f4l, m.session);
  strField(w, T.f5l, m.tenant);
  u64Field(w, T.f6v, m.user_handle);
  const parents = m.parents as U64In[] | null | undefined;
  if (parents && parents.length) {
    w.u32(T.f7l);
    const at = w.fork();
    for (const p of parents) w.u64(p);
    w.join(at);
  }
  u64Field(w, T.f8v, m.created_unix_ms);
  encodeMap(w, T.f9l, m.attrs as Obj);
  msgField(w, T.f10l, m.pod, encPod);
}

function encObjectReply(w: Writer, m: Obj): void {
  msgField(w, T.f1l, m.object, encObjectInfo);
}

function encAttrsReply(w: Writer, m: Obj): void {
  encodeMap(w, T.f1l, m.attrs as Obj);
}

function encStepResult(w: Writer, m: Obj): void {
  msgField(w, T.f1l, m.object, encObjectReply);
  msgField(w, T.f2l, m.destroyed, encAttrsReply);
  msgField(w, T.f3l, m.invoked, encAttrsReply);
}

function encError(w: Writer, m: Obj): void {
  i32Field(w, T.f1v, m.status);
  strField(w, T.f2l, m.code);
  strField(w, T.f3l, m.message);
  i32Field(w, T.f4v, m.errno);
  strField(w, T.f5l, m.call);
  i32Field(w, T.f6v, m.wr_index);
  msgField(w, 58, m.details, encGoogleErrorInfo);
}

/** google.rpc.ErrorInfo (proto/google/rpc/error_details.proto): reason 1, domain 2, map<string, string> metadata 3. */
function encGoogleErrorInfo(w: Writer, m: Obj): void {
  strField(w, T.f1l, m.reason);
  strField(w, T.f2l, m.domain);
  const md = m.metadata as Obj | null | undefined;
  if (!md) return;
  for (const k in md) {
    if (!Object.prototype.hasOwnProperty.call(md, k)) continue;
    w.u32(T.f3l);
    const e = w.fork();
    w.u32(T.f1l);
    w.str(k);
    w.u32(T.f2l);
    w.str(String(md[k] ?? ''));
    w.join(e);
  }
}

function encBatchReply(w: Writer, m: Obj): void {
  const results = m.results as Obj[] | null | undefined;
  if (results) for (const r of results) msgField(w, T.f1l, r, encStepResult);
  if (present(m.failed)) {
    w.u32(T.f2v);
    w.u32(m.failed ? 1 : 0);
  }
  u32Field(w, T.f3v, m.failed_index);
  msgField(w, T.f4l, m.error, encError);
}

// ------------------------------------------------------------------ reader

/** A uint64's decimal string from its halves (doubles while exact, BigInt beyond 2^53). */
export function u64String(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Strings of at most this many bytes go through {@link NAMES}. */
const NAME_MAX = 64;
/** Slots of {@link NAMES} (a power of two). */
const NAME_SLOTS = 1024;
/**
 * The short ASCII strings read last, direct-mapped by a hash of their bytes:
 * attribute names and enum values repeat in every request, and a hit returns
 * the string already made (and already internalized as a property key) with
 * no native call. Bounded: a new string replaces the slot's old one, so
 * hostile names cost a miss each, never memory.
 */
const NAMES: string[] = new Array<string>(NAME_SLOTS).fill('');

/** Bytes [start, end) of `b` as UTF-8 (invalid sequences become U+FFFD, as Buffer's decoder does). */
export function utf8(b: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n > NAME_MAX) return b.toString('utf8', start, end);
  let h = n;
  for (let p = start; p < end; p++) {
    const c = b[p] as number;
    if (c > 127) return b.toString('utf8', start, end);
    h = Math.imul(h ^ c, 16777619);
  }
  const slot = (h ^ (h >>> 15)) & (NAME_SLOTS - 1);
  const hit = NAMES[slot] as string;
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return hit;
  }
  // ASCII: latin1 decodes it byte for byte, without UTF-8's validation.
  const s = b.toString('latin1', start, end);
  NAMES[slot] = s;
  return s;
}

/** Reads protobuf bytes within bounds: every length is checked against the enclosing message, nesting is counted. */
export class Reader {
  pos: number;
  depth = 0;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    /** Where the message being read ends (narrowed while a nested one is read). */
    public end = buf.length,
  ) {
    this.pos = pos;
  }

  /** A varint's low 32 bits, unsigned (the rest of a longer varint is read and dropped). */
  u32(): number {
    const b = this.buf;
    let p = this.pos;
    let v = 0;
    for (let shift = 0; shift < 32; shift += 7) {
      if (p >= this.end) throw new RangeError('truncated varint');
      const c = b[p++] as number;
      v |= (c & 127) << shift;
      if (c < 128) {
        this.pos = p;
        return v >>> 0;
      }
    }
    // Bytes 6..10 only carry the high bits.
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) throw new RangeError('truncated varint');
      if ((b[p++] as number) < 128) {
        this.pos = p;
        return v >>> 0;
      }
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /**
   * The high half of the last {@link bits} read (a field, not a returned
   * pair: a 64-bit read allocates nothing).
   */
  hi = 0;

  /** A 64-bit varint: returns its low 32 bits, its high 32 bits go to {@link hi} (both unsigned). */
  bits(): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (p >= this.end) throw new RangeError('truncated varint');
      const c = b[p++] as number;
      lo |= (c & 127) << (i * 7);
      if (c < 128) {
        this.pos = p;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    // Byte 5 straddles the halves.
    if (p >= this.end) throw new RangeError('truncated varint');
    let c = b[p++] as number;
    lo |= (c & 127) << 28;
    hi = (c & 127) >> 4;
    if (c < 128) {
      this.pos = p;
      this.hi = hi >>> 0;
      return lo >>> 0;
    }
    for (i = 0; i < 5; i++) {
      if (p >= this.end) throw new RangeError('truncated varint');
      c = b[p++] as number;
      hi |= (c & 127) << (i * 7 + 3);
      if (c < 128) {
        this.pos = p;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** uint64 as a decimal string (doubles while exact, BigInt beyond 2^53). */
  u64(): string {
    return u64String(this.bits(), this.hi);
  }

  /** int64 (two's complement) as a decimal string. */
  s64(): string {
    const lo = this.bits();
    const hi = this.hi;
    if (hi < 0x200000) return String(hi * TWO32 + lo);
    if (hi >= 0xffe00000) {
      // -(2^64 - x), exact while above -2^53.
      const n = -((0xffffffff - hi) * TWO32 + (TWO32 - lo));
      if (Number.isSafeInteger(n)) return String(n);
    }
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  bool(): boolean {
    const lo = this.bits();
    return lo !== 0 || this.hi !== 0;
  }

  /** The end of a length-delimited field's body (checked against the buffer). */
  delimited(): number {
    const n = this.u32();
    const end = this.pos + n;
    if (end > this.end) throw new RangeError(`length ${n} past the end of the message`);
    return end;
  }

  str(): string {
    const end = this.delimited();
    const s = utf8(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  bytes(): Buffer {
    const end = this.delimited();
    // A copy: the request's buffer is grpc-js', not ours to keep.
    const out = Buffer.from(this.buf.subarray(this.pos, end));
    this.pos = end;
    return out;
  }

  /** Skips an unknown field of wire type `wt` (groups up to their end, nested groups counted). */
  skip(wt: number, field: number): void {
    switch (wt) {
      case 0:
        this.u32();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.pos = this.delimited();
        return;
      case 5:
        this.advance(4);
        return;
      case 3: {
        this.enter();
        for (;;) {
          if (this.pos >= this.end) throw new RangeError('group without its end');
          const tag = this.u32();
          const w = tag & 7;
          if (w === 4) {
            if (tag >>> 3 !== field) throw new RangeError('mismatched end group');
            break;
          }
          this.skip(w, tag >>> 3);
        }
        this.depth--;
        return;
      }
      default:
        throw new RangeError(`invalid wire type ${wt}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('truncated fixed-width field');
    this.pos += n;
  }

  enter(): void {
    if (++this.depth > MAX_NESTING) throw new RangeError(`messages nested deeper than ${MAX_NESTING}`);
  }
}

/** Decodes a nested message field's body with `dec`, keeping the outer bound. */
function sub<T>(r: Reader, dec: (r: Reader, end: number) => T): T {
  const end = r.delimited();
  r.enter();
  const out = dec(r, end);
  r.depth--;
  r.pos = end;
  return out;
}

/** Reads a tag, or returns -1 at the end of the (sub)message. */
function tag(r: Reader, end: number): number {
  if (r.pos >= end) {
    if (r.pos > end) throw new RangeError('field past the end of its message');
    return -1;
  }
  const t = r.u32();
  if (t >>> 3 === 0) throw new RangeError('field number 0');
  return t;
}

/** Runs `field(no, wt)` for every field up to `end`; false from it means "unknown: skip". */
function fields(r: Reader, end: number, field: (no: number, wt: number) => boolean): void {
  const outer = r.end;
  // Narrow the reader's bound so nothing reads past this message.
  r.end = end;
  try {
    for (let t = tag(r, end); t !== -1; t = tag(r, end)) {
      const no = t >>> 3;
      const wt = t & 7;
      if (!field(no, wt)) r.skip(wt, no);
    }
  } finally {
    r.end = outer;
  }
}

type Out = Record<string, unknown>;

/** Stores a map entry: a key "__proto__" is an own property, not the prototype. */
function put(o: Out, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function decValue(r: Reader, end: number): Out {
  const o: Out = {};
  let kind = '';
  const set = (k: string, v: unknown): void => {
    // A later member of the oneof replaces the earlier one.
    if (kind && kind !== k) delete o[kind];
    kind = k;
    o[k] = v;
  };
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; set('u64', r.u64()); return true;
      case 2: if (wt !== 0) return false; set('s64', r.s64()); return true;
      case 3: if (wt !== 0) return false; set('flag', r.bool()); return true;
      case 4: if (wt !== 2) return false; set('str', r.str()); return true;
      case 5: if (wt !== 2) return false; set('raw', r.bytes()); return true;
      case 6: if (wt !== 0) return false; set('handle', r.u64()); return true;
      case 7: if (wt !== 2) return false; set('list', sub(r, decList)); return true;
      case 8: if (wt !== 2) return false; set('map', sub(r, decAttrs)); return true;
      case 9: if (wt !== 0) return false; set('ref', r.u32()); return true;
      default: return false;
    }
  });
  if (kind) o.kind = kind;
  return o;
}

function decList(r: Reader, end: number): Out {
  const items: Out[] = [];
  fields(r, end, (no, wt) => {
    if (no !== 1 || wt !== 2) return false;
    items.push(sub(r, decValue));
    return true;
  });
  return { items };
}

function decAttrs(r: Reader, end: number): Out {
  const m: Out = {};
  fields(r, end, (no, wt) => {
    if (no !== 1 || wt !== 2) return false;
    decEntry(r, m);
    return true;
  });
  return { fields: m };
}

/** One `map<string, Value>` entry into `m` (a missing key is "", a missing value an empty Value). */
function decEntry(r: Reader, m: Out): void {
  sub(r, (rr, end) => {
    let k = '';
    let v: Out | null = null;
    fields(rr, end, (no, wt) => {
      if (no === 1 && wt === 2) {
        k = rr.str();
        return true;
      }
      if (no === 2 && wt === 2) {
        v = sub(rr, decValue);
        return true;
      }
      return false;
    });
    put(m, k, v ?? {});
  });
}

/** Reads a `map<string, Value>` field's entry (field `no`) into `m`. */
function mapField(r: Reader, wt: number, m: Out): boolean {
  if (wt !== 2) return false;
  decEntry(r, m);
  return true;
}

function decCreate(r: Reader, end: number): Out {
  const o: Out = { type: '', device: '', attrs: {}, user_handle: '0' };
  const attrs = o.attrs as Out;
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 2) return false; o.type = r.str(); return true;
      case 2: if (wt !== 2) return false; o.device = r.str(); return true;
      case 3: return mapField(r, wt, attrs);
      case 4: if (wt !== 0) return false; o.user_handle = r.u64(); return true;
      default: return false;
    }
  });
  return o;
}

function decQuery(r: Reader, end: number): Out {
  const attrs: string[] = [];
  const o: Out = { handle: '0', handle_ref: 0, attrs };
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; o.handle = r.u64(); return true;
      case 10: if (wt !== 0) return false; o.handle_ref = r.u32(); return true;
      case 2: if (wt !== 2) return false; attrs.push(r.str()); return true;
      default: return false;
    }
  });
  return o;
}

function decModify(r: Reader, end: number): Out {
  const o: Out = { handle: '0', handle_ref: 0, attrs: {} };
  const attrs = o.attrs as Out;
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; o.handle = r.u64(); return true;
      case 10: if (wt !== 0) return false; o.handle_ref = r.u32(); return true;
      case 2: return mapField(r, wt, attrs);
      default: return false;
    }
  });
  return o;
}

function decDestroy(r: Reader, end: number): Out {
  const o: Out = { handle: '0', handle_ref: 0 };
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; o.handle = r.u64(); return true;
      case 10: if (wt !== 0) return false; o.handle_ref = r.u32(); return true;
      default: return false;
    }
  });
  return o;
}

function decInvoke(r: Reader, end: number): Out {
  const o: Out = { handle: '0', handle_ref: 0, method: '', attrs: {}, device: '' };
  const attrs = o.attrs as Out;
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; o.handle = r.u64(); return true;
      case 10: if (wt !== 0) return false; o.handle_ref = r.u32(); return true;
      case 2: if (wt !== 2) return false; o.method = r.str(); return true;
      case 3: return mapField(r, wt, attrs);
      case 4: if (wt !== 2) return false; o.device = r.str(); return true;
      default: return false;
    }
  });
  return o;
}

const STEP_VERBS = ['create', 'query', 'modify', 'destroy', 'invoke'] as const;
const STEP_DECODERS = [decCreate, decQuery, decModify, decDestroy, decInvoke];

function decStep(r: Reader, end: number): Out {
  const o: Out = {};
  let verb = '';
  fields(r, end, (no, wt) => {
    const dec = STEP_DECODERS[no - 1];
    if (!dec || wt !== 2) return false;
    const k = STEP_VERBS[no - 1] as string;
    if (verb && verb !== k) delete o[verb];
    verb = k;
    o[k] = sub(r, dec);
    return true;
  });
  if (verb) o.verb = verb;
  return o;
}

function decBatch(r: Reader, end: number): Out {
  const steps: Out[] = [];
  fields(r, end, (no, wt) => {
    if (no !== 1 || wt !== 2) return false;
    steps.push(sub(r, decStep));
    return true;
  });
  return { steps };
}

function decPod(r: Reader, end: number): Out {
  const o: Out = { namespace: '', name: '', container: '' };
  fields(r, end, (no, wt) => {
    if (wt !== 2) return false;
    switch (no) {
      case 1: o.namespace = r.str(); return true;
      case 2: o.name = r.str(); return true;
      case 3: o.container = r.str(); return true;
      default: return false;
    }
  });
  return o;
}

function decObjectInfo(r: Reader, end: number): Out {
  const parents: string[] = [];
  const o: Out = { handle: '0', type: '', device: '', session: '', tenant: '', user_handle: '0', parents, created_unix_ms: '0', attrs: {}, pod: null };
  const attrs = o.attrs as Out;
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 0) return false; o.handle = r.u64(); return true;
      case 2: if (wt !== 2) return false; o.type = r.str(); return true;
      case 3: if (wt !== 2) return false; o.device = r.str(); return true;
      case 4: if (wt !== 2) return false; o.session = r.str(); return true;
      case 5: if (wt !== 2) return false; o.tenant = r.str(); return true;
      case 6: if (wt !== 0) return false; o.user_handle = r.u64(); return true;
      case 7:
        if (wt === 0) {
          parents.push(r.u64());
          return true;
        }
        if (wt !== 2) return false;
        {
          const pend = r.delimited();
          const outer = r.end;
          r.end = pend;
          try {
            while (r.pos < pend) parents.push(r.u64());
          } finally {
            r.end = outer;
          }
        }
        return true;
      case 8: if (wt !== 0) return false; o.created_unix_ms = r.s64(); return true;
      case 9: return mapField(r, wt, attrs);
      case 10: if (wt !== 2) return false; o.pod = sub(r, decPod); return true;
      default: return false;
    }
  });
  return o;
}

function decObjectReply(r: Reader, end: number): Out {
  const o: Out = { object: null };
  fields(r, end, (no, wt) => {
    if (no !== 1 || wt !== 2) return false;
    o.object = sub(r, decObjectInfo);
    return true;
  });
  return o;
}

function decAttrsReply(r: Reader, end: number): Out {
  const attrs: Out = {};
  fields(r, end, (no, wt) => (no === 1 ? mapField(r, wt, attrs) : false));
  return { attrs };
}

const RESULT_KINDS = ['object', 'destroyed', 'invoked'] as const;
const RESULT_DECODERS = [decObjectReply, decAttrsReply, decAttrsReply];

function decStepResult(r: Reader, end: number): Out {
  const o: Out = {};
  let kind = '';
  fields(r, end, (no, wt) => {
    const dec = RESULT_DECODERS[no - 1];
    if (!dec || wt !== 2) return false;
    const k = RESULT_KINDS[no - 1] as string;
    if (kind && kind !== k) delete o[kind];
    kind = k;
    o[k] = sub(r, dec);
    return true;
  });
  if (kind) o.result = kind;
  return o;
}

function decError(r: Reader, end: number): Out {
  const o: Out = { status: 0, code: '', message: '', errno: 0, call: '', wr_index: 0, details: null };
  fields(r, end, (no, wt) => {
    switch (no) {
      case 7: if (wt !== 2) return false; o.details = sub(r, decGoogleErrorInfo); return true;
      case 1: if (wt !== 0) return false; o.status = r.u32() | 0; return true;
      case 2: if (wt !== 2) return false; o.code = r.str(); return true;
      case 3: if (wt !== 2) return false; o.message = r.str(); return true;
      case 4: if (wt !== 0) return false; o.errno = r.u32() | 0; return true;
      case 5: if (wt !== 2) return false; o.call = r.str(); return true;
      case 6: if (wt !== 0) return false; o.wr_index = r.u32() | 0; return true;
      default: return false;
    }
  });
  return o;
}

function decGoogleErrorInfo(r: Reader, end: number): Out {
  const metadata: Out = {};
  const o: Out = { reason: '', domain: '', metadata };
  fields(r, end, (no, wt) => {
    if (wt !== 2) return false;
    switch (no) {
      case 1: o.reason = r.str(); return true;
      case 2: o.domain = r.str(); return true;
      case 3:
        sub(r, (rr, e) => {
          let k = '';
          let v = '';
          fields(rr, e, (n2, w2) => {
            if (w2 !== 2 || (n2 !== 1 && n2 !== 2)) return false;
            if (n2 === 1) k = rr.str();
            else v = rr.str();
            return true;
          });
          put(metadata, k, v);
        });
        return true;
      default: return false;
    }
  });
  return o;
}

function decBatchReply(r: Reader, end: number): Out {
  const results: Out[] = [];
  const o: Out = { results, failed: false, failed_index: 0, error: null };
  fields(r, end, (no, wt) => {
    switch (no) {
      case 1: if (wt !== 2) return false; results.push(sub(r, decStepResult)); return true;
      case 2: if (wt !== 0) return false; o.failed = r.bool(); return true;
      case 3: if (wt !== 0) return false; o.failed_index = r.u32(); return true;
      case 4: if (wt !== 2) return false; o.error = sub(r, decError); return true;
      default: return false;
    }
  });
  return o;
}

// ------------------------------------------------------------------ API

/** An encoder and a decoder of one message type. */
export interface MessageCodec {
  encode(m: unknown): Buffer;
  decode(b: Buffer): unknown;
}

function codec(enc: (w: Writer, m: Obj) => void, dec: (r: Reader, end: number) => Out): MessageCodec {
  return {
    encode(m: unknown): Buffer {
      const w = new Writer();
      if (m !== null && m !== undefined) {
        if (typeof m !== 'object') throw new TypeError('message: not an object');
        enc(w, m as Obj);
      }
      return w.finish();
    },
    decode(b: Buffer): unknown {
      const r = new Reader(b);
      return dec(r, b.length);
    },
  };
}

/** The codecs, by fully qualified message name. */
export const CODECS: Readonly<Record<string, MessageCodec>> = {
  'rdmabroker.v1.Value': codec(encodeValue, decValue),
  'rdmabroker.v1.Attrs': codec((w, m) => encodeMap(w, T.f1l, m.fields as Obj), decAttrs),
  'rdmabroker.v1.CreateRequest': codec(encCreate, decCreate),
  'rdmabroker.v1.QueryRequest': codec(encQuery, decQuery),
  'rdmabroker.v1.ModifyRequest': codec(encModify, decModify),
  'rdmabroker.v1.DestroyRequest': codec(encDestroy, decDestroy),
  'rdmabroker.v1.InvokeRequest': codec(encInvoke, decInvoke),
  'rdmabroker.v1.BatchStep': codec(encStep, decStep),
  'rdmabroker.v1.BatchRequest': codec(encBatch, decBatch),
  'rdmabroker.v1.ObjectInfo': codec(encObjectInfo, decObjectInfo),
  'rdmabroker.v1.ObjectReply': codec(encObjectReply, decObjectReply),
  'rdmabroker.v1.DestroyReply': codec(encAttrsReply, decAttrsReply),
  'rdmabroker.v1.InvokeReply': codec(encAttrsReply, decAttrsReply),
  'rdmabroker.v1.StepResult': codec(encStepResult, decStepResult),
  'rdmabroker.v1.ErrorInfo': codec(encError, decError),
  'rdmabroker.v1.BatchReply': codec(encBatchReply, decBatchReply),
};

/** ObjectService's methods: request and reply message names. */
export const OBJECT_SERVICE_METHODS: Readonly<Record<string, [string, string]>> = {
  Create: ['CreateRequest', 'ObjectReply'],
  Query: ['QueryRequest', 'ObjectReply'],
  Modify: ['ModifyRequest', 'ObjectReply'],
  Destroy: ['DestroyRequest', 'DestroyReply'],
  Invoke: ['InvokeRequest', 'InvokeReply'],
  Batch: ['BatchRequest', 'BatchReply'],
};

/** An ErrorInfo message field (its length prefix at r.pos), decoded as {@link CODECS}' ErrorInfo decodes it. */
export function readErrorInfo(r: Reader): Record<string, unknown> {
  return sub(r, decError);
}
