/**
 * The audit writer (src/core/audit.ts) builds a verb's record itself for a
 * logger it can reproduce: its lines must be pino's own, byte for byte. Each
 * case writes the same records through the direct writer and through pino
 * (`direct: false`) on identically configured loggers and compares the bytes
 * (the time normalised where the logger's clock is the real one).
 */
import dc from 'node:diagnostics_channel';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Audit, directWriter, quoteLikePino } from '../../../src/core/audit.js';
import type { Session } from '../../../src/core/sessions.js';
import { coalescingDestination } from '../../../src/daemon/logdest.js';
import { textDestination } from '../../../src/daemon/logformat.js';

class Capture {
  out = '';
  write(s: string): boolean {
    this.out += s;
    return true;
  }
}

const session = (id: string, tenant: string, labels?: Record<string, string>): Session => ({ id, tenant, labels } as unknown as Session);

const SESSIONS = [
  session('s-1', 'default'),
  session('s"2\\', 'tenant "quoted"\n', { team: 'a', 'odd"key': 'v\u0001\u2028' }),
  session('s-3', 'lab', { zone: '\ud800lone' }),
];

const ODD = [
  '', 'pd', 'a"b', 'back\\slash', 'tab\there', 'ctl\u0001', 'new\nline', 'é', 'line\u2028sep', '\ud800', 'lone\udc00x',
  'x'.repeat(200), '😀'.repeat(40), 'a'.repeat(63) + '😀', '"'.repeat(70), '\u007f\u0080\u00ff', '\u001f',
];
const VERBS = ['create', 'modify', 'destroy', 'invoke', 'query'];
const HANDLES = [0, 1, 42, 2 ** 32, -1, NaN, Infinity];
const RESULTS = ['ok', 'NO_SUCH_HANDLE', 'INTERNAL', 'BUSY'];

/** Every verb/type/method/device/handle/result combination worth writing, a few hundred records. */
function records(write: (s: Session, verb: string, type: string, handle: number, device: string, result: string, method: string) => void): void {
  let i = 0;
  for (const type of ODD) {
    for (const verb of VERBS) {
      const s = SESSIONS[i % SESSIONS.length]!;
      const method = verb === 'invoke' ? ODD[(i * 7) % ODD.length]! : '';
      const device = ODD[(i * 3) % ODD.length]!;
      write(s, verb, type, HANDLES[i % HANDLES.length]!, device, RESULTS[i % RESULTS.length]!, method);
      i++;
    }
  }
}

const normalise = (s: string): string => s.replace(/"time":(\d+|"[^"]*")/g, '"time":0');

/** The same records through both paths on two loggers made by `make`, with (optionally) an --audit-log logger each. */
function both(make: (dest: Capture) => Logger, withExtra = false): { direct: string; viaPino: string; extraDirect: string; extraPino: string } {
  const out = { direct: new Capture(), viaPino: new Capture(), extraDirect: new Capture(), extraPino: new Capture() };
  const d = new Audit(make(out.direct), withExtra ? make(out.extraDirect) : undefined);
  const p = new Audit(make(out.viaPino), withExtra ? make(out.extraPino) : undefined, { direct: false });
  records((s, verb, type, handle, device, result, method) => {
    d.verb(s, verb, type, handle, device, result, method);
    p.verb(s, verb, type, handle, device, result, method);
  });
  return { direct: normalise(out.direct.out), viaPino: normalise(out.viaPino.out), extraDirect: normalise(out.extraDirect.out), extraPino: normalise(out.extraPino.out) };
}

/** Configurations the direct writer reproduces. */
const REPRODUCED: Record<string, LoggerOptions> = {
  'pino defaults': {},
  'the daemon\'s (base pid)': { level: 'info', base: { pid: 4242 } },
  'no base, no timestamp': { base: null, timestamp: false },
  'ISO time': { timestamp: pino.stdTimeFunctions.isoTime },
  'a timestamp function': { timestamp: () => ',"time":"fixed","clock":7' },
  crlf: { crlf: true },
  'a name': { name: 'broker "x"' },
  'a level formatter': { formatters: { level: (label) => ({ severity: label.toUpperCase() }) } },
  'a bindings formatter': { formatters: { bindings: (b) => ({ host: 'h', ...b }) } },
  'custom levels': { customLevels: { notice: 35 }, level: 'info' },
  'serializers for other keys': { serializers: { req: () => 'x', err: pino.stdSerializers.err } },
  'debug level': { level: 'debug' },
};

/** Configurations it declines (pino writes those records). */
const DECLINED: Record<string, LoggerOptions> = {
  'a log formatter': { formatters: { log: (o) => ({ ...o, extra: 1 }) } },
  'a mixin': { mixin: () => ({ traceId: 'abc' }) },
  'a logMethod hook': { hooks: { logMethod(args, m) { m.apply(this, [args[0], `${String(args[1])}!`]); } } },
  'a streamWrite hook': { hooks: { streamWrite: (s) => s.replace('audit', 'AUDIT') } },
  'another message key': { messageKey: 'message' },
  'a message prefix': { msgPrefix: '[broker] ' },
  'a nested key': { nestedKey: 'payload' },
  redaction: { redact: ['type', 'tenant'] },
  'a serializer on type': { serializers: { type: (t: string) => t.toUpperCase() } },
  'the error key on result': { errorKey: 'result' },
};

describe('audit records written directly', () => {
  for (const [name, opts] of Object.entries(REPRODUCED)) {
    it(`are pino's bytes: ${name}`, () => {
      const make = (c: Capture): Logger => pino(opts, c);
      expect(directWriter(make(new Capture()).child({ audit: true }))).not.toBeNull();
      const r = both(make, true);
      expect(r.direct.length).toBeGreaterThan(1000);
      expect(r.direct).toBe(r.viaPino);
      expect(r.extraDirect).toBe(r.extraPino);
      // Every line is one JSON object with the record's fields, as the docs promise.
      for (const line of r.direct.split(opts.crlf ? '\r\n' : '\n').filter(Boolean)) {
        const o = JSON.parse(line) as Record<string, unknown>;
        expect(o.audit).toBe(true);
        expect(o.msg).toBe('audit');
        expect(Object.keys(o).filter((k) => ['tenant', 'session', 'verb', 'type', 'handle', 'result'].includes(k))).toEqual(['tenant', 'session', 'verb', 'type', 'handle', 'result']);
      }
    });
  }

  for (const [name, opts] of Object.entries(DECLINED)) {
    it(`go through pino for ${name}, the same bytes`, () => {
      const make = (c: Capture): Logger => pino(opts, c);
      expect(directWriter(make(new Capture()).child({ audit: true }))).toBeNull();
      const r = both(make, true);
      expect(r.direct.length).toBeGreaterThan(1000);
      expect(r.direct).toBe(r.viaPino);
      expect(r.extraDirect).toBe(r.extraPino);
    });
  }

  it('carry the clock\'s millisecond, as pino\'s epoch time does, as it moves on between records', () => {
    let now = 1_764_000_000_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const out = { direct: new Capture(), viaPino: new Capture() };
      const d = new Audit(pino({}, out.direct), undefined);
      const p = new Audit(pino({}, out.viaPino), undefined, { direct: false });
      const times = new Set<number>();
      let i = 0;
      records((s, verb, type, handle, device, result, method) => {
        // A new millisecond every third record, and now and then a step back (a clock set back).
        if (++i % 3 === 0) now += i % 30 === 0 ? -5 : 1;
        times.add(now);
        d.verb(s, verb, type, handle, device, result, method);
        p.verb(s, verb, type, handle, device, result, method);
      });
      expect(times.size).toBeGreaterThan(10);
      expect(out.direct.out).toBe(out.viaPino.out);
      expect(new Set(out.direct.out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { time: number }).time)).size).toBeGreaterThan(10);
    } finally {
      clock.mockRestore();
    }
  });

  it('go through pino for a multistream (it wants each record\'s metadata)', () => {
    const make = (c: Capture): Logger => pino({}, pino.multistream([{ stream: c }]));
    expect(directWriter(make(new Capture()))).toBeNull();
    const r = both(make);
    expect(r.direct).toBe(r.viaPino);
    expect(r.direct).toContain('"msg":"audit"');
  });

  it('go through pino while a tracer listens to its serialiser, and directly again after', () => {
    const seen: unknown[] = [];
    const onStart = (m: unknown): void => void seen.push(m);
    const c = new Capture();
    const audit = new Audit(pino({ base: null, timestamp: false }, c), undefined);
    const s = SESSIONS[0]!;
    dc.subscribe('tracing:pino_asJson:start', onStart);
    try {
      audit.verb(s, 'create', 'pd', 1, 'sim0', 'ok');
    } finally {
      dc.unsubscribe('tracing:pino_asJson:start', onStart);
    }
    expect(seen).toHaveLength(1);
    audit.verb(s, 'destroy', 'pd', 1, 'sim0', 'ok');
    expect(seen).toHaveLength(1);
    expect(c.out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { verb: string }).verb)).toEqual(['create', 'destroy']);
  });

  it('honour the level, also when it changes after the session\'s logger was made', () => {
    for (const direct of [true, false]) {
      const main = new Capture();
      const file = new Capture();
      const log = pino({ level: 'warn' }, main);
      const extra = pino({ level: 'info' }, file);
      const audit = new Audit(log, extra, { direct });
      const s = SESSIONS[1]!;
      audit.verb(s, 'create', 'pd', 1, 'sim0', 'ok');
      expect(main.out).toBe('');
      expect(file.out.split('\n').filter(Boolean)).toHaveLength(1);
      log.level = 'info';
      extra.level = 'error';
      audit.verb(s, 'destroy', 'pd', 1, 'sim0', 'ok');
      expect(main.out.split('\n').filter(Boolean)).toHaveLength(1);
      expect(file.out.split('\n').filter(Boolean)).toHaveLength(1);
      log.level = 'silent';
      audit.verb(s, 'destroy', 'pd', 1, 'sim0', 'ok');
      expect(main.out.split('\n').filter(Boolean)).toHaveLength(1);
    }
  });

  it('reach the daemon\'s text log format and coalescing destination intact', async () => {
    const outs = [new Capture(), new Capture()];
    const [d, p] = outs.map((c, i) => new Audit(pino({ base: { pid: 1 }, timestamp: () => ',"time":0' }, coalescingDestination(textDestination(c), { flushOnExit: false })), undefined, { direct: i === 0 }));
    records((s, verb, type, handle, device, result, method) => {
      d!.verb(s, verb, type, handle, device, result, method);
      p!.verb(s, verb, type, handle, device, result, method);
    });
    await new Promise((r) => setImmediate(r));
    expect(outs[0]!.out.length).toBeGreaterThan(1000);
    expect(outs[0]!.out).toBe(outs[1]!.out);
    expect(outs[0]!.out.split('\n')[0]).toMatch(/^1970-01-01T00:00:00\.000Z INFO {2}audit audit=true tenant=default session=s-1 verb=create type="" handle=0 result=ok$/);
  });
});

describe('quoteLikePino', () => {
  it('is JSON for everything JSON.parse reads back, lone surrogates aside', () => {
    for (const v of ODD) {
      const qd = quoteLikePino(v);
      if (!/[\ud800-\udfff]/.test(v)) expect(qd).toBe(JSON.stringify(v));
      expect(JSON.parse(qd)).toBe(v);
    }
  });
});
