import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_LIMITS, SessionTable, type EndReason, type Session } from '../../../src/core/sessions.js';

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* the daemon's loop, held up */ }
}

describe('leases and the daemon\'s own stalls', () => {
  it('a lease that ran out while the loop was stalled is extended: the keepalive read after the stall keeps the session', async () => {
    const ended: [Session, EndReason][] = [];
    const t = new SessionTable({ ...DEFAULT_SESSION_LIMITS, minLeaseMs: 100 }, (s, r) => ended.push([s, r]));
    const s = t.open({ name: 'a', tenant: 't', peer: 'p', leaseMs: 300, resumeGraceMs: 0 });
    await new Promise((r) => setTimeout(r, 50));
    // The loop is held up handling something (in the check phase, as after an I/O callback);
    // the keepalive that waited in the socket meanwhile is read in the next iteration,
    // whose timers phase (with the lease's timer) comes first.
    await new Promise<void>((r) => setImmediate(() => {
      busy(600);
      setImmediate(() => {
        t.touch(s);
        r();
      });
    }));
    await new Promise((r) => setTimeout(r, 100));
    expect(ended).toEqual([]);
    expect(s.state).toBe('attached');
    t.end(s, 'stream_closed');
    t.stop();
  });

  it('a lease still runs out when the client is silent and the loop is not stalled', async () => {
    const ended: EndReason[] = [];
    const t = new SessionTable({ ...DEFAULT_SESSION_LIMITS, minLeaseMs: 100 }, (_s, r) => ended.push(r));
    t.open({ name: 'a', tenant: 't', peer: 'p', leaseMs: 200, resumeGraceMs: 0 });
    const t0 = Date.now();
    while (ended.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(ended).toEqual(['lease_expired']);
    t.stop();
  });

  it('after a stall a silent client still loses its lease, later by the stall', async () => {
    const ended: EndReason[] = [];
    const t = new SessionTable({ ...DEFAULT_SESSION_LIMITS, minLeaseMs: 100 }, (_s, r) => ended.push(r));
    t.open({ name: 'a', tenant: 't', peer: 'p', leaseMs: 200, resumeGraceMs: 0 });
    busy(400);
    await new Promise((r) => setTimeout(r, 0));
    expect(ended).toEqual([]);
    const t0 = Date.now();
    while (ended.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(ended).toEqual(['lease_expired']);
    t.stop();
  });
});
