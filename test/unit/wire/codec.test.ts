/**
 * The wire codec (src/wire/codec.ts) against the reference, protobufjs with
 * proto-loader's options: over a fuzzed corpus, our bytes are protobufjs'
 * bytes, and what either side wrote decodes to the same values on both
 * (64-bit integers compared as decimals). Unknown fields of every wire type
 * are skipped, packed and unpacked repeated scalars both read, hostile bytes
 * throw (or decode) without hanging and nest at most MAX_NESTING deep.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NESTING, OBJECT_SERVICE_METHODS } from '../../../src/wire/codec.js';
import { LOADER_OPTIONS, packageDefinition } from '../../../src/wire/proto.js';
import { corpus, ld, norm, ours, ref, rng, S64_EDGES, tagOf, U64_EDGES, UNKNOWN, varint } from './corpus.js';

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
