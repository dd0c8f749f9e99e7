/**
 * What the daemon checks before it opens a device, binds a socket or starts
 * the fd channel: the TLS files load, every socket path can be created, and
 * a TCP listener has some way to let a caller in. A daemon that will fail
 * anyway fails here, before it has touched anything (an error names the
 * option and the file).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TenantDirectory } from '../core/tenants.js';
import type { DaemonOptions } from './options.js';
import { socketPathProblem } from './paths.js';
import { TlsCertificates } from './tls.js';

/** A socket path the daemon will create: a usable path (paths.ts), and not something else already. */
function checkSocketPath(p: string, option: string, suffixBytes = 0): void {
  const problem = socketPathProblem(path.resolve(p), suffixBytes);
  if (problem) throw new Error(`${option} ${problem}`);
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (st && !st.isSocket()) throw new Error(`${option} ${p}: exists and is not a socket`);
}

/** Checks the options against the file system; returns the loaded TLS certificates (null without --tls-cert). */
export function preflight(opts: DaemonOptions, tenants: TenantDirectory, log: Logger): { certs: TlsCertificates | null } {
  const certs = opts.tlsCert && opts.tlsKey ? new TlsCertificates({ cert: opts.tlsCert, key: opts.tlsKey, ca: opts.tlsCa }) : null;
  checkSocketPath(opts.socket, '--socket');
  if (opts.fdSocket) checkSocketPath(opts.fdSocket, '--fd-socket');
  if (opts.listen && !opts.insecureTcp && !tenants.list().some((t) => t.tokenDigests.length > 0 || t.certs.length > 0)) {
    log.warn({ listen: opts.listen },
      'TCP without credentials: no tenant has a token or a certificate, so every TCP call will be refused (UNAUTHENTICATED); give tenants tokens or certificates in --config FILE, or --insecure-tcp on a trusted network');
  }
  return { certs };
}
