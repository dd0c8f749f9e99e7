import { describe, expect, it } from 'vitest';
import { ConfigError, parseBytes, parseConfigText, validateConfig } from '../../../src/daemon/config.js';
import { TenantDirectory, patchQuota, tokenDigest } from '../../../src/core/tenants.js';

const ok = (doc: unknown) => validateConfig(doc, '/etc/rdma-broker');

describe('config validation', () => {
  it.each([
    [{}, 'tenants: expected a list'],
    [{ tenants: [], extra: 1 }, 'extra: unknown field'],
    [{ tenants: [{ name: 'a' }, { name: 'b', quotas: { qp: -1 } }] }, 'tenants[1].quotas.qp: expected a non-negative integer'],
    [{ tenants: [{ name: 'a', quotas: { qp: 1.5 } }] }, 'tenants[0].quotas.qp: expected a non-negative integer'],
    [{ tenants: [{ name: 'a', quotas: { device: 1 } }] }, 'tenants[0].quotas.device: unknown quota'],
    [{ tenants: [{ name: 'a', quotas: { registered_bytes: '12 parsecs' } }] }, 'tenants[0].quotas.registered_bytes: expected'],
    [{ tenants: [{ name: 'a', role: 'root' }] }, 'tenants[0].role: expected one of tenant, viewer, admin'],
    [{ tenants: [{ name: 'a b' }] }, 'tenants[0].name: letters'],
    [{ tenants: [{}] }, 'tenants[0].name: expected a non-empty string'],
    [{ tenants: [{ name: 'a' }, { name: 'a' }] }, 'tenants[1].name: duplicate tenant "a"'],
    [{ tenants: [{ name: 'a', socket: 's' }, { name: 'b', socket: '/etc/rdma-broker/s' }] }, 'tenants[1].socket: socket /etc/rdma-broker/s is also tenants[0]'],
    [{ tenants: [{ name: 'a', socket: { path: 's', mode: 660 } }] }, 'tenants[0].socket.mode: expected an octal mode string'],
    [{ tenants: [{ name: 'a', socket: { path: 's', owner: 'bob' } }] }, 'tenants[0].socket.owner: expected a non-negative integer'],
    [{ tenants: [{ name: 'a', tokens: ['short'] }] }, 'tenants[0].tokens[0]: a token needs at least 16 characters'],
    [{ tenants: [{ name: 'a', tokens: ['0123456789abcdef'] }, { name: 'b', tokens: ['0123456789abcdef'] }] }, 'tenants[1].tokens: a token is also tenants[0]'],
    [{ tenants: [{ name: 'a', uids: [1] }, { name: 'b', uids: [1] }] }, 'tenants[1].uids: uid 1 is also tenants[0]'],
    [{ tenants: [{ name: 'a', certs: [{}] }] }, 'tenants[0].certs[0]: give a subject, a fingerprint or both'],
    [{ tenants: [{ name: 'a', certs: [{ fingerprint: 'AB:CD' }] }] }, 'tenants[0].certs[0].fingerprint: expected a SHA-256'],
    [{ tenants: [{ name: 'a', certs: [{ subject: 'nonsense' }] }] }, 'tenants[0].certs[0].subject: expected "CN=name,O=org"'],
    [{ tenants: [{ name: 'a' }], socket_tenant: 'b' }, 'socket_tenant: no tenant named "b"'],
  ])('rejects %j naming the field', (doc, msg) => {
    let e: unknown;
    try {
      ok(doc);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain(msg);
  });

  it('reads a full tenant', () => {
    const c = ok({
      socket_tenant: 'ops',
      tenants: [
        { name: 'ops', role: 'admin', token_sha256: [tokenDigest('x'.repeat(20))] },
        {
          name: 'team-a',
          socket: { path: 'a/broker.sock', mode: '0600', owner: 1000, group: 1001 },
          uids: [1000], gids: [1001],
          certs: [{ subject: 'CN=team-a, O=acme' }, { fingerprint: 'sha256:' + 'ab'.repeat(32) }],
          tokens: ['team-a-token-0123456789'],
          quotas: { objects: 100, sessions: 2, registered_bytes: '1GiB', qp: 8, mr: 16 },
        },
      ],
    });
    expect(c.socketTenant).toBe('ops');
    expect(c.tenants.map((t) => t.name)).toEqual(['ops', 'team-a']);
    const a = c.tenants[1]!;
    expect(a.role).toBe('tenant');
    expect(a.sockets).toEqual([{ path: '/etc/rdma-broker/a/broker.sock', mode: 0o600, uid: 1000, gid: 1001 }]);
    expect(a.quota).toEqual({ objects: 100, sessions: 2, bytes: 2 ** 30, types: { qp: 8, mr: 16 } });
    expect(a.certs).toEqual([
      { subject: { CN: 'team-a', O: 'acme' }, fingerprint256: null },
      { subject: null, fingerprint256: Array(32).fill('AB').join(':') },
    ]);
    const d = new TenantDirectory(c);
    expect(d.fromToken('team-a-token-0123456789')?.name).toBe('team-a');
    expect(d.fromToken('x'.repeat(20))?.name).toBe('ops');
    expect(d.fromToken('nope')).toBeUndefined();
    expect(d.fromCert({ subject: { CN: 'team-a', O: 'acme', OU: 'x' } })?.name).toBe('team-a');
    expect(d.fromCert({ subject: { CN: 'team-a', O: 'other' } })).toBeUndefined();
    expect(d.fromCert({ subject: { CN: 'zzz' }, fingerprint256: Array(32).fill('ab').join(':') })?.name).toBe('team-a');
    expect(d.fromPeer(1000, 5)?.name).toBe('team-a');
    expect(d.fromPeer(5, 1001)?.name).toBe('team-a');
    expect(d.fromPeer(5, 5)).toBeUndefined();
  });

  it('adds the built-in admin for the main socket unless socket_tenant says otherwise', () => {
    const c = ok({ tenants: [{ name: 'a' }] });
    expect(c.socketTenant).toBe('default');
    expect(c.tenants.find((t) => t.name === 'default')?.role).toBe('admin');
  });

  it('parses YAML and JSON alike and reports syntax errors', () => {
    const y = parseConfigText('tenants:\n  - name: a\n    quotas: { qp: 3 }\n', 'c.yaml');
    const j = parseConfigText('{"tenants":[{"name":"a","quotas":{"qp":3}}]}', 'c.json');
    expect(y).toEqual(j);
    expect(() => parseConfigText('tenants: [\n', 'c.yaml')).toThrow(/not valid YAML/);
    expect(() => parseConfigText('{', 'c.json')).toThrow(/not valid JSON/);
    expect(() => parseConfigText('a: 1\na: 2\n', 'c.yml')).toThrow(/not valid YAML/);
  });

  it('reads sizes', () => {
    expect(parseBytes(10, 'x')).toBe(10);
    expect(parseBytes('4KiB', 'x')).toBe(4096);
    expect(parseBytes('2G', 'x')).toBe(2e9);
    expect(() => parseBytes('-1', 'x')).toThrow(ConfigError);
  });

  it('patches quotas by name', () => {
    const types = new Set(['qp', 'mr']);
    expect(patchQuota({ objects: 5, types: { qp: 1 } }, { mr: 2, sessions: 1 }, ['qp'], types)).toEqual({ objects: 5, sessions: 1, types: { mr: 2 } });
    expect(() => patchQuota({}, { bogus: 1 }, [], types)).toThrow(/unknown quota/);
    expect(() => patchQuota({}, { qp: -1 }, [], types)).toThrow(/non-negative/);
  });
});
