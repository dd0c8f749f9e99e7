/**
 * Sessions: every object belongs to one. A session is attached while its
 * client's stream is open; when the stream ends it is detached for its resume
 * grace period (0 by default: it ends at once), and it ends when its lease
 * runs out without a keepalive. Ending a session destroys its objects
 * children-first (the broker does that; this module only keeps the state and
 * the timers).
 */
import { randomBytes } from 'node:crypto';
import type { OwnerRef, SessionLabels } from './registry.js';
import { BrokerError } from './errors.js';
import { LoopStallMeter } from './loop-stall.js';

export interface SessionEvent {
  kind: 'async' | 'completion' | 'device_lost' | 'object_released';
  handle: number;
  userHandle: string;
  type: string;
  eventType: string;
  device: string;
  port: number;
  time: number;
  /** For completion events: the completion channel the CQ reports to. */
  channel?: number;
}

export type SessionState = 'attached' | 'detached' | 'closing' | 'closed';
export type EndReason = 'stream_closed' | 'lease_expired' | 'grace_expired' | 'evicted' | 'shutdown';

/** A local process's credentials and the socket they were read from. */
export interface SessionPeerCred {
  pid: number;
  uid: number;
  gid: number;
  via: 'grpc' | 'fd-channel';
}

export interface SessionOptions {
  name: string;
  tenant: string;
  peer: string;
  leaseMs: number;
  resumeGraceMs: number;
  /** Names from the listener the session was opened on (empty: none). */
  labels?: SessionLabels;
}

/** Events kept for a detached session until it resumes (the oldest are dropped past this). */
const DETACHED_EVENT_BACKLOG = 1024;

export class Session implements OwnerRef {
  readonly id = `s-${randomBytes(6).toString('hex')}`;
  readonly token = randomBytes(24).toString('base64url');
  readonly created = Date.now();
  /**
   * The opening process (SO_PEERCRED) on a unix socket, read by the adapter
   * that accepted it; over TCP, the process that bound the session's fd
   * channel, if one did. Null: not known.
   */
  peerCred: SessionPeerCred | null = null;
  state: SessionState = 'attached';
  private seq = 0;
  private listener: ((seq: number, e: SessionEvent) => void) | null = null;
  private backlog: { seq: number; e: SessionEvent }[] = [];
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  leaseTimer: NodeJS.Timeout | null = null;
  /** The delay {@link leaseTimer} was armed with (the lease, or a stall's extension). */
  leaseTimerMs = 0;
  /** The loop stall meter's reading when the lease was last renewed or extended. */
  leaseStallMark = 0;
  graceTimer: NodeJS.Timeout | null = null;
  /** Resolves when the session's cleanup has finished. */
  closed: Promise<void> | null = null;
  private readonly taps = new Set<(e: SessionEvent) => void>();
  /** Devices a verb of this session has named (at most the daemon's devices). */
  private readonly opened = new Set<string>();

  constructor(readonly opts: SessionOptions) {}

  /**
   * Records that a verb of this session named `device` (created an object
   * there, or invoked a device method): from then on the session hears that
   * device's device and port events, as the async fd of a uverbs context
   * hears those of its own device only. The runner calls this with live
   * device names only.
   */
  openDevice(device: string): void {
    this.opened.add(device);
  }

  /** Whether the device and port events of `device` reach this session (see {@link openDevice}). */
  hearsDevice(device: string): boolean {
    return this.opened.has(device);
  }

  get tenant(): string {
    return this.opts.tenant;
  }
  get name(): string {
    return this.opts.name;
  }
  get labels(): SessionLabels | undefined {
    return this.opts.labels;
  }

  /** Delivers an event to the attached stream, or keeps it for a resume. */
  emit(e: SessionEvent): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    for (const t of this.taps) {
      try {
        t(e);
      } catch {
        // A tap (an fd mirror) must not break event delivery.
      }
    }
    const seq = ++this.seq;
    if (this.listener) {
      this.listener(seq, e);
      return;
    }
    this.backlog.push({ seq, e });
    if (this.backlog.length > DETACHED_EVENT_BACKLOG) this.backlog.shift();
  }

  /**
   * Also delivers every event to `fn` (attached or not), for as long as the
   * session lives; returns a function that stops it. The fd channel's event
   * mirrors use this.
   */
  tap(fn: (e: SessionEvent) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  attach(listener: (seq: number, e: SessionEvent) => void): void {
    this.listener = listener;
    this.state = 'attached';
    const pending = this.backlog;
    this.backlog = [];
    for (const { seq, e } of pending) listener(seq, e);
  }

  /** Calls `cb` once when the session ends (whatever the reason); returns a function that unsubscribes. */
  onEnd(cb: (reason: EndReason) => void): () => void {
    this.endListeners.add(cb);
    return () => this.endListeners.delete(cb);
  }

  /** @internal called by SessionTable.end */
  ended(reason: EndReason): void {
    const ls = [...this.endListeners];
    this.endListeners.clear();
    this.taps.clear();
    for (const cb of ls) cb(reason);
  }

  detach(): void {
    this.listener = null;
    if (this.state === 'attached') this.state = 'detached';
  }

  clearTimers(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.leaseTimer = this.graceTimer = null;
  }
}

export interface SessionLimits {
  defaultLeaseMs: number;
  maxLeaseMs: number;
  minLeaseMs: number;
  maxResumeGraceMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  defaultLeaseMs: 30_000,
  minLeaseMs: 1_000,
  maxLeaseMs: 600_000,
  maxResumeGraceMs: 300_000,
};

/** The one answer for a token that names no session the caller may use (unknown, ended, or another tenant's). */
export function noSuchSession(): BrokerError {
  return new BrokerError('NO_SESSION', 'no such session (open one with SessionService.Connect and send its token in x-rdma-session)');
}

/** How long an fd-channel token stays valid if unused. */
export const FD_TOKEN_TTL_MS = 60_000;
/** How many unused fd-channel tokens a session may hold. */
export const FD_TOKENS_PER_SESSION = 64;

export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private readonly byToken = new Map<string, Session>();
  private readonly fdTokens = new Map<string, { session: Session; expires: number }>();
  /** Leases do not run while the daemon's own loop is stalled. */
  private readonly stalls = new LoopStallMeter();

  constructor(
    readonly limits: SessionLimits,
    private readonly onEnd: (s: Session, reason: EndReason) => void,
  ) {}

  /** Stops the stall meter (the daemon is stopping). */
  stop(): void {
    this.stalls.stop();
  }

  get size(): number {
    return this.byId.size;
  }

  open(o: { name: string; tenant: string; peer: string; leaseMs: number; resumeGraceMs: number; labels?: SessionLabels }): Session {
    const l = this.limits;
    const leaseMs = o.leaseMs ? Math.min(Math.max(o.leaseMs, l.minLeaseMs), l.maxLeaseMs) : l.defaultLeaseMs;
    const resumeGraceMs = Math.min(o.resumeGraceMs, l.maxResumeGraceMs);
    const s = new Session({ ...o, leaseMs, resumeGraceMs });
    this.byId.set(s.id, s);
    this.byToken.set(s.token, s);
    this.touch(s);
    return s;
  }

  /** The session a token names, if it is still alive. */
  fromToken(token: string): Session {
    const s = this.byToken.get(token);
    if (!s || s.state === 'closing' || s.state === 'closed') throw noSuchSession();
    return s;
  }

  /**
   * A one-time token that binds one fd-channel connection to this session.
   * It is a different secret from the session token: handing it to a helper
   * process lets that process receive the session's fds once, not act on the
   * session over gRPC.
   */
  issueFdToken(s: Session, ttlMs = FD_TOKEN_TTL_MS): string {
    if (s.state === 'closing' || s.state === 'closed') throw new BrokerError('NO_SESSION', 'the session ended');
    const now = Date.now();
    const mine: string[] = [];
    for (const [t, v] of this.fdTokens) {
      if (v.expires <= now) this.fdTokens.delete(t);
      else if (v.session === s) mine.push(t);
    }
    // Unused tokens are bounded per session: the oldest gives way.
    if (mine.length >= FD_TOKENS_PER_SESSION) this.fdTokens.delete(mine[0]!);
    const token = `fd-${randomBytes(24).toString('base64url')}`;
    this.fdTokens.set(token, { session: s, expires: now + ttlMs });
    return token;
  }

  /** Consumes an fd-channel token: the session it names, if it and the token are still alive. */
  redeemFdToken(token: string): Session {
    const v = this.fdTokens.get(token);
    this.fdTokens.delete(token);
    if (!v || v.expires <= Date.now() || v.session.state === 'closing' || v.session.state === 'closed') {
      throw new BrokerError('NO_SESSION', 'no such fd-channel token (tokens are one-time and expire; ask the session for a new one)');
    }
    return v.session;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Renews the lease (any client message does). */
  touch(s: Session): void {
    s.leaseStallMark = this.stalls.stalledMs();
    this.armLease(s, s.opts.leaseMs);
  }

  private armLease(s: Session, ms: number): void {
    // Every call renews the lease: re-arming the timer it already has
    // (refresh) costs a third of a new timer and its closure.
    if (s.leaseTimer && s.leaseTimerMs === ms) {
      s.leaseTimer.refresh();
      return;
    }
    if (s.leaseTimer) clearTimeout(s.leaseTimer);
    s.leaseTimer = setTimeout(() => this.leaseDue(s), ms);
    s.leaseTimer.unref();
    s.leaseTimerMs = ms;
  }

  /**
   * The lease ran out, by the clock. If the daemon's loop stalled since the
   * last keepalive, the client's keepalives may be waiting unread: the lease
   * is extended by the stall (which also lets the loop read them first).
   */
  private leaseDue(s: Session): void {
    const stalled = this.stalls.stalledMs();
    const owed = stalled - s.leaseStallMark;
    if (owed > 1) {
      s.leaseStallMark = stalled;
      this.armLease(s, Math.ceil(owed));
      return;
    }
    this.end(s, 'lease_expired');
  }

  /** The stream ended: end now, or wait for a resume within the grace period. */
  streamClosed(s: Session): void {
    if (s.state !== 'attached') return;
    s.detach();
    if (s.opts.resumeGraceMs <= 0) {
      this.end(s, 'stream_closed');
      return;
    }
    s.graceTimer = setTimeout(() => this.end(s, 'grace_expired'), s.opts.resumeGraceMs);
    s.graceTimer.unref();
  }

  /** Resumes a detached session with its token. */
  resume(token: string): Session {
    const s = this.fromToken(token);
    if (s.state === 'attached') throw new BrokerError('BUSY', 'session is attached to another stream');
    if (s.graceTimer) clearTimeout(s.graceTimer);
    s.graceTimer = null;
    this.touch(s);
    return s;
  }

  end(s: Session, reason: EndReason): void {
    if (s.state === 'closing' || s.state === 'closed') return;
    s.clearTimers();
    s.detach();
    s.state = 'closing';
    this.byToken.delete(s.token);
    for (const [t, v] of this.fdTokens) if (v.session === s) this.fdTokens.delete(t);
    s.ended(reason);
    this.onEnd(s, reason);
  }

  /** Forgets a session whose cleanup finished. */
  forget(s: Session): void {
    s.state = 'closed';
    this.byId.delete(s.id);
  }
}
