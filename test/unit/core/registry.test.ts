import { describe, expect, it, vi } from 'vitest';
import { Registry, lockReleased, tryLock, unlock, type BrokerObject } from '../../../src/core/registry.js';
import { TYPES_BY_NAME } from '../../../src/core/types/index.js';
import { BrokerError } from '../../../src/core/errors.js';
import { Status, errorRecord, statusOf } from '../../../src/core/status.js';

function make(r: Registry, type: string, owner: string, parents: BrokerObject[] = []): BrokerObject {
  const spec = TYPES_BY_NAME.get(type)!;
  const o: BrokerObject = {
    handle: r.allocHandle(), spec, type, device: 'sim0', dev: {} as never, owner: { id: owner, tenant: 't' }, userHandle: '0',
    parents, created: Date.now(), ref: { tag: 0 }, attrs: {}, bytes: 0, users: 0, readers: 0, writer: false, dead: false,
  };
  r.commit(o);
  return o;
}

describe('Registry', () => {
  it('gives never reused handles that hide other owners', () => {
    const r = new Registry();
    const a = make(r, 'pd', 's1');
    const b = make(r, 'pd', 's2');
    expect(b.handle).not.toBe(a.handle);
    expect(Math.abs(b.handle - a.handle)).toBeGreaterThan(1);
    expect(r.lookup(a.handle, { id: 's1', tenant: 't' })).toBe(a);
    expect(() => r.lookup(a.handle, { id: 's2', tenant: 't' })).toThrow(/no such object/);
    r.remove(a);
    const c = make(r, 'pd', 's1');
    expect(c.handle).not.toBe(a.handle);
    expect(() => r.lookup(a.handle, { id: 's1', tenant: 't' })).toThrow(/no such object/);
  });

  it('counts users of parents and orders cleanup children first', () => {
    const r = new Registry();
    const pd = make(r, 'pd', 's');
    const cq = make(r, 'cq', 's');
    const qp = make(r, 'qp', 's', [pd, cq, cq]);
    expect(pd.users).toBe(1);
    expect(cq.users).toBe(2);
    expect(r.ownedNewestFirst('s').map((o) => o.handle)).toEqual([qp.handle, cq.handle, pd.handle]);
    r.remove(qp);
    expect(pd.users).toBe(0);
    expect(cq.users).toBe(0);
  });

  it('puts memory windows first in the cleanup order, older than the QPs or not', () => {
    const r = new Registry();
    const pd = make(r, 'pd', 's');
    const mw = make(r, 'mw', 's', [pd]);
    const cq = make(r, 'cq', 's');
    const qp = make(r, 'qp', 's', [pd, cq, cq]);
    expect(r.ownedNewestFirst('s').map((o) => o.handle)).toEqual([mw.handle, qp.handle, cq.handle, pd.handle]);
  });

  it('pages in creation order (not handle order)', () => {
    const r = new Registry();
    const all = Array.from({ length: 25 }, (_, i) => make(r, i % 2 ? 'pd' : 'cq', 's'));
    const seen: number[] = [];
    let start = 0;
    for (;;) {
      const p = r.list({}, start, 10);
      seen.push(...p.objects.map((o) => o.handle));
      if (p.end) break;
      start = p.next;
    }
    expect(seen).toEqual(all.map((o) => o.handle));
    expect(seen).not.toEqual([...seen].sort((x, y) => x - y));
    expect(r.list({ type: 'pd' }, 0, 100).objects).toHaveLength(12);
    // A cursor whose object went away still starts at its place.
    const p1 = r.list({}, 0, 10);
    const cursor = r.get(p1.next)!;
    r.remove(cursor);
    expect(r.list({}, p1.next, 100).objects.map((o) => o.handle)).toEqual(all.slice(11).map((o) => o.handle));
  });

  it('keeps listing order when creates finish out of order, and after compaction', () => {
    const r = new Registry();
    const h1 = r.allocHandle();
    const h2 = r.allocHandle();
    const mk = (handle: number): BrokerObject => ({
      handle, spec: TYPES_BY_NAME.get('pd')!, type: 'pd', device: 'sim0', dev: {} as never, owner: { id: 's', tenant: 't' }, userHandle: '0',
      parents: [], created: Date.now(), ref: { tag: 0 }, attrs: {}, bytes: 0, users: 0, readers: 0, writer: false, dead: false,
    });
    r.commit(mk(h2));
    r.commit(mk(h1));
    expect(r.list({}, 0, 10).objects.map((o) => o.handle)).toEqual([h1, h2]);
    const many = Array.from({ length: 3000 }, () => make(r, 'pd', 's'));
    for (const o of many.slice(0, 2500)) r.remove(o);
    expect(r.list({}, 0, 10_000).objects.map((o) => o.handle)).toEqual([h1, h2, ...many.slice(2500).map((o) => o.handle)]);
  });

  it('notifies listeners of changes', () => {
    const r = new Registry();
    const seen: string[] = [];
    const stop = r.onChange((k, o) => seen.push(`${k}:${o.type}`));
    const pd = make(r, 'pd', 's');
    r.modified(pd);
    r.remove(pd);
    stop();
    make(r, 'pd', 's');
    expect(seen).toEqual(['CREATED:pd', 'MODIFIED:pd', 'DESTROYED:pd']);
  });
});

describe('object locks', () => {
  it('share reads, exclude writers, never wait', () => {
    const r = new Registry();
    const o = make(r, 'qp', 's');
    tryLock(o, 'read');
    tryLock(o, 'read');
    expect(() => tryLock(o, 'write')).toThrow(/in use/);
    unlock(o, 'read');
    unlock(o, 'read');
    tryLock(o, 'destroy');
    expect(() => tryLock(o, 'read')).toThrow(/being modified or destroyed/);
    unlock(o, 'destroy');
    tryLock(o, 'read');
  });

  it('a verb racing a destroy is LOCKED, ABORTED (retry works), not the FAILED_PRECONDITION of children', () => {
    const r = new Registry();
    const o = make(r, 'qp', 's');
    tryLock(o, 'destroy');
    let e: unknown = null;
    try {
      tryLock(o, 'write');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(BrokerError);
    expect((e as BrokerError).code).toBe('LOCKED');
    expect(statusOf(e as BrokerError)).toBe(Status.ABORTED);
    expect(errorRecord(e)).toMatchObject({ status: Status.ABORTED, status_name: 'ABORTED', code: 'LOCKED', wr_index: -1 });
    expect(statusOf(new BrokerError('BUSY', 'has children', 16))).toBe(Status.FAILED_PRECONDITION);
    unlock(o, 'destroy');
    tryLock(o, 'write');
  });
});

describe('cleanup order and fence', () => {
  it('session end and device loss share one order: memory windows first, then newest first', () => {
    const r = new Registry();
    const pd = make(r, 'pd', 's');
    const mw = make(r, 'mw', 's', [pd]);
    const mr = make(r, 'mr', 's', [pd]);
    const qp = make(r, 'qp', 's', [pd]);
    const want = [mw, qp, mr, pd].map((o) => o.handle);
    expect(r.ownedNewestFirst('s').map((o) => o.handle)).toEqual(want);
    expect(r.onDeviceNewestFirst('sim0').map((o) => o.handle)).toEqual(want);
  });

  it('lockReleased resolves when the last holder lets go, not before', async () => {
    const r = new Registry();
    const o = make(r, 'qp', 's');
    tryLock(o, 'read');
    tryLock(o, 'read');
    let released = false;
    const fence = lockReleased(o, 60_000).then(() => {
      released = true;
    });
    unlock(o, 'read');
    await Promise.resolve();
    expect(released).toBe(false);
    unlock(o, 'read');
    await fence;
    expect(released).toBe(true);
    await lockReleased(o, 60_000);
  });

  it('lockReleased is bounded: it gives up after maxMs when a holder never lets go', async () => {
    vi.useFakeTimers();
    try {
      const r = new Registry();
      const o = make(r, 'qp', 's');
      tryLock(o, 'write');
      let released = false;
      const fence = lockReleased(o, 2000).then(() => {
        released = true;
      });
      await vi.advanceTimersByTimeAsync(1999);
      expect(released).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await fence;
      expect(released).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
