/**
 * rdmactl over TCP with TLS and tokens, and several --addr merged with a
 * node column; the tenant commands (whoami, accounting, quotas, quota, evict).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as rdmactl } from '../../../src/cli/main.js';
import { Caller, startHarness, type Harness, type Json } from './harness.js';
import { TestCerts } from './certs.js';
import { tlsCredentials } from '../../../src/client/index.js';

/** TLS credentials as the client library makes them (no SNI for an IP target: no DEP0123 warning). */
const ssl = (ca: Buffer, key?: Buffer, cert?: Buffer): grpc.ChannelCredentials => tlsCredentials({ ca, key, cert }).credentials;

const ADMIN = 'ctl-admin-token-0123456789';
const TEAM = 'ctl-team-token-0123456789';
let certs: TestCerts;
const nodes: Harness[] = [];
const clients: Caller[] = [];
let addrs: string[];

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await rdmactl(argv, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

const tls = (): string[] => ['--tls-ca', certs.path('ca.pem'), '--tls-server-name', 'localhost'];
const on = (...a: string[]): string[] => [...addrs.flatMap((x) => ['--addr', x]), ...tls(), ...a];

beforeAll(async () => {
  certs = new TestCerts().make('ca', 'test-ca', null).make('server', 'localhost', 'ca', true).make('ops', 'ops', 'ca');
  for (let i = 0; i < 2; i++) {
    const hx = await startHarness({
      tenants: [
        { name: 'team', tokens: [TEAM], quotas: { pd: 10 } },
        { name: 'ops', role: 'admin', tokens: [ADMIN], certs: [{ subject: 'CN=ops' }] },
      ],
    }, { listen: '127.0.0.1:0', tlsCert: certs.path('server.pem'), tlsKey: certs.path('server.key'), tlsCa: certs.path('ca.pem') });
    nodes.push(hx);
    const c = new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, creds: ssl(certs.read('ca.pem')), token: TEAM });
    await c.open(`node${i}`);
    for (let k = 0; k <= i; k++) await c.create('pd');
    clients.push(c);
  }
  addrs = nodes.map((n) => `127.0.0.1:${n.daemon.tcpPort}`);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop();
  certs?.remove();
});

describe('rdmactl with several --addr', () => {
  it('merges the nodes\' objects with a node column (JSON and text)', async () => {
    const j = await ctl(...on('--token', TEAM, 'objects', '-j'));
    expect(j.err).toBe('');
    expect(j.code).toBe(0);
    const objs = JSON.parse(j.out) as Json[];
    expect(objs.map((o) => o.node)).toEqual([addrs[0], addrs[1], addrs[1]]);
    expect(objs.every((o) => o.type === 'pd' && o.tenant === 'team')).toBe(true);
    const t = await ctl(...on('--token', TEAM, 'objects'));
    const lines = t.out.trim().split('\n');
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(new RegExp(`^node ${addrs[0]} dev sim0 type pd `));
    expect(lines[2]).toMatch(new RegExp(`^node ${addrs[1]} dev sim0 type pd `));
  });

  it('reads the token from a file or the environment and says who the caller is', async () => {
    const f = path.join(certs.dir, 'token');
    fs.writeFileSync(f, `${ADMIN}\n`);
    const w = await ctl(...on('--token-file', f, 'whoami', '-j'));
    expect(JSON.parse(w.out)).toEqual(addrs.map((node) => ({ node, tenant: 'ops', role: 'admin', via: 'token' })));
    process.env.RDMACTL_TOKEN = TEAM;
    try {
      const e = await ctl('--addr', addrs[0]!, ...tls(), 'whoami');
      expect(e.out).toBe('tenant team role tenant via token\n');
    } finally {
      delete process.env.RDMACTL_TOKEN;
    }
    const cert = await ctl('--addr', addrs[0]!, ...tls(), '--tls-cert', certs.path('ops.pem'), '--tls-key', certs.path('ops.key'), 'whoami');
    expect(cert.out).toBe('tenant ops role admin via cert\n');
  });

  it('shows accounting and quotas per node, and lets an admin change a quota and evict a session', async () => {
    const acc = JSON.parse((await ctl(...on('--token', ADMIN, 'accounting', '--tenant', 'team', '-j'))).out) as Json[];
    expect(acc.map((a) => [a.node, a.tenant, a.objects, a.sessions, (a.quota as Json).pd])).toEqual([
      [addrs[0], 'team', 1, 1, 10], [addrs[1], 'team', 2, 1, 10],
    ]);
    const set = await ctl('--addr', addrs[1]!, ...tls(), '--token', ADMIN, 'quota', 'team', 'pd=2', 'objects=50');
    expect(set.code).toBe(0);
    expect(set.out).toBe('tenant team objects 50 pd 2\n');
    expect(await clients[1]!.code('ObjectService', 'Create', { type: 'pd', device: 'sim0' })).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const q = await ctl(...on('--token', ADMIN, 'quotas', '--tenant', 'team'));
    expect(q.out).toBe(`node ${addrs[0]} tenant team pd 10\nnode ${addrs[1]} tenant team objects 50 pd 2\n`);
    const cleared = await ctl('--addr', addrs[1]!, ...tls(), '--token', ADMIN, 'quota', 'team', 'pd=none', 'objects=none');
    expect(cleared.out).toBe('tenant team unlimited\n');
    // A tenant may not change quotas.
    const denied = await ctl('--addr', addrs[0]!, ...tls(), '--token', TEAM, 'quota', 'team', 'pd=100');
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/not allowed for role tenant/);
    const ev = await ctl('--addr', addrs[0]!, ...tls(), '--token', ADMIN, 'evict', clients[0]!.sessionId!);
    expect(ev.out).toBe(`evicted ${clients[0]!.sessionId} tenant team objects_destroyed 1\n`);
    const after = JSON.parse((await ctl('--addr', addrs[0]!, ...tls(), '--token', ADMIN, 'objects', '-j')).out) as Json[];
    expect(after).toEqual([]);
  });

  it('reports a node that fails and still prints the others', async () => {
    const r = await ctl('--addr', addrs[1]!, '--addr', '127.0.0.1:1', ...tls(), '--token', TEAM, 'devices');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^node ${addrs[1]} 0: sim0: backend sim`));
    expect(r.err).toMatch(/^rdmactl: 127\.0\.0\.1:1: /);
  });

  it('fails with one line without credentials', async () => {
    const r = await ctl('--addr', addrs[0]!, ...tls(), 'objects');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n').length).toBe(1);
    expect(r.err).toMatch(/authenticate/);
  });

  it('merges the nodes\' watch streams line by line with a node field', async () => {
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/rdmactl.js');
    const child = spawn(process.execPath, [bin, ...on('--token', TEAM, 'watch', '--initial', '-j')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Json[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)) as Json);
        buf = buf.slice(i + 1);
      }
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const fresh = nodes.map((n) => new Caller({ target: `127.0.0.1:${n.daemon.tcpPort}`, creds: ssl(certs.read('ca.pem')), token: TEAM }));
    try {
      for (const c of fresh) await c.open('watch');
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
        if (!pred()) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(lines)}`);
      };
      // --initial: each node lists its objects, then SYNCED: both streams are open.
      await until(() => lines.filter((l) => l.kind === 'synced').length === 2, 'SYNCED from both nodes');
      const before = lines.length;
      const made = await Promise.all(fresh.map((c) => c.create('cq', { cqe: { u64: '4' } })));
      await until(() => lines.slice(before).filter((l) => l.kind === 'created').length === 2, 'the two creates');
      const created = lines.slice(before).filter((l) => l.kind === 'created');
      expect(created.map((l) => [l.node, (l.object as Json).handle]).sort()).toEqual(made.map((o, i) => [addrs[i], Number(o.handle)]).sort());
      expect(new Set(lines.filter((l) => l.kind === 'synced').map((l) => l.node))).toEqual(new Set(addrs));
    } finally {
      child.kill('SIGINT');
      for (const c of fresh) c.close();
    }
    expect(await exited).toBe(0);
  });
});
