/**
 * The daemon's fd channel: a unix SOCK_SEQPACKET socket beside the gRPC
 * socket over which local clients receive fds (completion and async-event
 * mirrors, the memfds behind MRs, the command fd for ibv_import_device) and
 * hand fds in (memfd or dma-buf pages to register as an MR). The protocol is
 * in ./protocol.ts and docs/fd-channel.md.
 *
 * Like src/rpc, this is a transport over the core: it resolves the session,
 * calls the broker, and reports errors through src/core/status.ts (the one
 * error mapping). Every connection is bound to one session by a one-time
 * token; a process only ever reaches that session's objects, and another
 * session's handle answers NOT_FOUND exactly like a missing one.
 *
 * Fd accounting: an fd received from a client is closed on every path once
 * the request that carried it is done (the backend maps its own dup); fds
 * sent are owned by their objects (mirror, MR memory, device context) and
 * stay with them. Mirrors close when their object or session goes.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { ASYNC_EVENT_NAMES, type Broker, type MrRef } from '../core/broker.js';
import { BrokerError, err, quote } from '../core/errors.js';
import { checkName, checkUserHandle, LIMITS } from '../core/limits.js';
import type { BrokerObject } from '../core/registry.js';
import type { Session, SessionEvent } from '../core/sessions.js';
import { errorRecord, internalReport } from '../core/status.js';
import { checkMemoryFd, SysError } from '../sys/memory.js';
import * as libc from '../sys/libc.js';
import { HandleValue, type Plain, type PlainMap } from '../wire/values.js';
import { EventMirror } from './mirror.js';
import { PacketListener, type PacketSocket } from '../sys/packet-socket.js';
import {
  ASYNC_RECORD_SIZE, COMPLETION_RECORD_SIZE, FD_PROTOCOL_VERSION, encodeAsync, encodeCompletion, type FdErrorBody, type FdRequest,
} from '../wire/fd-protocol.js';
import { closeAll, MAX_FDS_PER_MESSAGE } from '../sys/scm.js';

export interface FdChannelOptions {
  broker: Broker;
  log: Logger;
  /**
   * Whether the peer (its SO_PEERCRED) may bind to this session; default: any
   * peer holding a valid token. A refusal answers PERMISSION_DENIED.
   */
  authorize?: (peer: libc.PeerCred, session: Session) => boolean;
  /** A connection that has not bound within this time is closed (default 10 s). */
  bindTimeoutMs?: number;
  /**
   * More ops for bound connections (the fast lane's, src/lane/server.ts):
   * called with the connection's session; errors answer as any op's.
   */
  ops?: Readonly<Record<string, ExtraOp>>;
}

/** An op served by another module for a bound connection. */
export type ExtraOp = (s: Session, req: FdRequest, fds: number[]) => Promise<{ body: Record<string, unknown>; fds: number[] }>;

/** One listening socket of the channel. */
export interface FdSocketOptions {
  /** Socket file mode (default 0o660, as the gRPC socket). */
  mode?: number;
  uid?: number | null;
  gid?: number | null;
  /**
   * Only sessions of this tenant may bind here (a tenant's own socket); null:
   * any. A function is asked at each connection (a socket whose tenant is
   * learnt after it is bound, as a Kubernetes allocation's).
   */
  tenant?: string | null | (() => string);
}

interface Conn {
  readonly id: number;
  /** The tenant whose socket the connection came in on (null: the main socket). */
  readonly tenant: string | null;
  /** The socket path it came in on. */
  readonly path: string;
  readonly sock: PacketSocket;
  readonly peer: libc.PeerCred;
  session: Session | null;
  /** The pool an unbound connection waits in (its socket, or its uid on the shared socket). */
  readonly waitKey: string;
  /** The tenant charged one fd for this connection once bound (null: not yet). */
  charged: string | null;
  untieSession: (() => void) | null;
  readonly queue: { data: Buffer; fds: number[]; truncated: boolean }[];
  busy: boolean;
  bindTimer: NodeJS.Timeout | null;
}

/** Per-session mirrors. */
interface SessionFds {
  readonly session: Session;
  /** Fds charged to the session's tenant for its mirrors (each a pipe: two daemon fds). */
  chargedFds: number;
  asyncMirror: EventMirror | null;
  readonly channels: Map<number, EventMirror>;
  readonly untap: () => void;
  readonly cancelEnd: () => void;
}

type Handler = (c: Conn & { session: Session }, req: FdRequest, fds: number[]) => Promise<{ body: Record<string, unknown>; fds: number[] }>;

const COMPLETION_PENDING_MAX = 65_536;
/**
 * Each connection holds a daemon fd: a session may keep this many bound
 * connections (each also counted against its tenant's fd quota), and at most
 * MAX_UNBOUND_PER_POOL may wait unbound in one pool: a tenant's own socket is
 * its own pool, and on a shared socket (the main one) each peer uid is. So a
 * tenant flooding its socket with idle connections only fills its own pool.
 */
export const MAX_CONNECTIONS_PER_SESSION = 64;
export const MAX_UNBOUND_PER_POOL = 64;
/** Fds one event mirror holds in the daemon (a pipe's two ends). */
const MIRROR_FDS = 2;
const ASYNC_PENDING_MAX = 1024;

export class FdChannelServer {
  private readonly listeners = new Map<string, PacketListener>();
  private readonly conns = new Map<number, Conn>();
  /** Unbound connections per waiting pool ({@link Conn.waitKey}). */
  private readonly unbound = new Map<string, number>();
  private readonly bySession = new Map<string, SessionFds>();
  private nextConn = 1;
  private unwatch: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: FdChannelOptions) {
    this.log = opts.log.child({ component: 'fd-channel' });
  }

  /** The socket paths being served. */
  get paths(): string[] {
    return [...this.listeners.keys()];
  }

  /** Open connections (bound or not). */
  get connections(): number {
    return this.conns.size;
  }

  /** Live event mirrors (completion channels and session async fds). */
  get mirrors(): number {
    let n = 0;
    for (const s of this.bySession.values()) n += s.channels.size + (s.asyncMirror ? 1 : 0);
    return n;
  }

  /** Serves the channel on one more socket path (a stale socket there is replaced). */
  listen(path: string, o: FdSocketOptions = {}): void {
    this.start();
    if (this.listeners.has(path)) return;
    const tenant = o.tenant ?? null;
    const tenantNow = (): string | null => (typeof tenant === 'function' ? tenant() : tenant);
    const l = PacketListener.listen(path, o.mode ?? 0o660, (s) => this.accept(s, tenantNow(), path), (e) => this.log.warn({ err: e, path }, 'accept failed'));
    if ((o.uid ?? null) !== null || (o.gid ?? null) !== null) fs.chownSync(path, o.uid ?? -1, o.gid ?? -1);
    this.listeners.set(path, l);
    this.log.info({ path, tenant: tenantNow() }, 'fd channel listening');
  }

  /** Re-applies a socket's mode and owner (tenant config reload). */
  chmod(path: string, o: FdSocketOptions): void {
    if (!this.listeners.has(path)) return;
    fs.chmodSync(path, o.mode ?? 0o660);
    if ((o.uid ?? null) !== null || (o.gid ?? null) !== null) fs.chownSync(path, o.uid ?? -1, o.gid ?? -1);
  }

  /** Stops serving one socket path; its open connections are closed (they came in through it). */
  unlisten(path: string): void {
    const l = this.listeners.get(path);
    if (!l) return;
    l.close();
    this.listeners.delete(path);
    for (const c of [...this.conns.values()]) if (c.path === path) c.sock.close('socket closed');
  }

  /** Stops taking new connections on every socket (existing ones keep working until their sessions end). */
  stopAccepting(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  private start(): void {
    if (this.unwatch) return;
    // A destroyed completion channel takes its mirror with it: readers see end of file.
    this.unwatch = this.opts.broker.watch({ type: 'comp_channel' }, (kind, o) => {
      if (kind !== 'DESTROYED') return;
      const sf = this.bySession.get(o.owner.id);
      const m = sf?.channels.get(o.handle);
      if (m) {
        this.closeMirror(sf!, m);
        sf!.channels.delete(o.handle);
      }
    });
  }

  /** Stops listening, closes every connection and mirror. */
  close(): void {
    this.stopAccepting();
    this.unwatch?.();
    this.unwatch = null;
    for (const c of [...this.conns.values()]) c.sock.close('daemon stopping');
    for (const sf of [...this.bySession.values()]) this.dropSession(sf);
  }

  // ------------------------------------------------------------ connections

  private accept(sock: PacketSocket, tenant: string | null, path: string): void {
    const peer = libc.peerCred(sock.fd);
    if (peer === null) {
      this.log.warn({ errno: libc.errno() }, 'SO_PEERCRED failed; dropping the connection');
      sock.close('no peer credentials');
      return;
    }
    const waitKey = tenant !== null ? `socket ${path}` : `uid ${peer.uid}`;
    const waiting = this.unbound.get(waitKey) ?? 0;
    if (waiting >= MAX_UNBOUND_PER_POOL) {
      this.log.warn({ peer, path, tenant, waiting }, 'too many fd channel connections waiting to bind in this pool; refusing one');
      // Answered, not just dropped: the client reads why, then end of file.
      const error = errorRecord(new BrokerError('QUOTA_EXCEEDED', `too many fd-channel connections waiting to bind (${waitKey}: at most ${MAX_UNBOUND_PER_POOL}); bind or close the others`));
      sock.send(Buffer.from(JSON.stringify({ id: null, ok: false, error })));
      sock.close('too many unbound connections');
      return;
    }
    this.unbound.set(waitKey, waiting + 1);
    const c: Conn = {
      id: this.nextConn++, tenant, path, sock, peer, session: null, waitKey, charged: null, untieSession: null, queue: [], busy: false, bindTimer: null,
    };
    this.conns.set(c.id, c);
    c.bindTimer = setTimeout(() => {
      if (!c.session) c.sock.close('not bound in time');
    }, this.opts.bindTimeoutMs ?? 10_000);
    c.bindTimer.unref();
    sock.start({
      onMessage: (data, fds, truncated) => {
        c.queue.push({ data, fds, truncated });
        void this.pump(c);
      },
      onClose: (reason) => this.closed(c, reason),
    });
    this.log.debug({ conn: c.id, peer }, 'fd channel connection');
  }

  private unwait(c: Conn): void {
    const n = (this.unbound.get(c.waitKey) ?? 1) - 1;
    if (n > 0) this.unbound.set(c.waitKey, n);
    else this.unbound.delete(c.waitKey);
  }

  private closed(c: Conn, reason: string): void {
    this.conns.delete(c.id);
    if (!c.session) this.unwait(c);
    if (c.charged !== null) this.opts.broker.accounting.giveFds(c.charged, 1);
    c.charged = null;
    if (c.bindTimer) clearTimeout(c.bindTimer);
    c.untieSession?.();
    // Requests not yet handled: their fds are ours to close.
    for (const m of c.queue.splice(0)) closeAll(m.fds);
    this.log.debug({ conn: c.id, session: c.session?.id, reason }, 'fd channel connection closed');
  }

  /** Handles a connection's requests one at a time, in order; reading pauses meanwhile. */
  private async pump(c: Conn): Promise<void> {
    if (c.busy) return;
    c.busy = true;
    c.sock.pause();
    try {
      while (c.queue.length > 0 && !c.sock.closed) {
        const m = c.queue.shift()!;
        const reply = await this.handle(c, m.data, m.fds, m.truncated);
        if (!c.sock.closed) c.sock.send(Buffer.from(JSON.stringify(reply.body)), reply.fds);
      }
    } finally {
      c.busy = false;
      if (!c.sock.closed) c.sock.resume();
    }
  }

  private async handle(c: Conn, data: Buffer, fds: number[], truncated: boolean): Promise<{ body: Record<string, unknown>; fds: number[] }> {
    let id: number | string | null = null;
    try {
      if (truncated) throw new BrokerError('INVALID_ATTR', `message or fds truncated (at most 64 KiB and ${MAX_FDS_PER_MESSAGE} fds per message)`);
      if (fds.length > MAX_FDS_PER_MESSAGE) throw new BrokerError('INVALID_ATTR', `at most ${MAX_FDS_PER_MESSAGE} fds per message`);
      let req: FdRequest;
      try {
        req = JSON.parse(data.toString('utf8')) as FdRequest;
      } catch {
        throw new BrokerError('INVALID_ATTR', 'a request is one JSON object');
      }
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new BrokerError('INVALID_ATTR', 'a request is one JSON object');
      // The id is echoed back: a long string id is refused rather than echoed (the reply must fit one packet).
      if (typeof req.id === 'number' || (typeof req.id === 'string' && req.id.length <= LIMITS.nameBytes)) id = req.id;
      else if (req.id !== undefined) throw new BrokerError('INVALID_ATTR', `id: a number or a string of at most ${LIMITS.nameBytes} bytes`);
      if (req.op === 'bind') return { body: { id, ok: true, fds: 0, ...this.bind(c, req, fds) }, fds: [] };
      const s = c.session;
      if (!s) throw new BrokerError('NO_SESSION', 'bind the connection to a session first ({"op":"bind","token":...})');
      if (s.state === 'closing' || s.state === 'closed') throw new BrokerError('NO_SESSION', 'the session ended');
      const extra = this.opts.ops;
      let h = typeof req.op === 'string' && Object.hasOwn(this.handlers, req.op) ? this.handlers[req.op as keyof FdChannelServer['handlers']] as Handler : undefined;
      if (!h && extra && typeof req.op === 'string' && Object.hasOwn(extra, req.op)) {
        const op = extra[req.op]!;
        h = (cc, rq, f) => op(cc.session, rq, f);
      }
      if (!h) {
        const names = [...Object.keys(this.handlers), ...Object.keys(extra ?? {})];
        throw new BrokerError('INVALID_ATTR', `unknown op ${quote(req.op)} (ops: bind, ${names.join(', ')})`);
      }
      this.opts.broker.sessions.touch(s);
      const r = await h(c as Conn & { session: Session }, req, fds);
      return { body: { id, ok: true, fds: r.fds.length, ...r.body }, fds: r.fds };
    } catch (e) {
      return { body: { id, ok: false, error: this.errorBody(e, c) }, fds: [] };
    } finally {
      // Handed-in fds are never kept: whatever needed the pages has its own dup.
      closeAll(fds);
    }
  }

  private errorBody(e: unknown, c: Conn): FdErrorBody {
    if (e instanceof SysError) e = new BrokerError('INVALID_ATTR', e.message, e.errno, e.call);
    const r = errorRecord(e);
    if (r) return r;
    this.log.error({ err: e, conn: c.id, session: c.session?.id }, 'internal error in the fd channel');
    return internalReport('internal error in the fd channel');
  }

  private bind(c: Conn, req: FdRequest, fds: number[]): Record<string, unknown> {
    if (c.session) throw new BrokerError('INVALID_ATTR', 'the connection is already bound');
    if (fds.length > 0) throw new BrokerError('INVALID_ATTR', 'bind takes no fds');
    if (typeof req.token !== 'string' || !req.token) throw new BrokerError('MISSING_ATTR', 'bind: missing token');
    checkName(req.token, 'bind: token', LIMITS.tokenBytes);
    const s = this.opts.broker.sessions.redeemFdToken(req.token);
    // A tenant's own socket serves that tenant's sessions only; another's answers as an unknown token.
    if (c.tenant !== null && s.tenant !== c.tenant) throw new BrokerError('NO_SESSION', 'no such fd-channel token (tokens are one-time and expire; ask the session for a new one)');
    let bound = 0;
    for (const x of this.conns.values()) if (x.session === s) bound++;
    if (bound >= MAX_CONNECTIONS_PER_SESSION) {
      throw new BrokerError('QUOTA_EXCEEDED', `the session already has ${bound} fd channel connections (at most ${MAX_CONNECTIONS_PER_SESSION})`);
    }
    if (this.opts.authorize && !this.opts.authorize(c.peer, s)) {
      this.log.warn({ conn: c.id, session: s.id, peer: c.peer }, 'fd channel bind refused for this peer');
      throw new BrokerError('PERMISSION_DENIED', 'this process may not receive the session\'s fds');
    }
    this.opts.broker.accounting.takeFds(s.tenant, 1, 'an fd-channel connection');
    c.charged = s.tenant;
    this.unwait(c);
    c.session = s;
    // A TCP session's process is known once it binds locally; a unix one's was read at Connect.
    s.peerCred ??= { ...c.peer, via: 'fd-channel' };
    if (c.bindTimer) clearTimeout(c.bindTimer);
    c.bindTimer = null;
    // The session's end closes its connections: nothing more to get.
    c.untieSession = s.onEnd(() => c.sock.close('session ended'));
    this.log.info({ conn: c.id, session: s.id, tenant: s.tenant, peer: c.peer }, 'fd channel bound');
    return { version: FD_PROTOCOL_VERSION, session: s.id, tenant: s.tenant, peer: c.peer };
  }

  // --------------------------------------------------------------- mirrors

  private sessionFds(s: Session): SessionFds {
    let sf = this.bySession.get(s.id);
    if (sf) return sf;
    const untap = s.tap((e) => this.onEvent(s.id, e));
    const cancelEnd = s.onEnd(() => {
      const x = this.bySession.get(s.id);
      if (x) this.dropSession(x);
    });
    sf = { session: s, chargedFds: 0, asyncMirror: null, channels: new Map(), untap, cancelEnd };
    this.bySession.set(s.id, sf);
    return sf;
  }

  private dropSession(sf: SessionFds): void {
    this.bySession.delete(sf.session.id);
    sf.untap();
    sf.cancelEnd();
    sf.asyncMirror?.close();
    for (const m of sf.channels.values()) m.close();
    sf.channels.clear();
    this.opts.broker.accounting.giveFds(sf.session.tenant, sf.chargedFds);
    sf.chargedFds = 0;
  }

  /** Makes a mirror, its fds counted against the session's tenant (QUOTA_EXCEEDED past its fd quota). */
  private newMirror(sf: SessionFds, make: () => EventMirror, what: string): EventMirror {
    this.opts.broker.accounting.takeFds(sf.session.tenant, MIRROR_FDS, what);
    try {
      const m = make();
      sf.chargedFds += MIRROR_FDS;
      return m;
    } catch (e) {
      this.opts.broker.accounting.giveFds(sf.session.tenant, MIRROR_FDS);
      throw e;
    }
  }

  private closeMirror(sf: SessionFds, m: EventMirror): void {
    m.close();
    sf.chargedFds -= MIRROR_FDS;
    this.opts.broker.accounting.giveFds(sf.session.tenant, MIRROR_FDS);
  }

  private onEvent(sessionId: string, e: SessionEvent): void {
    const sf = this.bySession.get(sessionId);
    if (!sf) return;
    if (e.kind === 'completion') {
      const m = e.channel !== undefined ? sf.channels.get(e.channel) : undefined;
      m?.push(encodeCompletion({ cq: e.handle, userHandle: BigInt(e.userHandle) }), e.handle);
      return;
    }
    if (!sf.asyncMirror) return;
    const idx = (ASYNC_EVENT_NAMES as readonly string[]).indexOf(e.eventType);
    sf.asyncMirror.push(encodeAsync({
      handle: e.handle,
      userHandle: BigInt(e.userHandle),
      kind: e.kind,
      eventType: e.kind === 'object_released' || idx < 0 ? null : idx,
      port: e.port,
    }));
  }

  private channelMirror(s: Session, o: BrokerObject): EventMirror {
    const sf = this.sessionFds(s);
    let m = sf.channels.get(o.handle);
    if (!m) {
      m = this.newMirror(sf, () => EventMirror.create({ recordSize: COMPLETION_RECORD_SIZE, maxPending: COMPLETION_PENDING_MAX }), 'a completion-channel mirror');
      sf.channels.set(o.handle, m);
    }
    return m;
  }

  // --------------------------------------------------------------- ops

  private readonly handlers = {
    get_fd: async (c: Conn & { session: Session }, req: FdRequest, fds: number[]) => {
      noFds(fds, 'get_fd');
      const o = this.opts.broker.resolve(c.session, handleArg(req.handle, 'handle'));
      switch (o.type) {
        case 'comp_channel': {
          const m = this.channelMirror(c.session, o);
          return { body: { handle: o.handle, type: o.type, fd_kind: 'completion_events', record_size: COMPLETION_RECORD_SIZE }, fds: [m.fd] };
        }
        case 'mr': {
          const r = o.ref as MrRef;
          const fd = r.memory?.fd ?? null;
          if (fd === null || fd < 0) throw new BrokerError('INVALID_ATTR', `MR ${o.handle} has no memfd (a dma-buf MR is not mappable through the daemon)`);
          return {
            body: {
              handle: o.handle, type: o.type, fd_kind: 'memfd', offset: r.memory!.fdOffset, length: r.length,
              addr: Number(r.addr), lkey: r.lkey, rkey: r.rkey,
            },
            fds: [fd],
          };
        }
        default:
          throw new BrokerError('WRONG_TYPE', `a ${o.type} has no fd (get_fd serves comp_channel and mr; async_fd and import_device are ops of their own)`);
      }
    },

    async_fd: async (c: Conn & { session: Session }, _req: FdRequest, fds: number[]) => {
      noFds(fds, 'async_fd');
      const sf = this.sessionFds(c.session);
      sf.asyncMirror ??= this.newMirror(sf, () => EventMirror.create({ recordSize: ASYNC_RECORD_SIZE, maxPending: ASYNC_PENDING_MAX }), 'the async-event mirror');
      return { body: { fd_kind: 'async_events', record_size: ASYNC_RECORD_SIZE }, fds: [sf.asyncMirror.fd] };
    },

    reg_mr: async (c: Conn & { session: Session }, req: FdRequest, fds: number[]) => {
      if (fds.length !== 1) throw new BrokerError('INVALID_ATTR', `reg_mr takes exactly one fd (the memfd or dma-buf), got ${fds.length}`);
      const fd = fds[0]!;
      // The cheap checks of the request itself come before any look at the fd.
      const userHandle = checkUserHandle(req.user_handle);
      const source = req.source ?? 'memfd';
      if (source !== 'memfd' && source !== 'dmabuf') throw new BrokerError('INVALID_ATTR', 'reg_mr: source is "memfd" or "dmabuf"');
      const length = intArg(req.length, 'length', true);
      const offset = intArg(req.offset ?? 0, 'offset', false);
      if (source === 'memfd') checkMemoryFd(fd, offset, length, true);
      const attrs: PlainMap = { pd: new HandleValue(handleArg(req.pd, 'pd')), length: BigInt(length) };
      if (req.access !== undefined) attrs.access = req.access as Plain;
      const memory = source === 'memfd'
        ? { kind: 'memfd' as const, fd, offset }
        : { kind: 'dmabuf' as const, fd, offset, iova: BigInt(intArg(req.iova ?? 0, 'iova', false)) };
      const o = await this.opts.broker.create(c.session, { type: 'mr', device: '', attrs, userHandle, memory });
      const r = o.ref as MrRef;
      return { body: { handle: o.handle, type: o.type, device: o.device, addr: Number(r.addr), length: r.length, lkey: r.lkey, rkey: r.rkey }, fds: [] };
    },

    import_device: async (c: Conn & { session: Session }, req: FdRequest, fds: number[]) => {
      noFds(fds, 'import_device');
      if (typeof req.device !== 'string' || !req.device) throw new BrokerError('MISSING_ATTR', 'import_device: missing device');
      checkName(req.device, 'import_device: device');
      const hs = Array.isArray(req.handles) ? req.handles.map((h, i) => handleArg(h, `handles[${i}]`)) : [];
      const r = await this.opts.broker.importDevice(c.session, req.device, hs);
      return {
        body: { device: req.device, fd_kind: 'command_fd', objects: r.objects.map((o) => ({ handle: o.handle, type: o.type, kernel_handle: o.kernelHandle })) },
        fds: [r.fd],
      };
    },
  };
}

/** fd-channel request arguments, shared with the ops other modules add (the fast lane's). */
export function noFds(fds: number[], op: string): void {
  if (fds.length > 0) throw new BrokerError('INVALID_ATTR', `${op} takes no fds`);
}

export function handleArg(v: unknown, name: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw err.invalid(`${name}: expected an object handle`, name);
  return n;
}

function intArg(v: unknown, name: string, positive: boolean): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || (positive && n === 0)) {
    throw err.invalid(`${name}: expected a ${positive ? 'positive' : 'non-negative'} integer`, name);
  }
  return n;
}
