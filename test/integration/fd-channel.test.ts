/**
 * The fd channel against a real daemon (child process, sim device, real unix
 * sockets): binding, fds out (MR memfds, completion and async-event mirrors),
 * fds in (memfd MRs), isolation between sessions, refusals, fd accounting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdChannel, FdChannelError } from '../../src/client/fd-channel.js';
import { connectPacket } from '../../src/sys/packet-socket.js';
import { closeAll } from '../../src/sys/scm.js';
import * as libc from '../../src/sys/libc.js';
import { SharedMemory } from '../../src/sys/memory.js';
import { backToBaseline, DEVICE, handle, loadSimGid, RawSession, rcPair, settle, SLOW, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';

let d: FdDaemon;
let gid: string;
let baseline: number;

beforeAll(async () => {
  d = await spawnFdDaemon('main');
  gid = await loadSimGid(d.socket);
  baseline = await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

async function failure(p: Promise<unknown>): Promise<FdChannelError> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof FdChannelError)) throw new Error(`expected an FdChannelError, got ${e === null ? 'success' : String(e)}`);
  return e;
}

function memfd(size: number, flags = libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING): number {
  const fd = libc.memfd_create('fd-test', flags);
  expect(fd).toBeGreaterThanOrEqual(0);
  expect(libc.ftruncate(fd, size)).toBe(0);
  return fd;
}

describe('binding', () => {
  it('binds with the token from SessionOpened; the token is one-time', async () => {
    const s = await RawSession.open(d.socket);
    expect(s.opened.fd_socket).toBe(d.fdSocket);
    expect(s.opened.fd_token).toMatch(/^fd-/);
    const c = await FdChannel.connect(s.opened.fd_socket, s.opened.fd_token);
    expect(c.session).toBe(s.id);
    const again = await failure(FdChannel.connect(d.fdSocket, s.opened.fd_token));
    expect(again.statusName).toBe('UNAUTHENTICATED');
    // IssueFdToken gives more (one per connection).
    const c2 = await FdChannel.connect(d.fdSocket, await s.fdToken());
    expect(c2.session).toBe(s.id);
    c.close();
    c2.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('a session holds at most 64 fd connections (RESOURCE_EXHAUSTED past them)', async () => {
    const s = await RawSession.open(d.socket);
    const cs: FdChannel[] = [];
    for (let i = 0; i < 64; i++) cs.push(await FdChannel.connect(d.fdSocket, await s.fdToken()));
    expect((await failure(FdChannel.connect(d.fdSocket, await s.fdToken()))).statusName).toBe('RESOURCE_EXHAUSTED');
    cs.pop()!.close();
    await waitFor(async () => {
      try {
        cs.push(await FdChannel.connect(d.fdSocket, await s.fdToken()));
        return true;
      } catch {
        return false;
      }
    }, 2000, 'a free connection slot');
    for (const c of cs) c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('refuses requests before bind and unknown tokens', async () => {
    const sock = await connectPacket(d.fdSocket);
    const replies: Record<string, unknown>[] = [];
    sock.start({ onMessage: (b, fds) => { closeAll(fds); replies.push(JSON.parse(b.toString()) as Record<string, unknown>); }, onClose: () => {} });
    sock.send(Buffer.from(JSON.stringify({ id: 1, op: 'async_fd' })));
    sock.send(Buffer.from(JSON.stringify({ id: 2, op: 'bind', token: 'fd-nope' })));
    sock.send(Buffer.from('not json'));
    await waitFor(() => replies.length === 3, 2000, 'three replies');
    expect(replies.map((r) => (r.error as { status_name: string }).status_name)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'INVALID_ARGUMENT']);
    expect(replies.map((r) => r.id)).toEqual([1, 2, null]);
    sock.close();
    await backToBaseline(d, baseline);
  });

  it('closes the connection when the session ends (reads see the end)', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const ev = await c.asyncEvents();
    s.close();
    await waitFor(() => c.closed, 3000, 'the fd channel to close');
    expect(await ev.next(3000 * SLOW)).toEqual([]);
    expect(ev.ended).toBe(true);
    ev.close();
    await backToBaseline(d, baseline);
  });
});

describe('fds out', () => {
  it('passes the memfd behind a daemon-allocated MR: both sides see the same bytes', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const pd = (await s.create('pd')).handle;
    const mr = await s.create('mr', { pd: handle(pd), length: 10_000, access: ['LOCAL_WRITE'] });
    const m = await c.mapMr(mr.handle);
    expect(m.length).toBe(10_000);
    expect(m.addr).toBe(BigInt(mr.attrs.addr as number));
    expect(m.lkey).toBe(Number(mr.attrs.lkey));
    m.memory.write(9_990, Buffer.from('0123456789'));
    const back = await s.invoke(mr.handle, 'read', { offset: 9_990, length: 10 });
    expect(Buffer.from(back.data as Buffer).toString()).toBe('0123456789');
    await s.invoke(mr.handle, 'write', { offset: 5, data: Buffer.from('from the daemon') });
    expect(m.memory.read(5, 15).toString()).toBe('from the daemon');
    // The mapping outlives the MR (the pages are the process's own now).
    await s.destroy(mr.handle);
    expect(m.memory.read(5, 4).toString()).toBe('from');
    m.memory.close();
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('completion events: a record per fired CQ says which CQ; destroy needs no client ack', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const ch = (await s.create('comp_channel')).handle;
    const ev = await c.completionEvents(ch);
    const { pd, cq, a, b } = await rcPair(s, gid, { channel: ch });
    const other = (await s.create('cq', { cqe: 4, channel: handle(ch) }, DEVICE, '77')).handle;
    const access = ['LOCAL_WRITE', 'REMOTE_WRITE'];
    const src = await c.regSharedMr(pd, 4096, access);
    const dst = await c.regSharedMr(pd, 4096, access);
    src.memory.write(0, Buffer.from('payload through the device'));
    await s.invoke(cq, 'req_notify');
    await s.invoke(other, 'req_notify');
    expect(ev.read()).toEqual([]);
    await s.invoke(a.handle, 'post_send', {
      wrs: [{ wr_id: 9, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: src.addr, length: 26, lkey: src.lkey }], remote_addr: dst.addr, rkey: dst.rkey }],
    });
    const fired = await ev.next(5000 * SLOW);
    expect(fired).toEqual([{ cq, userHandle: 4242n }]);
    const wcs = (await s.invoke(cq, 'poll', { max: 4 })).wcs as { wr_id: bigint; status: string }[];
    expect(wcs.map((w) => [w.wr_id, w.status])).toEqual([[9n, 'SUCCESS']]);
    expect(dst.memory.read(0, 26).toString()).toBe('payload through the device');
    void b;
    // The records are never acked by the client, yet everything goes at once.
    await s.destroy(a.handle);
    await s.destroy(b.handle);
    await s.destroy(cq);
    await s.destroy(other);
    await s.destroy(ch);
    expect(await ev.next(2000 * SLOW)).toEqual([]);
    expect(ev.ended).toBe(true);
    ev.close();
    src.memory.close();
    dst.memory.close();
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('async events: the session async fd carries object events with their handles', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const ev = await c.asyncEvents();
    const { a } = await rcPair(s, gid);
    // RTS -> SQD with en_sqd_async_notify: SQ_DRAINED once the send queue is empty.
    await s.modify(a.handle, { qp_state: 'SQD', en_sqd_async_notify: 1 });
    const recs = await ev.next(5000 * SLOW);
    expect(recs).toEqual([{ handle: a.handle, userHandle: 0n, kind: 'async', eventType: 5, port: 0 }]);
    ev.close();
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  // The sim's fault injector (docs/fault-injection.md) raises what a real device would: the mirror carries each kind.
  it.skipIf(DEVICE !== 'sim0')('async events: injected QP_FATAL on an object and a port going down and up, by enum value', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const ev = await c.asyncEvents();
    const { a } = await rcPair(s, gid);
    const f = (await s.create('sim_fault')).handle;
    await s.invoke(f, 'raise_event', { event: 'QP_FATAL', target: handle(a.handle) });
    expect(await ev.next(5000 * SLOW)).toEqual([{ handle: a.handle, userHandle: 0n, kind: 'async', eventType: 1, port: 0 }]);
    await s.invoke(f, 'port_down');
    expect(await ev.next(5000 * SLOW)).toEqual([{ handle: 0, userHandle: 0n, kind: 'async', eventType: 10, port: 1 }]);
    await s.invoke(f, 'port_up');
    expect(await ev.next(5000 * SLOW)).toEqual([{ handle: 0, userHandle: 0n, kind: 'async', eventType: 9, port: 1 }]);
    // Each injection is audited, as a mutating verb.
    // (the daemon's log lines reach this process on their own pipe, maybe after the records).
    const audited = (): unknown[][] => d.logs.filter((l) => l.audit === true && l.verb === 'invoke' && l.type === 'sim_fault' && l.handle === f).map((l) => [l.method, l.result]);
    await waitFor(() => audited().length >= 3, 5000 * SLOW, 'the audit records of the injections');
    expect(audited()).toEqual([['raise_event', 'ok'], ['port_down', 'ok'], ['port_up', 'ok']]);
    ev.close();
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('the command fd for ibv_import_device: UNIMPLEMENTED where the device cannot import', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const e = await failure(c.importDevice(DEVICE));
    expect(e.statusName).toBe('UNIMPLEMENTED');
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });
});

describe('fds in', () => {
  it('registers an MR over a handed-in memfd (same pages), at a page offset', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const pd = (await s.create('pd')).handle;
    const mem = SharedMemory.create(3 * libc.PAGE_SIZE);
    const mr = await c.regMr({ pd, fd: mem.fd, offset: libc.PAGE_SIZE, length: 100, access: ['LOCAL_WRITE'], userHandle: 5 });
    const info = (await s.listOwn()).find((o) => Number(o.handle) === mr.handle);
    expect(info?.type).toBe('mr');
    expect(info?.user_handle).toBe('5');
    mem.write(libc.PAGE_SIZE + 3, Buffer.from('abc'));
    const r = await s.invoke(mr.handle, 'read', { offset: 3, length: 3 });
    expect(Buffer.from(r.data as Buffer).toString()).toBe('abc');
    await s.invoke(mr.handle, 'write', { offset: 0, data: Buffer.from('Z') });
    expect(mem.read(libc.PAGE_SIZE, 1).toString()).toBe('Z');
    mem.close();
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });

  it('refuses bad fds with INVALID_ARGUMENT and keeps none of them', async () => {
    const s = await RawSession.open(d.socket);
    const c = await FdChannel.connect(d.fdSocket, s.opened.fd_token);
    const pd = (await s.create('pd')).handle;
    await new Promise((r) => setTimeout(r, 100 * SLOW));
    const before = d.fdCount();
    const pipe = libc.pipe2(libc.O_CLOEXEC)!;
    const diskPath = path.join(d.dir, 'disk-file');
    fs.writeFileSync(diskPath, Buffer.alloc(8192));
    const disk = fs.openSync(diskPath, 'r+');
    const writeSealed = memfd(8192);
    expect(libc.fcntl(writeSealed, libc.F_ADD_SEALS, libc.F_SEAL_WRITE)).toBe(0);
    const unsealable = memfd(8192, libc.MFD_CLOEXEC);
    const good = memfd(8192);
    const devNull = fs.openSync('/dev/null', 'r+');
    const cases: [string, Promise<unknown>][] = [
      ['a pipe', c.regMr({ pd, fd: pipe[0], length: 4096 })],
      ['/dev/null', c.regMr({ pd, fd: devNull, length: 4096 })],
      ['a file on disk', c.regMr({ pd, fd: disk, length: 4096 })],
      ['a write-sealed memfd', c.regMr({ pd, fd: writeSealed, length: 4096 })],
      ['a memfd that can shrink', c.regMr({ pd, fd: unsealable, length: 4096 })],
      ['a short memfd', c.regMr({ pd, fd: good, length: 8193 })],
      ['an offset past the end', c.regMr({ pd, fd: good, offset: 8192, length: 1 })],
      ['an unaligned offset', c.regMr({ pd, fd: good, offset: 100, length: 10 })],
      ['a negative offset', c.regMr({ pd, fd: good, offset: -4096, length: 10 })],
      ['a zero length', c.regMr({ pd, fd: good, length: 0 })],
      ['no fd', c.request('reg_mr', { pd, length: 4096 }).then(({ fds }) => closeAll(fds))],
      ['two fds', c.request('reg_mr', { pd, length: 4096 }, [good, good]).then(({ fds }) => closeAll(fds))],
      ['fds on get_fd', c.request('get_fd', { handle: pd }, [good]).then(({ fds }) => closeAll(fds))],
    ];
    for (const [what, p] of cases) {
      const e = await failure(p);
      expect([what, e.statusName]).toEqual([what, 'INVALID_ARGUMENT']);
    }
    // More fds than the protocol allows (the client library would not send them): a raw socket.
    const raw = await connectPacket(d.fdSocket);
    const rawReplies: Record<string, unknown>[] = [];
    raw.start({ onMessage: (b, fds) => { closeAll(fds); rawReplies.push(JSON.parse(b.toString()) as Record<string, unknown>); }, onClose: () => {} });
    raw.send(Buffer.from(JSON.stringify({ id: 1, op: 'bind', token: await s.fdToken() })));
    raw.send(Buffer.from(JSON.stringify({ id: 2, op: 'reg_mr', pd, length: 4096 })), Array(9).fill(good) as number[]);
    raw.send(Buffer.from(JSON.stringify({ id: 3, op: 'reg_mr', pd, length: 4096 })), Array(40).fill(good) as number[]);
    await waitFor(() => rawReplies.length === 3, 3000, 'raw replies');
    expect(rawReplies[0]!.ok).toBe(true);
    expect(rawReplies.slice(1).map((r) => (r.error as { status_name: string }).status_name)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    raw.close();
    // dma-buf: the sim device has none.
    const dmabuf = await failure(c.regMr({ pd, fd: good, length: 4096, source: 'dmabuf' }));
    expect(dmabuf.statusName).toBe('UNIMPLEMENTED');
    // A good one still works afterwards, on the same connection.
    const ok = await c.regMr({ pd, fd: good, length: 8192 });
    await s.destroy(ok.handle);
    // (the raw connection's close reaches the daemon asynchronously)
    await waitFor(() => d.fdCount() === before, 3000, 'the fd count from before the bad fds');
    closeAll([pipe[0], pipe[1], writeSealed, unsealable, good]);
    fs.closeSync(disk);
    fs.closeSync(devNull);
    c.close();
    s.close();
    await backToBaseline(d, baseline);
  });
});

describe('isolation', () => {
  it('a process bound to another session cannot obtain fds of objects it does not own', async () => {
    const owner = await RawSession.open(d.socket, 'owner');
    const thief = await RawSession.open(d.socket, 'thief');
    const tc = await FdChannel.connect(d.fdSocket, thief.opened.fd_token);
    const pd = (await owner.create('pd')).handle;
    const mr = (await owner.create('mr', { pd: handle(pd), length: 4096 })).handle;
    const ch = (await owner.create('comp_channel')).handle;
    const missing = mr + 1000;
    const errs = await Promise.all([mr, ch, pd, missing].map((h) => failure(tc.request('get_fd', { handle: h }))));
    // Someone else's handle reads exactly like one that does not exist.
    expect(errs.map((e) => e.statusName)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    expect(new Set(errs.map((e) => e.message.replace(/\d+/g, 'N'))).size).toBe(1);
    // Nor register over another session's PD.
    const mem = SharedMemory.create(4096);
    expect((await failure(tc.regMr({ pd, fd: mem.fd, length: 4096 }))).statusName).toBe('NOT_FOUND');
    // Nor bind with the owner's gRPC session token.
    expect((await failure(FdChannel.connect(d.fdSocket, owner.opened.token))).statusName).toBe('UNAUTHENTICATED');
    mem.close();
    tc.close();
    owner.close();
    thief.close();
    await backToBaseline(d, baseline);
  });
});

describe('tenants', () => {
  it('a tenant socket has its fd socket beside it, for that tenant only; peer credentials must match the tenant', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-fd-tenants-'));
    const uid = process.getuid!();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
      tenants: [
        { name: 'team-a', socket: { path: 'a/broker.sock', mode: '0660' }, uids: [uid] },
        { name: 'team-b', socket: { path: 'b/broker.sock', mode: '0660' }, uids: [uid + 4242] },
        { name: 'team-c', socket: { path: 'c/broker.sock', mode: '0660' } },
      ],
    }));
    const t = await spawnFdDaemon('tenants', ['--config', path.join(dir, 'config.json')]);
    try {
      const sock = (n: string) => path.join(dir, n, 'broker.sock');
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => RawSession.open(sock(n), `team-${n}`)));
      expect(a!.opened.fd_socket).toBe(`${sock('a')}.fd`);
      expect(fs.statSync(`${sock('a')}.fd`).mode & 0o777).toBe(0o660);
      // This process's uid is team-a's: it may serve team-a ...
      const fa = await FdChannel.connect(a!.opened.fd_socket, a!.opened.fd_token);
      expect(fa.tenant).toBe('team-a');
      // ... not team-b, whose uids it does not have ...
      expect((await failure(FdChannel.connect(b!.opened.fd_socket, b!.opened.fd_token))).statusName).toBe('PERMISSION_DENIED');
      // ... nor team-c (no uids: the token would be enough) since its uid names another tenant.
      expect((await failure(FdChannel.connect(c!.opened.fd_socket, c!.opened.fd_token))).statusName).toBe('PERMISSION_DENIED');
      // A team-a token on team-c's fd socket is an unknown token there.
      expect((await failure(FdChannel.connect(c!.opened.fd_socket, await a!.fdToken()))).statusName).toBe('UNAUTHENTICATED');
      fa.close();
      for (const s of [a, b, c]) s!.close();
    } finally {
      await t.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
