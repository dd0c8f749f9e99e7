/**
 * rdmactl's text and JSON say the same thing: ports with the same names and
 * values (as `rdma` and `rdma -j` do), u64 handles as JSON numbers, lkey and
 * rkey in hex as `rdma` prints them, and sessions with the caller's uid, gid
 * and pid as the daemon read them from the unix socket.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../../../src/client/index.js';
import { CTL_BIN, EXAMPLE, runNode, spawnDaemon, waitFor, type Daemon } from '../helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let d: Daemon;
beforeAll(async () => {
  d = await spawnDaemon('output');
});
afterAll(async () => {
  await d?.stop();
});

async function ctl(...args: string[]): Promise<string> {
  const r = await runNode([CTL_BIN, '--socket', d.socket, ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** A text line's `key value` pairs (values quoted when they have spaces). */
function pairs(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\S+) ("(?:[^"\\]|\\.)*"|\S+)/g;
  for (let m; (m = re.exec(line));) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return out;
}

describe('rdmactl text and JSON agree', () => {
  it('ports: the same names and values (physical_state LINK_UP, mtu 1024) in both', async () => {
    const text = (await ctl('ports')).trim();
    const json = JSON.parse(await ctl('ports', '-j')) as Record<string, unknown>[];
    expect(json).toHaveLength(1);
    const t = pairs(text.replace(/^link \S+ /, ''));
    expect(t).toMatchObject({ physical_state: 'LINK_UP', mtu: '1024', state: 'ACTIVE' });
    const { device, port, gids, ...j } = json[0]!;
    expect([device, port]).toEqual(['sim0', 1]);
    expect(gids).toEqual([expect.objectContaining({ index: 0 })]);
    expect(Object.keys(j)).toEqual(Object.keys(t));
    for (const [k, v] of Object.entries(j)) expect(String(v)).toBe(t[k]);
    expect(j).toMatchObject({ physical_state: 'LINK_UP', mtu: 1024 });
  });

  it('objects: handle and user_handle are both JSON numbers (all 64 bits); lkey/rkey are hex in text', async () => {
    const c = await connect({ socket: d.socket });
    const s = await c.openSession({ name: 'output' });
    try {
      const big = 2n ** 63n + 5n;
      const pd = await s.allocPd('sim0', { userHandle: big });
      const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE', 'REMOTE_READ']);
      const raw = await ctl('objects', '-j');
      // The digits are exact in the JSON text (a JS reader rounds them, as for any u64).
      expect(raw).toContain(`"user_handle":${big.toString()},`);
      const objs = JSON.parse(raw) as { type: string; handle: unknown; user_handle: unknown; attrs: Record<string, unknown> }[];
      for (const o of objs) {
        expect(typeof o.handle).toBe('number');
        expect(typeof o.user_handle).toBe('number');
      }
      expect(objs.find((o) => o.type === 'mr')?.user_handle).toBe(0);
      const mrJson = objs.find((o) => o.type === 'mr')!;
      const line = (await ctl('objects', '--type', 'mr')).trim();
      const t = pairs(line);
      expect(t.lkey).toBe(`0x${Number(mrJson.attrs.lkey).toString(16)}`);
      expect(t.rkey).toBe(`0x${Number(mrJson.attrs.rkey).toString(16)}`);
      expect(Number(mr.attrs.lkey)).toBe(mrJson.attrs.lkey);
      const pdLine = pairs((await ctl('objects', '--type', 'pd')).trim());
      expect(pdLine.user_handle).toBe(big.toString());
    } finally {
      await s.close();
      c.close();
    }
  });

  it('sessions: the caller\'s uid, gid and pid from the unix socket, the same in text and JSON', async () => {
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, '--hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor(() => out.includes('holding'), 30_000, 'holding');
      const json = JSON.parse(await ctl('sessions', '-j')) as Record<string, unknown>[];
      expect(json).toEqual([expect.objectContaining({ uid: process.getuid!(), gid: process.getgid!(), pid: p.pid, cred_via: 'grpc', peer: 'unix', object_count: 7 })]);
      const t = pairs((await ctl('sessions')).trim().replace(/^session \S+ /, ''));
      expect(t).toMatchObject({ uid: String(process.getuid!()), gid: String(process.getgid!()), pid: String(p.pid), cred_via: 'grpc', peer: 'unix', objects: '7' });
    } finally {
      p.kill('SIGKILL');
    }
  });
});
