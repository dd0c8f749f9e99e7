/**
 * Pollable event mirrors. The daemon never passes a raw completion channel or
 * async-event fd: libibverbs' destroy of a CQ/QP/SRQ waits until every event
 * *read* from those fds is acked, so a client that read one and died (or never
 * acked) would hang the destroy. Instead the daemon reads and acks every event
 * itself and writes a record into a pipe; the client gets the pipe's read end.
 *
 * The write end is non-blocking. When the pipe is full (the client is not
 * reading), records wait in a bounded queue and are flushed when the pipe has
 * room again; with a key, one pending record per key is kept (a CQ that fired
 * twice before the client read once is one wake-up, as with a real channel).
 */
import * as libc from '../sys/libc.js';

export interface MirrorOptions {
  recordSize: number;
  /** Most records kept while the pipe is full (oldest dropped beyond that, when unkeyed). */
  maxPending: number;
}

export class EventMirror {
  private readonly readEnd: number;
  private writeEnd: number;
  private watch: libc.FdWatch | null = null;
  private readonly pending = new Map<string | number, Buffer>();
  private seq = 0;
  private closed = false;
  /** Records dropped because the queue was full. */
  dropped = 0;

  private constructor(fds: [number, number], private readonly opts: MirrorOptions) {
    this.readEnd = fds[0];
    this.writeEnd = fds[1];
  }

  /** Makes the pipe. Throws if the daemon is out of fds. */
  static create(opts: MirrorOptions): EventMirror {
    const fds = libc.pipe2(libc.O_CLOEXEC);
    if (fds === null) throw new Error(`pipe2: errno ${libc.errno()}`);
    // Only the daemon's end is non-blocking: the read end is the client's
    // (file status flags belong to each end's open file description).
    if (libc.fcntl(fds[1], libc.F_SETFL, libc.O_NONBLOCK) !== 0) {
      const e = libc.errno();
      libc.close(fds[0]);
      libc.close(fds[1]);
      throw new Error(`fcntl(O_NONBLOCK): errno ${e}`);
    }
    return new EventMirror(fds, opts);
  }

  /** The read end to pass to clients (the mirror owns it: send it, never close it). */
  get fd(): number {
    return this.readEnd;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Records waiting for room in the pipe. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Writes a record, or queues it if the pipe is full. `key` coalesces pending records. */
  push(record: Buffer, key?: string | number): void {
    if (this.closed) return;
    if (record.length !== this.opts.recordSize) throw new RangeError(`record of ${record.length} bytes, expected ${this.opts.recordSize}`);
    if (this.pending.size === 0 && this.tryWrite(record)) return;
    if (this.closed) return;
    const k = key ?? `#${this.seq++}`;
    if (this.pending.has(k)) return;
    if (this.pending.size >= this.opts.maxPending) {
      const oldest = this.pending.keys().next();
      if (!oldest.done) this.pending.delete(oldest.value);
      this.dropped++;
    }
    this.pending.set(k, record);
    this.watch ??= libc.watchFd(this.writeEnd, { writable: true }, () => this.flush());
  }

  private tryWrite(record: Buffer): boolean {
    // A record is below PIPE_BUF: a non-blocking write puts it whole or not
    // at all (EAGAIN). The pipe cannot break (the daemon holds its read end),
    // so any failure waits for room, as EAGAIN does.
    return Number(libc.write(this.writeEnd, record, record.length)) === record.length;
  }

  private flush(): void {
    for (const [k, rec] of this.pending) {
      if (!this.tryWrite(rec)) return;
      this.pending.delete(k);
    }
    this.watch?.close();
    this.watch = null;
  }

  /** Closes both ends (clients holding the read end see end of file). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    this.watch = null;
    this.pending.clear();
    libc.close(this.writeEnd);
    libc.close(this.readEnd);
    this.writeEnd = -1;
  }
}
