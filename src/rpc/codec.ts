/**
 * ObjectService on the daemon: requests decoded in one pass straight into
 * what the core takes (CreateArgs, handles, PlainMap attributes, the
 * runner's BatchStep), replies encoded straight from its results
 * (BrokerObject, output attributes, BatchOutcome). The bytes are
 * proto/rdmabroker/v1/broker.proto's, read and written exactly as
 * src/wire/codec.ts does (the bounds, the nesting count, unknown fields
 * skipped; the same reply bytes), and the values and errors are those the
 * two passes gave (codec.ts' wire objects, then convert.ts' attrsIn and
 * handleIn, server.ts' step conversion), without the objects in between:
 *
 * - bytes that are not a message of the RPC throw (a RangeError: status.ts'
 *   tolerantService answers INVALID_ARGUMENT before the handler runs);
 * - a value without a kind is INVALID_ATTR "malformed attribute value", a
 *   handle beyond 2^53 NO_SUCH_HANDLE: carried in the decoded request and
 *   thrown by the handler after the session check (as the handler did);
 * - in a Batch such a step becomes an invalid step (the Batch stops there),
 *   a handle error before an attribute error, as the conversion ran.
 */
import * as grpc from '@grpc/grpc-js';
import type { BatchOutcome, BatchStep, CreateArgs } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import type { BrokerObject } from '../core/registry.js';
import { errorReport } from '../core/status.js';
import { Reader, TWO32, u64String, Writer } from '../wire/codec.js';
import { holdsMalformed, MALFORMED_MESSAGE, nextTag, readEntry, writeMap } from '../wire/plain-codec.js';
import { RefValue, type PlainMap } from '../wire/values.js';

/** A decoded Create: the core's arguments, or the error the handler throws after the session check. */
export interface CreateIn {
  readonly args: CreateArgs;
  readonly error: BrokerError | null;
}

/** A decoded Query or Destroy. */
export interface TargetIn {
  readonly handle: number;
  readonly error: BrokerError | null;
}

/** A decoded Modify. */
export interface ModifyIn {
  readonly handle: number;
  readonly attrs: PlainMap;
  readonly error: BrokerError | null;
}

/** A decoded Invoke. */
export interface InvokeIn {
  readonly handle: number;
  readonly device: string;
  readonly method: string;
  readonly attrs: PlainMap;
  readonly error: BrokerError | null;
}

/**
 * A decoded Batch: its steps, and how many the request holds. Past
 * {@link LIMITS.batchSteps} the steps are only checked and counted (the
 * handler refuses the Batch with that count), not converted.
 */
export interface BatchIn {
  readonly steps: BatchStep[];
  readonly count: number;
}

/** What one verb's request message holds (one shape for every verb, so the reader stays monomorphic). */
class Body {
  /** The handle's halves (field 1, uint64). */
  lo = 0;
  hi = 0;
  /** handle_ref (field 10): 1 + the index of an earlier Batch step. */
  ref = 0;
  type = '';
  device = '';
  method = '';
  userHandle = '0';
  attrs: PlainMap = {};
  /** Values without a kind put into attrs (a later entry of their key may have replaced them). */
  bad = 0;
}

// The verbs' request messages (broker.proto): the field each one has where.
const CREATE = 1;
const QUERY = 2;
const MODIFY = 3;
const DESTROY = 4;
const INVOKE = 5;

/** Reads the fields of one verb's request message up to r.end into a Body. */
function readBody(r: Reader, verb: number): Body {
  const b = new Body();
  while (r.pos < r.end) {
    const t = nextTag(r);
    // Tags are (field << 3) | wire type; a field of another wire type is unknown (skipped), as protobufjs reads it.
    switch (verb) {
      case CREATE:
        if (t === 10) b.type = r.str();
        else if (t === 18) b.device = r.str();
        else if (t === 26) b.bad += readEntry(r, b.attrs);
        else if (t === 32) b.userHandle = r.u64();
        else r.skip(t & 7, t >>> 3);
        break;
      case INVOKE:
        if (t === 8) b.lo = r.bits(), b.hi = r.hi;
        else if (t === 80) b.ref = r.u32();
        else if (t === 18) b.method = r.str();
        else if (t === 26) b.bad += readEntry(r, b.attrs);
        else if (t === 34) b.device = r.str();
        else r.skip(t & 7, t >>> 3);
        break;
      case MODIFY:
        if (t === 8) b.lo = r.bits(), b.hi = r.hi;
        else if (t === 80) b.ref = r.u32();
        else if (t === 18) b.bad += readEntry(r, b.attrs);
        else r.skip(t & 7, t >>> 3);
        break;
      default:
        // Query (its attrs, field 2, are names the daemon does not use: checked and skipped) and Destroy.
        if (t === 8) b.lo = r.bits(), b.hi = r.hi;
        else if (t === 80) b.ref = r.u32();
        else r.skip(t & 7, t >>> 3);
    }
  }
  return b;
}

/** Reads a whole request message of one verb. */
function readTop(buf: Buffer, verb: number): Body {
  return readBody(new Reader(buf), verb);
}

/** Reads a nested verb message (its length prefix at r.pos). */
function readNested(r: Reader, verb: number): Body {
  const end = r.delimited();
  r.enter();
  const outer = r.end;
  r.end = end;
  const b = readBody(r, verb);
  r.end = outer;
  r.depth--;
  return b;
}

/** convert.ts' handleIn: a handle the core can hold (a safe integer), else NO_SUCH_HANDLE. */
function handleOf(b: Body): number | BrokerError {
  if (b.hi < 0x200000) return b.hi * TWO32 + b.lo;
  return new BrokerError('NO_SUCH_HANDLE', `no such object: handle ${u64String(b.lo, b.hi)}`);
}

/** convert.ts' attrsIn: the attributes, or INVALID_ATTR when a value has no kind. */
function attrsError(b: Body): BrokerError | null {
  if (b.bad === 0 || !holdsMalformed(b.attrs)) return null;
  return new BrokerError('INVALID_ATTR', `malformed attribute value: ${MALFORMED_MESSAGE}`);
}

export function decodeCreate(buf: Buffer): CreateIn {
  const b = readTop(buf, CREATE);
  return { args: { type: b.type, device: b.device, attrs: b.attrs, userHandle: b.userHandle }, error: attrsError(b) };
}

/** Query and Destroy: a unary call names its object by handle (handle_ref is a Batch's). */
function decodeTarget(buf: Buffer, verb: typeof QUERY | typeof DESTROY): TargetIn {
  const h = handleOf(readTop(buf, verb));
  return typeof h === 'number' ? { handle: h, error: null } : { handle: 0, error: h };
}

export const decodeQuery = (buf: Buffer): TargetIn => decodeTarget(buf, QUERY);
export const decodeDestroy = (buf: Buffer): TargetIn => decodeTarget(buf, DESTROY);

export function decodeModify(buf: Buffer): ModifyIn {
  const b = readTop(buf, MODIFY);
  const h = handleOf(b);
  if (typeof h !== 'number') return { handle: 0, attrs: b.attrs, error: h };
  return { handle: h, attrs: b.attrs, error: attrsError(b) };
}

export function decodeInvoke(buf: Buffer): InvokeIn {
  const b = readTop(buf, INVOKE);
  const h = handleOf(b);
  if (typeof h !== 'number') return { handle: 0, device: b.device, method: b.method, attrs: b.attrs, error: h };
  return { handle: h, device: b.device, method: b.method, attrs: b.attrs, error: attrsError(b) };
}

/** A step's target: an earlier step (handle_ref > 0) or a handle. */
function targetOf(b: Body): number | RefValue | BrokerError {
  return b.ref > 0 ? new RefValue(b.ref - 1) : handleOf(b);
}

/** One BatchStep message (its length prefix at r.pos) as the runner takes it. */
function readStep(r: Reader, i: number): BatchStep {
  const end = r.delimited();
  r.enter();
  const outer = r.end;
  r.end = end;
  let verb = 0;
  let b: Body | null = null;
  while (r.pos < r.end) {
    const t = nextTag(r);
    // Fields 1..5 (create, query, modify, destroy, invoke), length-delimited; the last one wins (a oneof).
    const no = t >>> 3;
    if ((t & 7) === 2 && no >= CREATE && no <= INVOKE) {
      b = readNested(r, no);
      verb = no;
    } else {
      r.skip(t & 7, no);
    }
  }
  r.end = outer;
  r.depth--;
  if (!b) return { verb: 'invalid', error: new BrokerError('INVALID_ATTR', `batch step ${i} has no verb (create, query, modify, destroy or invoke)`) };
  if (verb === CREATE) {
    const e = attrsError(b);
    return e ? { verb: 'invalid', error: e } : { verb: 'create', args: { type: b.type, device: b.device, attrs: b.attrs, userHandle: b.userHandle } };
  }
  const h = targetOf(b);
  if (h instanceof BrokerError) return { verb: 'invalid', error: h };
  switch (verb) {
    case QUERY:
      return { verb: 'query', handle: h };
    case DESTROY:
      return { verb: 'destroy', handle: h };
    default: {
      const e = attrsError(b);
      if (e) return { verb: 'invalid', error: e };
      return verb === MODIFY ? { verb: 'modify', handle: h, attrs: b.attrs } : { verb: 'invoke', handle: h, device: b.device, method: b.method, attrs: b.attrs };
    }
  }
}

export function decodeBatch(buf: Buffer): BatchIn {
  const r = new Reader(buf);
  const steps: BatchStep[] = [];
  let count = 0;
  while (r.pos < r.end) {
    const t = nextTag(r);
    if (t === 10) {
      if (count < LIMITS.batchSteps) steps.push(readStep(r, count));
      else r.skip(2, 1);
      count++;
    } else {
      r.skip(t & 7, t >>> 3);
    }
  }
  return { steps, count };
}

// ------------------------------------------------------------------ replies

/**
 * An ObjectInfo's fields from the object (convert.ts' objectInfo, then
 * codec.ts' writer: every field present, so written, in field order).
 */
function writeObjectInfo(w: Writer, o: BrokerObject): void {
  w.u32(8);
  w.u64(o.handle);
  w.u32(18);
  w.str(o.type);
  w.u32(26);
  w.str(o.device);
  w.u32(34);
  w.str(o.owner.id);
  w.u32(42);
  w.str(o.owner.tenant);
  w.u32(48);
  // A decimal u64: as a number when exact (no string parse), else the string.
  const uh = Number(o.userHandle);
  w.u64(Number.isSafeInteger(uh) ? uh : o.userHandle);
  const parents = o.parents;
  if (parents.length) {
    w.u32(58);
    const at = w.fork();
    for (const p of parents) w.u64(p.handle);
    w.join(at);
  }
  w.u32(64);
  w.u64(o.created);
  writeMap(w, 74, o.attrs);
  // PodRef (convert.ts' podRef): the session's pod, when it has one.
  const l = o.owner.labels;
  if (l && l.pod !== undefined) {
    w.u32(82);
    const at = w.fork();
    w.u32(10);
    w.str(l.namespace ?? '');
    w.u32(18);
    w.str(l.pod);
    w.u32(26);
    w.str(l.container ?? '');
    w.join(at);
  }
}

/** ObjectReply { object } of Create, Query and Modify. */
export function encodeObjectReply(o: BrokerObject): Buffer {
  const w = new Writer();
  w.u32(10);
  const at = w.fork();
  writeObjectInfo(w, o);
  w.join(at);
  return w.finish();
}

/** DestroyReply / InvokeReply { attrs }. */
export function encodeAttrsReply(attrs: PlainMap): Buffer {
  const w = new Writer();
  writeMap(w, 10, attrs);
  return w.finish();
}

/** BatchReply: a StepResult per step that ran, then failed, failed_index and (when failed) the error. */
export function encodeBatchReply(out: BatchOutcome): Buffer {
  // About what a step's result takes (an ObjectInfo of a few attributes): one buffer, rarely grown.
  const w = new Writer(256 + 160 * out.results.length);
  for (const r of out.results) {
    w.u32(10);
    const at = w.fork();
    switch (r.verb) {
      case 'destroy':
      case 'invoke': {
        w.u32(r.verb === 'destroy' ? 18 : 26);
        const a = w.fork();
        writeMap(w, 10, r.attrs);
        w.join(a);
        break;
      }
      default: {
        w.u32(10);
        const a = w.fork();
        w.u32(10);
        const b = w.fork();
        writeObjectInfo(w, r.object);
        w.join(b);
        w.join(a);
      }
    }
    w.join(at);
  }
  // failed and failed_index are always written (false and 0 when no step failed), as before.
  w.u32(16);
  w.u32(out.failed ? 1 : 0);
  w.u32(24);
  w.u32(out.failed ? out.failed.index : 0);
  if (out.failed) {
    w.u32(34);
    const at = w.fork();
    writeErrorInfo(w, out.failed.error);
    w.join(at);
  }
  return w.finish();
}

/**
 * An ErrorInfo's fields from core/status.ts' report of the error (its
 * errorInfo, then the wire codec's writer: every field present, so written,
 * in field order; wr_index -1 as a sign-extended varint).
 */
function writeErrorInfo(w: Writer, e: BrokerError): void {
  const r = errorReport(e);
  w.u32(8);
  w.i32(r.status);
  w.u32(18);
  w.str(r.code);
  w.u32(26);
  w.str(r.message);
  w.u32(32);
  w.i32(r.errno);
  w.u32(42);
  w.str(r.call);
  w.u32(48);
  w.i32(r.wr_index);
  // details: google.rpc.ErrorInfo (reason 1, domain 2, map<string, string> metadata 3).
  const d = r.details;
  w.u32(58);
  const at = w.fork();
  w.u32(10);
  w.str(d.reason);
  w.u32(18);
  w.str(d.domain);
  for (const k in d.metadata) {
    if (!Object.hasOwn(d.metadata, k)) continue;
    w.u32(26);
    const en = w.fork();
    w.u32(10);
    w.str(k);
    w.u32(18);
    w.str(d.metadata[k] ?? '');
    w.join(en);
  }
  w.join(at);
}

/** A page of InspectionService.ListObjects, as the registry lists it. */
export interface ObjectPage {
  readonly objects: readonly BrokerObject[];
  readonly end: boolean;
  readonly next: number;
}

/**
 * ListObjectsResponse: each object's ObjectInfo (as {@link encodeObjectReply}
 * writes it), then end and next_start_handle (always written, as protobufjs
 * wrote them from convert.ts' objectInfo list).
 */
export function encodeObjectPage(page: ObjectPage): Buffer {
  const w = new Writer(256 + 160 * page.objects.length);
  for (const o of page.objects) {
    w.u32(10);
    const at = w.fork();
    writeObjectInfo(w, o);
    w.join(at);
  }
  w.u32(16);
  w.u32(page.end ? 1 : 0);
  w.u32(24);
  w.u64(page.next);
  return w.finish();
}

/** ObjectChange.Kind's numbers (broker.proto). */
const CHANGE_KINDS: Readonly<Record<string, number>> = { KIND_UNSPECIFIED: 0, CREATED: 1, MODIFIED: 2, DESTROYED: 3, SYNCED: 4 };

/** One message of InspectionService.WatchObjects: a change and its object (none for SYNCED). */
export interface ObjectChangeOut {
  readonly kind: 'CREATED' | 'MODIFIED' | 'DESTROYED' | 'SYNCED';
  readonly object: BrokerObject | null;
}

/** ObjectChange { kind, object }: the bytes protobufjs wrote for convert.ts' objectInfo. */
export function encodeObjectChange(c: ObjectChangeOut): Buffer {
  const w = new Writer(c.object ? 256 : 8);
  w.u32(8);
  w.u32(CHANGE_KINDS[c.kind] ?? 0);
  if (c.object) {
    w.u32(18);
    const at = w.fork();
    writeObjectInfo(w, c.object);
    w.join(at);
  }
  return w.finish();
}

// ------------------------------------------------------------------ service

const DECODERS: Record<string, (b: Buffer) => unknown> = {
  Create: decodeCreate,
  Query: decodeQuery,
  Modify: decodeModify,
  Destroy: decodeDestroy,
  Invoke: decodeInvoke,
  Batch: decodeBatch,
};

/**
 * ObjectService's definition as the daemon serves it: requests decoded by
 * this module, replies already encoded by the handlers (Buffers, sent as they
 * are). The client side of the definition is left as it was.
 */
export function objectServiceDefinition(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const decode = DECODERS[name];
    if (!decode) throw new Error(`ObjectService.${name}: no decoder`);
    out[name] = { ...m, requestDeserialize: decode, responseSerialize: (b: unknown) => b as Buffer };
  }
  return out;
}

/**
 * InspectionService's definition as the daemon serves it: ListObjects' and
 * WatchObjects' replies are written by this module from the registry's
 * objects (the handlers return an {@link ObjectPage} and write
 * {@link ObjectChangeOut}s); the other methods keep proto-loader's.
 */
export function inspectionServiceDefinition(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...(def as Record<string, grpc.MethodDefinition<unknown, unknown>>) };
  const list = out.ListObjects;
  const watch = out.WatchObjects;
  if (!list || !watch) throw new Error('InspectionService: no ListObjects or WatchObjects');
  out.ListObjects = { ...list, responseSerialize: (p: unknown) => encodeObjectPage(p as ObjectPage) };
  out.WatchObjects = { ...watch, responseSerialize: (c: unknown) => encodeObjectChange(c as ObjectChangeOut) };
  return out;
}
