/**
 * The client library's one-pass ObjectService codec (src/client/codec.ts)
 * against the two passes it replaced, kept here as the reference: the
 * session's wire objects (encodeAttrs, targetOf, userHandleOf) encoded by
 * the wire codec, and replies decoded by it and then converted
 * (objectRecord, decodeAttrs). The same request bytes and the same errors
 * for bad attributes; the same records and attributes from every reply of a
 * fuzzed corpus (kind-less values: fromWire's TypeError), the same refusals
 * of bad bytes.
 */
import { describe, expect, it } from 'vitest';
import { objectRecord } from '../../../src/client/client.js';
import {
  decodeAttrsReply, decodeBatchReply, decodeObjectReply, encodeBatch, encodeCreate, encodeHandle, encodeInvoke, encodeModify,
} from '../../../src/client/codec.js';
import { targetOf, userHandleOf, type BatchStepInput } from '../../../src/client/objects.js';
import { decodeAttrs, encodeAttrs, handle, ref as refOf, toPlainMap, type AttrMap, type AttrValue } from '../../../src/client/values.js';
import { toWireMap } from '../../../src/wire/values.js';
import { CODECS } from '../../../src/wire/codec.js';
import type { ObjectInfo__Output } from '../../../src/wire/gen/rdmabroker/v1/ObjectInfo.js';
import { corpus, ref, rng, UNKNOWN } from '../wire/corpus.js';

const wire = (name: string): (typeof CODECS)[string] => CODECS[`rdmabroker.v1.${name}`] as (typeof CODECS)[string];

/** Either the value or the thrown Error's class and message. */
function attempt(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (e) {
    return { threw: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

/** Client attribute values of every shape toPlain takes (and some it refuses). */
function attrCorpus(seed: number, n: number, bad: boolean): AttrMap[] {
  const r = rng(seed);
  const int = (k: number): number => Math.floor(r() * k);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const scalar = (): AttrValue => pick<() => AttrValue>([
    () => pick([0, 1, 127, 128, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -1, -(2 ** 31), -(2 ** 53) + 1, -(2 ** 62), -0]),
    () => pick([0n, 5n, 2n ** 53n, 2n ** 64n - 1n, 2n ** 70n, -1n, -(2n ** 63n), -(2n ** 53n)]),
    () => r() < 0.5,
    () => pick(['', 'RTS', 'max_send_wr', 'ü', '日本語', 'x'.repeat(200), 'fe80::1']),
    () => Buffer.from([1, 2, 3, int(256)]),
    () => new Uint8Array([9, int(256)]),
    () => handle(pick([1, 2 ** 40, 7n, '12'])),
    () => refOf(int(300)),
    () => ({ ref: int(300) }),
    () => ({ handle: int(1000), type: 'qp' }),
  ])();
  const value = (depth: number): AttrValue => {
    const k = int(depth > 0 ? 14 : 10);
    if (k < 10) return scalar();
    if (k < 12) return Array.from({ length: int(4) }, () => value(depth - 1));
    return map(depth - 1);
  };
  const map = (depth: number): AttrMap => {
    const o: Record<string, AttrValue> = {};
    for (let i = int(6); i > 0; i--) o[pick(['pd', 'cq', 'qp_state', 'wrs', 'sg_list', 'ah_attr', 'grh', 'dgid', '', 'ref', 'handle', 'type'])] = r() < 0.1 ? pick([null, undefined]) : value(depth);
    if (bad && r() < 0.3) {
      const nasty = pick<AttrValue>([1.5, NaN, Infinity, [1, null] as never, [undefined] as never, (() => 1) as never, Symbol('s') as never]);
      o[pick(['deep', 'wrs'])] = r() < 0.5 ? nasty : { inner: [0, { x: nasty }] } as never;
    }
    return o;
  };
  return Array.from({ length: n }, () => map(3));
}

/** The session's requests as they were: wire objects for the wire codec. */
const before = {
  create: (type: string, device: string, attrs: AttrMap, uh: number | bigint | string | undefined): Buffer =>
    wire('CreateRequest').encode({ type, device, attrs: encodeAttrs(attrs), user_handle: userHandleOf(uh) }),
  modify: (h: string, attrs: AttrMap): Buffer => wire('ModifyRequest').encode({ handle: h, attrs: encodeAttrs(attrs) }),
  invoke: (h: string, method: string, attrs: AttrMap, device: string): Buffer => wire('InvokeRequest').encode({ handle: h, method, attrs: encodeAttrs(attrs), device }),
  handle: (h: string): Buffer => wire('DestroyRequest').encode({ handle: h }),
  // A refused argument is named by its step.
  batch: (steps: readonly BatchStepInput[]): Buffer => wire('BatchRequest').encode({
    steps: steps.map((st, i) => {
      const at = `steps[${i}].`;
      const attrs = (m: AttrMap | undefined): unknown => toWireMap(toPlainMap(m, `${at}attrs`));
      if ('create' in st) return { create: { type: st.create, device: st.device ?? '', attrs: attrs(st.attrs), user_handle: userHandleOf(st.userHandle, `${at}userHandle`) } };
      if ('query' in st) return { query: { ...targetOf(st.query, `${at}query`), attrs: [] } };
      if ('modify' in st) {
        const t = targetOf(st.modify, `${at}modify`);
        return { modify: { ...t, attrs: attrs(st.attrs) } };
      }
      if ('destroy' in st) return { destroy: targetOf(st.destroy, `${at}destroy`) };
      const t = targetOf(st.invoke, `${at}invoke`);
      return { invoke: { ...t, method: st.method, attrs: attrs(st.attrs), device: st.device ?? '' } };
    }),
  }),
};

const hex = (f: () => Buffer): unknown => attempt(() => f().toString('hex'));

describe('client ObjectService codec: requests', () => {
  const good = attrCorpus(21, 800, false);
  const bad = attrCorpus(22, 800, true);

  it('writes the bytes the wire codec wrote for the session\'s request objects', () => {
    good.forEach((m, i) => {
      const uh = [undefined, 7, 2n ** 64n - 1n, '42'][i % 4];
      expect(hex(() => encodeCreate('qp', i % 2 ? 'sim0' : '', m, uh)), String(i)).toStrictEqual(hex(() => before.create('qp', i % 2 ? 'sim0' : '', m, uh)));
      const h = targetOf([5, 2 ** 53 - 1, { handle: 9, type: 'qp' }, 0][i % 4] as number).handle;
      expect(hex(() => encodeModify(h, m))).toStrictEqual(hex(() => before.modify(h, m)));
      expect(hex(() => encodeInvoke(h, 'post_send', m, i % 3 ? '' : 'sim0'))).toStrictEqual(hex(() => before.invoke(h, 'post_send', m, i % 3 ? '' : 'sim0')));
      expect(hex(() => encodeHandle(h))).toStrictEqual(hex(() => before.handle(h)));
    });
  });

  it('refuses bad attributes with toPlain\'s errors, path and all (and bad user handles after them)', () => {
    let refused = 0;
    bad.forEach((m, i) => {
      const uh = i % 5 === 0 ? -1 : 3;
      const want = hex(() => before.create('mr', '', m, uh));
      if (JSON.stringify(want).includes('threw')) refused++;
      expect(hex(() => encodeCreate('mr', '', m, uh)), String(i)).toStrictEqual(want);
    });
    expect(refused).toBeGreaterThan(100);
  });

  it('writes Batch steps of every verb as before', () => {
    const r = rng(5);
    for (let i = 0; i < 300; i++) {
      const steps: BatchStepInput[] = Array.from({ length: i % 7 }, (_x, k): BatchStepInput => {
        const m = good[(i * 7 + k) % good.length]!;
        // Targets and user handles the fast paths write as numbers, and those they leave to targetOf /
        // userHandleOf (refused there: not a safe non-negative integer, not a u64).
        const targets = [3, 0, -0, refOf(k), { ref: 2 }, { handle: 11, type: 'cq' }, { handle: 5, ref: 1 }, 2 ** 53, 2 ** 60, -1, 1.5, Number.NaN, { handle: -4, type: 'pd' }, { handle: 0.5, type: 'pd' }, '7', null];
        const t = targets[Math.floor(r() * targets.length)] as never;
        const uhs = [9, 0, undefined, '12', 2n ** 64n - 1n, 2 ** 53 - 1, -1, 1.5, 2 ** 53, '-3', 2n ** 64n];
        const uh = uhs[Math.floor(r() * uhs.length)];
        switch (Math.floor(r() * 5)) {
          case 0: return { create: 'qp', attrs: m, ...(k % 2 ? { device: 'sim0', userHandle: uh } : {}) };
          case 1: return { query: t };
          case 2: return { modify: t, attrs: m };
          case 3: return { destroy: t };
          default: return { invoke: t, method: 'poll', attrs: m, ...(k % 2 ? { device: 'sim0' } : {}) };
        }
      });
      expect(hex(() => encodeBatch(steps)), String(i)).toStrictEqual(hex(() => before.batch(steps)));
    }
    const withBad: BatchStepInput[] = [{ create: 'pd' }, { invoke: 1, method: 'x', attrs: { a: [null] } as never }];
    expect(hex(() => encodeBatch(withBad))).toStrictEqual(hex(() => before.batch(withBad)));
    expect(JSON.stringify(hex(() => encodeBatch(withBad)))).toContain('RdmaError: INVALID_ARGUMENT: steps[1].attrs.a[0]: lists cannot hold null or undefined');
  });
});

/** The replies as the session read them: the wire codec's objects, then objectRecord / decodeAttrs. */
const readBefore = {
  object: (b: Buffer): unknown => {
    const o = (wire('ObjectReply').decode(b) as { object: ObjectInfo__Output | null }).object;
    return o ? objectRecord(o) : null;
  },
  attrs: (b: Buffer): unknown => decodeAttrs((wire('InvokeReply').decode(b) as { attrs: never }).attrs),
  batch: (b: Buffer): unknown => {
    const r = wire('BatchReply').decode(b) as { results: { object?: { object: ObjectInfo__Output | null }; destroyed?: { attrs: never }; invoked?: { attrs: never } }[]; failed: boolean; failed_index: number; error: unknown };
    return {
      results: r.results.map((x) => (x.object ? (x.object.object ? objectRecord(x.object.object) : null) : decodeAttrs((x.destroyed ?? x.invoked)?.attrs))),
      failed: r.failed, failedIndex: r.failed_index, error: r.error,
    };
  },
};

/** The one pass, seen the same way (a malformed reply throws the TypeError the session throws). */
const readOurs = {
  object: (b: Buffer): unknown => {
    const r = decodeObjectReply(b);
    if (r.malformed) throw new TypeError('value without a kind');
    return r.object;
  },
  attrs: (b: Buffer): unknown => {
    const r = decodeAttrsReply(b);
    if (r.malformed) throw new TypeError('value without a kind');
    return r.attrs;
  },
  batch: (b: Buffer): unknown => {
    const r = decodeBatchReply(b);
    if (r.malformed) throw new TypeError('value without a kind');
    return { results: r.results.map((x) => (x.kind === 'object' ? x.object : x.attrs)), failed: r.failed, failedIndex: r.failedIndex, error: r.error };
  },
};

describe('client ObjectService codec: replies', { timeout: 120_000 }, () => {
  const KINDS: Record<string, keyof typeof readOurs> = { ObjectReply: 'object', InvokeReply: 'attrs', DestroyReply: 'attrs', BatchReply: 'batch' };
  const items = corpus(2121, 8000, { kindless: 0.03 }).filter((x) => x.type in KINDS);

  it('reads every reply of a fuzzed corpus to the same records, attributes and errors', () => {
    let malformed = 0;
    for (const { type, msg } of items) {
      const b = ref(type).encode(msg);
      const k = KINDS[type]!;
      const want = attempt(() => readBefore[k](b));
      if (JSON.stringify(want, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)).includes('without a kind')) malformed++;
      expect(attempt(() => readOurs[k](b)), `${type} ${b.toString('hex')}`).toStrictEqual(want);
    }
    expect(malformed).toBeGreaterThan(20);
  });

  it('refuses the same hostile bytes with the same message', () => {
    const r = rng(77);
    for (const { type, msg } of items.slice(0, 1500)) {
      const bytes = ref(type).encode(msg);
      const k = KINDS[type]!;
      for (const c of [
        bytes.subarray(0, Math.floor(r() * bytes.length)),
        Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))),
        Buffer.from(bytes).map((x) => (r() < 0.05 ? Math.floor(r() * 256) : x)),
        Buffer.from([...UNKNOWN, ...bytes, ...UNKNOWN]),
      ]) {
        const b = Buffer.from(c);
        expect(attempt(() => readOurs[k](b)), `${type} ${b.toString('hex')}`).toStrictEqual(attempt(() => readBefore[k](b)));
      }
    }
  });
});
