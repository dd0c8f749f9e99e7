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
import { TlsCertificates } from './tls.js';

/** A socket path the daemon will create: not something else already, and in a directory it can write (or create). */
function checkSocketPath(p: string, option: string): void {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${option} ${p}: ${(e as Error).message}`);
  }
  if (st && !st.isSocket()) throw new Error(`${option} ${p}: exists and is not a socket`);
  // The nearest directory that exists is where the socket (or its missing directories) will be made.
  let dir = path.dirname(path.resolve(p));
  for (;;) {
    let ds: fs.Stats | null = null;
    try {
      ds = fs.statSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${option} ${p}: ${dir}: ${(e as Error).message}`);
    }
    if (ds) {
      if (!ds.isDirectory()) throw new Error(`${option} ${p}: ${dir} is not a directory`);
      try {
        fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      } catch {
        throw new Error(`${option} ${p}: cannot create it in ${dir} (permission denied)`);
      }
      return;
    }
    const up = path.dirname(dir);
    if (up === dir) return;
    dir = up;
  }
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
