/**
 * TCP's TLS credentials from files (--tls-cert, --tls-key, --tls-ca), re-read
 * on reload (SIGHUP) so certificates rotate without a restart: connections
 * made after the reload get the new ones, open connections and their sessions
 * stay. A set of files that does not load (missing, key not matching) is
 * reported and the old certificates stay in force.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA that client certificates must chain to; without it, no client certificates are asked for. */
  ca: string | null;
}

interface Loaded {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdListener = grpc.experimental.IdentityCertificateUpdateListener;

export class TlsCertificates implements grpc.experimental.CertificateProvider {
  private current: Loaded;
  private readonly caListeners = new Set<CaListener>();
  private readonly idListeners = new Set<IdListener>();

  constructor(private readonly files: TlsFiles) {
    this.current = this.load();
  }

  private load(): Loaded {
    const read = (f: string, what: string): Buffer => {
      try {
        return fs.readFileSync(f);
      } catch (e) {
        throw new Error(`${what} ${f}: ${(e as Error).message}`);
      }
    };
    const l: Loaded = {
      cert: read(this.files.cert, '--tls-cert'),
      key: read(this.files.key, '--tls-key'),
      ca: this.files.ca ? read(this.files.ca, '--tls-ca') : null,
    };
    // Catches a key that does not match its certificate, or unreadable PEM, before it is served.
    try {
      tls.createSecureContext({ cert: l.cert, key: l.key, ...(l.ca ? { ca: l.ca } : {}) });
    } catch (e) {
      throw new Error(`TLS files ${this.files.cert}, ${this.files.key}${this.files.ca ? `, ${this.files.ca}` : ''}: ${(e as Error).message}`);
    }
    return l;
  }

  /** Re-reads the files and hands them to the listeners; throws (keeping the old ones) if they do not load. */
  reload(): void {
    this.current = this.load();
    for (const l of this.caListeners) this.sendCa(l);
    for (const l of this.idListeners) this.sendId(l);
  }

  private sendCa(l: CaListener): void {
    const ca = this.current.ca;
    if (ca) queueMicrotask(() => l({ caCertificate: ca }));
  }

  private sendId(l: IdListener): void {
    const { cert, key } = this.current;
    queueMicrotask(() => l({ certificate: cert, privateKey: key }));
  }

  // grpc-js registers its watcher only after adding its listeners, so the
  // certificates arrive asynchronously (as a file watcher's would).
  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    this.sendCa(l);
  }

  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    this.sendId(l);
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }

  /**
   * Server credentials over these certificates. With a CA, client
   * certificates are asked for and verified but not required (a caller may
   * use a bearer token instead); grpc-js hands handlers the peer certificate
   * only when it verified.
   */
  credentials(): grpc.ServerCredentials {
    const create = grpc.experimental.createCertificateProviderServerCredentials;
    if (this.files.ca) return create(this, this, false);
    // grpc-js 1.14 hands its first two arguments to the constructor in the
    // other order than it names them (identity first). Which slot is the CA
    // shows in whether client certificates get requested.
    const c = create(this, null, false);
    return c._getConstructorOptions()?.requestCert ? create(null as never, this, false) : c;
  }
}
