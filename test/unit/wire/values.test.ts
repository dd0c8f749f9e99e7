import { describe, expect, it } from 'vitest';
import { packageDefinition } from '../../../src/wire/proto.js';
import { HandleValue, fromWire, fromWireMap, toWire, toWireMap, type PlainMap } from '../../../src/wire/values.js';
import type { Value__Output } from '../../../src/wire/gen/rdmabroker/v1/Value.js';

type Codec = { requestSerialize(m: unknown): Buffer; requestDeserialize(b: Buffer): unknown };

/** Encodes attrs as an InvokeRequest and decodes it again, exactly as gRPC does. */
function roundTrip(m: PlainMap): PlainMap {
  const codec = (packageDefinition()['rdmabroker.v1.ObjectService'] as unknown as Record<string, Codec>).Invoke as Codec;
  const out = codec.requestDeserialize(codec.requestSerialize({ handle: 1, method: 'x', attrs: toWireMap(m) })) as { attrs: Record<string, Value__Output> };
  return fromWireMap(out.attrs, true);
}

describe('wire values', () => {
  it('sends safe integers as numbers and larger ones as exact decimal strings', () => {
    expect(toWire(4096)).toEqual({ u64: 4096 });
    expect(toWire(-5)).toEqual({ s64: -5 });
    expect(toWire(7n)).toEqual({ u64: 7 });
    expect(toWire(2n ** 64n - 1n)).toEqual({ u64: '18446744073709551615' });
    expect(toWire(-(2n ** 63n))).toEqual({ s64: '-9223372036854775808' });
    expect(toWire(new HandleValue(2 ** 48 + 3))).toEqual({ handle: 2 ** 48 + 3 });
  });

  it('keeps every 64-bit value exact through protobuf encoding', () => {
    const m: PlainMap = {
      small: 1,
      zero: 0,
      safe: BigInt(Number.MAX_SAFE_INTEGER),
      above: BigInt(Number.MAX_SAFE_INTEGER) + 2n,
      max: 2n ** 64n - 1n,
      neg: -42n,
      min: -(2n ** 63n),
      h: new HandleValue(2 ** 48 + 3),
      list: [1, 2n ** 63n],
    };
    const back = roundTrip(m);
    expect(back.small).toBe(1n);
    expect(back.zero).toBe(0n);
    expect(back.safe).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(back.above).toBe(BigInt(Number.MAX_SAFE_INTEGER) + 2n);
    expect(back.max).toBe(2n ** 64n - 1n);
    expect(back.neg).toBe(-42n);
    expect(back.min).toBe(-(2n ** 63n));
    expect(back.h).toEqual(new HandleValue(2 ** 48 + 3));
    expect(back.list).toEqual([1n, 2n ** 63n]);
    expect(fromWire({ kind: 'u64', u64: '9007199254740993' } as Value__Output)).toBe(9007199254740993n);
    // Safe integers come back as numbers, from strings or numbers; the edges stay exact.
    expect(fromWire({ kind: 'u64', u64: '9007199254740991' } as Value__Output)).toBe(Number.MAX_SAFE_INTEGER);
    expect(fromWire({ kind: 'u64', u64: '9007199254740992' } as Value__Output)).toBe(2n ** 53n);
    expect(fromWire({ kind: 's64', s64: '-9007199254740991' } as Value__Output)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(fromWire({ kind: 's64', s64: '-9007199254740992' } as Value__Output)).toBe(-(2n ** 53n));
    expect(fromWire({ kind: 'u64', u64: 4096 } as unknown as Value__Output)).toBe(4096);
    expect(fromWire({ kind: 'u64', u64: '00042' } as Value__Output)).toBe(42);
    expect(fromWire({ kind: 'u64', u64: '7' } as Value__Output, true)).toBe(7n);
    // Not a decimal integer: malformed, as before.
    expect(() => fromWire({ kind: 'u64', u64: '1e3' } as Value__Output)).toThrow();
    expect(() => fromWire({ kind: 'u64', u64: '1.5' } as Value__Output)).toThrow();
  });
});
