/**
 * Nothing is accepted silently: an unknown --type, a quota below usage,
 * --device ibverbs without devices, TCP without credentials, and a missing
 * TLS file found before any device or socket is opened.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from '../../../src/client/index.js';
import { CTL_BIN, DAEMON_BIN, runNode, spawnDaemon, tempSocket, type Daemon } from '../helpers.js';

// Each case spawns daemons and rdmactl; on a loaded machine a node start takes seconds.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe('rdmactl says what it did not do', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await spawnDaemon('silent');
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('objects --type qpx: names the unknown type and lists the known ones, exit 2', async () => {
    for (const cmd of ['objects', 'watch']) {
      const r = await runNode([CTL_BIN, '--socket', d.socket, cmd, '--type', 'qpx']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^rdmactl: unknown object type "qpx"; known types: [a-z_, ]*\bpd\b[a-z_, ]*\bqp\b[a-z_, ]* \(see rdmactl --help\)\n$/);
    }
    const ok = await runNode([CTL_BIN, '--socket', d.socket, 'objects', '--type', 'qp']);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('quota qp=1 with 2 QPs: accepted, with a warning that usage is above it and the objects are kept', async () => {
    const c = await connect({ socket: d.socket });
    const s = await c.openSession({ name: 'two-qps' });
    try {
      const pd = await s.allocPd('sim0');
      const cq = await s.createCq('sim0', 16);
      for (let i = 0; i < 2; i++) await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' });
      const r = await runNode([CTL_BIN, '--socket', d.socket, 'quota', 'default', 'qp=1', 'pd=5']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('tenant default qp 1 pd 5\n');
      expect(r.stderr).toBe('rdmactl: warning: tenant default uses 2 qp, above the new limit 1: its existing objects are kept; creating more is refused until usage is below the limit\n');
      const j = await runNode([CTL_BIN, '--socket', d.socket, '-j', 'quota', 'default', 'qp=1']);
      expect(JSON.parse(j.stdout)).toEqual({ tenant: 'default', limits: { qp: 1, pd: 5 }, over_limit: [{ name: 'qp', current: 2, limit: 1 }] });
      // Kept: both QPs are still listed; a third is refused.
      const qps = JSON.parse((await runNode([CTL_BIN, '--socket', d.socket, '-j', 'objects', '--type', 'qp'])).stdout) as unknown[];
      expect(qps).toHaveLength(2);
      await expect(s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC' })).rejects.toMatchObject({ codeName: 'RESOURCE_EXHAUSTED' });
      const under = await runNode([CTL_BIN, '--socket', d.socket, 'quota', 'default', 'qp=none', 'pd=none']);
      expect(under).toEqual({ code: 0, stdout: 'tenant default unlimited\n', stderr: '' });
    } finally {
      await s.close();
      c.close();
    }
  });
});

describe('rdma-brokerd fails or warns instead of serving something else', () => {
  it.skipIf(fs.existsSync('/sys/class/infiniband') && fs.readdirSync('/sys/class/infiniband').length > 0)(
    '--device ibverbs on a host without RDMA devices: one line, exit 1', async () => {
      const { dir, socket } = tempSocket('ibv');
      try {
        const r = await runNode([DAEMON_BIN, '--device', 'ibverbs', '--socket', socket]);
        expect(r.code).toBe(1);
        expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
        // Without libibverbs the load error is named instead.
        expect(r.stderr).toMatch(/^rdma-brokerd: (--device ibverbs: the host has no RDMA devices .*--device auto or sim\)|.*libibverbs.*)\n$/);
        expect(fs.existsSync(socket)).toBe(false);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

  it('--listen without any credentials: says every TCP call will be refused, naming --config and --insecure-tcp', async () => {
    const d = await spawnDaemon('nocreds', ['--listen', '127.0.0.1:0']);
    try {
      const w = d.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('TCP without credentials'));
      expect(w).toMatchObject({ level: 40 });
      expect(w?.msg).toMatch(/every TCP call will be refused .*--config FILE.*--insecure-tcp/);
      const port = d.logs.find((l) => l.msg === 'rdma-brokerd serving')?.tcpPort as number;
      const r = await runNode([CTL_BIN, '--addr', `127.0.0.1:${port}`, 'devices']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/UNAUTHENTICATED/);
    } finally {
      await d.stop();
    }
    const ok = await spawnDaemon('insecure', ['--listen', '127.0.0.1:0', '--insecure-tcp']);
    try {
      expect(ok.logs.some((l) => String(l.msg).startsWith('TCP without credentials'))).toBe(false);
    } finally {
      await ok.stop();
    }
  });

  it('a missing TLS certificate fails before any device, socket or fd channel is opened', async () => {
    const { dir, socket } = tempSocket('notls');
    try {
      const r = await runNode([DAEMON_BIN, '--device', 'sim', '--log-level', 'debug', '--socket', socket, '--listen', '127.0.0.1:0',
        '--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', path.join(dir, 'missing.key')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^rdma-brokerd: --tls-cert \S+missing\.pem: ENOENT/);
      // Nothing was opened: no device came up, no fd channel listened, no socket was made.
      expect(r.stdout).not.toMatch(/device added|fd channel listening|serving/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a socket path that is a regular file fails before anything is opened', async () => {
    const { dir } = tempSocket('notsock');
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, 'x');
    try {
      const r = await runNode([DAEMON_BIN, '--device', 'sim', '--log-level', 'debug', '--socket', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`rdma-brokerd: --socket ${file}: exists and is not a socket\n`);
      expect(r.stdout).not.toMatch(/device added/);
      expect(fs.readFileSync(file, 'utf8')).toBe('x');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
