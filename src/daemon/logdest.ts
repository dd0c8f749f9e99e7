/**
 * A log destination that hands the lines of one event-loop turn to the
 * underlying stream as one string.
 *
 * The daemon logs one audit record per mutating verb, so a Batch of 256
 * verbs writes 256 lines in one turn. sonic-boom (pino's asynchronous
 * destination) measures the byte length of its pending buffer on every
 * write, which costs more than serialising the record once the buffer has
 * grown; joining the turn's lines first and writing them once keeps the
 * per-line cost flat. The lines and their order are unchanged; they reach
 * the stream at the end of the turn (setImmediate), and `flush`,
 * `flushSync` and process exit hand over whatever is pending first.
 *
 * Under it ({@link fdSink}): a regular file is written synchronously by
 * {@link fileSink} (each turn's string encoded once, by the write itself);
 * anything else (a pipe, socket or terminal) through an asynchronous
 * sonic-boom, so a stalled reader never blocks the event loop.
 */
import fs from 'node:fs';
import pino, { type DestinationStream } from 'pino';

export interface LineSink {
  write(s: string): boolean;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

export interface CoalescingDestination extends DestinationStream {
  /** Hands pending lines to the sink now. */
  drain(): void;
  /** Drains, then flushes the sink (pino's `logger.flush(cb)` calls this). */
  flush(cb?: (err?: Error) => void): void;
  /** Drains, then writes the sink out synchronously (on exit). */
  flushSync(): void;
}

export function coalescingDestination(sink: LineSink, opts: { flushOnExit?: boolean; chunkChars?: number } = {}): CoalescingDestination {
  // 64 Ki characters: sonic-boom measures and converts each string it is
  // handed more than once, so fewer, longer writes cost less per line
  // (about 6100 -> 5200 instructions per audit record against 8 Ki).
  const chunkChars = opts.chunkChars ?? 65536;
  let pending: string[] = [];
  let pendingChars = 0;
  let scheduled = false;
  const drain = (): void => {
    if (pending.length === 0) return;
    const s = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    pendingChars = 0;
    sink.write(s);
  };
  const onTurnEnd = (): void => {
    scheduled = false;
    drain();
  };
  const dest: CoalescingDestination = {
    write(s: string): boolean {
      pending.push(s);
      pendingChars += s.length;
      // A long turn hands over in chunks, so its lines are not all kept
      // alive (as unflattened strings) until it ends.
      if (pendingChars >= chunkChars) drain();
      if (!scheduled) {
        scheduled = true;
        setImmediate(onTurnEnd);
      }
      return true;
    },
    drain,
    flush(cb?: (err?: Error) => void): void {
      drain();
      if (sink.flush) sink.flush(cb);
      else cb?.();
    },
    flushSync(): void {
      drain();
      sink.flushSync?.();
    },
  };
  if (opts.flushOnExit ?? true) {
    // On exit (including after an uncaught exception) the turn never ends:
    // hand the pending lines over while the sink can still write them.
    process.once('exit', () => {
      try {
        dest.flushSync();
      } catch {
        // Nothing left to report to.
      }
    });
  }
  return dest;
}

/**
 * Writes to a regular file, synchronously: the write lands in the page
 * cache and costs a few µs, where an asynchronous write hands each chunk to
 * the libuv thread pool (tens of µs of CPU). Each string is encoded once,
 * by fs.writeSync itself: sonic-boom measured its byte length twice and, to
 * account the bytes written, encoded it again into a Buffer. A short write
 * (rare on a file) is finished from a Buffer of the rest. A write error is
 * thrown, as sonic-boom throws it without an error listener.
 */
export function fileSink(fd: number): LineSink {
  const writeAll = (s: string): void => {
    const n = fs.writeSync(fd, s);
    // Measuring a flat string's UTF-8 length is one fast scan (a few ns per line), unlike encoding it again.
    if (n === Buffer.byteLength(s)) return;
    const b = Buffer.from(s);
    for (let off = n; off < b.length;) {
      const k = fs.writeSync(fd, b, off, b.length - off);
      if (k <= 0) throw new Error(`log write to fd ${fd} made no progress`);
      off += k;
    }
  };
  return {
    write(s: string): boolean {
      if (s.length > 0) writeAll(s);
      return true;
    },
    flush(cb?: (err?: Error) => void): void {
      cb?.();
    },
    flushSync(): void {
      // Every write is already in the kernel.
    },
  };
}

/**
 * The daemon's sink for a file descriptor it logs to: {@link fileSink} for a
 * regular file, otherwise an asynchronous sonic-boom (pino's default), so a
 * pipe, socket or terminal whose reader stalls never blocks the event loop.
 */
export function fdSink(fd: number): LineSink {
  let file = false;
  try {
    file = fs.fstatSync(fd).isFile();
  } catch {
    // Not a usable fd: let sonic-boom report it as it would.
  }
  return file ? fileSink(fd) : pino.destination({ dest: fd, sync: false });
}

/** The daemon's log destination for a file descriptor: {@link coalescingDestination} over {@link fdSink}. */
export function logDestination(fd: number, opts: { flushOnExit?: boolean } = {}): CoalescingDestination {
  return coalescingDestination(fdSink(fd), opts);
}
