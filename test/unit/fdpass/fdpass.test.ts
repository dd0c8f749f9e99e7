import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventMirror } from '../../../src/fdpass/mirror.js';
import { connectPacket, PacketListener, type PacketSocket } from '../../../src/sys/packet-socket.js';
import { COMPLETION_RECORD_SIZE, decodeAsync, decodeCompletions, encodeAsync, encodeCompletion } from '../../../src/wire/fd-protocol.js';
import { closeAll } from '../../../src/sys/scm.js';
import * as libc from '../../../src/sys/libc.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-fdpass-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function inode(fd: number): string {
  return fs.readlinkSync(`/proc/self/fd/${fd}`);
}

describe('PacketSocket / PacketListener', () => {
  it('passes fds both ways with SCM_RIGHTS; received fds are new numbers for the same files', async () => {
    const before = openFds();
    const server: PacketSocket[] = [];
    const got: { data: string; fds: number[] }[] = [];
    const l = PacketListener.listen(path.join(dir, 'a.sock'), 0o600, (s) => {
      server.push(s);
      s.start({ onMessage: (d, fds) => got.push({ data: d.toString(), fds }), onClose: () => {} });
    });
    const c = await connectPacket(path.join(dir, 'a.sock'));
    const back: { data: string; fds: number[] }[] = [];
    c.start({ onMessage: (d, fds) => back.push({ data: d.toString(), fds }), onClose: () => {} });
    const p = libc.pipe2(libc.O_CLOEXEC)!;
    expect(c.send(Buffer.from('one'), [p[0], p[1]])).toBe(true);
    expect(c.send(Buffer.from('two'))).toBe(true);
    await until(() => got.length === 2);
    // Message boundaries hold, and each message has its own fds.
    expect(got.map((g) => [g.data, g.fds.length])).toEqual([['one', 2], ['two', 0]]);
    const [r0, r1] = got[0]!.fds as [number, number];
    expect(r0).not.toBe(p[0]);
    expect(inode(r0)).toBe(inode(p[0]));
    expect(inode(r1)).toBe(inode(p[1]));
    // close-on-exec, as MSG_CMSG_CLOEXEC asks
    expect(libc.fcntl(r0, libc.F_GETFD, 0) & 1).toBe(1);
    // The passed write end works: bytes written to it come out of the original read end.
    libc.write(r1, Buffer.from('x'), 1);
    const b = Buffer.alloc(1);
    expect(Number(libc.read(p[0], b, 1))).toBe(1);
    server[0]!.send(Buffer.from('reply'), [r0]);
    await until(() => back.length === 1);
    expect(inode(back[0]!.fds[0]!)).toBe(inode(p[0]));
    closeAll([...got[0]!.fds, ...back[0]!.fds, p[0], p[1]]);
    c.close();
    await until(() => server[0]!.closed);
    l.close();
    expect(fs.existsSync(path.join(dir, 'a.sock'))).toBe(false);
    await until(() => openFds() === before);
  });

  it('sees the peer go away, and hands over fds of messages it reads before that', async () => {
    let closed = '';
    const got: number[][] = [];
    const l = PacketListener.listen(path.join(dir, 'b.sock'), 0o600, (s) => {
      s.start({ onMessage: (_d, fds) => got.push(fds), onClose: (r) => (closed = r) });
    });
    const c = await connectPacket(path.join(dir, 'b.sock'));
    const m = libc.memfd_create('t', libc.MFD_CLOEXEC);
    c.send(Buffer.from('{}'), [m]);
    c.close();
    await until(() => closed !== '');
    expect(closed).toBe('peer closed');
    expect(got.length).toBe(1);
    closeAll(got.flat());
    libc.close(m);
    l.close();
  });

  it('refuses to connect to nothing', async () => {
    await expect(connectPacket(path.join(dir, 'none.sock'), 50)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('EventMirror', () => {
  it('writes records the read end sees, coalesces per key while the pipe is full, and flushes when drained', async () => {
    const before = openFds();
    const m = EventMirror.create({ recordSize: COMPLETION_RECORD_SIZE, maxPending: 100 });
    m.push(encodeCompletion({ cq: 7, userHandle: 70n }), 7);
    const buf = Buffer.alloc(1 << 20);
    let n = Number(libc.read(m.fd, buf, buf.length));
    expect(decodeCompletions(buf.subarray(0, n))).toEqual([{ cq: 7, userHandle: 70n }]);
    // Fill the pipe, then keep firing two CQs: one pending record each.
    let pushed = 0;
    while (m.backlog === 0) {
      m.push(encodeCompletion({ cq: 1, userHandle: 0n }), `fill${pushed++}`);
    }
    const filled = pushed - 1;
    for (let i = 0; i < 50; i++) {
      m.push(encodeCompletion({ cq: 8, userHandle: 80n }), 8);
      m.push(encodeCompletion({ cq: 9, userHandle: 90n }), 9);
    }
    expect(m.backlog).toBe(3); // the record that did not fit, and one per CQ
    // The client drains; the daemon's loop flushes what waited.
    const seen: number[] = [];
    libc.fcntl(m.fd, libc.F_SETFL, libc.O_NONBLOCK);
    await until(() => {
      for (;;) {
        n = Number(libc.read(m.fd, buf, buf.length));
        if (n <= 0) break;
        for (const r of decodeCompletions(buf.subarray(0, n))) seen.push(r.cq);
      }
      return m.backlog === 0 && seen.includes(9);
    });
    expect(seen.length).toBe(filled + 3);
    expect(seen.slice(-2)).toEqual([8, 9]);
    m.close();
    m.close();
    expect(openFds()).toBe(before);
  });

  it('drops the oldest unkeyed records beyond maxPending', () => {
    const m = EventMirror.create({ recordSize: 32, maxPending: 4 });
    while (m.backlog === 0) m.push(encodeAsync({ handle: 1, userHandle: 0n, kind: 'async', eventType: 1, port: 0 }));
    for (let i = 0; i < 10; i++) m.push(encodeAsync({ handle: 2, userHandle: 0n, kind: 'async', eventType: 1, port: 0 }));
    expect(m.backlog).toBe(4);
    expect(m.dropped).toBe(7);
    m.close();
  });
});

describe('record codecs', () => {
  it('round-trip completion and async records', () => {
    expect(decodeCompletions(encodeCompletion({ cq: 2 ** 40 + 3, userHandle: 2n ** 63n }))).toEqual([{ cq: 2 ** 40 + 3, userHandle: 2n ** 63n }]);
    const a = Buffer.concat([
      encodeAsync({ handle: 5, userHandle: 6n, kind: 'async', eventType: 16, port: 0 }),
      encodeAsync({ handle: 0, userHandle: 0n, kind: 'device_lost', eventType: 8, port: 1 }),
      encodeAsync({ handle: 9, userHandle: 1n, kind: 'object_released', eventType: null, port: 0 }),
    ]);
    expect(decodeAsync(a)).toEqual([
      { handle: 5, userHandle: 6n, kind: 'async', eventType: 16, port: 0 },
      { handle: 0, userHandle: 0n, kind: 'device_lost', eventType: 8, port: 1 },
      { handle: 9, userHandle: 1n, kind: 'object_released', eventType: null, port: 0 },
    ]);
  });
});
