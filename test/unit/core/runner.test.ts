/**
 * The one method runner (src/core/runner.ts): every verb, the fast lane's
 * entry included, takes the same steps. Where the old hand-written paths
 * disagreed, the runner answers as the kernel's uverbs does: a method the
 * device does not implement is EOPNOTSUPP for every verb (query used to skip
 * the capability check), and an attempt on a handle the caller does not own
 * is audited whatever the verb (query used to leave no record).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Broker } from '../../../src/core/broker.js';
import { BrokerError } from '../../../src/core/errors.js';
import type { Session } from '../../../src/core/sessions.js';
import type { OptionalOp } from '../../../src/verbs/backend.js';
import { createSimBackend } from '../../../src/verbs/sim/index.js';
import { HandleValue } from '../../../src/wire/values.js';
import { startBroker } from './fixture.js';

/** A broker whose sim0 lacks `gaps`, its log kept, and two sessions of two tenants. */
async function setup(gaps: readonly OptionalOp[] = []): Promise<{ broker: Broker; s: Session; other: Session; lines: Record<string, unknown>[] }> {
  const { broker, lines, open } = await startBroker({ devices: [{ gaps }], capture: true });
  return { broker, s: open('a'), other: open('b'), lines };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof BrokerError) return e.code;
    throw e;
  }
}

describe('the method runner', () => {
  it('checks the capability for every verb, query included (EOPNOTSUPP, as a method the driver left out)', async () => {
    const { broker, s } = await setup(['querySrq', 'postSrqRecv']);
    const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    const srq = await broker.create(s, { type: 'srq', device: '', attrs: { pd: new HandleValue(pd.handle), max_wr: 4 }, userHandle: '0' });
    const cq = await broker.create(s, { type: 'cq', device: 'sim0', attrs: { cqe: 4 }, userHandle: '0' });
    expect(await code(broker.query(s, srq.handle))).toBe('UNSUPPORTED');
    // A query of a type whose query the device has keeps working.
    expect(await code(broker.query(s, cq.handle))).toBe('ok');
    // The same rule on the generic invoke path and on the fast lane's entry.
    expect(await code(broker.invoke(s, srq.handle, '', 'post_recv', { wrs: [] }))).toBe('UNSUPPORTED');
    expect(await code(broker.dataPath.post(s, srq.handle, 'srq_recv', []))).toBe('UNSUPPORTED');
    // Each outcome accounted once, under the type and verb.
    const verbs = broker.accounting.of('a').verbs;
    expect(verbs?.get('srq.query')?.get('UNSUPPORTED')).toBe(1);
    expect(verbs?.get('cq.query')?.get('ok')).toBe(1);
    expect(verbs?.get('srq.post_recv')?.get('UNSUPPORTED')).toBe(2);
    await broker.shutdown();
  });

  it('audits an attempt on a handle the caller does not own, whatever the verb; its own queries are not audited', async () => {
    const { broker, s, other, lines } = await setup();
    const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    const before = lines.filter((l) => l.msg === 'audit').length;
    await broker.query(s, pd.handle);
    expect(lines.filter((l) => l.msg === 'audit').length).toBe(before);
    for (const p of [broker.query(other, pd.handle), broker.invoke(other, pd.handle, '', 'nothing', {}), broker.destroy(other, pd.handle)]) {
      expect(await code(p)).toBe('NO_SUCH_HANDLE');
    }
    const audits = lines.filter((l) => l.msg === 'audit').slice(before);
    expect(audits.map((l) => [l.verb, l.session, l.handle, l.result])).toEqual([
      ['query', other.id, pd.handle, 'NO_SUCH_HANDLE'],
      ['invoke', other.id, pd.handle, 'NO_SUCH_HANDLE'],
      ['destroy', other.id, pd.handle, 'NO_SUCH_HANDLE'],
    ]);
    // The object is untouched, and the foreign attempts were not accounted to anyone's type.
    expect((await broker.query(s, pd.handle)).handle).toBe(pd.handle);
    expect(broker.accounting.of('b').verbs.size).toBe(0);
    await broker.shutdown();
  });

  it('charges registered bytes from the type table before the device call, and gives them back on destroy', async () => {
    const { broker, s } = await setup();
    const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    const mr = await broker.create(s, { type: 'mr', device: '', attrs: { pd: new HandleValue(pd.handle), length: 8192n }, userHandle: '0' });
    expect(broker.accounting.of('a').bytes).toBe(8192);
    // The PD is held by the MR: destroy is BUSY (FAILED_PRECONDITION), nothing changes.
    expect(await code(broker.destroy(s, pd.handle))).toBe('BUSY');
    await broker.destroy(s, mr.handle);
    expect(broker.accounting.of('a').bytes).toBe(0);
    expect(broker.memory.of(s).size).toBe(0);
    await broker.destroy(s, pd.handle);
    await broker.shutdown();
  });

  it('logs verbs at debug from the moment the level is set at run time, on its log or on a parent, and stops when it is raised again', async () => {
    const lines: Record<string, unknown>[] = [];
    const root = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const log = root.child({ part: 'broker' });
    const broker = new Broker({ backend: createSimBackend(), log });
    await broker.start();
    const s = broker.openSession({ name: 'a', tenant: 'a', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
    const cycle = async (): Promise<number> => {
      lines.length = 0;
      const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
      await broker.query(s, pd.handle);
      await broker.destroy(s, pd.handle);
      return lines.filter((l) => l.msg === 'verb').length;
    };
    expect(await cycle()).toBe(0);
    log.level = 'debug';
    expect(await cycle()).toBe(3);
    log.level = 'info';
    expect(await cycle()).toBe(0);
    // The child inherits its parent's level while it has none of its own.
    const inheriting = new Broker({ backend: createSimBackend(), log: root.child({ part: 'other' }) });
    await inheriting.start();
    const t = inheriting.openSession({ name: 'b', tenant: 'b', peer: 'test', leaseMs: 60_000, resumeGraceMs: 0 });
    lines.length = 0;
    await inheriting.create(t, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    expect(lines.filter((l) => l.msg === 'verb')).toHaveLength(0);
    root.level = 'debug';
    await inheriting.create(t, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    expect(lines.filter((l) => l.msg === 'verb')).toHaveLength(1);
    root.level = 'warn';
    lines.length = 0;
    await inheriting.create(t, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
    expect(lines).toHaveLength(0);
    await broker.shutdown();
    await inheriting.shutdown();
  });
});
