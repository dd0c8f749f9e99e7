/**
 * The fuzzed corpus of ObjectService messages and the protobufjs reference
 * the wire codec tests share (test/unit/wire/codec.test.ts,
 * test/unit/rpc/codec.test.ts, test/unit/client/codec.test.ts).
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import { CODECS } from '../../../src/wire/codec.js';
import { PROTO_FILE, PROTO_ROOT } from '../../../src/wire/proto.js';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
root.loadSync(PROTO_FILE, { keepCase: true });
root.resolveAll();

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

export function ref(name: string): { encode(m: unknown): Buffer; decode(b: Buffer): unknown } {
  const t = root.lookupType(`rdmabroker.v1.${name}`);
  return {
    encode: (m) => Buffer.from(t.encode(t.fromObject(m as Record<string, unknown>)).finish()),
    decode: (b) => t.toObject(t.decode(b), TO_OBJECT),
  };
}

export function ours(name: string): { encode(m: unknown): Buffer; decode(b: Buffer): unknown } {
  const c = CODECS[`rdmabroker.v1.${name}`];
  if (!c) throw new Error(`no codec for ${name}`);
  return c;
}

/** Values compared as the wire sees them: numbers as decimals, bytes as hex, own enumerable keys only (for encoder inputs, which may be numbers). */
export function norm(v: unknown): unknown {
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
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const U64_EDGES: (number | string)[] = [
  0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
  '9007199254740992', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551615', '4294967296',
];
export const S64_EDGES: (number | string)[] = [
  0, -1, 1, -128, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32), -(2 ** 53) + 1, '-9007199254740992', '-9007199254740993',
  '-9223372036854775808', '9223372036854775807', 2 ** 53 - 1,
];
export const STRINGS = ['', 'a', 'max_send_wr', 'ü', '日本語', '\u0000', 'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(70), '😀', '__proto__'];

/** Generator options: `kindless` is the chance of a Value with no member set (what the decoders refuse as malformed). */
export interface GenOptions {
  kindless?: number;
}

export function gen(r: () => number, o: GenOptions = {}): {
  pick<T>(xs: readonly T[]): T;
  int(n: number): number;
  value(depth: number): Record<string, unknown>;
  attrs(depth: number): Record<string, unknown>;
} {
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const str = (): string => (r() < 0.7 ? pick(STRINGS) : Array.from({ length: int(20) }, () => String.fromCharCode(32 + int(0x3000))).join(''));
  const value = (depth: number): Record<string, unknown> => {
    // Drawn only when asked for, so the default corpus stays the same.
    if (o.kindless && r() < o.kindless) return {};
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

export function corpus(seed: number, n: number, o: GenOptions = {}): { type: string; msg: Record<string, unknown> }[] {
  const r = rng(seed);
  const g = gen(r, o);
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

export function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
export const tagOf = (no: number, wt: number): number[] => varint(BigInt((no << 3) | wt));
export const ld = (no: number, body: number[] | Buffer): number[] => [...tagOf(no, 2), ...varint(BigInt(body.length)), ...body];

/** Unknown fields of every wire type, group (with a nested group) included, numbered past the message's own. */
export const UNKNOWN: number[] = [
  ...tagOf(900, 0), ...varint(-1n),
  ...tagOf(901, 1), 1, 2, 3, 4, 5, 6, 7, 8,
  ...ld(902, Buffer.from('hidden')),
  ...tagOf(903, 5), 9, 9, 9, 9,
  ...tagOf(904, 3), ...tagOf(1, 0), 5, ...tagOf(905, 3), ...tagOf(2, 2), 0, ...tagOf(905, 4), ...tagOf(904, 4),
];

