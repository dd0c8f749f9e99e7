/**
 * The daemon's human log format, for a terminal: one line per record,
 * `ISO-TIME LEVEL message key=value ...`. JSON lines (pino's own format,
 * epoch-millisecond `time`) stay the default for services, journald and
 * files, where a machine reads them.
 *
 * This is a destination, not a pino transport: pino serialises the record as
 * it always does and this rewrites each line in the same thread before it is
 * written (a terminal reads a few lines a second; a worker thread would cost
 * more than it saves).
 */
import type { LineSink } from './logdest.js';
import type { LogFormat } from './options.js';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Keys every record has, shown in the line's head or left out (the pid is the same on every line). */
const HEAD_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return v === '' || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v !== null && typeof v === 'object') {
    // An error (pino's err serializer): its message is what a reader needs on the line.
    const e = v as { type?: unknown; message?: unknown; stack?: unknown };
    if (typeof e.message === 'string' && typeof e.stack === 'string') return JSON.stringify(e.message);
  }
  return JSON.stringify(v);
}

/** Rewrites one pino JSON line as a text line (a line that is not a JSON object passes through unchanged). */
export function textLine(line: string): string {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return line.endsWith('\n') ? line : `${line}\n`;
  const rec = r as Record<string, unknown>;
  const t = typeof rec.time === 'number' ? new Date(rec.time).toISOString() : String(rec.time ?? '');
  const lv = typeof rec.level === 'number' ? (LEVELS[rec.level] ?? String(rec.level)) : String(rec.level ?? '');
  let s = `${t} ${lv.padEnd(5)} ${typeof rec.msg === 'string' ? rec.msg : ''}`;
  for (const [k, v] of Object.entries(rec)) {
    if (HEAD_KEYS.has(k) || v === undefined) continue;
    s += ` ${k}=${value(v)}`;
  }
  return `${s}\n`;
}

/** A sink that writes `sink` in the text format (each write is one or more whole pino lines). */
export function textDestination<S extends LineSink>(sink: S): LineSink {
  return {
    write(chunk: string): boolean {
      let out = '';
      for (const line of chunk.split('\n')) if (line) out += textLine(line);
      return sink.write(out);
    },
    flush: sink.flush?.bind(sink),
    flushSync: sink.flushSync?.bind(sink),
  };
}

/** `--log-format` (or RDMA_BROKER_LOG_FORMAT) when given, else text on a terminal and JSON elsewhere. */
export function resolveLogFormat(given: LogFormat | null | undefined, isTty: boolean): LogFormat {
  return given ?? (isTty ? 'text' : 'json');
}
