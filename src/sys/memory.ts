/**
 * Shared memory for MRs: the daemon can only register memory mapped in its
 * own address space, so MR memory is a memfd mapped MAP_SHARED here and in
 * the client (DESIGN.md, "An MR registers the caller's virtual memory").
 *
 * Two ways in:
 * - {@link SharedMemory.create}: the daemon makes a memfd of N bytes and maps it.
 * - {@link mapFd}: a memfd (or tmpfs file) a client handed in, validated first.
 *
 * Both return a {@link SharedMemory}. Its pages are only touched through
 * methods that check the mapping is still there: after {@link SharedMemory.close}
 * (munmap + close) every access throws, instead of faulting on unmapped memory.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as libc from './libc.js';

/** A failed system call, with the C name and errno (callers map it to their own error class). */
export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? `${call}: errno ${errno}`);
    this.name = 'SysError';
  }
}

/** Rounds up to a whole number of pages. */
export function pageRound(n: number): number {
  return Math.ceil(n / libc.PAGE_SIZE) * libc.PAGE_SIZE;
}

// Lengths are JS numbers; beyond 2^53 they stop being exact, and nobody maps that much.
const MAX_LENGTH = Number.MAX_SAFE_INTEGER - libc.PAGE_SIZE;
/** The largest mapping the daemon can view as one Buffer. */
const MAX_VIEW = bufferConstants.MAX_LENGTH - (bufferConstants.MAX_LENGTH % libc.PAGE_SIZE);

/** A memfd (or file) region mapped MAP_SHARED into the daemon. */
export class SharedMemory {
  /**
   * The daemon's view of the pages, made on the first access: most MRs
   * are only registered and their pages reached by the device (or the
   * client's mapping), and a view costs an external ArrayBuffer for the
   * collector to track. Null before the first access and after close.
   */
  private buf: Buffer | null = null;
  private ptr: libc.Pointer | null;
  private fdValue: number;

  private constructor(
    fd: number,
    ptr: libc.Pointer,
    /** The virtual address of the first byte of the region in the daemon. */
    readonly addr: bigint,
    /** The region's length in bytes (as asked; the mapping itself is page-rounded). */
    readonly length: number,
    /** The page-rounded size of the mapping. */
    readonly mappedLength: number,
    /** Offset of the region's first byte in {@link fd}. */
    readonly fdOffset: number,
    /** Whether this object owns (and closes) {@link fd}. */
    private readonly ownsFd: boolean,
  ) {
    this.fdValue = fd;
    this.ptr = ptr;
  }

  /**
   * Creates a memfd of `length` bytes (rounded up to pages) and maps it.
   * Sealing is allowed and the size is sealed, so no holder of a dup of the
   * fd can shrink it under the daemon (a shrunk mapping SIGBUSes on access).
   */
  static create(length: number, name = 'rdma-broker-mr'): SharedMemory {
    if (!Number.isInteger(length) || length <= 0 || length > MAX_LENGTH) {
      throw new SysError('memfd_create', libc.E.EINVAL, `invalid length ${length}`);
    }
    const size = pageRound(length);
    const fd = libc.memfd_create(name, libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    if (fd < 0) throw new SysError('memfd_create', libc.errno());
    try {
      if (libc.ftruncate(fd, size) !== 0) throw new SysError('ftruncate', libc.errno());
      // Clients may grow it if they like, but never shrink it.
      libc.fcntl(fd, libc.F_ADD_SEALS, libc.F_SEAL_SHRINK);
      return SharedMemory.map(fd, 0, length, size, true);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  private static map(fd: number, offset: number, length: number, size: number, ownsFd: boolean): SharedMemory {
    // The mapping is viewed as one Buffer: past Node's Buffer limit the view
    // would abort the process (koffi), so a region that large is refused.
    if (size > MAX_VIEW) throw new SysError('mmap', libc.E.ENOMEM, `cannot map ${length} bytes (at most ${MAX_VIEW - libc.PAGE_SIZE} in one region)`);
    const p = libc.mmap(null, size, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd, offset);
    if (p === null || libc.isMapFailed(p)) throw new SysError('mmap', libc.errno());
    return new SharedMemory(fd, p, libc.addressOf(p), length, size, offset, ownsFd);
  }

  /** @internal used by {@link mapFd} */
  static mapValidated(fd: number, offset: number, length: number): SharedMemory {
    const own = libc.fcntl(fd, libc.F_DUPFD_CLOEXEC, 3);
    if (own < 0) throw new SysError('fcntl', libc.errno());
    try {
      return SharedMemory.map(own, offset, length, pageRound(length), true);
    } catch (e) {
      libc.close(own);
      throw e;
    }
  }

  /** The memfd backing the pages (owned by this object; dup it before passing it on). -1 after close. */
  get fd(): number {
    return this.fdValue;
  }

  get closed(): boolean {
    return this.ptr === null;
  }

  private live(call: string): Buffer {
    if (this.buf !== null) return this.buf;
    if (this.ptr === null) throw new SysError(call, libc.E.EBADF, `${call}: the shared memory is closed`);
    this.buf = Buffer.from(libc.viewOf(this.ptr, this.mappedLength), 0, this.length);
    return this.buf;
  }

  private check(call: string, offset: number, length: number): Buffer {
    const b = this.live(call);
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new SysError(call, libc.E.EINVAL, `${call}: range [${offset}, ${offset + length}) is outside the region (${this.length} bytes)`);
    }
    return b;
  }

  /** Copies `length` bytes at `offset` out of the region (the copy outlives the mapping). */
  read(offset: number, length: number): Buffer {
    const b = this.check('read', offset, length);
    return Buffer.from(b.subarray(offset, offset + length));
  }

  /** Copies `data` into the region at `offset`. */
  write(offset: number, data: Uint8Array): void {
    const b = this.check('write', offset, data.length);
    b.set(data, offset);
  }

  /** Copies `length` bytes from `src` at `srcOffset` into this region at `offset`, without a temporary. */
  copyFrom(offset: number, src: SharedMemory, srcOffset: number, length: number): void {
    const d = this.check('copy', offset, length);
    const s = src.check('copy', srcOffset, length);
    s.copy(d, offset, srcOffset, srcOffset + length);
  }

  /** Fills `length` bytes at `offset` with `value`. */
  fill(offset: number, length: number, value: number): void {
    this.check('fill', offset, length).fill(value, offset, offset + length);
  }

  /**
   * Runs `fn` over a view of the region. The view is only valid during the
   * call: it must not be kept (it would point at unmapped memory after close).
   */
  withView<T>(fn: (view: Buffer) => T): T {
    return fn(this.live('view'));
  }

  /** Unmaps the region and closes the fd. Idempotent. */
  close(): void {
    if (this.ptr === null) return;
    // Drop the view first so nothing in this object can reach the pages again.
    this.buf = null;
    libc.munmap(this.ptr, this.mappedLength);
    this.ptr = null;
    if (this.ownsFd) libc.close(this.fdValue);
    this.fdValue = -1;
  }
}

/**
 * Checks that `fd` is memory a process may hand to the daemon for an MR:
 * a regular file holding `[offset, offset + length)`, `offset` a multiple of
 * the page size, and not write-sealed (F_SEAL_WRITE / F_SEAL_FUTURE_WRITE:
 * the device writes these pages, and a shared writable mapping would fail).
 *
 * With `strict` (fds that come in over the fd channel), also: the file is
 * shared memory (a memfd or a tmpfs / hugetlbfs file), and it cannot shrink:
 * F_SEAL_SHRINK is already set or is added here. A file that could shrink
 * under the daemon would make its next access to those pages a SIGBUS,
 * which kills the daemon for every tenant; so a memfd created without
 * MFD_ALLOW_SEALING, or a /dev/shm file, is refused.
 *
 * Throws SysError(EINVAL) naming what is wrong; opens and maps nothing.
 */
export function checkMemoryFd(fd: number, offset: number, length: number, strict = false): void {
  const bad = (why: string): SysError => new SysError('mmap', libc.E.EINVAL, `mapFd: ${why}`);
  if (!Number.isInteger(fd) || fd < 0) throw bad(`bad fd ${fd}`);
  if (!Number.isInteger(offset) || offset < 0 || offset % libc.PAGE_SIZE !== 0) {
    throw bad(`offset ${offset} is not a multiple of the page size (${libc.PAGE_SIZE})`);
  }
  if (!Number.isInteger(length) || length <= 0 || length > MAX_LENGTH || offset + length > MAX_LENGTH) {
    throw bad(`invalid length ${length}`);
  }
  const st = libc.fstat(fd);
  if (st === null) {
    const e = libc.errno();
    throw new SysError('fstat', e === libc.E.EBADF ? libc.E.EINVAL : e, `mapFd: fstat(${fd}) failed (errno ${e})`);
  }
  if ((st.mode & libc.S_IFMT) !== libc.S_IFREG) throw bad(`fd ${fd} is not a memfd or regular file`);
  if (st.size < BigInt(offset + length)) throw bad(`fd ${fd} has ${st.size} bytes, needs ${offset + length}`);
  const seals = libc.fcntl(fd, libc.F_GET_SEALS, 0);
  if (seals >= 0 && seals & (libc.F_SEAL_WRITE | libc.F_SEAL_FUTURE_WRITE)) throw bad(`fd ${fd} is sealed against writes`);
  if (strict) {
    const fs = libc.fsType(fd);
    if (fs !== libc.TMPFS_MAGIC && fs !== libc.HUGETLBFS_MAGIC) throw bad(`fd ${fd} is not shared memory (a memfd or a tmpfs file)`);
    if (seals < 0) throw bad(`fd ${fd} cannot be sealed: create it with memfd_create(MFD_ALLOW_SEALING)`);
    if (!(seals & libc.F_SEAL_SHRINK)) {
      if (seals & libc.F_SEAL_SEAL || libc.fcntl(fd, libc.F_ADD_SEALS, libc.F_SEAL_SHRINK) !== 0) {
        throw bad(`fd ${fd} can shrink and cannot be sealed against it: create it with MFD_ALLOW_SEALING or add F_SEAL_SHRINK`);
      }
    }
  }
}

/**
 * Maps `length` bytes at `offset` of a client's memfd (or regular tmpfs file).
 * The caller keeps its fd; the mapping holds its own dup (close-on-exec), so
 * {@link SharedMemory.fd} stays valid whatever the client does with its copy.
 *
 * Validation ({@link checkMemoryFd}; EINVAL on failure, nothing left mapped
 * or open): a regular file, `offset` a non-negative multiple of the page
 * size, `length` > 0, the file at least `offset + length` bytes long, not
 * write-sealed. If the memfd allows sealing, F_SEAL_SHRINK is added so the
 * client cannot truncate the pages under the daemon; a memfd that cannot be
 * sealed is accepted here (the fd channel refuses it with `strict`).
 */
export function mapFd(fd: number, offset: number, length: number): SharedMemory {
  checkMemoryFd(fd, offset, length);
  const seals = libc.fcntl(fd, libc.F_GET_SEALS, 0);
  if (seals >= 0 && (seals & (libc.F_SEAL_SEAL | libc.F_SEAL_SHRINK)) === 0) {
    libc.fcntl(fd, libc.F_ADD_SEALS, libc.F_SEAL_SHRINK);
  }
  return SharedMemory.mapValidated(fd, offset, length);
}
