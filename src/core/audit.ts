/**
 * The audit trail: every mutating verb (create, modify, destroy, and the
 * methods that take a write lock: resize, attach/detach multicast) and
 * every attempt on a handle the caller does not own is logged once, with
 * its result, whether it succeeded or not. The runner (./runner.ts) decides
 * what is audited; this module only writes the records. Data-path methods
 * (post, poll, notify, MR reads and writes) and queries of one's own objects
 * are not audited.
 *
 * A verb's record is the line pino writes for `log.child({ audit: true,
 * tenant, session, labels }).info({ verb, type, method, handle, device,
 * result }, 'audit')`, byte for byte. A Batch writes one per step, and
 * pino's generic serialiser (a record object, a loop over its keys, a
 * serializer and stringifier look-up per key) cost as much as the verb
 * itself; so, for a logger configured in a way whose output this module can
 * reproduce exactly ({@link directWriter}), the line is built here from
 * pino's own pre-serialised pieces (the level's prefix, the time function,
 * the child bindings, the line's end) and handed straight to the logger's
 * destination stream. Any other configuration (formatters, hooks, mixin,
 * redaction, serializers on these keys, a message key or prefix, a nested
 * key, a stream that wants metadata, a tracer on pino's serialiser) goes
 * through pino itself. test/unit/core/audit.test.ts compares both paths.
 */
import dc from 'node:diagnostics_channel';
import pino, { type Logger } from 'pino';
import { clip } from './limits.js';
import type { Session } from './sessions.js';

const SYM = pino.symbols;

/** The keys of a verb's record, in their order (the message key comes last, as pino writes it). */
const RECORD_KEYS = ['verb', 'type', 'method', 'handle', 'device', 'result'] as const;

/** What this module reads of a pino logger beyond its typed API (pino.symbols, public since pino 5). */
interface PinoInternals {
  [key: symbol]: unknown;
}

/** A logger whose info lines this module writes itself: pino's pieces of the line, read once. */
export interface DirectWriter {
  readonly logger: Logger;
  readonly stream: { write(s: string): unknown };
  /** `{"level":30` (whatever the level formatter made of it). */
  readonly head: string;
  /** The logger's time function (`,"time":...`, or '' without timestamps), called as pino calls it. */
  readonly time: () => string;
  /** The time function is pino's default (epoch milliseconds): the line's start is the same for a whole millisecond. */
  readonly epoch: boolean;
  /** The base and child bindings, pre-serialised by pino (`,"pid":1,"audit":true,...`). */
  readonly bindings: string;
  /** `,"msg":"audit"` and the line's end. */
  readonly tail: string;
}

/** A direct writer with the start of its last line (level, time, bindings) and the millisecond it was made for. */
interface Direct extends DirectWriter {
  ms: number;
  start: string;
}

/** A logger made with pino's defaults, for the functions every logger shares with it when not overridden. */
const REFERENCE = pino({ enabled: false }, { write: () => undefined }) as unknown as PinoInternals;

/** The channels of pino's serialiser tracer: while anything listens, records go through pino, so the tracer sees them. */
const TRACED = ['start', 'end', 'error'].map((e) => dc.channel(`tracing:pino_asJson:${e}`));

/**
 * The pieces of `logger`'s info line, or null when the logger is configured
 * in a way whose output {@link Audit} would not reproduce byte for byte: a
 * log formatter, a logMethod or streamWrite hook, a mixin, a message prefix,
 * a nested key, a message key other than `msg`, redaction (stringifiers), a
 * serializer for one of the record's keys, an `info` level missing, a stream
 * that wants pino's metadata (multistream), or pino's write and serialiser
 * replaced. Read once per logger: pino fixes all of these when the logger
 * (or the child) is made.
 */
export function directWriter(logger: Logger): DirectWriter | null {
  const l = logger as unknown as PinoInternals;
  if (l[SYM.writeSym] !== REFERENCE[SYM.writeSym] || l[SYM.asJsonSym] !== REFERENCE[SYM.asJsonSym]) return null;
  if (l[SYM.mixinSym] || logger.msgPrefix !== undefined || l[SYM.nestedKeySym]) return null;
  if (l[SYM.messageKeySym] !== 'msg') return null;
  const formatters = l[SYM.formattersSym] as { log?: unknown } | undefined;
  const hooks = l[SYM.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  if (!formatters || formatters.log || !hooks || hooks.logMethod || hooks.streamWrite) return null;
  const stringifiers = l[SYM.stringifiersSym];
  if (!stringifiers || typeof stringifiers !== 'object' || Reflect.ownKeys(stringifiers).length > 0) return null;
  const serializers = (l[SYM.serializersSym] ?? {}) as Record<string, unknown>;
  const errorKey = l[SYM.errorKeySym];
  for (const k of [...RECORD_KEYS, 'msg']) {
    if (serializers[k] || (k === errorKey && serializers.err)) return null;
  }
  const num = logger.levels?.values?.info;
  const cache = l[SYM.lsCacheSym] as Record<number, unknown> | undefined;
  const head = num === undefined ? undefined : cache?.[num];
  const time = l[SYM.timeSym];
  const bindings = l[SYM.chindingsSym];
  const end = l[SYM.endSym];
  const stream = l[SYM.streamSym] as { write?: unknown } | undefined;
  if (typeof head !== 'string' || typeof time !== 'function' || typeof bindings !== 'string' || typeof end !== 'string') return null;
  if (!stream || typeof stream.write !== 'function' || (stream as PinoInternals)[SYM.needsMetadataGsym] === true) return null;
  return {
    logger,
    stream: stream as { write(s: string): unknown },
    head,
    time: () => (time as (this: unknown) => string).call(logger),
    epoch: time === pino.stdTimeFunctions.epochTime,
    bindings,
    tail: `,"msg":"audit"${end}`,
  };
}

/** Node 25+ pino quotes every string with JSON.stringify; before, with its own escaper (see {@link quoteLikePino}). */
const PINO_STRINGIFIES = Number(process.versions.node.split('.')[0]) >= 25;

/**
 * A string as pino writes a value: JSON.stringify for one over 100
 * characters or with a control character; otherwise only `"` and `\` are
 * escaped (pino's fast path, which leaves a lone surrogate, as clip() can
 * leave one, unescaped where JSON.stringify would write `\udxxx`).
 */
export function quoteLikePino(v: string): string {
  const n = v.length;
  if (PINO_STRINGIFIES || n > 100) return JSON.stringify(v);
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 32) return JSON.stringify(v);
    if (c === 34 || c === 92) plain = false;
  }
  return plain ? `"${v}"` : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** Quoted forms of the strings records repeat (verbs, type and method names, results, devices); bounded, so clients' invented names cannot grow it. */
const quoted = new Map<string, string>();
const QUOTED_MAX = 1024;

function q(v: string): string {
  let r = quoted.get(v);
  if (r === undefined) {
    r = quoteLikePino(v);
    if (quoted.size < QUOTED_MAX) quoted.set(v, r);
  }
  return r;
}

/**
 * A record's body is `,"verb":…,"type":…(,"method":…),"handle":` then the
 * handle then `(,"device":…),"result":…`. The two fixed parts repeat
 * (a Batch of 256 PD verbs has two of each), so each is built once, by
 * the same rules as {@link q}: keyed by verb, then by type (and method),
 * and by result, then by device; bounded as {@link quoted}.
 */
const heads = new Map<string, Map<string, string>>();
const tails = new Map<string, Map<string, string>>();
let partsCached = 0;

function bodyHead(verb: string, type: string, method: string): string {
  let byType = heads.get(verb);
  if (byType === undefined) {
    byType = new Map();
    if (partsCached < QUOTED_MAX) heads.set(verb, byType);
  }
  // The method's name cannot hold a NUL (names are checked as strings; a NUL key would only share a cache slot).
  const key = method ? `${type}\0${method}` : type;
  let r = byType.get(key);
  if (r === undefined) {
    r = `,"verb":${q(verb)},"type":${q(clip(type))}${method ? `,"method":${q(clip(method))}` : ''},"handle":`;
    if (partsCached < QUOTED_MAX) {
      byType.set(key, r);
      partsCached++;
    }
  }
  return r;
}

function bodyTail(device: string, result: string): string {
  let byDevice = tails.get(result);
  if (byDevice === undefined) {
    byDevice = new Map();
    if (partsCached < QUOTED_MAX) tails.set(result, byDevice);
  }
  let r = byDevice.get(device);
  if (r === undefined) {
    r = `${device ? `,"device":${q(clip(device))}` : ''},"result":${q(result)}`;
    if (partsCached < QUOTED_MAX) {
      byDevice.set(device, r);
      partsCached++;
    }
  }
  return r;
}

/**
 * Level, time and bindings: pino's epoch time (`,"time":` and Date.now())
 * is the same string for every record of one millisecond, so the start of
 * the line is made once per millisecond; any other time function is called
 * for every record, as pino calls it.
 */
function lineStart(d: Direct): string {
  if (!d.epoch) return d.head + d.time() + d.bindings;
  const now = Date.now();
  if (now !== d.ms) {
    d.ms = now;
    d.start = `${d.head},"time":${now}${d.bindings}`;
  }
  return d.start;
}

/** A verb's record as pino serialises it (the path for loggers {@link directWriter} declines). */
function fields(verb: string, type: string, handle: number, device: string, result: string, method: string): Record<string, unknown> {
  return method
    ? { verb, type: clip(type), method: clip(method), handle, device: device ? clip(device) : undefined, result }
    : { verb, type: clip(type), handle, device: device ? clip(device) : undefined, result };
}

/** One destination of a session's records: its child logger and, when reproducible, the direct writer. */
interface Sink {
  readonly logger: Logger;
  readonly direct: Direct | null;
  /** The logger's level value when {@link enabled} was read (NaN: not yet). */
  levelVal: number;
  /** Whether the logger writes info records at {@link levelVal}. */
  enabled: boolean;
}

/**
 * Whether the sink's logger writes info records now. A session's logger is
 * a pino child (its prototype chain a parent's), so every call on it is a
 * megamorphic look-up, and isLevelEnabled makes several: the answer is
 * kept for the level value it was read at, and read again whenever that
 * changes (on this logger or, inherited, on a parent's). The levels and
 * their comparison are fixed when a logger is made.
 */
function writesInfo(k: Sink): boolean {
  const v = (k.logger as unknown as PinoInternals)[SYM.levelValSym];
  if (v !== k.levelVal) {
    k.enabled = k.logger.isLevelEnabled('info');
    k.levelVal = v as number;
  }
  return k.enabled;
}

interface SessionSinks {
  readonly main: Sink;
  readonly extra: Sink | null;
}

export class Audit {
  private readonly main: Logger;
  private readonly extra: Logger | null;
  private readonly allowDirect: boolean;
  /** Per session: the audit loggers with its tenant and id bound. */
  private readonly bySession = new WeakMap<Session, SessionSinks>();

  /**
   * `extra`: a second destination for audit records (the daemon's
   * --audit-log), besides the log. `opts.direct: false` sends every record
   * through pino (the tests compare the two paths).
   */
  constructor(log: Logger, extra: Logger | undefined, opts: { direct?: boolean } = {}) {
    this.main = log.child({ audit: true });
    this.extra = extra ?? null;
    this.allowDirect = opts.direct ?? true;
  }

  private sink(logger: Logger): Sink {
    const d = this.allowDirect ? directWriter(logger) : null;
    return { logger, direct: d ? { ...d, ms: -1, start: '' } : null, levelVal: NaN, enabled: false };
  }

  private sinks(s: Session): SessionSinks {
    let l = this.bySession.get(s);
    if (!l) {
      // The session's loggers carry tenant and session pre-serialised (pino child bindings).
      const bound = s.labels ? { tenant: s.tenant, session: s.id, labels: s.labels } : { tenant: s.tenant, session: s.id };
      l = { main: this.sink(this.main.child(bound)), extra: this.extra ? this.sink(this.extra.child({ audit: true, ...bound })) : null };
      this.bySession.set(s, l);
    }
    return l;
  }

  /** One verb's record: what it named and its result ("ok" or an error code). */
  verb(s: Session, verb: string, type: string, handle: number, device: string, result: string, method = ''): void {
    const l = this.sinks(s);
    const main = writesInfo(l.main);
    const extra = l.extra !== null && writesInfo(l.extra);
    if (!main && !extra) return;
    // While a tracer listens to pino's serialiser, records go through pino, so it sees them.
    const traced = TRACED[0]!.hasSubscribers || TRACED[1]!.hasSubscribers || TRACED[2]!.hasSubscribers;
    const dMain = main && !traced ? l.main.direct : null;
    const dExtra = extra && !traced ? l.extra!.direct : null;
    // type, device and method may be the client's own (unknown) names: logged as bounded prefixes.
    const body = dMain || dExtra ? bodyHead(verb, type, method) + (Number.isFinite(handle) ? handle : 'null') + bodyTail(device, result) : '';
    if (main) {
      if (dMain) dMain.stream.write(lineStart(dMain) + body + dMain.tail);
      else l.main.logger.info(fields(verb, type, handle, device, result, method), 'audit');
    }
    if (extra) {
      if (dExtra) dExtra.stream.write(lineStart(dExtra) + body + dExtra.tail);
      else l.extra!.logger.info(fields(verb, type, handle, device, result, method), 'audit');
    }
  }

  /** Writes one free-form audit record (`"audit": true`) to the log and to the audit log, if any. */
  record(fields: Record<string, unknown>, msg: string): void {
    this.main.info(fields, msg);
    this.extra?.info({ audit: true, ...fields }, msg);
  }
}
