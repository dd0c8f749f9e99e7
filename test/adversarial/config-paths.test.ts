/**
 * Hostile or careless config paths (issue 9, point 8): a tenant socket under
 * /proc, /sys or /dev (directly or through a symlink) is refused by
 * --check-config, at start and on SIGHUP with one line naming the field; no
 * path operation can spin (node's recursive mkdir under /proc never returns);
 * the daemon makes tenant socket directories the tenant's own uid can pass,
 * and when an existing directory blocks it, the daemon's warning and the
 * client's error name that directory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/daemon/config.js';
import { makeDirs, socketPathProblem } from '../../src/daemon/paths.js';
import { DAEMON_BIN, ROOT, runNode, spawnDaemon, waitFor } from '../integration/helpers.js';
import { startHarness } from '../integration/tenants/harness.js';

const TENANT_UID = 1000;
const TENANT_GID = 1000;
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const dirs: string[] = [];
function tempDir(tag: string, mode = 0o755): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `rb-paths-${tag}-`));
  fs.chmodSync(d, mode);
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function configWith(socketPath: string, extra: Record<string, unknown> = {}): unknown {
  return { tenants: [{ name: 'ops', role: 'admin' }, { name: 'team-a', socket: socketPath, ...extra }], socket_tenant: 'ops' };
}

/** The error validateConfig throws for a document (fails the test when it accepts it). */
function refusal(doc: unknown, base = '/'): ConfigError {
  try {
    validateConfig(doc, base);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('the config was accepted');
}

/** Runs a node snippet as another uid and returns what it printed. */
function runAs(uid: number, gid: number, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { uid, gid, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`as uid ${uid}: no answer in 10 s; output: ${out}`));
    }, 10_000);
    p.on('exit', () => {
      clearTimeout(t);
      resolve(out.trim());
    });
  });
}

describe('tenant socket paths under kernel file systems', () => {
  it.each(['/proc/rdma/a.sock', '/proc/self/a.sock', '/sys/fs/a.sock', '/dev/a.sock', '/dev/shm/x/a.sock'])('validateConfig refuses %s naming the field', (p) => {
    const e = refusal(configWith(p));
    expect(e.field).toBe('tenants[1].socket');
    expect(e.message).toMatch(/under \/(proc|sys|dev) \(a kernel file system\)/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('refuses the object form on its path field, a relative path that resolves there, and a symlink into /proc', () => {
    expect(refusal(configWith({ path: '/proc/x.sock', mode: '0660' } as never)).field).toBe('tenants[1].socket.path');
    expect(refusal(configWith('../proc/1/x.sock'), '/etc').message).toMatch(/\/proc\/1\/x\.sock is under \/proc/);
    const d = tempDir('link');
    fs.symlinkSync('/proc/self', path.join(d, 'p'));
    const e = refusal(configWith(path.join(d, 'p', 'fdinfo', 'x.sock')));
    expect(e.field).toBe('tenants[1].socket');
    expect(e.message).toMatch(/leads to \/proc\/\d+\/fdinfo, under \/proc/);
  });

  it('refuses a parent that is a file, and a path too long for sun_path with its .fd twin', () => {
    const d = tempDir('file');
    fs.writeFileSync(path.join(d, 'f'), '');
    expect(refusal(configWith(path.join(d, 'f', 'x', 'a.sock'))).message).toMatch(new RegExp(`${path.join(d, 'f')} is not a directory`));
    expect(refusal(configWith(`/run/${'x'.repeat(101)}`)).message).toMatch(/too long for a unix socket \(\d+ bytes with its \.fd twin; at most 107\)/);
    expect(socketPathProblem(`/run/${'x'.repeat(100)}`)).toBeNull();
  });

  it('makeDirs refuses /proc at once instead of spinning, and names the directory it cannot make', () => {
    const t0 = Date.now();
    expect(() => makeDirs('/proc/rdma-broker/x')).toThrow(/under \/proc/);
    const d = tempDir('mk');
    fs.writeFileSync(path.join(d, 'file'), '');
    expect(() => makeDirs(path.join(d, 'file', 'sub'))).toThrow(`${path.join(d, 'file')} is not a directory`);
    expect(makeDirs(path.join(d, 'a', 'b'))).toEqual([path.join(d, 'a'), path.join(d, 'a', 'b')]);
    expect(fs.statSync(path.join(d, 'a', 'b')).mode & 0o777).toBe(0o755);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('--check-config refuses a /proc tenant socket: exit 1, one line naming the field', async () => {
    const d = tempDir('check');
    const cfg = path.join(d, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify(configWith('/proc/rdma/a.sock')));
    const r = await runNode([DAEMON_BIN, '--check-config', cfg], 10_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rdma-brokerd: tenants\[1\]\.socket: \/proc\/rdma\/a\.sock is under \/proc \(a kernel file system\).*\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a daemon started with a /proc tenant socket exits 1 at once, and removes nothing', async () => {
    const d = tempDir('start');
    const cfg = path.join(d, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify(configWith('/proc/rdma/a.sock')));
    const r = await runNode([DAEMON_BIN, '--device', 'sim', '--socket', path.join(d, 'main.sock'), '--config', cfg], 10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rdma-brokerd: tenants\[1\]\.socket: .*under \/proc/);
    expect(fs.readdirSync(d)).toEqual(['config.json']);
  });

  it('SIGHUP with a /proc tenant socket keeps the running config, stays responsive, and SIGTERM still stops it', async () => {
    const d = tempDir('hup');
    const cfg = path.join(d, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify(configWith(path.join(d, 'a', 'broker.sock'))));
    const daemon = await spawnDaemon('hup', ['--config', cfg], { dir: d });
    try {
      fs.writeFileSync(cfg, JSON.stringify(configWith('/proc/rdma/a.sock')));
      daemon.proc.kill('SIGHUP');
      const failed = await waitFor(() => daemon.logs.find((l) => l.msg === 'config reload failed; keeping the current config'), 5000, 'the reload to fail');
      expect(String(failed.error)).toMatch(/^tenants\[1\]\.socket: \/proc\/rdma\/a\.sock is under \/proc/);
      // Still serving the old tenant socket, and still answering.
      expect(fs.lstatSync(path.join(d, 'a', 'broker.sock')).isSocket()).toBe(true);
      const ctl = await runNode([path.join(ROOT, 'bin/rdmactl.js'), '--socket', daemon.socket, 'devices', '-j'], 10_000);
      expect(ctl.code).toBe(0);
      const t0 = Date.now();
      daemon.proc.kill('SIGTERM');
      expect((await daemon.exited).code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await daemon.stop();
    }
  });

  it('a tenant socket that reaches /proc without the config check (a raw table) fails fast with its reason', async () => {
    const hx = await startHarness({ tenants: [{ name: 'ops', role: 'admin' }], socket_tenant: 'ops' });
    try {
      const cfg = hx.daemon.tenants.config;
      hx.daemon.tenants.replace({
        ...cfg,
        tenants: [...cfg.tenants, { name: 'raw', role: 'tenant', quota: {}, sockets: [{ path: '/proc/rdma/raw.sock', mode: 0o660, uid: null, gid: null }], uids: [], gids: [], certs: [], tokenDigests: [] }],
      });
      const t0 = Date.now();
      await expect(hx.daemon.listeners.reconcile()).rejects.toThrow(/tenant raw: cannot serve \/proc\/rdma\/raw\.sock: .*under \/proc/);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await hx.stop();
    }
  });
});

describe.runIf(asRoot)('tenant socket directories and owners', () => {
  it('makes 0755 directories and a 0660 socket owned by the tenant uid/gid, which that uid reaches', async () => {
    const d = tempDir('own');
    const sock = path.join(d, 'tenants', 'team-a', 'broker.sock');
    const hx = await startHarness(configWith(sock, { uids: [TENANT_UID], gids: [TENANT_GID] }));
    try {
      for (const dir of [path.dirname(path.dirname(sock)), path.dirname(sock)]) {
        const st = fs.statSync(dir);
        expect({ dir, mode: st.mode & 0o7777, uid: st.uid }).toEqual({ dir, mode: 0o755, uid: 0 });
      }
      const st = fs.lstatSync(sock);
      expect({ mode: st.mode & 0o777, uid: st.uid, gid: st.gid }).toEqual({ mode: 0o660, uid: TENANT_UID, gid: TENANT_GID });
      expect(fs.lstatSync(`${sock}.fd`).uid).toBe(TENANT_UID);
      const out = await runAs(TENANT_UID, TENANT_GID, `
        import { connect } from './dist/client/index.js';
        const c = await connect({ socket: ${JSON.stringify(sock)} });
        console.log('devices', (await c.devices()).map((x) => x.name).join(','));
        c.close();`);
      expect(out).toBe('devices sim0');
      expect(hx.logs.some((l) => l.level === 40 && String(l.msg).includes('cannot reach its socket'))).toBe(false);
    } finally {
      await hx.stop();
    }
  });

  it('an existing directory that blocks the tenant is named in the daemon warning and in the client error', async () => {
    const d = tempDir('block');
    const locked = path.join(d, 'locked');
    fs.mkdirSync(locked, { mode: 0o700 });
    fs.chmodSync(locked, 0o700);
    const sock = path.join(locked, 'a', 'broker.sock');
    const hx = await startHarness(configWith(sock, { uids: [TENANT_UID], gids: [TENANT_GID] }));
    try {
      const warn = hx.logs.find((l) => l.level === 40 && String(l.msg).includes('cannot reach its socket'));
      expect(warn).toMatchObject({ tenant: 'team-a', dir: locked });
      expect(String(warn!.msg)).toContain(`directory ${locked} (mode 0700, owner 0:0) is not searchable`);
      const out = await runAs(TENANT_UID, TENANT_GID, `
        import { connect } from './dist/client/index.js';
        try { await connect({ socket: ${JSON.stringify(sock)} }); console.log('connected'); }
        catch (e) { console.log(e.message); }`);
      expect(out).toContain(`directory ${locked} (mode 0700, owner 0:0) is not searchable by uid ${TENANT_UID}`);
    } finally {
      await hx.stop();
    }
  });
});
