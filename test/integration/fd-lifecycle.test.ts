/**
 * Fd lifecycle against a real daemon: a client holding fds is SIGKILLed, and
 * many connections hammer the channel; the daemon's own fd count
 * (/proc/PID/fd) must come back to where it started every time.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdChannel, FdChannelError } from '../../src/client/fd-channel.js';
import { connectPacket } from '../../src/sys/packet-socket.js';
import { closeAll } from '../../src/sys/scm.js';
import * as libc from '../../src/sys/libc.js';
import { SharedMemory } from '../../src/sys/memory.js';
import { backToBaseline, DEVICE, handle, inspector, loadSimGid, RawSession, ROOT, settle, SLOW, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';

let d: FdDaemon;
let gid: string;
let baseline: number;

beforeAll(async () => {
  d = await spawnFdDaemon('life');
  gid = await loadSimGid(d.socket);
  baseline = await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

describe('a client holding fds is SIGKILLed', () => {
  it('its objects are destroyed within 2 s, no destroy hangs, and its fds are all released', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test/integration/fixtures/fd-holder.mjs'), d.socket, gid, DEVICE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    await waitFor(() => out.includes('\n'), 15_000, `the holder to get its fds (${err})`);
    const held = JSON.parse(out) as { session: string; fired: number; bytes: string; fds: number[] };
    expect(held.fired).toBe(1);
    expect(held.bytes).toBe('held');
    const list = inspector(d.socket);
    const before = await list(held.session);
    // pd, comp_channel, cq, 2 MRs, 2 QPs
    expect(before.map((o) => o.type).sort()).toEqual(['comp_channel', 'cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
    expect(d.fdCount()).toBeGreaterThan(baseline);

    const t0 = Date.now();
    child.kill('SIGKILL');
    await exited;
    await waitFor(async () => (await list(held.session)).length === 0, 2000, 'the holder\'s objects to be destroyed');
    const took = Date.now() - t0;
    expect(took).toBeLessThan(2000);
    await waitFor(() => d.logs.some((l) => l.msg === 'session ended' && l.session === held.session), 2000, 'the session to end');
    expect(d.logs.some((l) => l.msg === 'destroy failed during cleanup; dropping the object')).toBe(false);
    await backToBaseline(d, baseline, 3000);
  });
});

describe('many requests across many connections', () => {
  it('10,000 fd requests and hand-ins over 100 connections leave the daemon\'s fd count where it started', async () => {
    const SESSIONS = 10;
    const CONNS_PER_SESSION = 10;
    const PER_CONN = 100;
    const mem = SharedMemory.create(2 * libc.PAGE_SIZE);
    const short = libc.memfd_create('short', libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    libc.ftruncate(short, 100);
    const counts = { fdsIn: 0, fdsOut: 0, refused: 0, abandoned: 0 };
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => RawSession.open(d.socket, `stress-${i}`)));
    await Promise.all(sessions.map(async (s) => {
      const pd = (await s.create('pd')).handle;
      const mr = (await s.create('mr', { pd: handle(pd), length: 4096 })).handle;
      const ch = (await s.create('comp_channel')).handle;
      // The daemon lets at most MAX_UNBOUND_PER_POOL connections of one uid
      // wait unbound (a hostile tenant cannot hold the pool): each session
      // connects and binds one connection at a time, so at most one per
      // session waits, however slow the device; the requests then run all at once.
      let chain: Promise<unknown> = Promise.resolve();
      const serial = <T>(f: () => Promise<T>): Promise<T> => {
        const p = chain.then(f);
        chain = p.catch(() => undefined);
        return p;
      };
      await Promise.all(Array.from({ length: CONNS_PER_SESSION }, async (_, ci) => {
        const token = await s.fdToken();
        if (ci === CONNS_PER_SESSION - 1) {
          // One connection per session goes away abruptly, with requests and
          // fds in flight and its replies unread.
          const raw = await serial(() => connectPacket(d.fdSocket));
          raw.start({ onMessage: (_b, fds) => closeAll(fds), onClose: () => {} });
          raw.send(Buffer.from(JSON.stringify({ id: 0, op: 'bind', token })));
          for (let k = 1; k < PER_CONN; k++) {
            if (k % 2) raw.send(Buffer.from(JSON.stringify({ id: k, op: 'reg_mr', pd, length: 4096 })), [mem.fd]);
            else raw.send(Buffer.from(JSON.stringify({ id: k, op: 'get_fd', handle: mr })));
          }
          counts.abandoned += PER_CONN;
          raw.close();
          return;
        }
        const c = await serial(() => FdChannel.connect(d.fdSocket, token));
        const jobs: Promise<void>[] = [];
        for (let k = 1; k < PER_CONN; k++) {
          switch (k % 5) {
            case 0:
              jobs.push(c.mrFd(mr).then((r) => { libc.close(r.fd); counts.fdsOut++; }));
              break;
            case 1:
              jobs.push(c.completionEvents(ch).then((e) => { e.close(); counts.fdsOut++; }));
              break;
            case 2:
              jobs.push(c.asyncEvents().then((e) => { e.close(); counts.fdsOut++; }));
              break;
            case 3:
              jobs.push(c.regMr({ pd, fd: mem.fd, length: 4096 }).then(() => { counts.fdsIn++; }));
              break;
            default:
              jobs.push(c.regMr({ pd, fd: short, length: 4096 }).then(
                () => { throw new Error('a short memfd was accepted'); },
                (e: unknown) => {
                  if (!(e instanceof FdChannelError)) throw e;
                  expect((e as FdChannelError).statusName).toBe('INVALID_ARGUMENT');
                  counts.refused++;
                },
              ));
          }
        }
        await Promise.all(jobs);
        c.close();
      }));
    }));
    // bind + 99 requests on each of 100 connections
    expect(counts.fdsIn + counts.fdsOut + counts.refused + counts.abandoned + 90).toBe(10_000);
    expect(d.fdCount()).toBeGreaterThan(baseline); // the MRs over handed-in memfds hold their mappings' fds
    for (const s of sessions) s.close();
    mem.close();
    libc.close(short);
    await backToBaseline(d, baseline, 10_000);
    expect(d.logs.filter((l) => l.level === 50)).toEqual([]);
  }, 120_000 * SLOW);
});
