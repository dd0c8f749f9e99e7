/**
 * ObjectService in the client library, one pass each way: a request is
 * written straight from the caller's attributes (values.ts' toPlain rules
 * and checks, then toWire's bytes, without the plain and wire objects in
 * between), a reply read straight into what the session hands back
 * (ObjectRecord, PlainMap) without proto-loader-shaped objects and a
 * second conversion. The bytes are the wire codec's (src/wire/codec.ts)
 * for the objects the session built before; test/unit/client/codec.test.ts
 * compares both ways.
 *
 * A reply value without a kind (no daemon sends one) makes the verb throw
 * fromWire's TypeError, as decodeAttrs did: the decoders mark the reply
 * (`malformed`) and the session throws once the call returned.
 */
import * as grpc from '@grpc/grpc-js';
import { Reader, readErrorInfo, Writer } from '../wire/codec.js';
import { enter, holdsMalformed, leave, MALFORMED_MESSAGE, nextTag, openEntry, readEntry, readU64, writeValue } from '../wire/plain-codec.js';
import { packageDefinition } from '../wire/proto.js';
import { HandleValue, RefValue, type PlainMap } from '../wire/values.js';
import type { ErrorInfo__Output } from '../wire/gen/rdmabroker/v1/ErrorInfo.js';
import type { ObjectRecord } from './client.js';
import { checkHandle, checkInt, checkRef, shown, type AttrMap, type AttrValue, type ObjectLike } from './values.js';
import { invalidArgument } from './errors.js';
import type { BatchStepInput, Target } from './objects.js';
import { targetOf, userHandleOf } from './objects.js';

// ------------------------------------------------------------------ requests

/**
 * Where the value being written sits, for toPlain's error messages
 * ("attrs.wrs[0].sg_list[1].length: 1.5 is not an integer"): built only when
 * an error is thrown.
 */
class Path {
  readonly parts: (string | number)[] = [];
  constructor(readonly root: string) {}

  text(): string {
    let s = this.root;
    for (const p of this.parts) s += typeof p === 'number' ? `[${p}]` : `.${p}`;
    return s;
  }
}

/** values.ts' isRefLiteral: exactly one own key, `ref`, a number. */
function isRefLiteral(v: object): v is { ref: number } {
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (++n > 1 || k !== 'ref') return false;
  }
  return n === 1 && typeof (v as { ref: unknown }).ref === 'number';
}

/** values.ts' isObjectLike: a numeric `handle` and a string `type` (what the library returns). */
function isObjectLike(v: object): v is ObjectLike {
  return typeof (v as { handle?: unknown }).handle === 'number' && typeof (v as { type?: unknown }).type === 'string';
}

/**
 * One attribute value as a Value's fields: toPlain's rules (and refusals),
 * then toWire's bytes. `v` is neither undefined nor null (the caller leaves
 * those out of maps and refuses them in lists).
 */
function writeAttr(w: Writer, v: AttrValue, path: Path): void {
  switch (typeof v) {
    case 'number':
      // A safe integer (nearly every value) is written as it is; the rest through checkInt.
      writeValue(w, Number.isSafeInteger(v) ? v : checkInt(v, path.text()));
      return;
    case 'bigint':
      writeValue(w, checkInt(v, path.text()));
      return;
    case 'boolean':
    case 'string':
      writeValue(w, v);
      return;
    case 'object':
      break;
    default:
      throw invalidArgument(path.text(), `cannot send a ${typeof v}`);
  }
  const o = v as object;
  if (o instanceof HandleValue) {
    checkHandle(o.handle, path.text());
    writeValue(w, o);
    return;
  }
  if (o instanceof RefValue) {
    checkRef(o.step, path.text());
    writeValue(w, o);
    return;
  }
  if (o instanceof Uint8Array) {
    writeValue(w, o as Buffer);
    return;
  }
  if (Array.isArray(o)) {
    w.u32(58);
    const at = w.fork();
    const items = o as readonly AttrValue[];
    for (let i = 0; i < items.length; i++) {
      const x = items[i];
      path.parts.push(i);
      if (x === undefined || x === null) throw invalidArgument(path.text(), 'lists cannot hold null or undefined');
      w.u32(10);
      const a = w.fork();
      writeAttr(w, x, path);
      w.join(a);
      path.parts.pop();
    }
    w.join(at);
    return;
  }
  if (isObjectLike(o)) {
    writeValue(w, new HandleValue(checkHandle(o.handle, path.text())));
    return;
  }
  if (isRefLiteral(o)) {
    writeValue(w, new RefValue(checkRef(o.ref, path.text())));
    return;
  }
  w.u32(66);
  const at = w.fork();
  writeAttrs(w, 10, o as AttrMap, path);
  w.join(at);
}

/** An attribute map as a `map<string, Value>` field `tag`: keys whose value is undefined or null are left out. */
function writeAttrs(w: Writer, tag: number, m: AttrMap | undefined, path: Path): void {
  if (!m) return;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    const v = m[k];
    if (v === undefined || v === null) continue;
    const e = openEntry(w, tag, k);
    const vv = w.fork();
    path.parts.push(k);
    writeAttr(w, v, path);
    path.parts.pop();
    w.join(vv);
    w.join(e);
  }
}

function strField(w: Writer, tag: number, v: unknown): void {
  w.u32(tag);
  w.str(typeof v === 'string' ? v : String(v));
}

/** A decimal u64 field (a handle or user_handle as objects.ts gives it): a number when exact (no string parse). */
function u64Field(w: Writer, tag: number, v: string): void {
  w.u32(tag);
  const n = Number(v);
  w.u64(Number.isSafeInteger(n) && n >= 0 && String(n) === v ? n : v);
}

/** The prefix of a refused argument's name: `steps[2].` for a Batch's step 2, nothing (-1) for a unary call. */
function stepPrefix(step: number): string {
  return step < 0 ? '' : `steps[${step}].`;
}

/**
 * A step's target as its request's handle (field 1); returns its handle_ref
 * (objects.ts' targetOf, which names `what` of step `step` in a refusal). A
 * handle given as a number (or an object's number) that targetOf takes goes
 * out as that number, without targetOf's decimal string and its parse back;
 * anything else through targetOf, as before.
 */
function writeTargetHandle(w: Writer, t: Target, step: number, what: string): number {
  let h: unknown = null;
  if (typeof t === 'number') h = t;
  else if (typeof t === 'object' && t !== null && !(t instanceof RefValue) && 'handle' in t) h = (t as ObjectLike).handle;
  if (typeof h === 'number' && Number.isSafeInteger(h) && h >= 0) {
    w.u32(8);
    w.u64(h);
    return 0;
  }
  const x = targetOf(t, `${stepPrefix(step)}${what}`);
  u64Field(w, 8, x.handle);
  return x.handle_ref;
}

/** A step's handle_ref (field 10, after the request's other fields). */
function writeRef(w: Writer, ref: number): void {
  w.u32(80);
  w.u32(ref >>> 0);
}

/** `step` names refused arguments by their Batch step (`steps[2].attrs`), -1 for a unary Create. */
function writeCreate(w: Writer, type: string, device: string, attrs: AttrMap | undefined, userHandle: number | bigint | string | undefined, step = -1): void {
  strField(w, 10, type);
  strField(w, 18, device);
  if (attrs) writeAttrs(w, 26, attrs, new Path(`${stepPrefix(step)}attrs`));
  // After the attributes, as the session checked them before. A user handle
  // left out or given as a safe integer goes out as it is (userHandleOf's
  // decimal string would be parsed back).
  if (userHandle === undefined) {
    w.u32(32);
    w.u32(0);
  } else if (typeof userHandle === 'number' && Number.isSafeInteger(userHandle) && userHandle >= 0) {
    w.u32(32);
    w.u64(userHandle);
  } else {
    u64Field(w, 32, userHandleOf(userHandle, `${stepPrefix(step)}userHandle`));
  }
}

export function encodeCreate(type: string, device: string, attrs: AttrMap | undefined, userHandle: number | bigint | string | undefined): Buffer {
  const w = new Writer();
  writeCreate(w, type, device, attrs, userHandle);
  return w.finish();
}

/** Query and Destroy by handle. */
export function encodeHandle(handle: string): Buffer {
  const w = new Writer(16);
  u64Field(w, 8, handle);
  return w.finish();
}

export function encodeModify(handle: string, attrs: AttrMap | undefined): Buffer {
  const w = new Writer();
  u64Field(w, 8, handle);
  writeAttrs(w, 18, attrs, new Path('attrs'));
  return w.finish();
}

export function encodeInvoke(handle: string, method: string, attrs: AttrMap | undefined, device: string): Buffer {
  const w = new Writer();
  u64Field(w, 8, handle);
  strField(w, 18, method);
  writeAttrs(w, 26, attrs, new Path('attrs'));
  strField(w, 34, device);
  return w.finish();
}

/** A Batch's steps; a refused argument is named by its step (`steps[2].attrs.wrs[0].length`, `steps[0].query`). */
export function encodeBatch(steps: readonly BatchStepInput[]): Buffer {
  if (!Array.isArray(steps)) throw invalidArgument('steps', `expected a list of steps, got ${shown(steps)}`);
  const w = new Writer(256 + 128 * steps.length);
  // Each step is a BatchStep message holding one verb message: two nested
  // length-delimited fields, opened (fork) and closed (join) around it.
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i] as BatchStepInput;
    if (typeof st !== 'object' || st === null) throw invalidArgument(`steps[${i}]`, `expected a create, query, modify, destroy or invoke step, got ${shown(st)}`);
    w.u32(10);
    const at = w.fork();
    let verb: number;
    if ('create' in st) {
      w.u32(10);
      verb = w.fork();
      writeCreate(w, st.create, st.device ?? '', st.attrs, st.userHandle, i);
    } else if ('query' in st) {
      w.u32(18);
      verb = w.fork();
      writeRef(w, writeTargetHandle(w, st.query, i, 'query'));
    } else if ('modify' in st) {
      w.u32(26);
      verb = w.fork();
      const ref = writeTargetHandle(w, st.modify, i, 'modify');
      if (st.attrs) writeAttrs(w, 18, st.attrs, new Path(`steps[${i}].attrs`));
      writeRef(w, ref);
    } else if ('destroy' in st) {
      w.u32(34);
      verb = w.fork();
      writeRef(w, writeTargetHandle(w, st.destroy, i, 'destroy'));
    } else if ('invoke' in st) {
      w.u32(42);
      verb = w.fork();
      const ref = writeTargetHandle(w, st.invoke, i, 'invoke');
      strField(w, 18, st.method);
      if (st.attrs) writeAttrs(w, 26, st.attrs, new Path(`steps[${i}].attrs`));
      strField(w, 34, st.device ?? '');
      writeRef(w, ref);
    } else {
      throw invalidArgument(`steps[${i}]`, 'expected a create, query, modify, destroy or invoke step');
    }
    w.join(verb);
    w.join(at);
  }
  return w.finish();
}

// ------------------------------------------------------------------ replies

/** A reply's attributes: `malformed` when a value had no kind. */
export interface AttrsOut {
  attrs: PlainMap;
  malformed: boolean;
}

/** An ObjectReply: the object (null when the reply had none). */
export interface ObjectOut {
  object: ObjectRecord | null;
  malformed: boolean;
}

/** One step's result: an object (`object` set, possibly null) or output attributes. */
export interface StepOut {
  kind: 'object' | 'attrs';
  object: ObjectRecord | null;
  attrs: PlainMap;
}

export interface BatchOut {
  results: StepOut[];
  failed: boolean;
  failedIndex: number;
  error: ErrorInfo__Output | null;
  malformed: boolean;
}

/** fromWire's error for a value without a kind (what decodeAttrs threw). */
export function malformedReply(): TypeError {
  return new TypeError(MALFORMED_MESSAGE);
}

/** Reads the entries of a `map<string, Value>` field `tag` of the message up to r.end into `attrs` (other fields skipped); marks `mark` malformed when a value had no kind. */
function readAttrsMessage(r: Reader, tag: number, attrs: PlainMap, mark: { malformed: boolean }): void {
  let bad = 0;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === tag) bad += readEntry(r, attrs);
    else r.skip(t & 7, t >>> 3);
  }
  if (bad && holdsMalformed(attrs)) mark.malformed = true;
}

/** An ObjectInfo message (length prefix at r.pos) as client.ts' objectRecord makes it. */
function readObjectInfo(r: Reader, mark: { malformed: boolean }): ObjectRecord {
  const outer = enter(r);
  const o: ObjectRecord = { handle: 0, type: '', device: '', session: '', tenant: '', userHandle: '0', parents: [], createdUnixMs: 0, attrs: {} };
  let bad = 0;
  while (r.pos < r.end) {
    const t = nextTag(r);
    switch (t) {
      case 8: o.handle = Number(readU64(r)); break;
      case 18: o.type = r.str(); break;
      case 26: o.device = r.str(); break;
      case 34: o.session = r.str(); break;
      case 42: o.tenant = r.str(); break;
      case 48: o.userHandle = r.u64(); break;
      case 56: o.parents.push(Number(readU64(r))); break;
      case 58: {
        // Packed.
        const end = r.delimited();
        const out = r.end;
        r.end = end;
        while (r.pos < end) o.parents.push(Number(readU64(r)));
        r.end = out;
        break;
      }
      case 64: o.createdUnixMs = Number(r.s64()); break;
      case 74: bad += readEntry(r, o.attrs); break;
      case 82: {
        const po = enter(r);
        const pod = { namespace: '', name: '', container: '' };
        while (r.pos < r.end) {
          const u = nextTag(r);
          if (u === 10) pod.namespace = r.str();
          else if (u === 18) pod.name = r.str();
          else if (u === 26) pod.container = r.str();
          else r.skip(u & 7, u >>> 3);
        }
        leave(r, po);
        o.pod = pod;
        break;
      }
      default: r.skip(t & 7, t >>> 3);
    }
  }
  leave(r, outer);
  if (bad && holdsMalformed(o.attrs)) mark.malformed = true;
  return o;
}

/** The `object` field (1) of an ObjectReply message up to r.end. */
function readObjectReplyBody(r: Reader, mark: { malformed: boolean }): ObjectRecord | null {
  let object: ObjectRecord | null = null;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) object = readObjectInfo(r, mark);
    else r.skip(t & 7, t >>> 3);
  }
  return object;
}

export function decodeObjectReply(b: Buffer): ObjectOut {
  const out: ObjectOut = { object: null, malformed: false };
  out.object = readObjectReplyBody(new Reader(b), out);
  return out;
}

export function decodeAttrsReply(b: Buffer): AttrsOut {
  const out: AttrsOut = { attrs: {}, malformed: false };
  readAttrsMessage(new Reader(b), 10, out.attrs, out);
  return out;
}

/** A StepResult message (length prefix at r.pos): the last member set wins; none set reads as no attributes. */
function readStepResult(r: Reader, mark: { malformed: boolean }): StepOut {
  const outer = enter(r);
  // The member read last, built once the message is read (no result object per member).
  let isObject = false;
  let object: ObjectRecord | null = null;
  let attrs: PlainMap | null = null;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) {
      const o = enter(r);
      isObject = true;
      object = readObjectReplyBody(r, mark);
      attrs = null;
      leave(r, o);
    } else if (t === 18 || t === 26) {
      const o = enter(r);
      isObject = false;
      object = null;
      attrs = {};
      readAttrsMessage(r, 10, attrs, mark);
      leave(r, o);
    } else {
      r.skip(t & 7, t >>> 3);
    }
  }
  leave(r, outer);
  return { kind: isObject ? 'object' : 'attrs', object, attrs: attrs ?? {} };
}

export function decodeBatchReply(b: Buffer): BatchOut {
  const r = new Reader(b);
  const out: BatchOut = { results: [], failed: false, failedIndex: 0, error: null, malformed: false };
  while (r.pos < r.end) {
    const t = nextTag(r);
    switch (t) {
      case 10: out.results.push(readStepResult(r, out)); break;
      case 16: out.failed = r.bool(); break;
      case 24: out.failedIndex = r.u32(); break;
      case 34: out.error = readErrorInfo(r) as unknown as ErrorInfo__Output; break;
      default: r.skip(t & 7, t >>> 3);
    }
  }
  return out;
}

// ------------------------------------------------------------------ the stub

const DECODERS: Record<string, (b: Buffer) => unknown> = {
  Create: decodeObjectReply,
  Query: decodeObjectReply,
  Modify: decodeObjectReply,
  Destroy: decodeAttrsReply,
  Invoke: decodeAttrsReply,
  Batch: decodeBatchReply,
};

/** A unary method of {@link ObjectCalls}: the request's bytes in, the decoded reply out. */
export type ObjectCall<R> = (req: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: R) => void) => unknown;

/** The client library's ObjectService stub: requests encoded by this module (sent as they are), replies decoded by it. */
export interface ObjectCalls extends grpc.Client {
  Create: ObjectCall<ObjectOut>;
  Query: ObjectCall<ObjectOut>;
  Modify: ObjectCall<ObjectOut>;
  Destroy: ObjectCall<AttrsOut>;
  Invoke: ObjectCall<AttrsOut>;
  Batch: ObjectCall<BatchOut>;
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** The constructor of {@link ObjectCalls} (proto-loader's method definitions with this module's codecs). */
export function objectCallsConstructor(): new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => ObjectCalls {
  if (!ctor) {
    const def = packageDefinition()['rdmabroker.v1.ObjectService'] as grpc.ServiceDefinition;
    const methods: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [name, m] of Object.entries(def) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
      const decode = DECODERS[name];
      if (!decode) throw new Error(`ObjectService.${name}: no decoder`);
      methods[name] = { ...m, requestSerialize: (b: unknown) => b as Buffer, responseDeserialize: decode };
    }
    ctor = grpc.makeClientConstructor(methods, 'rdmabroker.v1.ObjectService');
  }
  return ctor as unknown as new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => ObjectCalls;
}

