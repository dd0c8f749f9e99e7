/**
 * rdmactl over TCP when the transports disagree: --tls against a plaintext
 * daemon, plain text against a TLS daemon, and a TLS daemon whose
 * certificate the client does not trust, each said in one line (not "cannot
 * reach"); and TLS to an IP address prints no Node warning (DEP0123: the
 * client sends no SNI for an IP). rdmactl runs as a child process, so its
 * whole stderr is asserted.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CTL_BIN, runNode, spawnDaemon, type Daemon } from '../helpers.js';
import { TestCerts } from '../tenants/certs.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let plain: Daemon;
let secure: Daemon;
let certs: TestCerts;
const port = (d: Daemon): number => Number(d.logs.find((l) => l.msg === 'rdma-brokerd serving')?.tcpPort);

beforeAll(async () => {
  certs = new TestCerts().make('ca', 'test-ca', null).make('server', 'localhost', 'ca', true);
  [plain, secure] = await Promise.all([
    spawnDaemon('tls-plain', ['--listen', '127.0.0.1:0', '--insecure-tcp'], { logLevel: 'info' }),
    spawnDaemon('tls-secure', ['--listen', '127.0.0.1:0', '--insecure-tcp', '--tls-cert', certs.path('server.pem'), '--tls-key', certs.path('server.key')], { logLevel: 'info' }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
  certs?.remove();
});

const ctl = (...args: string[]): ReturnType<typeof runNode> => runNode([CTL_BIN, ...args]);

describe('rdmactl over TCP', () => {
  it('--tls against a plaintext daemon: "does not speak TLS", one line, exit 1', async () => {
    const addr = `127.0.0.1:${port(plain)}`;
    const r = await ctl('--addr', addr, '--tls', 'devices');
    expect(r.stderr).toBe(`rdmactl: the daemon at ${addr} does not speak TLS (try without --tls)\n`);
    expect(r.code).toBe(1);
    // Without --tls the same daemon answers.
    const ok = await ctl('--addr', addr, 'devices');
    expect(ok.stdout).toMatch(/^0: sim0: /);
    expect(ok.code).toBe(0);
  });

  it('plain text against a TLS daemon: "speaks TLS", one line, exit 1', async () => {
    const addr = `127.0.0.1:${port(secure)}`;
    const r = await ctl('--addr', addr, 'devices');
    expect(r.stderr).toBe(`rdmactl: the daemon at ${addr} speaks TLS (try --tls, and --tls-ca FILE when a private CA signed its certificate)\n`);
    expect(r.code).toBe(1);
  });

  it('--tls without the CA that signed the daemon\'s certificate: the certificate problem, one line', async () => {
    const addr = `127.0.0.1:${port(secure)}`;
    const r = await ctl('--addr', addr, '--tls', 'devices');
    expect(r.stderr).toMatch(new RegExp(`^rdmactl: UNAVAILABLE: TLS with rdma-brokerd at ${addr.replace(/\./g, '\\.')} failed: (unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate in certificate chain)\n$`));
    expect(r.code).toBe(1);
  });

  it('--tls-ca to an IP address: the certificate\'s IP entry is checked, and Node prints no DEP0123 warning', async () => {
    const addr = `127.0.0.1:${port(secure)}`;
    const r = await ctl('--addr', addr, '--tls-ca', certs.path('ca.pem'), 'devices');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^0: sim0: /);
    expect(r.code).toBe(0);
    // A name the certificate does not carry is refused, in words.
    const wrong = await ctl('--addr', addr, '--tls-ca', certs.path('ca.pem'), '--tls-server-name', 'elsewhere.example', 'devices');
    expect(wrong.stderr).toMatch(/^rdmactl: UNAVAILABLE: TLS with rdma-brokerd at \S+ failed: .*elsewhere\.example.*\n$/);
    expect(wrong.code).toBe(1);
  });

  it('nothing listening: "connection refused", one line', async () => {
    const r = await ctl('--addr', '127.0.0.1:1', 'devices');
    expect(r.stderr).toBe('rdmactl: UNAVAILABLE: cannot reach rdma-brokerd at 127.0.0.1:1: connection refused (is it running with --listen?)\n');
    expect(r.code).toBe(1);
  });
});
