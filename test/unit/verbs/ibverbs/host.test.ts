/**
 * What the libibverbs backend does on a host without RDMA devices (this
 * machine): the library loads, lists nothing, refuses to open a device, and
 * the daemon's `auto` mode falls back to the simulated device. Also the event
 * poller, which needs no device.
 */
import { existsSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import * as libc from '../../../../src/sys/libc.js';
import { selectBackend } from '../../../../src/daemon/backend.js';
import { VerbsError } from '../../../../src/verbs/errno.js';
import { LibraryMissingError, loadIbverbs } from '../../../../src/verbs/ibverbs/binding.js';
import { createIbverbsBackend } from '../../../../src/verbs/ibverbs/index.js';
import { FdPoller } from '../../../../src/verbs/ibverbs/poller.js';

const log = pino({ level: 'silent' });
const haveLib = ['/usr/lib/x86_64-linux-gnu/libibverbs.so.1', '/usr/lib/aarch64-linux-gnu/libibverbs.so.1', '/usr/lib64/libibverbs.so.1'].some(existsSync);
const haveDevices = existsSync('/sys/class/infiniband_verbs') && existsSync('/dev/infiniband');

describe('libibverbs missing', () => {
  it('fails with an error naming the Debian packages', () => {
    let err: unknown;
    try {
      loadIbverbs('libibverbs-not-here.so.1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LibraryMissingError);
    expect((err as Error).message).toMatch(/libibverbs1/);
    expect((err as Error).message).toMatch(/ibverbs-providers/);
  });
});

describe.skipIf(!haveLib || haveDevices)('libibverbs backend on a host without RDMA devices', () => {
  it('lists no devices and refuses to open one with ENODEV', async () => {
    const b = createIbverbsBackend({ log });
    expect(await b.listDevices()).toEqual([]);
    const e = await b.openDevice('rxe0').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VerbsError);
    expect((e as VerbsError).errno).toBe(19);
  });

  it('--device auto falls back to the simulated device, --device ibverbs refuses to serve no device', async () => {
    expect((await selectBackend('auto', log)).kind).toBe('sim');
    await expect(selectBackend('ibverbs', log)).rejects.toThrow(/--device ibverbs: the host has no RDMA devices/);
  });

  it('watches devices without reporting any and stops cleanly', async () => {
    const b = createIbverbsBackend({ log, watchIntervalMs: 50 });
    const seen: unknown[] = [];
    const stop = b.watchDevices((c) => seen.push(c));
    await new Promise((r) => setTimeout(r, 200));
    stop();
    expect(seen).toEqual([]);
  });
});

describe('FdPoller', () => {
  function efd(): number {
    const fd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
    expect(fd).toBeGreaterThanOrEqual(0);
    return fd;
  }
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(1n);
  const drain = (fd: number): boolean => {
    const b = Buffer.alloc(8);
    return Number(libc.read(fd, b, 8)) === 8;
  };

  it('calls the handler of each readable fd, on the main thread, with one poll for all of them', async () => {
    const p = new FdPoller();
    const a = efd();
    const c = efd();
    const hits: string[] = [];
    let done!: () => void;
    const twice = new Promise<void>((r) => (done = r));
    const ua = p.watch(a, () => {
      while (drain(a)) hits.push('a');
      if (hits.length >= 2) done();
    });
    const uc = p.watch(c, () => {
      while (drain(c)) hits.push('c');
      if (hits.length >= 2) done();
    });
    expect(p.size).toBe(2);
    // The poll is already waiting on a worker: writing wakes it, and the event loop kept running meanwhile.
    await new Promise((r) => setTimeout(r, 20));
    libc.write(a, one, 8);
    libc.write(c, one, 8);
    await twice;
    expect(hits.sort()).toEqual(['a', 'c']);
    ua();
    uc();
    expect(p.size).toBe(0);
    libc.close(a);
    libc.close(c);
  });

  it('picks up an fd added while a poll is in flight, and forgets an unwatched one', async () => {
    const p = new FdPoller();
    const a = efd();
    const b = efd();
    let aHits = 0;
    const ua = p.watch(a, () => {
      while (drain(a)) aHits++;
    });
    await new Promise((r) => setTimeout(r, 20));
    const got = new Promise<void>((r) => {
      p.watch(b, () => {
        while (drain(b));
        r();
      });
    });
    libc.write(b, one, 8);
    await got;
    ua();
    libc.write(a, one, 8);
    await new Promise((r) => setTimeout(r, 50));
    expect(aHits).toBe(0);
    libc.close(a);
    libc.close(b);
  });
});
