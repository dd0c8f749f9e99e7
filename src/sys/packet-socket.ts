/**
 * Unix SOCK_SEQPACKET sockets driven by Node's event loop: message
 * boundaries are kept by the kernel and each message carries its own fds,
 * so neither side needs a framing layer or has to guess which bytes an fd
 * arrived with. Node's `net` cannot open these (and a Node socket reads with
 * read(), which makes the kernel drop passed fds), so this module drives the
 * fds itself: non-blocking calls on the main thread, woken by libuv's poll
 * ({@link libc.watchFd}); no thread ever blocks.
 *
 * Fd accounting: every fd received is handed to the owner's callback, which
 * owns it; every fd queued for sending is a private dup, closed once sent or
 * when the socket closes.
 */
import fs from 'node:fs';
import * as libc from './libc.js';
import { closeAll, recvWithFds, sendWithFds } from './scm.js';

export interface PacketHandlers {
  /** One message; the callee owns `fds` (close them on every path). */
  onMessage(data: Buffer, fds: number[], truncated: boolean): void;
  /** The socket closed (peer gone, error, or close()); called once. */
  onClose(reason: string): void;
}

/** How many messages one readiness callback reads before yielding to the loop. */
const READ_BATCH = 32;

/**
 * Errors that mean the connection is gone. Any other failure of a
 * non-blocking recvmsg/sendmsg is treated as "try again when the loop says
 * so": koffi reads errno after the call returned to JS, so an unexpected
 * value may be stale, and a real failure shows up anyway as a poll error, a
 * hangup or end of file. A few in a row do close the socket.
 */
const FATAL_ERRNOS: ReadonlySet<number> = new Set([libc.E.EBADF, libc.E.EPIPE, libc.E.ECONNRESET, libc.E.ENOTSOCK, 107 /* ENOTCONN */]);
const MAX_ODD_ERRORS = 3;

/** A connected, non-blocking SOCK_SEQPACKET socket. */
export class PacketSocket {
  private watch: libc.FdWatch | null = null;
  private readonly queue: { data: Uint8Array; fds: number[] }[] = [];
  private paused = false;
  private oddErrors = 0;
  private closedReason: string | null = null;
  private handlers: PacketHandlers | null = null;

  /** Takes ownership of `fd` (a connected, non-blocking, close-on-exec SOCK_SEQPACKET socket). */
  constructor(readonly fd: number) {}

  /** Starts reading. */
  start(handlers: PacketHandlers): void {
    this.handlers = handlers;
    this.watch = libc.watchFd(this.fd, this.interest(), (status, ready) => this.onReady(status, ready));
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Queued outgoing messages (the socket stops reading while any wait). */
  get backlog(): number {
    return this.queue.length;
  }

  private interest(): { readable: boolean; writable: boolean } {
    // Stop reading while replies wait to go out: a peer that does not read
    // its replies cannot make the daemon queue without bound.
    return { readable: !this.paused && this.queue.length === 0, writable: this.queue.length > 0 };
  }

  private rearm(): void {
    if (this.closedReason === null) this.watch?.update(this.interest());
  }

  /** Stops delivering messages until {@link resume} (the kernel keeps them, fds included). */
  pause(): void {
    this.paused = true;
    this.rearm();
  }

  resume(): void {
    this.paused = false;
    this.rearm();
  }

  /** Whether this watch keeps the process alive. */
  ref(on: boolean): void {
    this.watch?.ref(on);
  }

  private onReady(status: number, ready: libc.FdReadiness): void {
    if (this.closedReason !== null) return;
    if (status < 0) {
      this.close(`poll error ${status}`);
      return;
    }
    if (ready.writable) this.flush();
    if (this.closedReason !== null) return;
    if (ready.readable || ready.disconnect) this.readSome(ready.disconnect);
  }

  private readSome(hup: boolean): void {
    for (let i = 0; i < READ_BATCH; i++) {
      if (this.closedReason !== null || this.paused || this.queue.length > 0) return;
      const r = recvWithFds(this.fd);
      switch (r.kind) {
        case 'again':
          // A hangup with nothing left to read is the end.
          if (hup) this.close('peer closed');
          return;
        case 'eof':
          this.close('peer closed');
          return;
        case 'error':
          if (this.fatal(r.errno)) this.close(`recvmsg: errno ${r.errno}`);
          return;
        case 'message':
          this.oddErrors = 0;
          if (!this.handlers) {
            closeAll(r.fds);
            continue;
          }
          this.handlers.onMessage(r.data, r.fds, r.truncated);
          break;
      }
    }
  }

  /**
   * Sends a message with fds; the caller keeps its fds. If the socket buffer
   * is full, the message (with dups of the fds) waits for the socket to drain.
   * Returns false if the socket is closed (nothing was sent).
   */
  send(data: Uint8Array, fds: readonly number[] = []): boolean {
    if (this.closedReason !== null) return false;
    if (this.queue.length === 0) {
      const r = sendWithFds(this.fd, data, fds);
      if (r.kind === 'sent') {
        this.oddErrors = 0;
        return true;
      }
      if (r.kind === 'error' && this.fatal(r.errno)) {
        this.close(`sendmsg: errno ${r.errno}`);
        return false;
      }
    }
    const dups: number[] = [];
    for (const f of fds) {
      const d = libc.fcntl(f, libc.F_DUPFD_CLOEXEC, 3);
      if (d < 0) {
        closeAll(dups);
        this.close(`cannot queue a message: dup failed (errno ${libc.errno()})`);
        return false;
      }
      dups.push(d);
    }
    this.queue.push({ data, fds: dups });
    this.rearm();
    return true;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.closedReason === null) {
      const m = this.queue[0]!;
      const r = sendWithFds(this.fd, m.data, m.fds);
      if (r.kind === 'again') break;
      if (r.kind === 'error') {
        if (this.fatal(r.errno)) this.close(`sendmsg: errno ${r.errno}`);
        break;
      }
      this.oddErrors = 0;
      this.queue.shift();
      closeAll(m.fds);
    }
    this.rearm();
  }

  /** Whether an error ends the connection (see FATAL_ERRNOS). */
  private fatal(errno: number): boolean {
    if (FATAL_ERRNOS.has(errno)) return true;
    return ++this.oddErrors >= MAX_ODD_ERRORS;
  }

  /** Closes the socket and every queued fd. Idempotent. */
  close(reason = 'closed'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.watch?.close();
    this.watch = null;
    for (const m of this.queue.splice(0)) closeAll(m.fds);
    libc.close(this.fd);
    const h = this.handlers;
    this.handlers = null;
    h?.onClose(reason);
  }
}

/**
 * Whether a socket file has no listener: a non-blocking connect answers
 * ECONNREFUSED at once (a unix connect never waits). Any other answer (a
 * connection, EAGAIN for a full backlog, EPROTOTYPE for a listener of another
 * socket type) means someone serves it.
 */
export function socketIsStale(path: string): boolean {
  const { addr, len } = libc.sockaddrUn(path);
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_SEQPACKET | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_SEQPACKET): errno ${libc.errno()}`);
  try {
    if (libc.connect(fd, addr, len) === 0) return false;
    const e = libc.errno();
    return e === libc.E.ECONNREFUSED || e === libc.E.ENOENT;
  } finally {
    libc.close(fd);
  }
}

/** A listening SOCK_SEQPACKET unix socket at a filesystem path. */
export class PacketListener {
  private watch: libc.FdWatch | null = null;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly path: string,
    private readonly onConnection: (s: PacketSocket) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  /**
   * Binds `path` (a stale socket file there is replaced; anything else is an
   * error), listens, and calls `onConnection` for each accepted connection.
   */
  static listen(path: string, mode: number, onConnection: (s: PacketSocket) => void, onError: (e: Error) => void = () => {}): PacketListener {
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (st) {
      if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
      // Replaced only when nobody listens there: a live socket is another daemon's.
      if (!socketIsStale(path)) throw new Error(`socket in use by a running daemon: ${path}`);
      try {
        fs.unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_SEQPACKET | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_SEQPACKET): errno ${libc.errno()}`);
    try {
      const { addr, len } = libc.sockaddrUn(path);
      if (libc.bind(fd, addr, len) !== 0) throw new Error(`bind ${path}: errno ${libc.errno()}`);
      fs.chmodSync(path, mode);
      if (libc.listen(fd, 512) !== 0) throw new Error(`listen ${path}: errno ${libc.errno()}`);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    const l = new PacketListener(fd, path, onConnection, onError);
    l.watch = libc.watchFd(fd, { readable: true }, () => l.acceptSome());
    return l;
  }

  private acceptSome(): void {
    for (let i = 0; i < 64 && !this.closed; i++) {
      const c = libc.accept4(this.fd, null, null, libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC);
      if (c < 0) {
        const e = libc.errno();
        if (e === libc.E.EAGAIN) return;
        // EMFILE/ENFILE: the pending connection stays queued and the socket
        // stays readable; pause accepting for a moment instead of spinning.
        if (e === libc.E.EMFILE || e === libc.E.ENFILE) {
          this.onError(new Error(`accept4: out of fds (errno ${e})`));
          this.watch?.update({});
          setTimeout(() => {
            if (!this.closed) this.watch?.update({ readable: true });
          }, 100).unref();
          return;
        }
        if (e === libc.E.EINTR || e === libc.E.ECONNRESET) continue;
        this.onError(new Error(`accept4: errno ${e}`));
        return;
      }
      this.onConnection(new PacketSocket(c));
    }
  }

  /** Stops listening and removes the socket file. Open connections are not touched. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    libc.close(this.fd);
    try {
      fs.unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/**
 * Connects to a SOCK_SEQPACKET unix socket without blocking: a unix connect
 * either completes at once or fails (EAGAIN when the listener's backlog is
 * full: retried for up to `timeoutMs`).
 */
export async function connectPacket(path: string, timeoutMs = 5000): Promise<PacketSocket> {
  const { addr, len } = libc.sockaddrUn(path);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_SEQPACKET | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_SEQPACKET): errno ${libc.errno()}`);
    if (libc.connect(fd, addr, len) === 0) return new PacketSocket(fd);
    const e = libc.errno();
    libc.close(fd);
    if (e !== libc.E.EAGAIN || Date.now() >= deadline) {
      const err = new Error(`connect ${path}: errno ${e}`) as NodeJS.ErrnoException;
      err.errno = e;
      err.code = e === libc.E.ENOENT ? 'ENOENT' : e === libc.E.ECONNREFUSED ? 'ECONNREFUSED' : e === libc.E.EAGAIN ? 'EAGAIN' : 'EIO';
      throw err;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
