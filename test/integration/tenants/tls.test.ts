/**
 * TCP with TLS: client certificates signed by --tls-ca map to tenants by
 * subject or fingerprint; a bearer token works without a certificate; a
 * certificate from another CA, or one mapped to no tenant, is UNAUTHENTICATED.
 * Certificates are made at test time with openssl (no network).
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, startHarness, type Harness } from './harness.js';
import { TestCerts } from './certs.js';
import { tlsCredentials } from '../../../src/client/index.js';

/** TLS credentials as the client library makes them (no SNI for an IP target: no DEP0123 warning). */
const ssl = (ca: Buffer, key?: Buffer, cert?: Buffer): grpc.ChannelCredentials => tlsCredentials({ ca, key, cert }).credentials;

const S = grpc.status;
const TOKEN = 'tls-token-b-0123456789';
let hx: Harness;
let certs: TestCerts;

function tlsCaller(client: string | null, token?: string): Caller {
  const creds = client
    ? ssl(certs.read('ca.pem'), certs.read(`${client}.key`), certs.read(`${client}.pem`))
    : ssl(certs.read('ca.pem'));
  return new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, creds, token });
}

beforeAll(async () => {
  certs = new TestCerts()
    .make('ca', 'test-ca', null)
    .make('rogue-ca', 'rogue-ca', null)
    .make('server', 'localhost', 'ca', true)
    .make('a', 'team-a', 'ca')
    .make('c', 'team-c', 'ca')
    .make('stranger', 'stranger', 'ca')
    .make('rogue', 'team-a', 'rogue-ca')
    .make('ca2', 'test-ca-2', null)
    .make('server2', 'localhost', 'ca2', true);
  // The daemon serves copies, so a test can rotate them.
  fs.copyFileSync(certs.path('server.pem'), certs.path('live.pem'));
  fs.copyFileSync(certs.path('server.key'), certs.path('live.key'));
  const fpC = new X509Certificate(certs.read('c.pem')).fingerprint256;
  hx = await startHarness({
    tenants: [
      { name: 'team-a', certs: [{ subject: 'CN=team-a,O=acme' }] },
      { name: 'team-b', tokens: [TOKEN] },
      { name: 'team-c', role: 'viewer', certs: [{ fingerprint: fpC }] },
    ],
  }, {
    listen: '127.0.0.1:0',
    tlsCert: certs.path('live.pem'), tlsKey: certs.path('live.key'), tlsCa: certs.path('ca.pem'),
  });
});

afterAll(async () => {
  await hx?.stop();
  certs?.remove();
});

describe('TLS', () => {
  it('maps a client certificate to its tenant by subject or by fingerprint', async () => {
    const a = tlsCaller('a');
    const c = tlsCaller('c');
    try {
      expect(await a.call('AdminService', 'WhoAmI')).toEqual({ tenant: 'team-a', role: 'tenant', via: 'cert' });
      expect(await c.call('AdminService', 'WhoAmI')).toEqual({ tenant: 'team-c', role: 'viewer', via: 'cert' });
      await a.open();
      const pd = await a.create('pd');
      expect(pd.tenant).toBe('team-a');
    } finally {
      a.close();
      c.close();
    }
  });

  it('accepts a bearer token without a client certificate', async () => {
    const b = tlsCaller(null, TOKEN);
    try {
      expect(await b.call('AdminService', 'WhoAmI')).toEqual({ tenant: 'team-b', role: 'tenant', via: 'token' });
    } finally {
      b.close();
    }
  });

  it('refuses no credentials, an unmapped certificate, a certificate from another CA, and a cert/token mismatch', async () => {
    const cases: [string, Caller][] = [
      ['none', tlsCaller(null)],
      ['stranger', tlsCaller('stranger')],
      ['rogue CA', tlsCaller('rogue')],
      ['cert of team-a with the token of team-b', tlsCaller('a', TOKEN)],
    ];
    try {
      for (const [what, c] of cases) {
        expect(await c.code('AdminService', 'WhoAmI'), what).toBe(S.UNAUTHENTICATED);
        expect(await c.code('DeviceService', 'List'), what).toBe(S.UNAUTHENTICATED);
      }
    } finally {
      for (const [, c] of cases) c.close();
    }
  });

  it('rotates the server certificate on reload without dropping sessions; broken files keep the old one', async () => {
    const old = tlsCaller('a');
    await old.open();
    const pd = await old.create('pd');
    fs.copyFileSync(certs.path('server2.pem'), certs.path('live.pem'));
    fs.copyFileSync(certs.path('server2.key'), certs.path('live.key'));
    const from = hx.logs.length;
    hx.daemon.reload();
    expect(hx.logs.slice(from).some((l) => l.msg === 'TLS certificates reloaded')).toBe(true);
    const viaCa2 = (): Caller => new Caller({
      target: `127.0.0.1:${hx.daemon.tcpPort}`, token: TOKEN,
      creds: ssl(certs.read('ca2.pem')),
    });
    const fresh = viaCa2();
    const stale = tlsCaller(null, TOKEN);
    try {
      expect(await fresh.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'team-b' });
      // A new connection that trusts only the old CA no longer gets through.
      expect(await stale.code('AdminService', 'WhoAmI')).toBe(S.UNAVAILABLE);
      // The open connection and its session are still there.
      expect(await old.code('ObjectService', 'Query', { handle: pd.handle })).toBe(S.OK);
      // A key that does not match: reported, and the current certificates stay.
      fs.copyFileSync(certs.path('server.key'), certs.path('live.key'));
      const at = hx.logs.length;
      hx.daemon.reload();
      expect(hx.logs.slice(at).find((l) => l.msg === 'TLS reload failed; keeping the current certificates')?.error).toMatch(/live\.key/);
      const again = viaCa2();
      expect(await again.call('AdminService', 'WhoAmI')).toMatchObject({ tenant: 'team-b' });
      again.close();
    } finally {
      old.close();
      fresh.close();
      stale.close();
    }
  });

  it('serves TLS without --tls-ca: tokens only, client certificates are not asked for', async () => {
    const hx2 = await startHarness({ tenants: [{ name: 'team-a', certs: [{ subject: 'CN=team-a' }] }, { name: 'team-b', tokens: [TOKEN] }] }, {
      listen: '127.0.0.1:0', tlsCert: certs.path('server.pem'), tlsKey: certs.path('server.key'),
    });
    const target = `127.0.0.1:${hx2.daemon.tcpPort}`;
    const tok = new Caller({ target, token: TOKEN, creds: ssl(certs.read('ca.pem')) });
    const cert = new Caller({ target, creds: ssl(certs.read('ca.pem'), certs.read('a.key'), certs.read('a.pem')) });
    try {
      expect(await tok.call('AdminService', 'WhoAmI')).toEqual({ tenant: 'team-b', role: 'tenant', via: 'token' });
      expect(await cert.code('AdminService', 'WhoAmI')).toBe(S.UNAUTHENTICATED);
    } finally {
      tok.close();
      cert.close();
      await hx2.stop();
    }
  });
});
