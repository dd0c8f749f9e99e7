/**
 * The daemon's one-pass ObjectService codec (src/rpc/codec.ts) against the
 * two passes it replaced, kept here as the reference: the wire codec's
 * objects (src/wire/codec.ts, itself tested against protobufjs) converted
 * as the handlers did (attrsIn, handleIn, the Batch step conversion), and
 * replies built by convert.ts' objectInfo and toWireMap, then encoded.
 * Over a fuzzed corpus (kind-less values, handles past 2^53, unknown fields
 * included) and its truncations and corruptions: the same values, the same
 * errors (code and message), the same refusals of bad bytes, the same reply
 * bytes; protobufjs reads the replies as it reads the reference's.
 */
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/core/errors.js';
import { LIMITS } from '../../../src/core/limits.js';
import type { BatchOutcome, BatchStep } from '../../../src/core/broker.js';
import type { BrokerObject } from '../../../src/core/registry.js';
import { errorInfo } from '../../../src/core/status.js';
import {
  decodeBatch, decodeCreate, decodeDestroy, decodeInvoke, decodeModify, decodeQuery, encodeAttrsReply, encodeBatchReply, encodeObjectChange,
  encodeObjectPage, encodeObjectReply, type ObjectChangeOut,
} from '../../../src/rpc/codec.js';
import { objectInfo } from '../../../src/rpc/convert.js';
import { CODECS, MAX_NESTING } from '../../../src/wire/codec.js';
import { fromWireMap, HandleValue, RefValue, toWireMap, type Plain, type PlainMap } from '../../../src/wire/values.js';
import type { Value__Output } from '../../../src/wire/gen/rdmabroker/v1/Value.js';
import { corpus, gen, ld, norm, ref, rng, tagOf, UNKNOWN, varint } from '../wire/corpus.js';

// ------------------------------------------------------------------ the two passes, as they were

type Wire = Record<string, unknown>;
const wireDecode = (name: string, b: Buffer): Wire => (CODECS[`rdmabroker.v1.${name}`] as (typeof CODECS)[string]).decode(b) as Wire;

function attrsIn(m: Record<string, Value__Output> | undefined | null): PlainMap {
  try {
    return fromWireMap(m ?? {});
  } catch (e) {
    throw new BrokerError('INVALID_ATTR', `malformed attribute value: ${(e as Error).message}`);
  }
}

function handleIn(h: string | number | undefined): number {
  const n = Number(h ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw new BrokerError('NO_SUCH_HANDLE', `no such object: handle ${h}`);
  return n;
}

function refOr(handle: string, ref: number): number | RefValue {
  return ref > 0 ? new RefValue(ref - 1) : handleIn(handle);
}

type Step = Record<string, Wire & { attrs: Record<string, Value__Output>; handle: string; handle_ref: number }>;

function convertStep(st: Step, i: number): BatchStep {
  if (st.create) {
    const r = st.create;
    return { verb: 'create', args: { type: r.type as string, device: r.device as string, attrs: attrsIn(r.attrs), userHandle: (r.user_handle as string) || '0' } };
  }
  if (st.query) return { verb: 'query', handle: refOr(st.query.handle, st.query.handle_ref) };
  if (st.modify) return { verb: 'modify', handle: refOr(st.modify.handle, st.modify.handle_ref), attrs: attrsIn(st.modify.attrs) };
  if (st.destroy) return { verb: 'destroy', handle: refOr(st.destroy.handle, st.destroy.handle_ref) };
  if (st.invoke) {
    const r = st.invoke;
    return { verb: 'invoke', handle: refOr(r.handle, r.handle_ref), device: r.device as string, method: r.method as string, attrs: attrsIn(r.attrs) };
  }
  return { verb: 'invalid', error: new BrokerError('INVALID_ATTR', `batch step ${i} has no verb (create, query, modify, destroy or invoke)`) };
}

function stepIn(st: Step, i: number): BatchStep {
  try {
    return convertStep(st, i);
  } catch (e) {
    if (e instanceof BrokerError) return { verb: 'invalid', error: e };
    throw e;
  }
}

/** A handler's view of a request: its values, or the error the handler threw for it (by code and message). */
function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof BrokerError) return { error: `${e.code}: ${e.message}` };
    throw e;
  }
}

/** The reference for each request: what the handler got from the two passes. */
const REFERENCE: Record<string, (b: Buffer) => unknown> = {
  CreateRequest: (b) => {
    const r = wireDecode('CreateRequest', b);
    return outcome(() => ({ type: r.type, device: r.device, attrs: attrsIn(r.attrs as never), userHandle: (r.user_handle as string) || '0' }));
  },
  QueryRequest: (b) => outcome(() => handleIn(wireDecode('QueryRequest', b).handle as string)),
  DestroyRequest: (b) => outcome(() => handleIn(wireDecode('DestroyRequest', b).handle as string)),
  ModifyRequest: (b) => {
    const r = wireDecode('ModifyRequest', b);
    return outcome(() => ({ handle: handleIn(r.handle as string), attrs: attrsIn(r.attrs as never) }));
  },
  InvokeRequest: (b) => {
    const r = wireDecode('InvokeRequest', b);
    return outcome(() => ({ handle: handleIn(r.handle as string), device: r.device, method: r.method, attrs: attrsIn(r.attrs as never) }));
  },
  BatchRequest: (b) => {
    const steps = (wireDecode('BatchRequest', b).steps as Step[]).map(stepIn);
    return { count: steps.length, steps: steps.map(stepView) };
  },
};

function stepView(s: BatchStep): unknown {
  return s.verb === 'invalid' ? { invalid: `${s.error.code}: ${s.error.message}` } : s;
}

function viewOf(r: { error: BrokerError | null }, ok: () => unknown): unknown {
  return r.error ? { error: `${r.error.code}: ${r.error.message}` } : { ok: ok() };
}

/** The one-pass decoders, seen the same way. */
const OURS: Record<string, (b: Buffer) => unknown> = {
  CreateRequest: (b) => {
    const r = decodeCreate(b);
    return viewOf(r, () => r.args);
  },
  QueryRequest: (b) => {
    const r = decodeQuery(b);
    return viewOf(r, () => r.handle);
  },
  DestroyRequest: (b) => {
    const r = decodeDestroy(b);
    return viewOf(r, () => r.handle);
  },
  ModifyRequest: (b) => {
    const r = decodeModify(b);
    return viewOf(r, () => ({ handle: r.handle, attrs: r.attrs }));
  },
  InvokeRequest: (b) => {
    const r = decodeInvoke(b);
    return viewOf(r, () => ({ handle: r.handle, device: r.device, method: r.method, attrs: r.attrs }));
  },
  BatchRequest: (b) => {
    const r = decodeBatch(b);
    return { count: r.count, steps: r.steps.map(stepView) };
  },
};

/** Either the value or the thrown Error's class and message. */
function attempt(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (e) {
    return { threw: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

const REQUESTS = Object.keys(OURS);

describe('daemon ObjectService codec: one pass vs the two passes', { timeout: 120_000 }, () => {
  const items = corpus(1414, 6000, { kindless: 0.04 }).filter((x) => REQUESTS.includes(x.type));

  it('the corpus exercises every outcome (values, kind-less values, big handles, verb-less steps)', () => {
    const seen = new Set<string>();
    for (const { type, msg } of items) {
      const v = JSON.stringify(REFERENCE[type]!(ref(type).encode(msg)), (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)) ?? '';
      if (v.includes('malformed attribute value')) seen.add('kindless');
      if (v.includes('NO_SUCH_HANDLE')) seen.add('big handle');
      if (v.includes('has no verb')) seen.add('no verb');
      if (v.includes('"ok"')) seen.add('ok');
    }
    expect([...seen].sort()).toEqual(['big handle', 'kindless', 'no verb', 'ok']);
  });

  it('decodes every request of a fuzzed corpus to the same values and errors', () => {
    for (const { type, msg } of items) {
      const b = ref(type).encode(msg);
      expect(OURS[type]!(b), `${type} ${b.toString('hex')}`).toStrictEqual(REFERENCE[type]!(b));
    }
  });

  it('refuses the same hostile bytes with the same message, and decodes the rest alike', () => {
    const r = rng(4141);
    for (const { type, msg } of items.slice(0, 1500)) {
      const bytes = ref(type).encode(msg);
      const cases = [
        bytes.subarray(0, Math.floor(r() * bytes.length)),
        Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))),
        Buffer.from(bytes).map((x) => (r() < 0.05 ? Math.floor(r() * 256) : x)),
        Buffer.from([...UNKNOWN, ...bytes, ...UNKNOWN]),
      ];
      for (const c of cases) {
        const b = Buffer.from(c);
        expect(attempt(() => OURS[type]!(b)), `${type} ${b.toString('hex')}`).toStrictEqual(attempt(() => REFERENCE[type]!(b)));
      }
    }
  });

  it('a later entry of a key replaces an earlier kind-less one (and the reverse is malformed)', () => {
    const entry = (k: string, value: number[]): number[] => ld(3, [...ld(1, Buffer.from(k)), ...ld(2, value)]);
    const good = [...tagOf(1, 0), ...varint(5n)];
    const fixed = Buffer.from([...entry('cqe', []), ...entry('cqe', good)]);
    const broken = Buffer.from([...entry('cqe', good), ...entry('cqe', [])]);
    expect(decodeCreate(fixed)).toStrictEqual({ args: { type: '', device: '', attrs: { cqe: 5 }, userHandle: '0' }, error: null });
    expect(OURS.CreateRequest!(fixed)).toStrictEqual(REFERENCE.CreateRequest!(fixed));
    expect(decodeCreate(broken).error?.message).toBe('malformed attribute value: value without a kind');
    expect(OURS.CreateRequest!(broken)).toStrictEqual(REFERENCE.CreateRequest!(broken));
    // A member set after a kind-less list replaces it; a list holding one is malformed.
    const list = [...ld(7, ld(1, []))];
    expect(decodeCreate(Buffer.from(entry('x', [...list, ...good]))).args.attrs).toStrictEqual({ x: 5 });
    expect(decodeCreate(Buffer.from(entry('x', list))).error?.code).toBe('INVALID_ATTR');
  });

  it('a key "__proto__" is an own attribute (an unknown one to the core), not the map\'s prototype', () => {
    const b = ref('CreateRequest').encode({ type: 'pd', attrs: JSON.parse('{"__proto__": {"map": {"fields": {"pd": {"handle": 1}}}}}') as Wire });
    const { attrs } = decodeCreate(b).args;
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.keys(attrs)).toEqual(['__proto__']);
    expect((attrs as { pd?: unknown }).pd).toBeUndefined();
    expect(OURS.CreateRequest!(b)).toStrictEqual(REFERENCE.CreateRequest!(b));
  });

  it('nesting is bounded as in the wire codec', () => {
    const field = (no: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([...tagOf(no, 2), ...varint(BigInt(body.length))]), body]);
    const deep = (levels: number): Buffer => {
      let v: Buffer = Buffer.from([...tagOf(1, 0), 1]);
      for (let i = 0; i < levels; i++) v = field(7, field(1, v));
      return field(3, Buffer.concat([field(1, Buffer.from('x')), field(2, v)]));
    };
    expect(() => decodeCreate(deep(20))).not.toThrow();
    expect(attempt(() => decodeCreate(deep(60)))).toStrictEqual(attempt(() => REFERENCE.CreateRequest!(deep(60))));
    expect(() => decodeCreate(deep(MAX_NESTING))).toThrow(/nested deeper/);
    expect(() => decodeCreate(deep(5000))).toThrow(/nested deeper/);
  });

  it('a Batch past the step limit is counted, its extra steps checked but not converted', () => {
    const step = ld(1, ld(4, [...tagOf(10, 0), 1]));
    const n = LIMITS.batchSteps + 5;
    const b = Buffer.from(Array.from({ length: n }, () => step).flat());
    const r = decodeBatch(b);
    expect(r.count).toBe(n);
    expect(r.steps).toHaveLength(LIMITS.batchSteps);
    expect(r.steps[0]).toStrictEqual({ verb: 'destroy', handle: new RefValue(0) });
    // A truncated step past the limit is still malformed bytes.
    expect(() => decodeBatch(Buffer.concat([b, Buffer.from([10, 9, 1])]))).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ replies

function plainCorpus(seed: number, n: number): PlainMap[] {
  const g = gen(rng(seed));
  const out: PlainMap[] = [];
  for (let i = 0; i < n; i++) {
    const m = fromWireMap(wireDecode('Attrs', ref('Attrs').encode({ fields: g.attrs(3) })).fields as Record<string, Value__Output>, i % 3 === 0);
    // What the core's own results hold besides: numbers and bigints of every size, nulls, byte views.
    const extra: PlainMap = { n: g.pick([0, -0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 2 ** 60, -(2 ** 63)]), b: g.pick([0n, -1n, 2n ** 64n - 1n, -(2n ** 63n), 2n ** 53n]) };
    if (i % 5 === 0) extra.u8 = new Uint8Array([1, 2, 3]) as Plain;
    if (i % 7 === 0) extra.list = [1, 'x', [true, new HandleValue(7), new RefValue(3)], {}];
    if (i % 11 === 0) (extra as Record<string, unknown>).gone = undefined;
    out.push(i % 2 === 0 ? { ...m, ...extra } : m);
  }
  return out;
}

function fakeObject(i: number, attrs: PlainMap): BrokerObject {
  const labels = i % 3 === 0 ? undefined : i % 3 === 1 ? { pod: `pod-${i}`, namespace: 'ns' } : { namespace: 'ns', container: 'c' };
  return {
    handle: i * 977 + 1,
    type: ['pd', 'qp', 'mr', 'cq'][i % 4],
    device: 'sim0',
    owner: { id: `s-${i}`, tenant: i % 2 ? 'default' : 'tenant-ü', labels },
    userHandle: ['0', '7', '18446744073709551615', '9007199254740993'][i % 4],
    parents: Array.from({ length: i % 3 }, (_x, k) => ({ handle: 2 ** (10 * k) + k })),
    created: 1_700_000_000_000 + i,
    attrs,
  } as unknown as BrokerObject;
}

const wireEncode = (name: string, m: unknown): Buffer => (CODECS[`rdmabroker.v1.${name}`] as (typeof CODECS)[string]).encode(m);

describe('daemon ObjectService codec: replies', () => {
  const maps = plainCorpus(77, 600);

  it('encodes ObjectReply, DestroyReply and InvokeReply to the bytes of objectInfo / toWireMap and the wire codec', () => {
    maps.forEach((m, i) => {
      const o = fakeObject(i, m);
      const want = wireEncode('ObjectReply', { object: objectInfo(o) });
      expect(encodeObjectReply(o).toString('hex'), String(i)).toBe(want.toString('hex'));
      expect(norm(ref('ObjectReply').decode(encodeObjectReply(o)))).toEqual(norm(ref('ObjectReply').decode(want)));
      expect(encodeAttrsReply(m).toString('hex')).toBe(wireEncode('InvokeReply', { attrs: toWireMap(m) }).toString('hex'));
    });
  });

  it('encodes BatchReply (results, failure and its ErrorInfo) to the bytes the handler and the wire codec wrote', () => {
    for (let i = 0; i < 60; i++) {
      const results: BatchOutcome['results'] = Array.from({ length: i % 9 }, (_x, k) => {
        const m = maps[(i * 9 + k) % maps.length]!;
        return k % 3 === 0 ? { verb: 'destroy', attrs: m } : k % 3 === 1 ? { verb: 'invoke', attrs: m } : { verb: 'modify', object: fakeObject(k, m) };
      });
      // Errors with and without errno, call, WR index and attribute (the ErrorInfo's details metadata).
      const error = i % 8 === 3
        ? new BrokerError('INVALID_ATTR', `wr ${i} refused`, 22, 'ibv_post_send', i, `qp.post_send.wrs[${i}].sg_list`)
        : i % 8 === 5 ? new BrokerError('QUOTA_EXCEEDED', 'too many', 0, '', 0) : new BrokerError(i % 4 === 1 ? 'INVALID_ATTR' : 'NO_SUCH_HANDLE', `step failed ü ${i}`);
      const failed = i % 2 ? { index: results.length, error } : null;
      const out: BatchOutcome = { results, failed };
      const wire = results.map((r) => (r.verb === 'destroy' ? { destroyed: { attrs: toWireMap(r.attrs) } } : r.verb === 'invoke' ? { invoked: { attrs: toWireMap(r.attrs) } } : { object: { object: objectInfo(r.object) } }));
      const want = wireEncode('BatchReply', failed
        ? { results: wire, failed: true, failed_index: failed.index, error: errorInfo(failed.error) }
        : { results: wire, failed: false, failed_index: 0 });
      expect(encodeBatchReply(out).toString('hex'), String(i)).toBe(want.toString('hex'));
    }
  });

  it('encodes ListObjects pages and WatchObjects changes to the bytes protobufjs wrote for objectInfo', () => {
    // The reference: what the handlers gave proto-loader's serializer (protobufjs' fromObject, then encode).
    for (let i = 0; i < 40; i++) {
      const objects = Array.from({ length: i % 7 }, (_x, k) => fakeObject(i * 7 + k, maps[(i * 7 + k) % maps.length]!));
      const page = { objects, end: i % 2 === 0, next: i % 5 === 0 ? 0 : 2 ** (i + 3) + i };
      const want = ref('ListObjectsResponse').encode({ objects: objects.map(objectInfo), end: page.end, next_start_handle: String(page.next) });
      expect(encodeObjectPage(page).toString('hex'), String(i)).toBe(want.toString('hex'));
    }
    const kinds: ObjectChangeOut['kind'][] = ['CREATED', 'MODIFIED', 'DESTROYED'];
    maps.slice(0, 60).forEach((m, i) => {
      const c: ObjectChangeOut = { kind: kinds[i % 3]!, object: fakeObject(i, m) };
      const want = ref('ObjectChange').encode({ kind: c.kind, object: objectInfo(c.object!) });
      expect(encodeObjectChange(c).toString('hex'), String(i)).toBe(want.toString('hex'));
    });
    expect(encodeObjectChange({ kind: 'SYNCED', object: null }).toString('hex')).toBe(ref('ObjectChange').encode({ kind: 'SYNCED', object: null }).toString('hex'));
  });

  it('a reply value the wire cannot carry is an error, as before (not an integer)', () => {
    expect(() => encodeAttrsReply({ x: 1.5 })).toThrow(/not an integer/);
    expect(() => wireEncode('InvokeReply', { attrs: toWireMap({ x: 1.5 }) })).toThrow(/not an integer/);
  });
});
