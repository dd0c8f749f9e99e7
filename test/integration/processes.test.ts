/**
 * The daemon, the example and rdmactl as separate processes: what an
 * operator sees. The daemon is spawned from bin/ (dist/, built by npm test).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { CTL_BIN, EXAMPLE, ROOT, runNode, spawnDaemon, tempSocket, waitFor, type Daemon } from './helpers.js';

async function ctlJson(socket: string, ...args: string[]): Promise<unknown> {
  const r = await runNode([CTL_BIN, '--socket', socket, ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('rdma-brokerd with the example and rdmactl', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await spawnDaemon('proc');
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('rdmactl devices -j lists sim0; the table form too', async () => {
    const devs = (await ctlJson(d.socket, 'devices', '-j')) as { name: string; backend: string }[];
    expect(devs).toEqual([expect.objectContaining({ name: 'sim0', backend: 'sim', state: 'live' })]);
    const t = await runNode([CTL_BIN, '--socket', d.socket, 'devices']);
    expect(t.stdout).toMatch(/^0: sim0: backend sim .*state live\n$/);
    const p = await runNode([CTL_BIN, '--socket', d.socket, 'ports']);
    expect(p.stdout).toMatch(/^link sim0\/1 state ACTIVE .*gid \S+/);
    const ty = (await ctlJson(d.socket, 'types', 'sim0', '-j')) as { types: { name: string }[] }[];
    expect(ty[0]?.types.map((x) => x.name)).toEqual(expect.arrayContaining(['pd', 'mr', 'cq', 'qp', 'srq', 'ah', 'mw']));
  });

  it('npm run example:write prints rdma-write ok and leaves nothing behind', async () => {
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('npm', ['run', '-s', 'example:write', '--', '--socket', d.socket, '--bytes', '1048576'], { cwd: ROOT });
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (out += b.toString()));
      p.on('exit', (code) => resolve({ code, out }));
    });
    expect(r.out).toBe('rdma-write ok 1048576 bytes\n');
    expect(r.code).toBe(0);
    await waitFor(async () => ((await ctlJson(d.socket, 'objects', '-j')) as unknown[]).length === 0, 2000, 'no objects');
  });

  it('a --hold example killed with SIGKILL: its objects are listed, then gone within 2 s', async () => {
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, '--hold', '--bytes', '8192'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor(() => out.includes('holding'), 10_000, 'holding');
      expect(out).toBe('holding\n');

      const objs = (await ctlJson(d.socket, 'objects', '-j')) as Record<string, unknown>[];
      // On a unix socket the example waits on a completion channel's event fd.
      expect(objs.map((o) => o.type).sort()).toEqual(['comp_channel', 'cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
      for (const o of objs) {
        expect(o).toEqual(expect.objectContaining({
          type: expect.any(String), handle: expect.any(Number), device: 'sim0', session: expect.stringMatching(/^s-/),
          tenant: 'default', user_handle: 0, parents: expect.any(Array), attrs: expect.any(Object),
        }));
      }
      const pd = objs.find((o) => o.type === 'pd');
      const mrs = objs.filter((o) => o.type === 'mr');
      expect(mrs.every((m) => (m.parents as number[]).includes(pd?.handle as number))).toBe(true);
      expect(mrs[0]?.attrs).toEqual(expect.objectContaining({ length: 8192, lkey: expect.any(Number), rkey: expect.any(Number) }));
      const filtered = (await ctlJson(d.socket, 'objects', '-j', '--type', 'qp')) as { type: string }[];
      expect(filtered.map((o) => o.type)).toEqual(['qp', 'qp']);
      const sessions = (await ctlJson(d.socket, 'sessions', '-j')) as { object_count: number; state: string }[];
      expect(sessions).toEqual([expect.objectContaining({ object_count: 7, state: 'attached' })]);

      // The 2 s are the daemon's: measured with a client already connected,
      // since spawning rdmactl alone can take longer on a loaded machine.
      const c = await connect({ socket: d.socket });
      try {
        p.kill('SIGKILL');
        const killedAt = Date.now();
        await waitFor(async () => (await c.listObjects()).length === 0, 2000, 'the daemon to list no objects');
        expect(Date.now() - killedAt).toBeLessThan(2000);
      } finally {
        c.close();
      }
      expect(await ctlJson(d.socket, 'objects', '-j')).toEqual([]);
      expect(await ctlJson(d.socket, 'sessions', '-j')).toEqual([]);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('rdmactl watch streams changes as JSON lines', async () => {
    const w = spawn(process.execPath, [CTL_BIN, '--socket', d.socket, 'watch', '-j', '--initial'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    w.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(() => out.includes('synced'), 5000, 'synced');
      const c = await connect({ socket: d.socket });
      const s = await c.openSession();
      const pd = await s.allocPd('sim0');
      await pd.destroy();
      await s.close();
      c.close();
      await waitFor(() => out.includes('destroyed'), 5000, 'destroyed');
      const kinds = out.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
      expect(kinds).toEqual(['synced', 'created', 'destroyed']);
    } finally {
      w.kill('SIGINT');
    }
    const code = await new Promise((r) => w.on('exit', r));
    expect(code).toBe(0);
  });
});

describe('over TCP with a bearer token', () => {
  it('rdmactl --addr --token and the example reach the daemon; a wrong token is one line, exit 1', async () => {
    const { dir } = tempSocket('cfg');
    const cfg = path.join(dir, 'tenants.json');
    fs.writeFileSync(cfg, JSON.stringify({ tenants: [{ name: 'ops', role: 'admin', tokens: ['a-long-random-secret-token'] }] }));
    const d = await spawnDaemon('tcp', ['--listen', '127.0.0.1:0', '--config', cfg]);
    try {
      const port = d.logs.find((l) => l.msg === 'rdma-brokerd serving')?.tcpPort;
      expect(port).toEqual(expect.any(Number));
      const addr = `127.0.0.1:${String(port)}`;
      const ok = await runNode([CTL_BIN, '--addr', addr, '--token', 'a-long-random-secret-token', 'devices', '-j']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual([expect.objectContaining({ name: 'sim0' })]);
      const ex = await runNode([EXAMPLE, '--addr', addr, '--token', 'a-long-random-secret-token', '--bytes', '3000']);
      expect(ex.stdout).toBe('rdma-write ok 3000 bytes\n');
      const bad = await runNode([CTL_BIN, '--addr', addr, '--token', 'not-the-right-token-at-all', 'devices']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^rdmactl: .*UNAUTHENTICATED.*\n$/);
    } finally {
      await d.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('failures an operator sees', () => {
  it('rdmactl without a daemon: one line, exit 1', async () => {
    const { socket } = tempSocket('none');
    const r = await runNode([CTL_BIN, '--socket', socket, 'devices']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^rdmactl: .*is rdma-brokerd running\?/);
  });

  it('rdmactl on the stale socket of a killed daemon: one line, exit 1', async () => {
    const d = await spawnDaemon('stale');
    d.proc.kill('SIGKILL');
    await d.exited;
    const r = await runNode([CTL_BIN, '--socket', d.socket, 'objects']);
    await d.stop();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rdmactl: UNAVAILABLE: nothing listens on ${d.socket} (is rdma-brokerd running?)\n`);
  });

  it('rdmactl usage errors exit 2 with one line pointing at --help', async () => {
    const r = await runNode([CTL_BIN, 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rdmactl: unknown command "frobnicate" (see rdmactl --help)\n');
    const h = await runNode([CTL_BIN, '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/objects \[--type T\]/);
  });

  it('SIGTERM with live objects: exits 0 and logs every object destroyed', async () => {
    const d = await spawnDaemon('term');
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, '--hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor(() => out.includes('holding'), 10_000, 'holding');
      d.proc.kill('SIGTERM');
      const { code, signal } = await d.exited;
      expect(signal).toBeNull();
      expect(code).toBe(0);
      const shut = d.logs.find((l) => l.msg === 'shutting down');
      // (the example on a unix socket waits on a completion channel: 7 objects)
      expect(shut).toMatchObject({ signal: 'SIGTERM', sessions: 1, objects: 7 });
      const ended = d.logs.find((l) => l.msg === 'session ended');
      expect(ended).toMatchObject({ reason: 'shutdown', destroyed: 7 });
      const stopped = d.logs.find((l) => String(l.msg).startsWith('stopped'));
      expect(stopped).toMatchObject({ objects: 0, sessions: 0 });
      const destroyedLines = d.logs.filter((l) => l.msg === 'object released');
      expect(destroyedLines.map((l) => l.type).sort()).toEqual(['comp_channel', 'cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
    } finally {
      p.kill('SIGKILL');
      await d.stop();
    }
  });
});
