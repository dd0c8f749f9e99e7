/**
 * The real daemon in a child process: SIGHUP with a changed quota applies it
 * without dropping sessions (and opens a new tenant's socket); a broken config
 * on SIGHUP keeps the old one and logs why.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, spawnDaemon, tempSocket, type Daemon } from '../helpers.js';
import { Caller, startHarness, unix, type Json } from './harness.js';

const S = grpc.status;

let dir: string;
let cfg: string;
let d: Daemon;
let lines: Json[];

function writeConfig(pd: number | string, extra = ''): void {
  fs.writeFileSync(cfg, `tenants:\n  - name: t\n    socket: t/broker.sock\n    quotas:\n      pd: ${pd}\n${extra}`);
}

async function waitLog(pred: (l: Json) => boolean, from: number, what: string): Promise<Json> {
  for (let i = 0; i < 500; i++) {
    const l = lines.slice(from).find(pred);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}; log: ${JSON.stringify(lines.slice(from))}`);
}

beforeAll(async () => {
  dir = tempSocket('reload').dir;
  cfg = path.join(dir, 'config.yaml');
  writeConfig(2);
  d = await spawnDaemon('reload', ['--config', cfg], { dir, logLevel: 'info', stdin: 'ignore' });
  lines = d.logs as Json[];
});

afterAll(async () => {
  await d?.stop();
});

describe('SIGHUP', () => {
  it('applies a changed quota without dropping sessions, and keeps the old config when the new one is broken', async () => {
    const c = new Caller(unix(path.join(dir, 't', 'broker.sock')));
    try {
      const opened = await c.open();
      const pds = [await c.create('pd'), await c.create('pd')];
      expect(await c.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.RESOURCE_EXHAUSTED);

      let from = lines.length;
      writeConfig(4, `  - name: u\n    socket: u/broker.sock\n`);
      d.proc.kill('SIGHUP');
      await waitLog((l) => l.msg === 'config reloaded', from, 'the reload');
      await waitLog((l) => l.msg === 'tenant socket serving' && l.tenant === 'u', from, "u's socket");
      // Same session, same stream: the new quota applies.
      pds.push(await c.create('pd'), await c.create('pd'));
      expect(await c.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.RESOURCE_EXHAUSTED);
      const u = new Caller(unix(path.join(dir, 'u', 'broker.sock')));
      expect(await u.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'u', role: 'tenant' });
      u.close();

      from = lines.length;
      writeConfig(-1);
      d.proc.kill('SIGHUP');
      const bad = await waitLog((l) => l.msg === 'config reload failed; keeping the current config', from, 'the failed reload');
      expect(bad.error).toContain('tenants[0].quotas.pd: expected a non-negative integer');
      // The old config (pd: 4, tenant u) is still in force; the session is still there.
      expect(await c.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.RESOURCE_EXHAUSTED);
      expect(fs.existsSync(path.join(dir, 'u', 'broker.sock'))).toBe(true);
      for (const p of pds) expect(await c.code('ObjectService', 'Query', { handle: p.handle })).toBe(S.OK);
      const who = await c.call<Json>('AdminService', 'WhoAmI');
      expect(who.tenant).toBe('t');
      const sessions = lines.filter((l) => l.msg === 'session ended');
      expect(sessions).toEqual([]);
      expect(opened.session_id).toBe(c.sessionId);
    } finally {
      c.close();
    }
  });

  it('--check-config validates a file and exits 0, or names the field and exits 1', () => {
    const good = path.join(dir, 'good.yaml');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(good, 'tenants:\n  - name: x\n    role: viewer\n');
    fs.writeFileSync(bad, JSON.stringify({ tenants: [{ name: 'x' }, { name: 'y', quotas: { qp: 'many' } }] }));
    const bin = path.join(ROOT, 'bin/rdma-brokerd.js');
    const ok = spawnSync(process.execPath, [bin, '--check-config', good], { encoding: 'utf8', timeout: 20_000 });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok (2 tenants: x (viewer), default (admin); main socket: default)');
    const no = spawnSync(process.execPath, [bin, '--check-config', bad], { encoding: 'utf8', timeout: 20_000 });
    expect(no.status).toBe(1);
    expect(no.stderr).toBe('rdma-brokerd: tenants[1].quotas.qp: expected a non-negative integer\n');
  });
});

describe('reload in process', () => {
  it('ends the sessions of a tenant taken out of the config and applies a role change to the next call', async () => {
    const X = 'reload-x-token-0123456789';
    const Y = 'reload-y-token-0123456789';
    const hx = await startHarness({ tenants: [{ name: 'x', tokens: [X] }, { name: 'y', tokens: [Y] }] }, { listen: '127.0.0.1:0' });
    const target = `127.0.0.1:${hx.daemon.tcpPort}`;
    const x = new Caller({ target, token: X });
    const y = new Caller({ target, token: Y });
    try {
      await x.open();
      await y.open();
      const xpd = await x.create('pd');
      await y.create('pd');
      await y.create('cq', { cqe: { u64: '4' } });
      fs.writeFileSync(hx.config, JSON.stringify({ tenants: [{ name: 'x', role: 'viewer', tokens: [X] }] }));
      expect(hx.daemon.reload()).toEqual({ ok: true });
      for (let i = 0; i < 100 && hx.daemon.broker.registry.size > 1; i++) await new Promise((r) => setTimeout(r, 10));
      const left = [...hx.daemon.broker.registry.all()].map((o) => [o.owner.tenant, o.type]);
      expect(left).toEqual([['x', 'pd']]);
      expect(await y.code('DeviceService', 'List')).toBe(S.UNAUTHENTICATED);
      // x is a viewer now: it reads everything, mutates nothing; its session and object stay.
      expect(await x.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(S.PERMISSION_DENIED);
      const objs = (await x.call<Json>('InspectionService', 'ListObjects', {})).objects as Json[];
      expect(objs.map((o) => o.handle)).toEqual([xpd.handle]);
      expect(hx.logs.filter((l) => l.msg === 'tenant removed from the config: ending its session').map((l) => l.tenant)).toEqual(['y']);
    } finally {
      x.close();
      y.close();
      await hx.stop();
    }
  });

  it("refuses a tenant socket at the daemon's own socket path and keeps serving the main socket", async () => {
    const hx = await startHarness({ tenants: [{ name: 'sneaky', socket: 'main.sock' }] });
    const main = new Caller(unix(path.join(hx.dir, 'main.sock')));
    try {
      expect(await main.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'default', role: 'admin', via: 'socket' });
      expect(hx.logs.some((l) => l.tenant === 'sneaky' && l.level === 50)).toBe(true);
      expect(hx.daemon.listeners.tenantSockets()).toEqual([]);
    } finally {
      main.close();
      await hx.stop();
    }
  });

  it('--audit-log appends audit records as JSON lines and reopens the file on reload (log rotation)', async () => {
    const dirAudit = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-audit-'));
    const file = path.join(dirAudit, 'sub', 'audit.log');
    const hx = await startHarness({ tenants: [{ name: 'x', socket: 'x.sock' }] }, { auditLog: file });
    const c = new Caller(unix(path.join(hx.dir, 'x.sock')));
    const read = (f: string): Json[] => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json) : []);
    try {
      await c.open();
      const pd = await c.create('pd');
      for (let i = 0; i < 200 && read(file).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      fs.renameSync(file, `${file}.1`);
      expect(hx.daemon.reload()).toEqual({ ok: true });
      await c.call('ObjectService', 'Destroy', { handle: pd.handle });
      c.close();
      await hx.stop();
      const before = read(`${file}.1`);
      const after = read(file);
      expect(before.map((l) => [l.audit, l.verb, l.tenant, String(l.handle), l.result])).toEqual([[true, 'create', 'x', String(pd.handle), 'ok']]);
      expect(after.map((l) => [l.audit, l.verb, l.type, String(l.handle), l.result])).toEqual([[true, 'destroy', 'pd', String(pd.handle), 'ok']]);
    } finally {
      c.close();
      fs.rmSync(dirAudit, { recursive: true, force: true });
    }
  });

  it('serves the other tenant sockets when one cannot be served, and leaves a file in the way alone', async () => {
    const hx = await startHarness({ tenants: [{ name: 'x', socket: 'x.sock' }] });
    try {
      fs.writeFileSync(path.join(hx.dir, 'in-the-way'), 'keep me');
      fs.writeFileSync(hx.config, JSON.stringify({ tenants: [{ name: 'x', socket: 'x.sock' }, { name: 'y', socket: 'in-the-way' }, { name: 'z', socket: 'z.sock' }] }));
      expect(hx.daemon.reload()).toEqual({ ok: true });
      for (let i = 0; i < 200 && hx.daemon.listeners.tenantSockets().length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
      expect(hx.daemon.listeners.tenantSockets().map((p) => path.basename(p)).sort()).toEqual(['x.sock', 'z.sock']);
      expect(fs.readFileSync(path.join(hx.dir, 'in-the-way'), 'utf8')).toBe('keep me');
      const z = new Caller(unix(path.join(hx.dir, 'z.sock')));
      expect(await z.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'z' });
      z.close();
      expect(hx.logs.some((l) => l.msg === 'tenant socket not served' && l.tenant === 'y' && String(l.error).includes('not a socket'))).toBe(true);
    } finally {
      await hx.stop();
    }
  });
});
