/**
 * Waits for readability of many fds with ONE poll(2) at a time on a libuv
 * worker thread (koffi async), then calls each ready fd's handler on the main
 * thread, where it reads the (non-blocking) fd until EAGAIN.
 *
 * Why this shape (DESIGN.md, "Blocking calls off the event loop"): a blocked
 * read per completion channel would pin one of the four pool threads each;
 * one poll over every fd pins one thread for the whole backend. An eventfd is
 * always in the set so that adding or removing an fd wakes the poll up and
 * the next round uses the new set.
 */
import * as libc from '../../sys/libc.js';
import { NativeBlock } from './binding.js';

/** Called with the revents bits; returns false when the fd is dead and must no longer be watched. */
export type ReadableHandler = (revents: number) => boolean | void;

interface Watch {
  readonly fd: number;
  readonly handler: ReadableHandler;
}

/** The longest a round waits, so a stuck wakeup can never hang the poller. */
const ROUND_MS = 1000;

export class FdPoller {
  private readonly watches = new Map<number, Watch>();
  private wakeFd = -1;
  private block: NativeBlock | null = null;
  private inFlight = false;
  private dispatching = false;
  private wakePending = false;
  private readonly eight = Buffer.alloc(8);

  constructor(private readonly onError: (e: unknown) => void = () => {}) {}

  /** Starts watching `fd`; returns the function that stops it. The caller keeps owning the fd. */
  watch(fd: number, handler: ReadableHandler): () => void {
    const w: Watch = { fd, handler };
    this.watches.set(fd, w);
    this.kick();
    return () => {
      if (this.watches.get(fd) === w) {
        this.watches.delete(fd);
        this.kick();
      }
    };
  }

  get size(): number {
    return this.watches.size;
  }

  private kick(): void {
    // During dispatch the next round is started right after, with the current set.
    if (this.dispatching) return;
    if (this.inFlight) {
      if (!this.wakePending && this.wakeFd >= 0) {
        this.wakePending = true;
        this.eight.writeBigUInt64LE(1n);
        libc.write(this.wakeFd, this.eight, 8);
      }
      return;
    }
    if (this.watches.size > 0) this.round();
  }

  private round(): void {
    if (this.wakeFd < 0) {
      this.wakeFd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
      if (this.wakeFd < 0) throw new Error(`eventfd failed (errno ${libc.errno()})`);
    }
    const fds = [...this.watches.keys()];
    const n = fds.length + 1;
    const need = n * libc.POLLFD_SIZE;
    if (!this.block || this.block.size < need) {
      this.block?.free();
      this.block = new NativeBlock(Math.max(need, 64 * libc.POLLFD_SIZE));
    }
    const b = this.block;
    const v = b.view;
    const put = (i: number, fd: number): void => {
      v.setInt32(i * 8, fd, true);
      v.setInt16(i * 8 + 4, libc.POLLIN, true);
      v.setInt16(i * 8 + 6, 0, true);
    };
    put(0, this.wakeFd);
    fds.forEach((fd, i) => put(i + 1, fd));
    this.inFlight = true;
    libc.poll.async(b.ptr, n, ROUND_MS, (err, res) => {
      this.inFlight = false;
      this.dispatching = true;
      try {
        if (err) throw err instanceof Error ? err : new Error(String(err));
        if (res > 0) this.dispatch(fds, v);
      } catch (e) {
        this.onError(e);
      } finally {
        this.dispatching = false;
      }
      if (this.watches.size > 0) this.round();
      else this.idle();
    });
  }

  private dispatch(fds: number[], v: DataView): void {
    const wakeRevents = v.getInt16(6, true);
    if (wakeRevents) {
      libc.read(this.wakeFd, this.eight, 8);
      this.wakePending = false;
    }
    for (let i = 0; i < fds.length; i++) {
      const revents = v.getInt16((i + 1) * 8 + 6, true);
      if (!revents) continue;
      const fd = fds[i] as number;
      // Only fds still watched: one unwatched (and maybe closed, its number reused) during the round is skipped.
      const w = this.watches.get(fd);
      if (!w) continue;
      let keep: boolean | void = true;
      try {
        keep = w.handler(revents);
      } catch (e) {
        this.onError(e);
      }
      if (keep === false || revents & libc.POLLNVAL) {
        if (this.watches.get(fd) === w) this.watches.delete(fd);
      }
    }
  }

  /** Nothing left to watch: release the wakeup fd and the array, so an idle backend holds nothing. */
  private idle(): void {
    if (this.wakeFd >= 0) libc.close(this.wakeFd);
    this.wakeFd = -1;
    this.wakePending = false;
    this.block?.free();
    this.block = null;
  }
}
