/**
 * TCP with TLS: client certificates signed by --tls-ca map to tenants by
 * subject or fingerprint; a bearer token works without a certificate; a
 * certificate from another CA, or one mapped to no tenant, is UNAUTHENTICATED.
 * Certificates are made at test time with openssl (no network).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, startHarness, type Harness } from './harness.js';

const S = grpc.status;
const TOKEN = 'tls-token-b-0123456789';
let hx: Harness;
let certs: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, or a leaf signed by `ca`. */
function makeCert(name: string, cn: string, ca: string | null, server = false): void {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`];
  if (!ca) {
    openssl('req', '-x509', ...key, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`);
    return;
  }
  openssl('req', ...key, '-out', `${name}.csr`, '-subj', `/CN=${cn}/O=acme`);
  const ext = path.join(certs, `${name}.ext`);
  fs.writeFileSync(ext, server ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
}

const read = (f: string): Buffer => fs.readFileSync(path.join(certs, f));

function tlsCaller(client: string | null, token?: string): Caller {
  const creds = client
    ? grpc.credentials.createSsl(read('ca.pem'), read(`${client}.key`), read(`${client}.pem`))
    : grpc.credentials.createSsl(read('ca.pem'));
  return new Caller({ target: `127.0.0.1:${hx.daemon.tcpPort}`, creds, token });
}

beforeAll(async () => {
  const { mkdtempSync } = fs;
  certs = mkdtempSync(path.join((await import('node:os')).tmpdir(), 'rb-tls-'));
  makeCert('ca', 'test-ca', null);
  makeCert('rogue-ca', 'rogue-ca', null);
  makeCert('server', 'localhost', 'ca', true);
  makeCert('a', 'team-a', 'ca');
  makeCert('c', 'team-c', 'ca');
  makeCert('stranger', 'stranger', 'ca');
  makeCert('rogue', 'team-a', 'rogue-ca');
  const fpC = new X509Certificate(read('c.pem')).fingerprint256;
  hx = await startHarness({
    tenants: [
      { name: 'team-a', certs: [{ subject: 'CN=team-a,O=acme' }] },
      { name: 'team-b', tokens: [TOKEN] },
      { name: 'team-c', role: 'viewer', certs: [{ fingerprint: fpC }] },
    ],
  }, {
    listen: '127.0.0.1:0',
    tlsCert: path.join(certs, 'server.pem'), tlsKey: path.join(certs, 'server.key'), tlsCa: path.join(certs, 'ca.pem'),
  });
});

afterAll(async () => {
  await hx?.stop();
  if (certs) fs.rmSync(certs, { recursive: true, force: true });
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
});
