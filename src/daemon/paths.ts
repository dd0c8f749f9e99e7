/**
 * Filesystem rules for the daemon's unix sockets (main, fd channel, tenant
 * sockets): where a socket may be, how its directories are made, when an
 * existing socket file may be replaced, and which directory keeps a caller
 * out.
 *
 * Every walk here is bounded by the number of components of the path. Node's
 * `fs.mkdirSync(p, { recursive: true })` is not: under /proc, mkdir of a
 * missing child answers ENOENT while its parent exists, and node's recursive
 * mkdir retries parent and child forever (synchronously, so SIGTERM handlers
 * never run either). That is why this module makes directories one at a time.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Kernel file systems: a socket there is refused (binding is impossible or dangerous). */
export const FORBIDDEN_ROOTS = ['/proc', '/sys', '/dev'] as const;

/** sun_path holds 108 bytes with the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** The fd-channel socket beside a tenant's gRPC socket. */
export function tenantFdSocket(grpcSocket: string): string {
  return `${grpcSocket}.fd`;
}

/** Components a socket path may have (far more than any real layout; bounds every walk). */
const MAX_COMPONENTS = 64;

function under(p: string, root: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

/** The kernel file system `p` (absolute, normalised) lies in, or null. */
export function forbiddenRoot(p: string): string | null {
  for (const r of FORBIDDEN_ROOTS) if (under(p, r)) return r;
  return null;
}

/** The deepest ancestor of `p` (or `p` itself) that exists, found in at most MAX_COMPONENTS steps. */
function deepestExisting(p: string): { at: string; st: fs.Stats } | null {
  let at = p;
  for (let i = 0; i <= MAX_COMPONENTS; i++) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(at, { throwIfNoEntry: false });
    } catch (e) {
      // A file further up: keep going up to find it.
      if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    }
    if (st) return { at, st };
    const up = path.dirname(at);
    if (up === at) return null;
    at = up;
  }
  return null;
}

/**
 * Why a socket path cannot be used, or null when it can. Checks the path as
 * written and, through the deepest part of it that exists, where it really
 * leads (a symlink into /proc is refused like /proc). The path must be
 * absolute; `suffixBytes` is room the caller needs after it (".fd").
 */
export function socketPathProblem(p: string, suffixBytes = 0): string | null {
  if (!path.isAbsolute(p)) return `${p} is not an absolute path`;
  const norm = path.normalize(p);
  if (norm.endsWith('/')) return `${p} names a directory, not a socket`;
  if (norm.split('/').length > MAX_COMPONENTS) return `${p} has more than ${MAX_COMPONENTS} components`;
  const bytes = Buffer.byteLength(norm) + suffixBytes;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return `${p} is too long for a unix socket (${bytes} bytes${suffixBytes ? ' with its .fd twin' : ''}; at most ${MAX_SOCKET_PATH_BYTES})`;
  }
  const root = forbiddenRoot(norm);
  if (root) return `${p} is under ${root} (a kernel file system): choose a directory such as /run/rdma-broker`;
  const dir = path.dirname(norm);
  let found: { at: string; st: fs.Stats } | null;
  try {
    found = deepestExisting(dir);
  } catch (e) {
    return `${p}: cannot inspect its directory: ${(e as Error).message}`;
  }
  if (!found) return `${p}: no existing ancestor directory`;
  if (!found.st.isDirectory()) return `${p}: ${found.at} is not a directory`;
  let real: string;
  try {
    real = fs.realpathSync.native(found.at);
  } catch (e) {
    return `${p}: cannot resolve ${found.at}: ${(e as Error).message}`;
  }
  const realRoot = forbiddenRoot(real);
  if (realRoot) return `${p}: ${found.at} leads to ${real}, under ${realRoot} (a kernel file system)`;
  return null;
}

export interface MakeDirsOptions {
  /** Mode of each directory made (default 0o755: searchable, writable by the daemon only). */
  mode?: number;
}

/**
 * Makes `dir` and its missing parents, one component at a time, and returns
 * the directories it made. An error names the directory that could not be
 * made or that is in the way.
 */
export function makeDirs(dir: string, o: MakeDirsOptions = {}): string[] {
  const mode = o.mode ?? 0o755;
  const norm = path.resolve(dir);
  const root = forbiddenRoot(norm);
  if (root) throw new Error(`cannot make ${norm}: it is under ${root} (a kernel file system)`);
  const parts = norm.split('/').filter(Boolean);
  if (parts.length > MAX_COMPONENTS) throw new Error(`cannot make ${norm}: more than ${MAX_COMPONENTS} components`);
  const made: string[] = [];
  let at = '/';
  for (const part of parts) {
    at = path.join(at, part);
    const st = fs.statSync(at, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new Error(`${at} is not a directory`);
      continue;
    }
    try {
      fs.mkdirSync(at, { mode });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Made meanwhile by someone else: fine if it is a directory.
      if (code === 'EEXIST' && fs.statSync(at, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new Error(`cannot make directory ${at}: ${code ?? (e as Error).message}`);
    }
    // mkdir's mode passes through the umask: set what was asked.
    fs.chmodSync(at, mode);
    made.push(at);
  }
  return made;
}

/** What is at a socket path: nothing, a socket nobody listens on, a live socket, or something else. */
export type SocketState = 'absent' | 'stale' | 'live' | 'not-a-socket';

/**
 * Probes a socket path by connecting to it. ECONNREFUSED: nobody has it
 * bound (a stale file from a run that died). A socket of another type answers
 * EPROTOTYPE, which also means a live listener (the fd channel is
 * SOCK_SEQPACKET, probed here with a stream connect). EAGAIN (backlog full),
 * a timeout or a permission error also count as live: only a proven stale
 * socket is ever replaced.
 */
export function probeSocket(p: string, timeoutMs = 1000): Promise<SocketState> {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return Promise.resolve('absent');
  if (!st.isSocket()) return Promise.resolve('not-a-socket');
  return new Promise((resolve) => {
    const sock = net.connect({ path: p });
    const done = (s: SocketState): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(s);
    };
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('stale');
      else if (e.code === 'ENOENT') done('absent');
      else done('live');
    });
  });
}

/** A socket path another running process serves. */
export class SocketInUseError extends Error {
  constructor(readonly socketPath: string) {
    super(`socket in use by a running daemon: ${socketPath}`);
    this.name = 'SocketInUseError';
  }
}

/**
 * Makes a socket path ready to bind: refuses a live socket (another daemon
 * serves it) and anything that is not a socket; removes a stale socket.
 */
export async function claimSocketPath(p: string): Promise<void> {
  const state = await probeSocket(p);
  if (state === 'live') throw new SocketInUseError(p);
  if (state === 'not-a-socket') throw new Error(`${p} exists and is not a socket`);
  if (state === 'stale') {
    try {
      fs.unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/** A directory on the way to a socket that a caller cannot pass. */
export interface BlockingDir {
  dir: string;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * The first directory on the way to `p` that a process of `uid` (primary
 * group `gid`, either may be unknown: null) cannot search, or null. Only what
 * the modes say: supplementary groups and ACLs are not known here, so a
 * group the caller is only a supplementary member of is not counted.
 */
export function blockingDir(p: string, uid: number | null, gid: number | null): BlockingDir | null {
  if (uid === 0 || (uid === null && gid === null)) return null;
  const dirs: string[] = [];
  for (let at = path.dirname(path.resolve(p)), i = 0; i <= MAX_COMPONENTS; i++) {
    dirs.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const dir of dirs) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st) return null;
    const bits = uid !== null && st.uid === uid ? (st.mode >> 6) & 7 : gid !== null && st.gid === gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & 1) === 0) return { dir, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  }
  return null;
}

/** "0750 root:root" style, for messages. */
export function describeDir(b: BlockingDir): string {
  return `${b.dir} (mode ${b.mode.toString(8).padStart(4, '0')}, owner ${b.uid}:${b.gid})`;
}
