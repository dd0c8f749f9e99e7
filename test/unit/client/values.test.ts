import { describe, expect, it } from 'vitest';
import { HandleValue, RefValue, decodeAttrs, encodeAttrs, handle, ref, toPlain } from '../../../src/client/values.js';
import { RdmaError } from '../../../src/client/errors.js';
import * as grpc from '@grpc/grpc-js';

describe('client attribute values', () => {
  it('encodes plain JavaScript as typed wire values', () => {
    const w = encodeAttrs({
      n: 5, neg: -3, big: 2n ** 63n, s: 'RTS', flags: ['LOCAL_WRITE', 'REMOTE_WRITE'], yes: true,
      bytes: new Uint8Array([1, 2, 3]), nested: { grh: { dgid: 'fe80::1', hop_limit: 1 } }, skip: undefined, none: null,
    });
    // Integers: the kind by sign, the value exact (numbers or decimal strings on the wire).
    const int = (v: unknown): [string, string] => {
      const [k, x] = Object.entries(v as object)[0] ?? [];
      return [String(k), String(x)];
    };
    expect(int(w.n)).toEqual(['u64', '5']);
    expect(int(w.neg)).toEqual(['s64', '-3']);
    expect(int(w.big)).toEqual(['u64', '9223372036854775808']);
    expect(w.s).toEqual({ str: 'RTS' });
    expect(w.flags).toEqual({ list: { items: [{ str: 'LOCAL_WRITE' }, { str: 'REMOTE_WRITE' }] } });
    expect(w.yes).toEqual({ flag: true });
    expect(w.bytes).toEqual({ raw: Buffer.from([1, 2, 3]) });
    expect(int(w.nested?.map?.fields?.grh?.map?.fields?.hop_limit)).toEqual(['u64', '1']);
    expect('skip' in w || 'none' in w).toBe(false);
  });

  it('sends objects the library returned, handle(n) and {ref: N} as handles and refs', () => {
    const obj = { handle: 77, type: 'pd' };
    expect(toPlain(obj)).toEqual(new HandleValue(77));
    expect(toPlain(handle(78))).toEqual(new HandleValue(78));
    expect(toPlain(handle(obj))).toEqual(new HandleValue(77));
    expect(toPlain({ ref: 2 })).toEqual(new RefValue(2));
    expect(toPlain(ref(3))).toEqual(new RefValue(3));
    const w = encodeAttrs({ pd: obj, cq: { ref: 1 } });
    expect(String(w.pd?.handle)).toBe('77');
    expect(w.cq).toEqual({ ref: 1 });
    // A map with other keys stays a struct.
    expect(toPlain({ ref: 1, other: 2 })).toEqual({ ref: 1, other: 2 });
  });

  it('refuses what has no wire form with an RdmaError naming the attribute', () => {
    const refusal = (f: () => unknown): unknown => {
      try {
        f();
        return 'accepted';
      } catch (e) {
        if (!(e instanceof RdmaError)) return `not an RdmaError: ${String(e)}`;
        return { code: e.codeName, rdmaError: e.rdmaError, errno: e.errno, attribute: e.attribute, message: e.message };
      }
    };
    const want = (attribute: string, problem: string): unknown => ({ code: 'INVALID_ARGUMENT', rdmaError: 'INVALID_ATTR', errno: 22, attribute, message: `INVALID_ARGUMENT: ${attribute}: ${problem}` });
    expect(refusal(() => encodeAttrs({ x: 1.5 }))).toStrictEqual(want('attrs.x', '1.5 is not an integer'));
    expect(refusal(() => encodeAttrs({ x: NaN }))).toStrictEqual(want('attrs.x', 'NaN is not an integer'));
    expect(refusal(() => encodeAttrs({ l: [1, undefined] }))).toStrictEqual(want('attrs.l[1]', 'lists cannot hold null or undefined'));
    expect(refusal(() => encodeAttrs({ x: 2 ** 64 }))).toStrictEqual(want('attrs.x', '18446744073709552000 does not fit in 64 bits (-2^63 to 2^64-1)'));
    expect(refusal(() => encodeAttrs({ x: -(2n ** 63n) - 1n }))).toStrictEqual(want('attrs.x', '-9223372036854775809 does not fit in 64 bits (-2^63 to 2^64-1)'));
    expect(refusal(() => encodeAttrs({ h: handle(-1) }))).toStrictEqual(want('attrs.h', '-1 is not an object handle (an integer from 0 to 2^53-1)'));
    expect(refusal(() => encodeAttrs({ h: handle('x') }))).toStrictEqual(want('attrs.h', 'NaN is not an object handle (an integer from 0 to 2^53-1)'));
    expect(refusal(() => encodeAttrs({ h: { handle: 0.5, type: 'pd' } }))).toStrictEqual(want('attrs.h', '0.5 is not an object handle (an integer from 0 to 2^53-1)'));
    expect(refusal(() => encodeAttrs({ r: ref(1.5) }))).toStrictEqual(want('attrs.r', '1.5 is not a Batch step index (an integer from 0)'));
    expect(refusal(() => encodeAttrs({ r: { ref: -1 } }))).toStrictEqual(want('attrs.r', '-1 is not a Batch step index (an integer from 0)'));
    expect(refusal(() => encodeAttrs({ f: (() => 1) as never }))).toStrictEqual(want('attrs.f', 'cannot send a function'));
    // The edges of the 64-bit range are sent.
    expect(refusal(() => encodeAttrs({ a: 2n ** 64n - 1n, b: -(2n ** 63n), c: -(2 ** 63) }))).toBe('accepted');
  });

  it('sends an integer beyond 2^53 given as a number with its exact value', () => {
    // The double 2^60 is exactly 1152921504606846976; its decimal string ("1152921504606847000") is not.
    const w = encodeAttrs({ a: 2 ** 60, b: -(2 ** 62), c: 2 ** 64 - 2 ** 11 });
    expect(String(w.a?.u64)).toBe('1152921504606846976');
    expect(String(w.b?.s64)).toBe('-4611686018427387904');
    expect(String(w.c?.u64)).toBe('18446744073709549568');
    expect(toPlain(2 ** 60)).toBe(2n ** 60n);
  });

  it('decodes replies: numbers when exact, bigints beyond 2^53', () => {
    const d = decodeAttrs({ a: { u64: '12', kind: 'u64' }, b: { u64: '18446744073709551615', kind: 'u64' }, s: { str: 'x', kind: 'str' } });
    expect(d).toEqual({ a: 12, b: 18446744073709551615n, s: 'x' });
  });
});

describe('RdmaError', () => {
  it('carries the status and the rdma-* trailers', () => {
    const md = new grpc.Metadata();
    md.set('rdma-error', 'ERRNO');
    md.set('rdma-errno', '16');
    md.set('rdma-call', 'ibv_dealloc_pd');
    const e = RdmaError.fromServiceError({ code: grpc.status.FAILED_PRECONDITION, details: 'busy', metadata: md, message: '' }, 'destroy');
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 9, codeName: 'FAILED_PRECONDITION', rdmaError: 'ERRNO', errno: 16, call: 'ibv_dealloc_pd', details: 'busy' });
    expect(e.message).toBe('destroy: FAILED_PRECONDITION: busy');
    const plain = RdmaError.fromServiceError(new Error('boom'));
    expect(plain.codeName).toBe('UNKNOWN');
  });
});
