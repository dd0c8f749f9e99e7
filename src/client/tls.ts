/**
 * TCP transport of the client: TLS channel credentials, and the probe that
 * says why a TCP daemon did not answer (it speaks TLS and we do not, or the
 * reverse, or its certificate is not trusted).
 *
 * The credentials are our own rather than grpc-js's createSsl: that one sets
 * the TLS ServerName (SNI) to the target host even when the host is an IP
 * address, which RFC 6066 forbids and Node warns about (DEP0123). Here an IP
 * target sends no SNI and the certificate is checked against the IP (its
 * subjectAltName IP entries), exactly as before; a host name, or
 * `serverName`, is sent and checked as usual.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { RdmaError } from './errors.js';

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
}

function pem(v: string | Buffer | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  return v.includes('-----BEGIN') ? Buffer.from(v) : fs.readFileSync(v);
}

/** "host:port", "[v6]:port" or "host" → the host (without brackets). */
export function hostOf(authority: string): string {
  const a = authority.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, '');
  if (a.startsWith('[')) return a.slice(1, Math.max(1, a.indexOf(']')));
  const colons = a.split(':').length - 1;
  return colons === 1 ? a.slice(0, a.indexOf(':')) : a;
}

type ConnectorArgs = Parameters<grpc.ChannelCredentials['_createSecureConnector']>;
type SecureConnector = ReturnType<grpc.ChannelCredentials['_createSecureConnector']>;

/** How to open TLS to `host`: the SNI to send (none for an IP) and the name the certificate must carry. */
export function tlsConnectOptions(context: tls.SecureContext, host: string, serverName?: string): tls.ConnectionOptions {
  const name = serverName || host;
  return {
    secureContext: context,
    ALPNProtocols: ['h2'],
    ...(net.isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
  };
}

/** TLS channel credentials that send no SNI for an IP target (see the file comment). */
class TlsChannelCredentials extends grpc.ChannelCredentials {
  constructor(readonly context: tls.SecureContext, private readonly serverName: string | undefined) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(target: ConnectorArgs[0], options: ConnectorArgs[1], callCredentials?: ConnectorArgs[2]): SecureConnector {
    // Through an HTTP CONNECT proxy, the TLS peer is still the daemon named here.
    const proxied = options['grpc.http_connect_target'];
    const host = hostOf(typeof proxied === 'string' ? proxied : target.path);
    const opts = tlsConnectOptions(this.context, host, this.serverName);
    const calls = callCredentials ?? grpc.credentials.createEmpty();
    return {
      connect: (socket) => new Promise((resolve, reject) => {
        const s = tls.connect({ ...opts, socket }, () => {
          if (!s.authorized) {
            s.destroy();
            reject(s.authorizationError instanceof Error ? s.authorizationError : new Error(String(s.authorizationError)));
            return;
          }
          resolve({ socket: s, secure: true });
        });
        s.once('error', reject);
      }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => {},
    };
  }
}

/** Channel credentials and options for {@link ConnectOptions.tls}. */
export function tlsCredentials(t: true | TlsOptions): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const o = t === true ? {} : t;
  const cert = pem(o.cert);
  const key = pem(o.key);
  if ((cert === undefined) !== (key === undefined)) throw new TypeError('tls: a client certificate needs both cert and key');
  // No `ca`: Node's bundled roots, as grpc-js's createSsl uses.
  const context = tls.createSecureContext({ ca: pem(o.ca), cert, key });
  return {
    credentials: new TlsChannelCredentials(context, o.serverName),
    options: o.serverName ? { 'grpc.default_authority': o.serverName } : {},
  };
}

/** The secure context behind credentials made by {@link tlsCredentials}, if they are. */
export function tlsContextOf(c: grpc.ChannelCredentials): tls.SecureContext | null {
  return c instanceof TlsChannelCredentials ? c.context : null;
}

/**
 * The daemon at `addr` answered, but not in the transport the client used:
 * it speaks TLS and the client did not (`daemonTls`), or the reverse.
 */
export class TlsMismatchError extends RdmaError {
  constructor(readonly addr: string, readonly daemonTls: boolean) {
    super({ code: grpc.status.UNAVAILABLE, details: daemonTls ? `the daemon at ${addr} speaks TLS (connect with TLS)` : `the daemon at ${addr} does not speak TLS (connect without TLS)` });
  }
}

/** What a TCP endpoint turned out to be. */
export type TcpProbe =
  | { kind: 'refused'; reason: string }
  | { kind: 'plaintext' }
  | { kind: 'tls'; trusted: true }
  | { kind: 'tls'; trusted: false; reason: string }
  | { kind: 'unknown' };

/** The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
const H2_SETTINGS = 4;

/**
 * Says what listens at `host:port`: nothing (refused), an HTTP/2 server in
 * plain text (it answers the client preface with a SETTINGS frame), or a TLS
 * server (a handshake gets as far as its certificate; `trusted` when
 * `context`'s CAs and the name accept it, else the verification's message). Each step is bounded by `timeoutMs`; only used after a connect
 * failed, so a working connection never pays for it.
 */
export async function probeTcp(host: string, port: number, context: tls.SecureContext | null, serverName: string | undefined, timeoutMs = 1500): Promise<TcpProbe> {
  const plain = await new Promise<TcpProbe | 'other'>((resolve) => {
    const s = net.connect({ host, port });
    const done = (r: TcpProbe | 'other'): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('other'), timeoutMs);
    let got = Buffer.alloc(0);
    s.once('connect', () => s.write(H2_PREFACE));
    s.on('data', (b: Buffer) => {
      got = Buffer.concat([got, b]);
      // A frame header: 3 bytes length, 1 byte type.
      if (got.length >= 4) done(got[3] === H2_SETTINGS ? { kind: 'plaintext' } : 'other');
    });
    s.once('error', (e: NodeJS.ErrnoException) =>
      done(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code ?? '') ? { kind: 'refused', reason: e.code === 'ECONNREFUSED' ? 'connection refused' : e.message } : 'other'));
    s.once('close', () => done('other'));
  });
  if (plain !== 'other') return plain;
  return new Promise<TcpProbe>((resolve) => {
    const opts = tlsConnectOptions(context ?? tls.createSecureContext(), host, serverName);
    const s = tls.connect({ ...opts, host, port });
    const done = (r: TcpProbe): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'unknown' }), timeoutMs);
    s.once('secureConnect', () => done({ kind: 'tls', trusted: true }));
    // A certificate that fails verification (an X.509 code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE, or a name
    // it does not carry) comes from a TLS server; protocol errors (ERR_SSL_*) and resets say nothing.
    s.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const cert = code === 'ERR_TLS_CERT_ALTNAME_INVALID' || (!code.startsWith('ERR_') && code.includes('_'));
      done(cert ? { kind: 'tls', trusted: false, reason: e.message } : { kind: 'unknown' });
    });
  });
}
