import { describe, expect, it, vi } from 'vitest';
import { SessionTable, DEFAULT_SESSION_LIMITS, type EndReason, type Session } from '../../../src/core/sessions.js';

function table() {
  const ended: [Session, EndReason][] = [];
  const t = new SessionTable(DEFAULT_SESSION_LIMITS, (s, r) => ended.push([s, r]));
  return { t, ended };
}
const opts = { name: 'n', tenant: 't', peer: 'p', leaseMs: 0, resumeGraceMs: 0 };

describe('SessionTable', () => {
  it('ends a session with its stream when there is no grace', () => {
    const { t, ended } = table();
    const s = t.open(opts);
    t.streamClosed(s);
    expect(ended).toEqual([[s, 'stream_closed']]);
    expect(() => t.fromToken(s.token)).toThrow(/no such session/);
  });

  it('keeps a detached session for its grace and resumes it', () => {
    vi.useFakeTimers();
    try {
      const { t, ended } = table();
      const s = t.open({ ...opts, resumeGraceMs: 5000 });
      t.streamClosed(s);
      expect(s.state).toBe('detached');
      const events: number[] = [];
      s.emit({ kind: 'completion', handle: 1, userHandle: '0', type: 'cq', eventType: '', device: 'd', port: 0, time: 0 });
      vi.advanceTimersByTime(4000);
      expect(t.resume(s.token)).toBe(s);
      s.attach((seq) => events.push(seq));
      expect(events).toEqual([1]);
      t.streamClosed(s);
      vi.advanceTimersByTime(5001);
      expect(ended.map(([, r]) => r)).toEqual(['grace_expired']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ends a session whose lease runs out and caps lease and grace', () => {
    vi.useFakeTimers();
    try {
      const { t, ended } = table();
      const s = t.open({ ...opts, leaseMs: 1, resumeGraceMs: 10 ** 9 });
      expect(s.opts.leaseMs).toBe(DEFAULT_SESSION_LIMITS.minLeaseMs);
      expect(s.opts.resumeGraceMs).toBe(DEFAULT_SESSION_LIMITS.maxResumeGraceMs);
      vi.advanceTimersByTime(DEFAULT_SESSION_LIMITS.minLeaseMs - 1);
      t.touch(s);
      vi.advanceTimersByTime(DEFAULT_SESSION_LIMITS.minLeaseMs - 1);
      expect(ended).toHaveLength(0);
      vi.advanceTimersByTime(2);
      expect(ended.map(([, r]) => r)).toEqual(['lease_expired']);
    } finally {
      vi.useRealTimers();
    }
  });
});
