/** `rdmactl top`'s frame: counts from watched changes, verb rates from accounting samples, sorted, fitted to the terminal. */
import { describe, expect, it } from 'vitest';
import { bytes, TopModel } from '../../../src/cli/top-view.js';
import type { ObjectChange, ObjectRecord, SessionInfo, TenantUsage } from '../../../src/client/index.js';

let next = 1;
const obj = (type: string, session: string, tenant: string, attrs: Record<string, unknown> = {}): ObjectRecord => ({
  handle: next++, type, device: 'sim0', session, tenant, userHandle: '0', parents: [], createdUnixMs: 0, attrs: attrs as ObjectRecord['attrs'],
});
const created = (o: ObjectRecord): ObjectChange => ({ kind: 'CREATED', object: o });
const session = (id: string, tenant: string, name: string): SessionInfo => ({
  session_id: id, name, tenant, state: 'attached', object_count: 0, created_unix_ms: String(NOW - 75_000), peer: 'unix', pod: null, peer_cred: null,
}) as unknown as SessionInfo;
const usage = (tenant: string, verbs: number, registered: number, objects: number): TenantUsage => ({
  tenant, role: 'tenant', objects: String(objects), objects_high_water: '0', sessions: '1', sessions_high_water: '1',
  registered_bytes: String(registered), registered_bytes_high_water: '0', types: [], quota: {}, fds: '0', fds_high_water: '0',
  verbs: [{ type: 'qp', method: 'post_send', result: 'ok', count: String(verbs) }],
}) as unknown as TenantUsage;
const NOW = Date.parse('2026-12-01T14:00:00Z');

function model(): TopModel {
  const m = new TopModel();
  for (const o of [obj('pd', 's-a', 'alpha'), obj('mr', 's-a', 'alpha', { length: 1 << 20 }), obj('qp', 's-a', 'alpha'), obj('pd', 's-b', 'beta')]) m.apply(created(o));
  m.apply({ kind: 'SYNCED', object: null });
  m.sessions = [session('s-a', 'alpha', 'writer'), session('s-b', 'beta', 'reader')];
  m.setAccounting([usage('alpha', 100, 1 << 20, 3), usage('beta', 0, 0, 1)], NOW - 2000);
  m.setAccounting([usage('alpha', 300, 1 << 20, 3), usage('beta', 10, 0, 1)], NOW);
  return m;
}

describe('TopModel.render', () => {
  it('shows per-type counts, registered bytes and verbs/s per tenant and session, most objects first', () => {
    const lines = model().render({ width: 120, height: 40, now: NOW, target: '/tmp/rb.sock' });
    expect(lines[0]).toBe('rdmactl top - 14:00:00  120x40  q quits  /tmp/rb.sock');
    expect(lines[1]).toBe('sessions 2  tenants 2  objects 4  registered 1M  verbs/s 105');
    const header = lines.findIndex((l) => l.startsWith('TENANT'));
    expect(lines[header]).toMatch(/^TENANT\s+ROLE\s+SESS\s+OBJS\s+PD\s+MR\s+QP\s+REG_BYTES\s+VERBS\/S$/);
    // alpha: 200 verbs in 2 s; beta: 10 in 2 s.
    expect(lines[header + 1]).toMatch(/^alpha\s+tenant\s+1\s+3\s+1\s+1\s+1\s+1M\s+100$/);
    expect(lines[header + 2]).toMatch(/^beta\s+tenant\s+1\s+1\s+1\s+-\s+-\s+0\s+5\.0$/);
    const sh = lines.findIndex((l) => l.startsWith('SESSION'));
    expect(lines[sh]).toMatch(/^SESSION\s+TENANT\s+NAME\s+STATE\s+OBJS\s+PD\s+MR\s+QP\s+REG_BYTES\s+AGE$/);
    expect(lines[sh + 1]).toMatch(/^s-a\s+alpha\s+writer\s+attached\s+3\s+1\s+1\s+1\s+1M\s+1m15s$/);
    expect(lines[sh + 2]).toMatch(/^s-b\s+beta\s+reader\s+attached\s+1\s+1\s+-\s+-\s+0\s+1m15s$/);
  });

  it('a destroyed object leaves the counts; verbs/s waits for a second sample', () => {
    const m = new TopModel();
    const qp = obj('qp', 's-a', 'alpha');
    m.apply(created(qp));
    m.apply({ kind: 'DESTROYED', object: qp });
    m.setAccounting([usage('alpha', 5, 0, 0)], NOW);
    const lines = m.render({ width: 120, height: 40, now: NOW, target: 't' });
    expect(lines[1]).toBe('sessions 0  tenants 1  objects 0  registered 0  verbs/s -  (loading)');
  });

  it('fits a narrow terminal: drops the columns that matter least, never wider than the width', () => {
    const lines = model().render({ width: 40, height: 40, now: NOW, target: '/run/rdma-broker/broker.sock' });
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    const sh = lines.find((l) => l.startsWith('SESSION'))!;
    expect(sh).toContain('OBJS');
    expect(sh).not.toContain('NAME');
    expect(lines.find((l) => l.startsWith('TENANT'))).not.toContain('ROLE');
  });

  it('fits a short terminal: the sessions that do not fit are counted', () => {
    const m = new TopModel();
    for (let i = 0; i < 30; i++) m.apply(created(obj('pd', `s-${String(i).padStart(2, '0')}`, 'alpha')));
    const lines = m.render({ width: 100, height: 12, now: NOW, target: 't' });
    expect(lines).toHaveLength(12);
    expect(lines[11]).toMatch(/^\.\.\. \d+ more sessions$/);
  });

  it('prints bytes as top does', () => {
    expect([bytes(0), bytes(1023), bytes(1024), bytes(1536), bytes(64 << 20), bytes(3 * 2 ** 30)]).toEqual(['0', '1023', '1K', '1.5K', '64M', '3G']);
  });
});
