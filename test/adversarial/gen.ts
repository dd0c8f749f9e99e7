/**
 * Hostile inputs for the fuzzer: a seeded PRNG, and values generated from
 * the object-type tables themselves (src/core/types/), so a new type, method
 * or attribute is fuzzed without touching this file.
 */
import type { AttrSpec } from '../../src/core/attrs.js';
import { OBJECT_TYPES } from '../../src/core/types/index.js';
import type { Value } from '../../src/wire/gen/rdmabroker/v1/Value.js';

/** xoshiro128** seeded through mulberry32: small, fast, reproducible. */
export class Prng {
  private s: [number, number, number, number];

  constructor(readonly seed: number) {
    let a = seed >>> 0;
    const m = (): number => {
      // mulberry32: spreads any seed (0 included) over the whole state.
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    };
    this.s = [m(), m(), m(), m()];
  }

  /** A uniform u32 (xoshiro128**). */
  u32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from nothing');
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A u64 as a decimal string, biased to edges. */
  u64(): string {
    return this.pick([
      () => '0', () => '1', () => String(this.int(64)), () => String(2 ** 32 - 1), () => String(2 ** 32),
      () => '18446744073709551615', () => '9223372036854775807', () => String(this.u32()),
      () => ((BigInt(this.u32()) << 32n) | BigInt(this.u32())).toString(),
    ])();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The seed: RDMA_BROKER_FUZZ_SEED when set, else a fresh one (printed by the test so a failure can be replayed). */
export function fuzzSeed(): number {
  const env = process.env.RDMA_BROKER_FUZZ_SEED;
  if (env) return Number(env) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** One place the tables take attributes: a type's create or modify, or a method. */
export interface AttrSite {
  type: string;
  /** 'create', 'modify', or a method name. */
  method: string;
  specs: readonly AttrSpec[];
}

/** Every attribute site of every object type, from the tables. */
export function attrSites(): AttrSite[] {
  const out: AttrSite[] = [];
  for (const t of OBJECT_TYPES) {
    if (t.create) out.push({ type: t.name, method: 'create', specs: t.create.attrs });
    if (t.modify) out.push({ type: t.name, method: 'modify', specs: t.modify.attrs });
    for (const [name, m] of Object.entries(t.methods)) out.push({ type: t.name, method: name, specs: m.attrs });
  }
  return out;
}

export const WIRE_KINDS = ['u64', 's64', 'flag', 'str', 'raw', 'handle', 'ref', 'list', 'map'] as const;
export type WireKind = (typeof WIRE_KINDS)[number];

/** Handles the generator may name: the caller's own objects by type, another session's, and none at all. */
export interface HandlePool {
  own: Map<string, number[]>;
  foreign: number[];
}

export class ValueGen {
  constructor(private readonly r: Prng, private readonly handles: HandlePool) {}

  private ownAny(): number {
    const all = [...this.handles.own.values()].flat();
    return all.length ? this.r.pick(all) : 1;
  }

  /** A handle: mostly a fitting own one, else another type's, another session's, or forged. */
  handle(types?: readonly string[]): string | number {
    const r = this.r;
    const fitting = (types ?? []).flatMap((t) => this.handles.own.get(t) ?? []);
    if (fitting.length && r.chance(0.75)) return r.pick(fitting);
    return r.pick([
      () => this.ownAny(),
      () => (this.handles.foreign.length ? r.pick(this.handles.foreign) : 2),
      () => r.u64(),
      () => 0,
    ])();
  }

  str(): string {
    const r = this.r;
    return r.pick([
      () => '', () => 'RTS', () => 'INIT', () => 'RC', () => 'LOCAL_WRITE', () => 'fe80::1', () => '::ffff:10.0.0.1',
      () => '00:11:22:33:44:55', () => '10.0.0.1', () => r.bytes(1 + r.int(40)).toString('latin1'),
      () => 'x'.repeat(200 + r.int(6000)), () => '\u0000\ud800\uffff', () => '__proto__', () => 'constructor',
    ])();
  }

  /** A wire value of a given kind with hostile contents; nested kinds recurse up to `depth`. */
  ofKind(kind: WireKind, depth = 0, spec?: AttrSpec): Value {
    const r = this.r;
    switch (kind) {
      case 'u64':
        return { u64: r.u64() };
      case 's64':
        return { s64: r.pick(['-1', '-9223372036854775808', '9223372036854775807', String(-r.u32()), '0']) };
      case 'flag':
        return { flag: r.chance(0.5) };
      case 'str':
        return { str: this.str() };
      case 'raw':
        return { raw: r.bytes(r.pick([0, 1, 15, 16, 17, 64, 1024])) };
      case 'handle':
        return { handle: this.handle(spec?.types) };
      case 'ref':
        return { ref: r.pick([0, 1, 2, 5, 1000, 0xffff_ffff]) };
      case 'list': {
        const n = r.pick([0, 1, 2, 3, depth < 2 ? 70 : 1]);
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.push(depth > 3 ? this.ofKind('u64') : this.any(depth + 1, spec?.members ? undefined : spec));
        return { list: { items } };
      }
      case 'map': {
        const fields: Record<string, Value> = {};
        const n = r.int(4);
        for (let i = 0; i < n; i++) {
          const m = spec?.members && r.chance(0.7) ? r.pick(spec.members) : undefined;
          fields[m ? m.name : this.str().slice(0, 300)] = depth > 3 ? this.ofKind('u64') : m ? this.forSpec(m, depth + 1) : this.any(depth + 1);
        }
        return { map: { fields } };
      }
    }
  }

  any(depth = 0, spec?: AttrSpec): Value {
    return this.ofKind(this.r.pick(WIRE_KINDS), depth, spec);
  }

  /** A value meant to pass the table's checks (most of the time), to reach the handlers. */
  plausible(spec: AttrSpec, depth = 0): Value {
    const r = this.r;
    switch (spec.kind) {
      case 'u32': {
        const lo = spec.min ?? 0;
        const hi = Math.min(spec.max ?? 0xffff_ffff, 0xffff_ffff);
        return { u64: String(r.pick([lo, hi, lo + r.int(Math.min(hi - lo, 64) + 1), Math.min(hi, 16), Math.min(hi, 4096)])) };
      }
      case 'u64':
        return { u64: r.chance(0.5) ? String(r.pick([0, 1, 64, 4096, 65_536])) : r.u64() };
      case 's64':
        return { s64: String(r.int(1000) - 500) };
      case 'bool':
        return { flag: r.chance(0.5) };
      case 'str':
        return { str: this.str() };
      case 'bytes':
        return { raw: r.bytes(r.pick([0, 1, 16, 64, 4096])) };
      case 'handle':
        return { handle: this.handle(spec.types) };
      case 'enum': {
        const names = Object.keys(spec.names ?? {});
        return names.length ? { str: r.pick(names) } : { u64: '0' };
      }
      case 'flags': {
        const names = Object.keys(spec.names ?? {});
        return { list: { items: names.filter(() => r.chance(0.3)).map((n) => ({ str: n })) } };
      }
      case 'gid':
        return r.chance(0.5) ? { str: r.pick(['fe80::1', '::', '::ffff:10.0.0.1', 'fe80:0:0:0:0:0:0:1']) } : { raw: r.bytes(16) };
      case 'struct': {
        const fields: Record<string, Value> = {};
        for (const m of spec.members ?? []) if (m.dir !== 'out' && (m.mandatory || r.chance(0.5))) fields[m.name] = depth > 4 ? { u64: '0' } : this.forSpec(m, depth + 1);
        return { map: { fields } };
      }
      case 'list': {
        const n = r.pick([0, 1, 1, 2, 3]);
        const items: Value[] = [];
        const elem: AttrSpec = spec.members
          ? { name: spec.name, id: spec.id, kind: 'struct', members: spec.members }
          : { name: spec.name, id: spec.id, kind: spec.element ?? 'u64' };
        for (let i = 0; i < n; i++) items.push(depth > 4 ? { u64: '0' } : this.forSpec(elem, depth + 1));
        return { list: { items } };
      }
    }
  }

  /** Mostly plausible, sometimes any kind at all. */
  forSpec(spec: AttrSpec, depth = 0): Value {
    return this.r.chance(0.85) ? this.plausible(spec, depth) : this.any(depth, spec);
  }

  /**
   * An attribute map for a site: the mandatory attributes and some optional
   * ones, plausible; then, per `mutate`, one attribute set to the given kind,
   * an unknown or oversized name, or one dropped.
   */
  attrs(specs: readonly AttrSpec[], target?: { name: string; kind: WireKind }): Record<string, Value> {
    const r = this.r;
    const out: Record<string, Value> = {};
    for (const s of specs) if (s.dir !== 'out' && (s.mandatory || r.chance(0.4))) out[s.name] = this.forSpec(s);
    if (target) {
      const s = specs.find((x) => x.name === target.name);
      out[target.name] = this.ofKind(target.kind, 0, s);
      return out;
    }
    switch (r.int(8)) {
      case 0:
        out[this.str().slice(0, 400) || 'bogus'] = this.any();
        break;
      case 1: {
        const names = Object.keys(out);
        if (names.length) delete out[r.pick(names)];
        break;
      }
      default:
        break;
    }
    return out;
  }
}
