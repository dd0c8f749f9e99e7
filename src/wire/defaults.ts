/**
 * Defaults shared by the daemon and its clients (the CLI, the client
 * library), so they agree on where the daemon listens.
 */
import os from 'node:os';
import path from 'node:path';

/**
 * The variable that names the broker's socket for clients: a Kubernetes pod
 * gets it from the device plugin's Allocate (/run/rdma-broker/broker.sock).
 */
export const SOCKET_ENV = 'RDMA_BROKER_SOCKET';

/** Where a client connects without --socket: $RDMA_BROKER_SOCKET, else {@link defaultSocket}. */
export function clientSocket(): string {
  return process.env[SOCKET_ENV] || defaultSocket();
}

/** /run/rdma-broker when root, else a per-user directory. */
export function defaultSocket(): string {
  if (process.getuid?.() === 0) return '/run/rdma-broker/broker.sock';
  const base = process.env.XDG_RUNTIME_DIR || os.tmpdir();
  return path.join(base, `rdma-broker-${process.getuid?.() ?? 'user'}`, 'broker.sock');
}
