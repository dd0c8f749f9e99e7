/** The fd channel spoken from Python, as docs/fd-channel.md shows it (skipped without python3). */
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handle, loadSimGid, RawSession, rcPair, ROOT, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';

const python = spawnSync('python3', ['--version']).status === 0;
let d: FdDaemon;
beforeAll(async () => {
  if (python) d = await spawnFdDaemon('py');
});
afterAll(async () => {
  await d?.stop();
});

it.skipIf(!python)('a Python client binds, maps an MR, registers a memfd and waits for a completion', async () => {
  const s = await RawSession.open(d.socket);
  const gid = await loadSimGid(d.socket);
  const ch = (await s.create('comp_channel')).handle;
  const { pd, cq, a } = await rcPair(s, gid, { channel: ch });
  const mr = await s.create('mr', { pd: handle(pd), length: 4096, access: ['LOCAL_WRITE', 'REMOTE_WRITE'] });
  await s.invoke(mr.handle, 'write', { data: Buffer.from('hello') });
  const py = spawn('python3', [path.join(ROOT, 'test/integration/fixtures/fd-client.py'), d.fdSocket, s.opened.fd_token, String(ch), String(mr.handle), String(pd)]);
  let out = '';
  let err = '';
  py.stdout.on('data', (b: Buffer) => (out += b.toString()));
  py.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<number | null>((r) => py.on('exit', r));
  await waitFor(() => out.includes('\n'), 10_000, `python's first line (${err})`);
  const first = JSON.parse(out.split('\n')[0]!) as Record<string, unknown>;
  expect(first).toMatchObject({ bind: s.id, mr_bytes: 'hello', channel_fd_cloexec: true, missing: 'NOT_FOUND' });
  const back = await s.invoke(mr.handle, 'read', { length: 6 });
  expect(Buffer.from(back.data as Buffer).toString()).toBe('python');
  expect((await s.listOwn()).some((o) => Number(o.handle) === first.reg_mr)).toBe(true);
  // Arm, write to the MR through the QP: Python's blocking read of the event fd returns.
  await s.invoke(cq, 'req_notify');
  await s.invoke(a.handle, 'post_send', {
    wrs: [{ wr_id: 1, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'], sg_list: [{ addr: BigInt(mr.attrs.addr as number), length: 1, lkey: Number(mr.attrs.lkey) }], remote_addr: BigInt(mr.attrs.addr as number) + 100n, rkey: Number(mr.attrs.rkey) }],
  });
  expect(await done).toBe(0);
  expect(JSON.parse(out.split('\n')[1]!)).toEqual({ cq, user: 4242 });
  s.close();
});
