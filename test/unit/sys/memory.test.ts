import { afterEach, describe, expect, it } from 'vitest';
import * as libc from '../../../src/sys/libc.js';
import { SharedMemory, SysError, checkMemoryFd, mapFd, pageRound } from '../../../src/sys/memory.js';

const opened: number[] = [];
function memfd(size: number, flags = libc.MFD_CLOEXEC): number {
  const fd = libc.memfd_create('test', flags);
  expect(fd).toBeGreaterThanOrEqual(0);
  expect(libc.ftruncate(fd, size)).toBe(0);
  opened.push(fd);
  return fd;
}
afterEach(() => {
  for (const fd of opened.splice(0)) libc.close(fd);
});

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return (e as SysError).errno;
  }
  return undefined;
}

describe('SharedMemory.create', () => {
  it('maps a page-rounded memfd and moves bytes both ways', () => {
    const m = SharedMemory.create(100);
    expect(m.length).toBe(100);
    expect(m.mappedLength).toBe(pageRound(100));
    expect(m.addr % BigInt(libc.PAGE_SIZE)).toBe(0n);
    expect(libc.fstat(m.fd)?.size).toBe(BigInt(libc.PAGE_SIZE));
    m.write(10, Buffer.from('hello'));
    expect(m.read(10, 5).toString()).toBe('hello');
    // The pages are the memfd's: a pread on the fd sees the write.
    const b = Buffer.alloc(5);
    expect(Number(libc.pread(m.fd, b, 5, 10))).toBe(5);
    expect(b.toString()).toBe('hello');
    m.close();
  });

  it('rejects out-of-range access and bad lengths', () => {
    const m = SharedMemory.create(16);
    expect(errnoOf(() => m.read(10, 7))).toBe(libc.E.EINVAL);
    expect(errnoOf(() => m.write(-1, Buffer.alloc(1)))).toBe(libc.E.EINVAL);
    m.close();
    expect(errnoOf(() => SharedMemory.create(0))).toBe(libc.E.EINVAL);
    expect(errnoOf(() => SharedMemory.create(1.5))).toBe(libc.E.EINVAL);
    // Larger than one Buffer can view: refused (it used to abort the process).
    expect(errnoOf(() => SharedMemory.create(2 ** 40))).toBe(libc.E.ENOMEM);
  });

  it('throws instead of touching memory after close, and close is idempotent', () => {
    const m = SharedMemory.create(4096);
    const copy = m.read(0, 8);
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(m.fd).toBe(-1);
    expect(errnoOf(() => m.read(0, 1))).toBe(libc.E.EBADF);
    expect(errnoOf(() => m.write(0, Buffer.alloc(1)))).toBe(libc.E.EBADF);
    expect(errnoOf(() => m.withView((v) => v[0]))).toBe(libc.E.EBADF);
    expect(copy.length).toBe(8); // copies outlive the mapping
  });

  it('a region never read before close throws the same (its view is made on first access)', () => {
    const m = SharedMemory.create(4096);
    expect(m.closed).toBe(false);
    m.close();
    expect(m.closed).toBe(true);
    expect(errnoOf(() => m.read(0, 1))).toBe(libc.E.EBADF);
    expect(errnoOf(() => m.withView((v) => v[0]))).toBe(libc.E.EBADF);
    // A view made once serves every later access, and close still ends it.
    const n = SharedMemory.create(100);
    n.write(0, Buffer.from('abc'));
    expect(n.withView((v) => v.length)).toBe(100);
    expect(n.read(0, 3).toString()).toBe('abc');
    n.close();
    expect(errnoOf(() => n.read(0, 1))).toBe(libc.E.EBADF);
  });

  it('seals the size so a holder of the fd cannot shrink it', () => {
    const m = SharedMemory.create(8192);
    expect(libc.fcntl(m.fd, libc.F_GET_SEALS, 0) & libc.F_SEAL_SHRINK).toBe(libc.F_SEAL_SHRINK);
    expect(libc.ftruncate(m.fd, 0)).toBe(-1);
    m.close();
  });

  it('copies between regions', () => {
    const a = SharedMemory.create(64);
    const b = SharedMemory.create(64);
    a.write(0, Buffer.from('abcdef'));
    b.copyFrom(3, a, 1, 4);
    expect(b.read(3, 4).toString()).toBe('bcde');
    a.close();
    b.close();
  });
});

describe('mapFd', () => {
  it('maps a client memfd at a page offset and shares its pages', () => {
    const fd = memfd(3 * libc.PAGE_SIZE);
    const m = mapFd(fd, libc.PAGE_SIZE, 100);
    expect(m.fdOffset).toBe(libc.PAGE_SIZE);
    expect(m.fd).not.toBe(fd); // its own dup
    m.write(0, Buffer.from('xyz'));
    const b = Buffer.alloc(3);
    libc.pread(fd, b, 3, libc.PAGE_SIZE);
    expect(b.toString()).toBe('xyz');
    libc.pwrite(fd, Buffer.from('Q'), 1, libc.PAGE_SIZE + 1);
    expect(m.read(0, 3).toString()).toBe('xQz');
    m.close();
    // The client's fd is untouched by close.
    expect(libc.fstat(fd)).not.toBeNull();
  });

  it('adds F_SEAL_SHRINK when the memfd allows sealing', () => {
    const fd = memfd(libc.PAGE_SIZE, libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    const m = mapFd(fd, 0, libc.PAGE_SIZE);
    expect(libc.fcntl(fd, libc.F_GET_SEALS, 0) & libc.F_SEAL_SHRINK).toBe(libc.F_SEAL_SHRINK);
    m.close();
  });

  it('rejects bad input with EINVAL', () => {
    const fd = memfd(2 * libc.PAGE_SIZE);
    expect(errnoOf(() => mapFd(fd, 1, 10))).toBe(libc.E.EINVAL); // unaligned offset
    expect(errnoOf(() => mapFd(fd, 0, 0))).toBe(libc.E.EINVAL); // empty
    expect(errnoOf(() => mapFd(fd, libc.PAGE_SIZE, libc.PAGE_SIZE + 1))).toBe(libc.E.EINVAL); // past EOF
    expect(errnoOf(() => mapFd(fd, -libc.PAGE_SIZE, 10))).toBe(libc.E.EINVAL);
    expect(errnoOf(() => mapFd(987654, 0, 10))).toBe(libc.E.EINVAL); // not an fd
    expect(errnoOf(() => mapFd(-1, 0, 10))).toBe(libc.E.EINVAL);
  });

  it('rejects an fd that is not a regular file (a pipe end is not mappable memory)', async () => {
    const { openSync, closeSync } = await import('node:fs');
    const dev = openSync('/dev/null', 'r+');
    try {
      expect(errnoOf(() => mapFd(dev, 0, 10))).toBe(libc.E.EINVAL);
    } finally {
      closeSync(dev);
    }
  });

  it('leaks no fds on failure', () => {
    const fd = memfd(libc.PAGE_SIZE);
    const probe = libc.dup(0);
    libc.close(probe);
    for (let i = 0; i < 20; i++) expect(errnoOf(() => mapFd(fd, 0, 2 * libc.PAGE_SIZE))).toBe(libc.E.EINVAL);
    const after = libc.dup(0);
    libc.close(after);
    expect(after).toBe(probe);
  });
});

describe('checkMemoryFd (strict: fds handed in over the fd channel)', () => {
  it('refuses write-sealed memfds (also in mapFd)', () => {
    const fd = memfd(libc.PAGE_SIZE, libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    expect(libc.fcntl(fd, libc.F_ADD_SEALS, libc.F_SEAL_WRITE)).toBe(0);
    expect(errnoOf(() => mapFd(fd, 0, 10))).toBe(libc.E.EINVAL);
    expect(errnoOf(() => checkMemoryFd(fd, 0, 10, true))).toBe(libc.E.EINVAL);
  });

  it('refuses memory that could shrink under the daemon, and files that are not shared memory', async () => {
    const unsealable = memfd(libc.PAGE_SIZE);
    expect(errnoOf(() => checkMemoryFd(unsealable, 0, 10, true))).toBe(libc.E.EINVAL);
    expect(errnoOf(() => checkMemoryFd(unsealable, 0, 10, false))).toBeUndefined();
    const { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/rb-mem-`);
    writeFileSync(`${dir}/f`, Buffer.alloc(libc.PAGE_SIZE));
    const disk = openSync(`${dir}/f`, 'r+');
    try {
      if (libc.fsType(disk) !== libc.TMPFS_MAGIC) expect(errnoOf(() => checkMemoryFd(disk, 0, 10, true))).toBe(libc.E.EINVAL);
    } finally {
      closeSync(disk);
      rmSync(dir, { recursive: true });
    }
  });

  it('seals a sealable memfd against shrinking and accepts it', () => {
    const fd = memfd(2 * libc.PAGE_SIZE, libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    expect(errnoOf(() => checkMemoryFd(fd, libc.PAGE_SIZE, libc.PAGE_SIZE, true))).toBeUndefined();
    expect(libc.fcntl(fd, libc.F_GET_SEALS, 0) & libc.F_SEAL_SHRINK).toBe(libc.F_SEAL_SHRINK);
    expect(libc.ftruncate(fd, 0)).toBe(-1);
    expect(errnoOf(() => checkMemoryFd(fd, libc.PAGE_SIZE, libc.PAGE_SIZE + 1, true))).toBe(libc.E.EINVAL);
  });
});
