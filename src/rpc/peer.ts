/**
 * Who is at the other end of a gRPC call on a unix socket: the kernel's
 * SO_PEERCRED (pid, uid, gid at connect time) of the connection's socket.
 *
 * grpc-js does not expose the socket of a call; it is reached through the
 * call's HTTP/2 stream (`stream.session.socket`, a net.Socket whose handle
 * has the fd on Linux). Every step is probed: a grpc-js that moves these
 * fields makes this answer null (the session then shows no credentials),
 * never throw. TCP connections answer null too (SO_PEERCRED is unix-only).
 */
import * as libc from '../sys/libc.js';

export type { PeerCred } from '../sys/libc.js';

/** How deep grpc-js nests its intercepting calls before the one holding the stream (a bound on the walk). */
const MAX_CALL_DEPTH = 8;

function field(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
}

/** The fd of the socket a server call arrived on, or null. */
export function callSocketFd(call: unknown): number | null {
  let c = field(call, 'call');
  for (let i = 0; i < MAX_CALL_DEPTH && c && !field(c, 'stream'); i++) c = field(c, 'nextCall');
  const fd = field(field(field(field(field(c, 'stream'), 'session'), 'socket'), '_handle'), 'fd');
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** SO_PEERCRED of a server call's connection (unix sockets), or null. */
export function callPeerCred(call: unknown): libc.PeerCred | null {
  const fd = callSocketFd(call);
  if (fd === null) return null;
  try {
    return libc.peerCred(fd);
  } catch {
    return null;
  }
}
