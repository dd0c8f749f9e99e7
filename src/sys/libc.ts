/**
 * The one koffi binding of the C library. Everything the daemon calls in libc
 * is declared here, typed, so no other module loads libc or spells a C
 * signature. The fd channel (src/fdpass) uses the socket calls below.
 *
 * Conventions:
 * - Functions return what libc returns (-1 on failure); read {@link errno}
 *   right after the call, before anything else can run on this thread.
 * - Pointers are koffi externals ({@link Pointer}); {@link addressOf} turns
 *   one into the numeric virtual address (a bigint).
 * - koffi has no `ssize_t`/`off_t` type names: `intptr_t` and `int64_t`
 *   stand in for them (x86_64 and aarch64 Linux, LP64).
 */
import koffi from 'koffi';

/** An opaque native pointer (a koffi external). */
export type Pointer = object;

const lib = koffi.load('libc.so.6');

// ---------------------------------------------------------------- constants

/** memfd_create flags */
export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;

/** mmap prot / flags */
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;

/** fcntl commands */
export const F_DUPFD_CLOEXEC = 1030;
export const F_GETFD = 1;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;
export const F_GET_SEALS = 1034;
export const F_ADD_SEALS = 1033;
export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;

/** open / pipe2 flags */
export const O_CLOEXEC = 0o2000000;
/** Since Linux 5.1: no new writable mappings (memfd). */
export const F_SEAL_FUTURE_WRITE = 0x0010;

/** Sockets (Linux values; the same on x86_64 and aarch64). */
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const SOL_SOCKET = 1;
export const SO_PEERCRED = 17;
export const SO_SNDBUF = 7;
export const SCM_RIGHTS = 1;
export const MSG_CTRUNC = 0x08;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SHUT_RDWR = 2;

/** statfs f_type of the filesystems whose files are shared memory (memfd, /dev/shm, hugetlb memfd). */
export const TMPFS_MAGIC = 0x01021994;
export const HUGETLBFS_MAGIC = 0x958458f6;

/** lseek whence */
export const SEEK_SET = 0;
export const SEEK_END = 2;

/** st_mode file type bits */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;

/** The errno values this module's callers look at. */
export const E = {
  EPERM: 1,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTSOCK: 88,
  EPIPE: 32,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  ENOENT: 2,
  EINPROGRESS: 115,
} as const;

/** The kernel page size (sysconf(_SC_PAGESIZE)); 4096 on every target we run. */
const sysconf = lib.func('long sysconf(int name)') as (name: number) => number;
const SC_PAGESIZE = 30;
export const PAGE_SIZE: number = Number(sysconf(SC_PAGESIZE)) > 0 ? Number(sysconf(SC_PAGESIZE)) : 4096;

// ---------------------------------------------------------------- functions

/** int memfd_create(const char *name, unsigned int flags) */
export const memfd_create = lib.func('int memfd_create(const char *name, unsigned int flags)') as (
  name: string,
  flags: number,
) => number;

/** int ftruncate(int fd, off_t length) */
export const ftruncate = lib.func('int ftruncate(int fd, int64_t length)') as (fd: number, length: number | bigint) => number;

/**
 * void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
 * Failure is MAP_FAILED ((void *)-1): test it with {@link isMapFailed}.
 */
export const mmap = lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as (
  addr: Pointer | null,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number | bigint,
) => Pointer | null;

/** int munmap(void *addr, size_t length) */
export const munmap = lib.func('int munmap(void *addr, size_t length)') as (addr: Pointer, length: number) => number;

/** off_t lseek(int fd, off_t offset, int whence) */
export const lseek = lib.func('int64_t lseek(int fd, int64_t offset, int whence)') as (
  fd: number,
  offset: number | bigint,
  whence: number,
) => bigint | number;

/** int fcntl(int fd, int cmd, int arg): the int-argument form only. */
export const fcntl = lib.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number;

/** int close(int fd) */
export const close = lib.func('int close(int fd)') as (fd: number) => number;

const RLIMIT_NOFILE = 7;
const getrlimitRaw = lib.func('int getrlimit(int resource, _Out_ uint64_t *rlim)') as (resource: number, rlim: (number | bigint)[]) => number;
const setrlimitRaw = lib.func('int setrlimit(int resource, const uint64_t *rlim)') as (resource: number, rlim: (number | bigint)[]) => number;

/** RLIMIT_NOFILE (soft, hard), or null when getrlimit fails. */
export function nofileLimit(): { soft: number; hard: number } | null {
  const r: (number | bigint)[] = [0, 0];
  if (getrlimitRaw(RLIMIT_NOFILE, r) !== 0) return null;
  // RLIM_INFINITY does not happen for NOFILE (the kernel caps it at nr_open); clamp anyway.
  const n = (v: number | bigint): number => Math.min(Number(v), Number.MAX_SAFE_INTEGER);
  return { soft: n(r[0]!), hard: n(r[1]!) };
}

/**
 * Raises the soft RLIMIT_NOFILE to the hard one (node usually has already:
 * done here so the daemon does not depend on it) and returns the limits in
 * force; null when they cannot be read.
 */
export function raiseNofileLimit(): { soft: number; hard: number; errno: number } | null {
  const r: (number | bigint)[] = [0, 0];
  if (getrlimitRaw(RLIMIT_NOFILE, r) !== 0) return null;
  const e = BigInt(r[0]!) < BigInt(r[1]!) && setrlimitRaw(RLIMIT_NOFILE, [r[1]!, r[1]!]) !== 0 ? errno() : 0;
  const now = nofileLimit();
  return now && { ...now, errno: e };
}

/** int dup(int fd) */
export const dup = lib.func('int dup(int fd)') as (fd: number) => number;

/** eventfd flags */
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

/** poll events */
export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
/** sizeof(struct pollfd): int fd; short events; short revents. */
export const POLLFD_SIZE = 8;

/** int eventfd(unsigned int initval, int flags) */
export const eventfd = lib.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number;

/**
 * int poll(struct pollfd *fds, nfds_t nfds, int timeout). `fds` is a native
 * address (bigint) so the array stays put while the call waits on a worker
 * thread (`poll.async`).
 */
export const poll = lib.func('int poll(void *fds, uint64_t nfds, int timeout)') as ((fds: bigint, nfds: number, timeout: number) => number) & {
  async: (fds: bigint, nfds: number, timeout: number, cb: (err: unknown, res: number) => void) => void;
};

/** ssize_t read(int fd, void *buf, size_t count) */
export const read = lib.func('intptr_t read(int fd, _Out_ uint8_t *buf, size_t count)') as (fd: number, buf: Buffer, count: number) => number | bigint;

/** ssize_t write(int fd, const void *buf, size_t count) */
export const write = lib.func('intptr_t write(int fd, const uint8_t *buf, size_t count)') as (fd: number, buf: Uint8Array, count: number) => number | bigint;

/** Sets O_NONBLOCK on an fd; returns false (errno() tells why) on failure. */
export function setNonBlocking(fd: number): boolean {
  const fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0) return false;
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) === 0;
}

// glibc >= 2.33 exports fstat itself (older ones only had __fxstat); the
// struct is read by offset below, so only the buffer size matters here.
const fstatRaw = lib.func('int fstat(int fd, _Out_ uint8_t *buf)') as (fd: number, buf: Buffer) => number;

/** ssize_t pread(int fd, void *buf, size_t count, off_t offset): used by tests to read a memfd back. */
export const pread = lib.func('intptr_t pread(int fd, _Out_ uint8_t *buf, size_t count, int64_t offset)') as (
  fd: number,
  buf: Buffer,
  count: number,
  offset: number | bigint,
) => number | bigint;

/** ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) */
export const pwrite = lib.func('intptr_t pwrite(int fd, const uint8_t *buf, size_t count, int64_t offset)') as (
  fd: number,
  buf: Uint8Array,
  count: number,
  offset: number | bigint,
) => number | bigint;

/** int pipe2(int fds[2], int flags) */
const pipe2Raw = lib.func('int pipe2(_Out_ int *fds, int flags)') as (fds: number[], flags: number) => number;
/** pipe2(2): [read end, write end], or null on failure (errno() tells why). */
export function pipe2(flags: number): [number, number] | null {
  const fds = [-1, -1];
  if (pipe2Raw(fds, flags) !== 0) return null;
  return [fds[0]!, fds[1]!];
}

/** int socket(int domain, int type, int protocol) */
export const socket = lib.func('int socket(int domain, int type, int protocol)') as (domain: number, type: number, protocol: number) => number;

/** int bind(int fd, const struct sockaddr *addr, socklen_t len): addr as raw bytes (see {@link sockaddrUn}). */
export const bind = lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number;

/** int connect(int fd, const struct sockaddr *addr, socklen_t len) */
export const connect = lib.func('int connect(int fd, const uint8_t *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number;

/** int listen(int fd, int backlog) */
export const listen = lib.func('int listen(int fd, int backlog)') as (fd: number, backlog: number) => number;

/** int accept4(int fd, NULL, NULL, int flags): the peer address is not needed (SO_PEERCRED is). */
export const accept4 = lib.func('int accept4(int fd, void *addr, void *len, int flags)') as (fd: number, addr: null, len: null, flags: number) => number;

/** int shutdown(int fd, int how) */
export const shutdown = lib.func('int shutdown(int fd, int how)') as (fd: number, how: number) => number;

/**
 * ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) and recvmsg:
 * `msg` is the address of a msghdr in native memory ({@link allocNative}),
 * because the kernel writes through the pointers inside it.
 */
export const sendmsg = lib.func('intptr_t sendmsg(int fd, void *msg, int flags)') as (fd: number, msg: bigint, flags: number) => number | bigint;
export const recvmsg = lib.func('intptr_t recvmsg(int fd, void *msg, int flags)') as (fd: number, msg: bigint, flags: number) => number | bigint;

const getsockoptRaw = lib.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *val, _Inout_ uint32_t *len)') as (
  fd: number, level: number, name: number, val: Buffer, len: number[],
) => number;

/** The peer of a unix socket, as the kernel recorded it at connect time. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** getsockopt(SOL_SOCKET, SO_PEERCRED): struct ucred { pid_t pid; uid_t uid; gid_t gid; }; null on failure. */
export function peerCred(fd: number): PeerCred | null {
  const b = Buffer.alloc(12);
  if (getsockoptRaw(fd, SOL_SOCKET, SO_PEERCRED, b, [12]) !== 0) return null;
  return { pid: b.readInt32LE(0), uid: b.readUInt32LE(4), gid: b.readUInt32LE(8) };
}

/** struct sockaddr_un for a filesystem path: [family u16][path, NUL-terminated]; returns the bytes and the length to pass. */
export function sockaddrUn(path: string): { addr: Buffer; len: number } {
  const p = Buffer.from(path, 'utf8');
  if (p.length === 0 || p.length > 107) throw new Error(`unix socket path must be 1..107 bytes, got ${p.length}: ${path}`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  p.copy(addr, 2);
  return { addr, len: 2 + p.length + 1 };
}

const fstatfsRaw = lib.func('int fstatfs(int fd, _Out_ uint8_t *buf)') as (fd: number, buf: Buffer) => number;

/** fstatfs(2)'s f_type (the filesystem magic; f_type is the first field, a long, on LP64); null on failure. */
export function fsType(fd: number): number | null {
  const b = Buffer.alloc(128);
  if (fstatfsRaw(fd, b) !== 0) return null;
  return Number(b.readBigUInt64LE(0) & 0xffff_ffffn);
}

// ------------------------------------------------------------ native memory

/** Allocates `size` zeroed bytes of native memory; returns its address. Free it with {@link freeNative}. */
export function allocNative(size: number): bigint {
  const p = koffi.alloc('uint8_t', size) as unknown;
  const a = koffi.address(p);
  if (!a) throw new Error(`cannot allocate ${size} bytes of native memory`);
  new Uint8Array(koffi.view(p, size)).fill(0);
  return a;
}

/** Frees memory from {@link allocNative}. */
export function freeNative(addr: bigint): void {
  koffi.free(addr);
}

/** An ArrayBuffer over native memory at `addr` (valid until it is freed). */
export function viewAt(addr: bigint, length: number): ArrayBuffer {
  return koffi.view(addr, length);
}

// ------------------------------------------------------------ event loop

/** What a {@link watchFd} callback is told: the fd is readable, writable, or its peer hung up. */
export interface FdReadiness {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

/** A file descriptor watched by Node's own event loop (libuv uv_poll, through koffi). */
export interface FdWatch {
  /** Changes the events watched (none: stops watching until the next call). */
  update(events: { readable?: boolean; writable?: boolean }): void;
  /** Stops watching; call it BEFORE closing the fd. Idempotent. */
  close(): void;
  /** Whether this watch keeps the process alive (default true). */
  ref(on: boolean): void;
}

/**
 * Watches an fd on Node's event loop: no thread blocks, and `cb` runs on the
 * main thread while the condition holds (level-triggered), so the callback
 * must drain the fd or stop watching it.
 */
export function watchFd(fd: number, events: { readable?: boolean; writable?: boolean }, cb: (status: number, ready: FdReadiness) => void): FdWatch {
  type Handle = { start(o: object, cb: (status: number, ev: FdReadiness) => void): void; stop(): void; close(): void; ref(): void; unref(): void };
  const poll = (koffi as unknown as { node: { poll(fd: number, o: object, cb: (status: number, ev: FdReadiness) => void): Handle | null } }).node.poll;
  const opts = (e: { readable?: boolean; writable?: boolean }) => ({ readable: !!e.readable, writable: !!e.writable, disconnect: true });
  const h = poll(fd, opts(events), cb);
  if (!h) throw new Error(`cannot watch fd ${fd}`);
  let closed = false;
  let running = !!(events.readable || events.writable);
  if (!running) h.stop();
  return {
    update(e) {
      if (closed) return;
      if (e.readable || e.writable) {
        h.start(opts(e), cb);
        running = true;
      } else if (running) {
        h.stop();
        running = false;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      h.close();
    },
    ref(on) {
      if (!closed) (on ? h.ref() : h.unref());
    },
  };
}

// ------------------------------------------------------------------ helpers

/** The errno of the last failed libc call on this thread. */
export function errno(): number {
  return koffi.errno();
}

/** The virtual address a native pointer holds. */
export function addressOf(p: Pointer): bigint {
  return koffi.address(p);
}

/** True when mmap returned MAP_FAILED (or NULL, which we never ask for). */
export function isMapFailed(p: Pointer | null): boolean {
  if (p === null) return true;
  const a = koffi.address(p);
  return a === 0n || a === 0xffff_ffff_ffff_ffffn;
}

/**
 * An ArrayBuffer over native memory. It does NOT keep the memory alive: after
 * munmap any access through it faults, so callers must fence it themselves.
 */
export function viewOf(p: Pointer, length: number): ArrayBuffer {
  return koffi.view(p, length);
}

/** The fields of struct stat the daemon reads. */
export interface Stat {
  mode: number;
  size: bigint;
}

// struct stat offsets per architecture (glibc, LP64): st_mode, st_size.
const STAT_LAYOUT: Record<string, { size: number; mode: number; stSize: number }> = {
  x64: { size: 144, mode: 24, stSize: 48 },
  arm64: { size: 128, mode: 16, stSize: 48 },
};

/** fstat(2); returns null on failure (errno() tells why). */
export function fstat(fd: number): Stat | null {
  const layout = STAT_LAYOUT[process.arch];
  if (!layout) throw new Error(`fstat: struct stat layout unknown on ${process.arch}`);
  const buf = Buffer.alloc(layout.size);
  if (fstatRaw(fd, buf) !== 0) return null;
  return { mode: buf.readUInt32LE(layout.mode), size: buf.readBigInt64LE(layout.stSize) };
}
