/**
 * The SessionService.Connect stream under a session: the `open` it starts
 * with, the keepalives that hold the lease, and the events it carries, fanned
 * out to the session's iterators. Its end is the session's end (or the start
 * of its resume grace period).
 */
import * as grpc from '@grpc/grpc-js';
import { RdmaError } from './errors.js';
import { AsyncQueue, type Client } from './client.js';
import type { SessionServerMessage__Output } from '../wire/gen/rdmabroker/v1/SessionServerMessage.js';
import type { SessionClientMessage } from '../wire/gen/rdmabroker/v1/SessionClientMessage.js';
import type { SessionOpened__Output } from '../wire/gen/rdmabroker/v1/SessionOpened.js';

export interface OpenSessionOptions {
  /** A label for listings (default: the process title and pid). */
  name?: string;
  /** The session ends when the daemon hears nothing for this long (0: the daemon's default). */
  leaseMs?: number;
  /** How long the session outlives a broken stream, waiting for {@link Session.resume} (0: none). */
  resumeGraceMs?: number;
  /** Resume a detached session instead of opening a new one. */
  resumeToken?: string;
  /** Keepalive period (default: a third of the lease, at most 10 s). */
  keepaliveMs?: number;
  /** How long to wait for the daemon to open the session (default 10 s). */
  openTimeoutMs?: number;
}

/** An event of the session's objects (or of a device it uses). */
export interface SessionEvent {
  seq: number;
  /** "async", "completion", "device_lost", "object_released" */
  kind: string;
  /** The object's handle, 0 for device and port events. */
  handle: number;
  userHandle: string;
  /** The object's type ("cq", "qp", "device", ...). */
  type: string;
  /** For async events: CQ_ERR, QP_FATAL, ..., PORT_ACTIVE, DEVICE_FATAL. */
  eventType: string;
  device: string;
  port: number;
  timeUnixMs: number;
}

type Call = grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage__Output>;

/** What the stream tells its session. */
export interface StreamHooks {
  /** SessionOpened arrived (before open() resolves). */
  opened(op: SessionOpened__Output): void;
  event(ev: SessionEvent): void;
  /** The stream ended: an error when it broke, null when it was closed. */
  closed(err: RdmaError | null): void;
}

/** @internal The Connect stream of one {@link Session}; reopened by resume. */
export class SessionStream {
  private call: Call | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private nonce = 0;
  private readonly queues = new Set<AsyncQueue<SessionEvent>>();
  private ended: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(private readonly client: Client, private readonly opts: OpenSessionOptions, private readonly hooks: StreamHooks) {}

  /** True while the stream is open. */
  get attached(): boolean {
    return this.call !== null;
  }

  /** Opens the stream and waits for `opened`. */
  async open(resumeToken: string): Promise<void> {
    const o = this.opts;
    const call = this.client.sessionService.Connect(this.client.metadata());
    this.closing = false;
    let settle: { resolve: () => void; reject: (e: unknown) => void } | null = null;
    const opened = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    let endedResolve!: () => void;
    this.ended = new Promise((r) => (endedResolve = r));
    const timer = setTimeout(() => {
      settle?.reject(new RdmaError({ code: grpc.status.DEADLINE_EXCEEDED, details: 'the daemon did not open the session in time', what: 'SessionService.Connect' }));
      settle = null;
      call.cancel();
    }, o.openTimeoutMs ?? 10_000);
    const finish = (err: RdmaError | null): void => {
      clearTimeout(timer);
      if (settle) {
        settle.reject(err ?? new RdmaError({ code: grpc.status.UNAVAILABLE, details: 'the session stream ended before it opened', what: 'SessionService.Connect' }));
        settle = null;
      }
      if (this.call !== call) return;
      this.call = null;
      if (this.keepalive) clearInterval(this.keepalive);
      this.keepalive = null;
      for (const q of this.queues) (err ? q.fail(err) : q.end());
      this.queues.clear();
      endedResolve();
      this.hooks.closed(err);
    };
    call.on('data', (m: SessionServerMessage__Output) => {
      if (m.opened) {
        this.hooks.opened(m.opened);
        clearTimeout(timer);
        this.startKeepalive(call, m.opened.lease_ms);
        settle?.resolve();
        settle = null;
        return;
      }
      if (m.event) {
        const e = m.event;
        const ev: SessionEvent = {
          seq: Number(e.seq), kind: e.kind, handle: Number(e.handle), userHandle: e.user_handle, type: e.type,
          eventType: e.event_type, device: e.device, port: e.port, timeUnixMs: Number(e.time_unix_ms),
        };
        for (const q of this.queues) q.push(ev);
        this.hooks.event(ev);
      }
    });
    call.on('error', (e: grpc.ServiceError) => {
      const closedByUs = this.closing && (e.code === grpc.status.CANCELLED);
      finish(closedByUs ? null : RdmaError.fromServiceError(e, 'SessionService.Connect'));
    });
    call.on('end', () => finish(null));
    call.on('status', (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK) finish(null);
    });
    this.call = call;
    call.write({
      open: {
        name: o.name ?? `${process.title}[${process.pid}]`,
        resume_token: resumeToken,
        lease_ms: o.leaseMs ?? 0,
        resume_grace_ms: o.resumeGraceMs ?? 0,
      },
    });
    await opened;
  }

  private startKeepalive(call: Call, leaseMs: number): void {
    const period = this.opts.keepaliveMs ?? Math.max(100, Math.min(Math.floor(leaseMs / 3), 10_000));
    this.keepalive = setInterval(() => {
      if (this.call === call) call.write({ keepalive: { nonce: String(++this.nonce) } });
    }, period);
    // The stream itself keeps the process alive while the session is open.
    this.keepalive.unref();
  }

  /** Ends the stream; resolves when the daemon has closed it (or after `timeoutMs`, cancelled). */
  async close(timeoutMs: number): Promise<void> {
    const call = this.call;
    if (!call) return;
    this.closing = true;
    call.end();
    const t = setTimeout(() => call.cancel(), timeoutMs);
    await this.ended;
    clearTimeout(t);
  }

  /** The stream's events as an async iterator (ends when the stream ends). */
  events(): AsyncIterableIterator<SessionEvent> & { cancel(): void } {
    const q: AsyncQueue<SessionEvent> = new AsyncQueue(() => this.queues.delete(q));
    if (this.call) this.queues.add(q);
    else q.end();
    return q;
  }
}
