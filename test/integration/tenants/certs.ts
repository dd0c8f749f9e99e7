/** Test certificates made with openssl at test time (no network): a CA, leaves it signs, and a rogue CA. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class TestCerts {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-certs-'));

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** A self-signed CA (`ca` null), or a leaf signed by `ca`: a server cert for 127.0.0.1/localhost, or a client cert. */
  make(name: string, cn: string, ca: string | null, server = false): this {
    const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`];
    if (!ca) {
      this.openssl('req', '-x509', ...key, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`);
      return this;
    }
    this.openssl('req', ...key, '-out', `${name}.csr`, '-subj', `/CN=${cn}/O=acme`);
    const ext = path.join(this.dir, `${name}.ext`);
    fs.writeFileSync(ext, server ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n');
    this.openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
    return this;
  }

  path(f: string): string {
    return path.join(this.dir, f);
  }

  read(f: string): Buffer {
    return fs.readFileSync(this.path(f));
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
