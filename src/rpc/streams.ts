/**
 * Server streams with a bound. Watch and session-event streams are fed by
 * events the client does not pace, so a client that stops reading would make
 * grpc-js buffer every message for it (hundreds of MB for one unread watch).
 * grpc-js's write() says when its buffer is past the high-water mark
 * (writableLength counts the messages not yet taken by HTTP/2, which stops
 * taking them when the client's flow-control window is full). A stream whose
 * backlog passes a bound is ended with RESOURCE_EXHAUSTED and a log line; what
 * it holds until then is at most that many messages.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { BrokerError } from '../core/errors.js';

/** Messages a stream may have waiting for a client that does not read (about 1 KiB each). */
export const MAX_STREAM_BACKLOG = 4096;

type AnyServerStream = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export interface BoundedStreamOptions {
  log: Logger;
  /** For the log line: "WatchObjects", "SessionService.Connect". */
  what: string;
  /** Extra fields for the log line (tenant, session). */
  context?: () => Record<string, unknown>;
  /** Most messages waiting (default {@link MAX_STREAM_BACKLOG}). */
  maxBacklog?: number;
  /** Called once, before the stream is ended, when the backlog overflows (stop feeding it). */
  onOverflow: (e: BrokerError) => void;
  /** Ends the stream with the error (default: emit it on the call, which grpc-js sends as the status). */
  end?: (e: BrokerError) => void;
}

export class BoundedStream<T> {
  private over = false;
  private readonly max: number;

  constructor(private readonly call: AnyServerStream, private readonly o: BoundedStreamOptions) {
    this.max = o.maxBacklog ?? MAX_STREAM_BACKLOG;
  }

  /** Whether the stream was ended for not reading. */
  get overflowed(): boolean {
    return this.over;
  }

  /** Messages waiting for the client. */
  get backlog(): number {
    return this.call.writableLength;
  }

  /**
   * Writes a message unless the backlog is at its bound (then ends the
   * stream, once). Returns grpc-js's answer: false means "wait for drain".
   */
  write(msg: T): boolean {
    if (this.over || this.call.destroyed || this.call.writableEnded) return false;
    if (this.call.writableLength >= this.max) {
      this.overflow();
      return false;
    }
    return this.call.write(msg);
  }

  /** Resolves when the backlog has drained below the high-water mark (or the stream ended). */
  drained(): Promise<void> {
    if (this.over || this.call.destroyed || !this.call.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.call.off('close', done);
        this.call.off('error', done);
        resolve();
      };
      this.call.on('drain', done);
      this.call.on('close', done);
      this.call.on('error', done);
    });
  }

  /** Ends the stream as overflowing now (a backlog kept outside grpc-js passed its bound). */
  overflow(waiting = this.call.writableLength): void {
    if (this.over) return;
    this.over = true;
    const e = new BrokerError('QUOTA_EXCEEDED', `${this.o.what}: the client did not read its stream (${waiting} messages waiting, at most ${this.max}); ended`);
    this.o.log.warn({ rpc: this.o.what, backlog: waiting, max: this.max, ...this.o.context?.() }, 'stream ended: its client does not read');
    this.o.onOverflow(e);
    if (this.o.end) this.o.end(e);
  }
}
