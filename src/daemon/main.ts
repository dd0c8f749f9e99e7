/**
 * rdma-brokerd: serves the broker over a unix socket (and optionally TCP).
 * SIGTERM/SIGINT: stop accepting, destroy every object children-first, exit 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Broker } from '../core/broker.js';
import { createServer } from '../rpc/server.js';
import { parseOptions, UsageError, USAGE, type DaemonOptions } from './options.js';
import { selectBackend } from './backend.js';

const VERSION = '0.1.0';

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))));
}

function prepareSocket(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
  try {
    const st = fs.lstatSync(p);
    if (!st.isSocket()) throw new Error(`${p} exists and is not a socket`);
    // A stale socket from an earlier run: nobody can be listening on it if
    // connect fails, but probing is racy; the daemon owns this path.
    fs.unlinkSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const log = pino({ level: opts.logLevel, base: { pid: process.pid } });
  const backend = await selectBackend(opts.device, log);
  const broker = new Broker({
    backend,
    log,
    sessions: { defaultLeaseMs: opts.leaseMs, maxResumeGraceMs: opts.maxResumeGraceMs },
  });
  await broker.start();
  const server = createServer({ broker, log });
  prepareSocket(opts.socket);
  await bind(server, `unix:${opts.socket}`, grpc.ServerCredentials.createInsecure());
  fs.chmodSync(opts.socket, 0o660);
  let tcpPort: number | null = null;
  if (opts.listen) tcpPort = await bind(server, opts.listen, grpc.ServerCredentials.createInsecure());
  log.info({
    socket: opts.socket, listen: opts.listen, tcpPort, backend: backend.kind,
    devices: broker.devices.list().map((d) => d.name),
  }, 'rdma-brokerd serving');

  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig, sessions: broker.sessions.size, objects: broker.registry.size }, 'shutting down');
    // Stop accepting first, then release everything, then drop the streams.
    const timer = setTimeout(() => {
      log.error('shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    timer.unref();
    server.unbind(`unix:${opts.socket}`);
    broker.shutdown().then(() => {
      server.forceShutdown();
      try {
        fs.unlinkSync(opts.socket);
      } catch {
        // already gone
      }
      const left = broker.registry.size;
      log.info({ objects: left, sessions: broker.sessions.size }, left === 0 ? 'stopped: every object destroyed' : 'stopped with objects left');
      log.flush?.();
      process.exit(0);
    }, (e: unknown) => {
      log.error({ err: e }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function main(argv: string[]): Promise<void> {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`rdma-brokerd: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (opts === 'version') {
    process.stdout.write(`rdma-brokerd ${VERSION}\n`);
    return;
  }
  try {
    await runDaemon(opts);
  } catch (e) {
    process.stderr.write(`rdma-brokerd: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
