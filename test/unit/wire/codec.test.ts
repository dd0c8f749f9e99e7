/**
 * The wire codec (src/wire/codec.ts) against the reference, protobufjs with
 * proto-loader's options: over a fuzzed corpus, our bytes are protobufjs'
 * bytes, and what either side wrote decodes to the same values on both
 * (64-bit integers compared as decimals). Unknown fields of every wire type
 * are skipped, packed and unpacked repeated scalars both read, hostile bytes
 * throw (or decode) without hanging and nest at most MAX_NESTING deep.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import protobuf from 'protobufjs';
import { CODECS, MAX_NESTING, OBJECT_SERVICE_METHODS } from '../../../src/wire/codec.js';
import { LOADER_OPTIONS, PROTO_FILE, PROTO_ROOT, packageDefinition } from '../../../src/wire/proto.js';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
root.loadSync(PROTO_FILE, { keepCase: true });
root.resolveAll();

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

function ref(name: string): { encode(m: unknown): Buffer; decode(b: Buffer): unknown } {
  const t = root.lookupType(`rdmabroker.v1.${name}`);
  return {
    encode: (m) => Buffer.from(t.encode(t.fromObject(m as Record<string, unknown>)).finish()),
    decode: (b) => t.toObject(t.decode(b), TO_OBJECT),
  };
}

function ours(name: string): { encode(m: unknown): Buffer; decode(b: Buffer): unknown } {
  const c = CODECS[`rdmabroker.v1.${name}`];
  if (!c) throw new Error(`no codec for ${name}`);
  return c;
}

/** Values compared as the wire sees them: numbers as decimals, bytes as hex, own enumerable keys only (for encoder inputs, which may be numbers). */
function norm(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = norm((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

// ------------------------------------------------------------------ corpus

/** A seeded PRNG (mulberry32): the corpus is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const U64_EDGES: (number | string)[] = [
  0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
  '9007199254740992', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551615', '4294967296',
];
const S64_EDGES: (number | string)[] = [
  0, -1, 1, -128, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32), -(2 ** 53) + 1, '-9007199254740992', '-9007199254740993',
  '-9223372036854775808', '9223372036854775807', 2 ** 53 - 1,
];
const STRINGS = ['', 'a', 'max_send_wr', 'ü', '日本語', '\u0000', 'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(70), '😀', '__proto__'];

function gen(r: () => number): {
  pick<T>(xs: readonly T[]): T;
  int(n: number): number;
  value(depth: number): Record<string, unknown>;
  attrs(depth: number): Record<string, unknown>;
} {
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const str = (): string => (r() < 0.7 ? pick(STRINGS) : Array.from({ length: int(20) }, () => String.fromCharCode(32 + int(0x3000))).join(''));
  const value = (depth: number): Record<string, unknown> => {
    const k = int(depth > 0 ? 9 : 7);
    switch (k) {
      case 0: return { u64: pick(U64_EDGES) };
      case 1: return { s64: pick(S64_EDGES) };
      case 2: return { flag: r() < 0.5 };
      case 3: return { str: str() };
      case 4: return { raw: Buffer.from(Array.from({ length: int(40) }, () => int(256))) };
      case 5: return { handle: pick(U64_EDGES) };
      case 6: return { ref: pick([0, 1, 255, 2 ** 31, 2 ** 32 - 1]) };
      case 7: return { list: { items: Array.from({ length: int(4) }, () => value(depth - 1)) } };
      default: return { map: { fields: attrs(depth - 1) } };
    }
  };
  const attrs = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    const n = r() < 0.2 ? 0 : int(6);
    for (let i = 0; i < n; i++) o[r() < 0.8 ? pick(['pd', 'cq', 'qp_type', 'max_send_wr', 'access', 'state', 'x', '']) : str()] = value(depth);
    return o;
  };
  return { pick, int, value, attrs };
}

function corpus(seed: number, n: number): { type: string; msg: Record<string, unknown> }[] {
  const r = rng(seed);
  const g = gen(r);
  const u64 = (): number | string => g.pick(U64_EDGES);
  const opt = <T,>(v: () => T): T | undefined => (r() < 0.7 ? v() : undefined);
  const create = (): Record<string, unknown> => ({ type: opt(() => g.pick(['pd', 'cq', 'qp', 'mr'])), device: opt(() => 'sim0'), attrs: opt(() => g.attrs(3)), user_handle: opt(u64) });
  const query = (): Record<string, unknown> => ({ handle: opt(u64), handle_ref: opt(() => g.int(300)), attrs: opt(() => ['state', 'qp_num'].slice(0, g.int(3))) });
  const modify = (): Record<string, unknown> => ({ handle: opt(u64), handle_ref: opt(() => g.int(300)), attrs: opt(() => g.attrs(3)) });
  const destroy = (): Record<string, unknown> => ({ handle: opt(u64), handle_ref: opt(() => g.int(300)) });
  const invoke = (): Record<string, unknown> => ({ handle: opt(u64), handle_ref: opt(() => g.int(300)), method: opt(() => 'post_send'), attrs: opt(() => g.attrs(3)), device: opt(() => '') });
  const step = (): Record<string, unknown> => {
    const k = g.int(6);
    return k === 0 ? { create: create() } : k === 1 ? { query: query() } : k === 2 ? { modify: modify() } : k === 3 ? { destroy: destroy() } : k === 4 ? { invoke: invoke() } : {};
  };
  const info = (): Record<string, unknown> => ({
    handle: opt(u64), type: opt(() => 'qp'), device: opt(() => 'sim0'), session: opt(() => 's-1'), tenant: opt(() => 'default'), user_handle: opt(u64),
    parents: opt(() => Array.from({ length: g.int(4) }, u64)), created_unix_ms: opt(() => g.pick(S64_EDGES)), attrs: opt(() => g.attrs(2)),
    pod: opt(() => (r() < 0.5 ? null : { namespace: 'ns', name: 'pod-ü', container: '' })),
  });
  const attrsReply = (): Record<string, unknown> => ({ attrs: opt(() => g.attrs(3)) });
  const result = (): Record<string, unknown> => {
    const k = g.int(4);
    return k === 0 ? { object: { object: opt(info) } } : k === 1 ? { destroyed: attrsReply() } : k === 2 ? { invoked: attrsReply() } : {};
  };
  const error = (): Record<string, unknown> => ({ status: opt(() => g.pick([0, 3, 16, -1])), code: opt(() => 'ERRNO'), message: opt(() => 'x'), errno: opt(() => g.pick([0, 22, -5])), call: opt(() => 'ibv_post_send'), wr_index: opt(() => g.pick([-1, 0, 7, -(2 ** 31)])), details: opt(() => (r() < 0.3 ? null : { reason: 'ERRNO', domain: opt(() => 'rdma-broker.io'), metadata: opt(() => ({ errno: '22', call: 'ibv_post_send', '': '', ü: 'é' })) })) });
  const makers: Record<string, () => Record<string, unknown>> = {
    Value: () => g.value(4),
    Attrs: () => ({ fields: g.attrs(4) }),
    CreateRequest: create,
    QueryRequest: query,
    ModifyRequest: modify,
    DestroyRequest: destroy,
    InvokeRequest: invoke,
    BatchStep: step,
    BatchRequest: () => ({ steps: Array.from({ length: g.int(8) }, step) }),
    ObjectInfo: info,
    ObjectReply: () => ({ object: opt(info) }),
    DestroyReply: attrsReply,
    InvokeReply: attrsReply,
    StepResult: result,
    ErrorInfo: error,
    BatchReply: () => ({ results: Array.from({ length: g.int(6) }, result), failed: opt(() => r() < 0.5), failed_index: opt(() => g.int(256)), error: opt(() => (r() < 0.3 ? null : error())) }),
  };
  const out: { type: string; msg: Record<string, unknown> }[] = [];
  const types = Object.keys(makers);
  for (let i = 0; i < n; i++) {
    const type = types[i % types.length] as string;
    // Absent fields are undefined: protobufjs' fromObject treats undefined and missing alike, and so does ours.
    out.push({ type, msg: (makers[type] as () => Record<string, unknown>)() });
  }
  return out;
}

// ------------------------------------------------------------------ raw bytes helpers

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tagOf = (no: number, wt: number): number[] => varint(BigInt((no << 3) | wt));
const ld = (no: number, body: number[] | Buffer): number[] => [...tagOf(no, 2), ...varint(BigInt(body.length)), ...body];

/** Unknown fields of every wire type, group (with a nested group) included, numbered past the message's own. */
const UNKNOWN: number[] = [
  ...tagOf(900, 0), ...varint(-1n),
  ...tagOf(901, 1), 1, 2, 3, 4, 5, 6, 7, 8,
  ...ld(902, Buffer.from('hidden')),
  ...tagOf(903, 5), 9, 9, 9, 9,
  ...tagOf(904, 3), ...tagOf(1, 0), 5, ...tagOf(905, 3), ...tagOf(2, 2), 0, ...tagOf(905, 4), ...tagOf(904, 4),
];

describe('wire codec vs protobufjs (proto-loader options)', { timeout: 120_000 }, () => {
  const items = corpus(14, 3000);

  it('writes the same bytes as protobufjs for every message of a fuzzed corpus', () => {
    for (const { type, msg } of items) {
      const a = ref(type).encode(msg);
      const b = ours(type).encode(msg);
      expect(b.toString('hex'), `${type} ${JSON.stringify(norm(msg))}`).toBe(a.toString('hex'));
    }
  });

  it('decodes protobufjs bytes to the values protobufjs decodes, and protobufjs decodes ours', () => {
    for (const { type, msg } of items) {
      const bytes = ref(type).encode(msg);
      const want = norm(ref(type).decode(bytes));
      expect(norm(ours(type).decode(bytes)), `${type} ${bytes.toString('hex')}`).toEqual(want);
      expect(norm(ref(type).decode(ours(type).encode(ours(type).decode(bytes)))), type).toEqual(want);
    }
  });

  it('64-bit edges decode exactly, to the decimal strings proto-loader gives (longs: String)', () => {
    const v = ours('Value');
    for (const e of U64_EDGES) expect(v.decode(ref('Value').encode({ u64: e }))).toEqual({ kind: 'u64', u64: String(e) });
    for (const e of S64_EDGES) expect(v.decode(ref('Value').encode({ s64: e }))).toEqual({ kind: 's64', s64: String(e) });
    expect(ours('CreateRequest').decode(ref('CreateRequest').encode({ user_handle: 7 }))).toEqual({ type: '', device: '', attrs: {}, user_handle: '7' });
    // And without normalizing: the same objects as proto-loader's, strings and all.
    for (const { type, msg } of items.slice(0, 500)) {
      const b = ref(type).encode(msg);
      const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, y: unknown) => (y && typeof y === 'object' && (y as { type?: string }).type === 'Buffer' ? `0x${Buffer.from((y as { data: number[] }).data).toString('hex')}` : y)));
      expect(strip(ours(type).decode(b)), type).toEqual(strip(ref(type).decode(b)));
    }
  });

  it('skips unknown fields of every wire type at every level', () => {
    const value = [...UNKNOWN, ...tagOf(1, 0), ...varint(42n), ...UNKNOWN];
    const entry = [...UNKNOWN, ...ld(1, Buffer.from('cqe')), ...UNKNOWN, ...ld(2, value)];
    const create = Buffer.from([...UNKNOWN, ...ld(1, Buffer.from('cq')), ...ld(3, entry), ...UNKNOWN, ...tagOf(4, 0), ...varint(9n), ...UNKNOWN]);
    expect(norm(ours('CreateRequest').decode(create))).toEqual(norm(ref('CreateRequest').decode(create)));
    expect(norm(ours('CreateRequest').decode(create))).toEqual(norm({ type: 'cq', device: '', attrs: { cqe: { u64: '42', kind: 'u64' } }, user_handle: '9' }));
    const batch = Buffer.from([...ld(1, [...UNKNOWN, ...ld(4, [...tagOf(10, 0), 3, ...UNKNOWN])]), ...UNKNOWN]);
    expect(norm(ours('BatchRequest').decode(batch))).toEqual(norm(ref('BatchRequest').decode(batch)));
  });

  it('reads repeated uint64 packed and unpacked', () => {
    const packed = Buffer.from(ld(7, [...varint(1n), ...varint(2n ** 60n), ...varint(300n)]));
    const unpacked = Buffer.from([...tagOf(7, 0), ...varint(1n), ...tagOf(7, 0), ...varint(2n ** 60n), ...tagOf(7, 0), ...varint(300n)]);
    for (const b of [packed, unpacked]) {
      expect(norm(ours('ObjectInfo').decode(b))).toEqual(norm(ref('ObjectInfo').decode(b)));
      expect((ours('ObjectInfo').decode(b) as { parents: unknown[] }).parents).toEqual(['1', '1152921504606846976', '300']);
    }
  });

  it('a map key "__proto__" is an entry, not a prototype', () => {
    const b = ref('Attrs').encode({ fields: JSON.parse('{"__proto__": {"u64": 1}, "a": {"flag": true}}') as Record<string, unknown> });
    const m = (ours('Attrs').decode(b) as { fields: Record<string, unknown> }).fields;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(Object.keys(m).sort()).toEqual(['__proto__', 'a']);
  });

  it('hostile bytes: garbage and truncations throw an Error or decode, never hang; nesting is bounded', () => {
    const r = rng(99);
    const good = items.slice(0, 400).map(({ type, msg }) => ({ type, bytes: ref(type).encode(msg) }));
    const t0 = Date.now();
    for (const { type, bytes } of good) {
      const cases = [
        bytes.subarray(0, Math.floor(r() * bytes.length)),
        Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))),
        Buffer.from(bytes).map((x) => (r() < 0.05 ? Math.floor(r() * 256) : x)),
      ];
      for (const c of cases) {
        try {
          const out = ours(type).decode(Buffer.from(c));
          expect(typeof out).toBe('object');
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
        }
      }
    }
    expect(Date.now() - t0).toBeLessThan(20_000);
    // Values nested as lists: 2 messages per level.
    const deep = (levels: number): Buffer => {
      let v = Buffer.from([...tagOf(1, 0), 1]);
      for (let i = 0; i < levels; i++) {
        const item = Buffer.concat([Buffer.from([...tagOf(1, 2), ...varint(BigInt(v.length))]), v]);
        v = Buffer.concat([Buffer.from([...tagOf(7, 2), ...varint(BigInt(item.length))]), item]);
      }
      return v;
    };
    expect(() => ours('Value').decode(deep(20))).not.toThrow();
    expect(() => ours('Value').decode(deep(MAX_NESTING))).toThrow(/nested deeper/);
    expect(() => ours('Value').decode(deep(5000))).toThrow(/nested deeper/);
  });

  it('serves ObjectService through these codecs, with the proto-loader definition otherwise intact', () => {
    const svc = packageDefinition()['rdmabroker.v1.ObjectService'] as Record<string, { requestSerialize(m: unknown): Buffer; responseDeserialize(b: Buffer): unknown; path: string }>;
    for (const [method, [req, rep]] of Object.entries(OBJECT_SERVICE_METHODS)) {
      const m = svc[method]!;
      expect(m.path).toBe(`/rdmabroker.v1.ObjectService/${method}`);
      const msg = corpus(7, 32).find((x) => x.type === req)?.msg ?? {};
      expect(m.requestSerialize(msg).toString('hex')).toBe(ref(req).encode(msg).toString('hex'));
      const reply = corpus(8, 64).find((x) => x.type === rep)?.msg ?? {};
      expect(norm(m.responseDeserialize(ref(rep).encode(reply)))).toEqual(norm(ref(rep).decode(ref(rep).encode(reply))));
    }
    expect(LOADER_OPTIONS.keepCase).toBe(true);
  });
});
