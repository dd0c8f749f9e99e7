/**
 * A session: the SessionService.Connect stream that owns the client's
 * objects, with its lease (keepalives), its events, and the generic verbs
 * (create, query, modify, destroy, invoke, batch) plus typed helpers over them.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { SESSION_HEADER } from '../wire/proto.js';
import { RefValue, decodeAttrs, encodeAttrs, type AttrMap, type AttrValue, type ObjectLike, type PlainMap } from './values.js';
import { fieldsOfDetail, RdmaError } from './errors.js';
import { AsyncQueue, objectRecord, type Client, type ObjectRecord } from './client.js';
import type { SessionServerMessage__Output } from '../wire/gen/rdmabroker/v1/SessionServerMessage.js';
import type { SessionClientMessage } from '../wire/gen/rdmabroker/v1/SessionClientMessage.js';
import type { ObjectReply__Output } from '../wire/gen/rdmabroker/v1/ObjectReply.js';
import type { BatchReply__Output } from '../wire/gen/rdmabroker/v1/BatchReply.js';
import type { BatchStep } from '../wire/gen/rdmabroker/v1/BatchStep.js';
import type { IssueFdTokenReply__Output } from '../wire/gen/rdmabroker/v1/IssueFdTokenReply.js';
import { FdChannel, FdChannelError, type AsyncRecord, type CompletionRecord, type EventFd } from './fd-channel.js';
import type { SharedMemory } from '../sys/memory.js';
import { FastLane, type FastLaneOptions } from './lane.js';

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

/** What a verb acts on: an object, its handle, or (in a Batch) an earlier step. */
export type Target = ObjectLike | number | RefValue | { ref: number };

export interface CreateOptions {
  /** The device, for objects without a parent handle (pd, cq, comp_channel, xrcd). */
  device?: string;
  /** Stored by the daemon, echoed in events and listings. */
  userHandle?: number | bigint | string;
}

export type BatchStepInput =
  | { create: string; device?: string; attrs?: AttrMap; userHandle?: number | bigint | string }
  | { query: Target }
  | { modify: Target; attrs: AttrMap }
  | { destroy: Target }
  | { invoke: Target; method: string; attrs?: AttrMap; device?: string };

export type BatchStepResult = RdmaObject | PlainMap;

export interface BatchResult {
  /** One per step that succeeded: the object (create, query, modify) or the output attributes. */
  results: BatchStepResult[];
  /** The step that failed (the steps after it did not run), or null. */
  failed: { index: number; error: RdmaError } | null;
}

/**
 * An MR whose memory is mapped in this process too (a memfd shared with the
 * daemon): write and read `memory` directly; `addr + i` is byte `i` for the
 * device (SGEs, remote_addr). {@link close} unmaps it here; the MR itself
 * lives until it is destroyed (or the session ends).
 */
export class SharedMr {
  constructor(
    readonly mr: RdmaObject,
    readonly memory: SharedMemory,
    readonly addr: bigint,
    readonly length: number,
    readonly lkey: number,
    readonly rkey: number,
  ) {}

  get handle(): number {
    return this.mr.handle;
  }

  /** Unmaps the memory in this process. */
  close(): void {
    this.memory.close();
  }
}

/** A completion (struct ibv_wc): wr_id, status ("SUCCESS", ...), opcode, byte_len, qp_num, ... */
export type WorkCompletion = PlainMap & { status: string; opcode: string; byte_len: number };

/** An object this session owns. Its attributes are the daemon's key attributes (lkey, rkey, qp_num, ...). */
export class RdmaObject implements ObjectLike {
  constructor(
    readonly session: Session,
    readonly handle: number,
    readonly type: string,
    readonly device: string,
    public attrs: PlainMap,
    readonly userHandle: string,
    readonly parents: readonly number[],
  ) {}

  /** A key attribute as a number (throws when absent). */
  num(name: string): number {
    const v = this.attrs[name];
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    throw new TypeError(`${this.type} ${this.handle} has no numeric attribute ${name}`);
  }

  /** A key attribute as a bigint (for 64-bit addresses). */
  big(name: string): bigint {
    const v = this.attrs[name];
    if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
    throw new TypeError(`${this.type} ${this.handle} has no numeric attribute ${name}`);
  }

  query(): Promise<RdmaObject> {
    return this.session.query(this);
  }
  modify(attrs: AttrMap): Promise<RdmaObject> {
    return this.session.modify(this, attrs);
  }
  destroy(): Promise<PlainMap> {
    return this.session.destroy(this);
  }
  invoke(method: string, attrs?: AttrMap): Promise<PlainMap> {
    return this.session.invoke(this, method, attrs);
  }

  toJSON(): object {
    return { handle: this.handle, type: this.type, device: this.device, userHandle: this.userHandle, parents: this.parents };
  }
}

function targetOf(t: Target): { handle: string; handle_ref: number } {
  if (typeof t === 'number') return { handle: String(t), handle_ref: 0 };
  if (t instanceof RefValue) return { handle: '0', handle_ref: t.step + 1 };
  if ('ref' in t && typeof t.ref === 'number' && !('handle' in t)) return { handle: '0', handle_ref: t.ref + 1 };
  return { handle: String((t as ObjectLike).handle), handle_ref: 0 };
}

/** A user_handle as the wire's u64: refused here when out of range (protobufjs would wrap -1 or 2^70 silently). */
function userHandleOf(u: number | bigint | string | undefined): string {
  if (u === undefined) return '0';
  let b: bigint | null = null;
  try {
    b = typeof u === 'number' && !Number.isSafeInteger(u) ? null : BigInt(u);
  } catch {
    b = null;
  }
  if (b === null || b < 0n || b >= 1n << 64n) throw new RangeError(`userHandle: expected an unsigned 64-bit integer, got ${String(u).slice(0, 64)}`);
  return b.toString();
}

/**
 * A session with rdma-brokerd. Emits `event` ({@link SessionEvent}) and
 * `close` (an {@link RdmaError} when the stream broke, null when it was closed).
 */
export class Session extends EventEmitter {
  /** The session id (as listings show it). */
  id = '';
  /** Secret: sent in `x-rdma-session` on every call, and resumes the session. */
  token = '';
  tenant = '';
  leaseMs = 0;
  resumeGraceMs = 0;
  /** True when the last open resumed an existing session. */
  resumed = false;
  /** The daemon's fd channel socket for this session ("" when there is none, e.g. over TCP). */
  fdSocket = '';
  private fdToken = '';
  private fdc: Promise<FdChannel> | null = null;
  private call: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage__Output> | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private nonce = 0;
  private readonly queues = new Set<AsyncQueue<SessionEvent>>();
  private ended: Promise<void> = Promise.resolve();
  private closing = false;

  /** @internal use Client.openSession */
  constructor(readonly client: Client, private readonly opts: OpenSessionOptions) {
    super();
    this.token = opts.resumeToken ?? '';
  }

  /** True while the session's stream is open. */
  get attached(): boolean {
    return this.call !== null;
  }

  /** @internal Opens the stream and waits for `opened`. */
  async open(resumeToken = this.opts.resumeToken ?? ''): Promise<void> {
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
      this.emit('close', err);
    };
    call.on('data', (m: SessionServerMessage__Output) => {
      if (m.opened) {
        const op = m.opened;
        this.id = op.session_id;
        this.token = op.token;
        this.tenant = op.tenant;
        this.leaseMs = op.lease_ms;
        this.resumeGraceMs = op.resume_grace_ms;
        this.resumed = op.resumed;
        this.fdSocket = op.fd_socket;
        this.fdToken = op.fd_token;
        clearTimeout(timer);
        this.startKeepalive(call);
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
        this.emit('event', ev);
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

  private startKeepalive(call: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage__Output>): void {
    const period = this.opts.keepaliveMs ?? Math.max(100, Math.min(Math.floor(this.leaseMs / 3), 10_000));
    this.keepalive = setInterval(() => {
      if (this.call === call) call.write({ keepalive: { nonce: String(++this.nonce) } });
    }, period);
    // The stream itself keeps the process alive while the session is open.
    this.keepalive.unref();
  }

  /**
   * Reattaches to the session after its stream broke, within its resume
   * grace period: the objects (and their handles) are still there.
   */
  async resume(): Promise<void> {
    if (this.call) return;
    if (!this.token) throw new RdmaError({ code: grpc.status.FAILED_PRECONDITION, details: 'the session was never opened', what: 'resume' });
    await this.open(this.token);
  }

  /**
   * Ends the stream: the daemon destroys the session's objects children-first
   * (unless the session has a resume grace period, which then starts).
   * Resolves when the daemon has closed the stream.
   */
  async close(timeoutMs = 5000): Promise<void> {
    const fdc = this.fdc;
    this.fdc = null;
    if (fdc) void fdc.then((c) => c.close(), () => {});
    const call = this.call;
    if (!call) return;
    this.closing = true;
    call.end();
    const t = setTimeout(() => call.cancel(), timeoutMs);
    await this.ended;
    clearTimeout(t);
  }

  // -------------------------------------------------------------- fd channel

  /** A one-time token for one more fd-channel connection (SessionService.IssueFdToken). */
  async issueFdToken(): Promise<{ token: string; fdSocket: string; expiresMs: number }> {
    const svc = this.client.sessionService;
    const r = await this.client.unary<object, IssueFdTokenReply__Output>('IssueFdToken', svc.IssueFdToken.bind(svc) as never, {}, this.md());
    return { token: r.token, fdSocket: r.fd_socket, expiresMs: r.expires_ms };
  }

  /**
   * The session's fd channel (docs/fd-channel.md), connected on first use and
   * closed with the session. Only for a daemon on a local unix socket: over
   * TCP there is none (UNIMPLEMENTED).
   */
  fds(): Promise<FdChannel> {
    const cur = this.fdc;
    if (cur) {
      return cur.then((c) => {
        if (!c.closed) return c;
        if (this.fdc === cur) this.fdc = null;
        return this.fds();
      });
    }
    const p = (async () => {
      const token = this.fdToken;
      const socket = this.fdSocket;
      this.fdToken = '';
      const fresh = async (): Promise<FdChannel> => {
        const t = await this.issueFdToken();
        return FdChannel.connect(t.fdSocket, t.token);
      };
      if (!token || !socket) return fresh();
      try {
        return await FdChannel.connect(socket, token);
      } catch (e) {
        // The token SessionOpened carried expires (a minute) if unused: a
        // first use later than that asks the session for a new one.
        if (e instanceof FdChannelError && e.rdmaError === 'NO_SESSION') return fresh();
        throw e;
      }
    })();
    this.fdc = p;
    p.catch(() => {
      if (this.fdc === p) this.fdc = null;
    });
    return p;
  }

  /**
   * Opens a fast lane (docs/fast-lane.md): post and poll through rings in
   * memory shared with the daemon instead of one gRPC call per verb. Needs
   * the fd channel (a local daemon). Close it when done; it goes with the
   * session otherwise.
   */
  async fastLane(o: FastLaneOptions = {}): Promise<FastLane> {
    return FastLane.open(await this.fds(), o);
  }

  /** Whether this session can pass fds (the daemon told it an fd socket). */
  get hasFdChannel(): boolean {
    return this.fdSocket !== '';
  }

  /**
   * An MR over memory shared with this process: a sealed memfd is created and
   * mapped here, handed to the daemon, and registered over the same pages.
   */
  async regSharedMr(pd: ObjectLike, length: number, access: readonly string[] | number = [], o: CreateOptions = {}): Promise<SharedMr> {
    const c = await this.fds();
    const m = await c.regSharedMr(pd.handle, length, typeof access === 'number' ? access : [...access], o.userHandle);
    try {
      const mr = await this.query(m.handle);
      return new SharedMr(mr, m.memory, m.addr, m.length, m.lkey, m.rkey);
    } catch (e) {
      m.memory.close();
      throw e;
    }
  }

  /** Registers an MR over pages of a memfd (or dma-buf) this process already has; the caller keeps its fd. */
  async regMrFd(pd: ObjectLike, fd: number, length: number, access: readonly string[] | number = [], o: { offset?: number; userHandle?: number | bigint | string; source?: 'memfd' | 'dmabuf' } = {}): Promise<RdmaObject> {
    const c = await this.fds();
    const r = await c.regMr({ pd: pd.handle, fd, length, offset: o.offset, access: typeof access === 'number' ? access : [...access], userHandle: o.userHandle, source: o.source });
    return this.query(r.handle);
  }

  /** Maps the memory of an MR (one the daemon allocated with {@link regMr}, or any memfd MR) into this process. */
  async mapMr(mr: RdmaObject): Promise<SharedMr> {
    const c = await this.fds();
    const m = await c.mapMr(mr.handle);
    return new SharedMr(mr, m.memory, m.addr, m.length, m.lkey, m.rkey);
  }

  /** The completion events of a completion channel, as a pollable fd: which of its CQs fired. */
  async completionEvents(channel: ObjectLike): Promise<EventFd<CompletionRecord>> {
    return (await this.fds()).completionEvents(channel.handle);
  }

  /** The session's async events as a pollable fd. */
  async asyncEvents(): Promise<EventFd<AsyncRecord>> {
    return (await this.fds()).asyncEvents();
  }

  /**
   * Waits for `count` completions of a CQ attached to the completion channel
   * whose events are `events`, sleeping on the event fd (no polling loop):
   * poll; if short, arm the CQ, poll again (a completion may have come
   * before the arm), then wait for the CQ's record. Records of other CQs on
   * the same channel are consumed; give each waiter its own channel.
   */
  async waitCqEvents(cq: ObjectLike, events: EventFd<CompletionRecord>, count = 1, timeoutMs = 10_000): Promise<WorkCompletion[]> {
    const got: WorkCompletion[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      got.push(...(await this.pollCq(cq, count - got.length)));
      if (got.length >= count) return got;
      await this.reqNotifyCq(cq);
      got.push(...(await this.pollCq(cq, count - got.length)));
      if (got.length >= count) return got;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0 || events.ended) {
          throw new RdmaError({ code: grpc.status.DEADLINE_EXCEEDED, details: `${got.length} of ${count} completions after ${timeoutMs} ms`, what: 'waitCqEvents' });
        }
        const recs = await events.next(left);
        if (recs.some((r) => r.cq === cq.handle)) break;
      }
    }
  }

  /** The session's events as an async iterator (ends when the stream ends). */
  events(): AsyncIterableIterator<SessionEvent> & { cancel(): void } {
    const q: AsyncQueue<SessionEvent> = new AsyncQueue(() => this.queues.delete(q));
    if (this.call) this.queues.add(q);
    else q.end();
    return q;
  }

  private md(): grpc.Metadata {
    return this.client.metadata({ [SESSION_HEADER]: this.token });
  }

  private object(info: ObjectReply__Output['object']): RdmaObject {
    if (!info) throw new RdmaError({ code: grpc.status.INTERNAL, details: 'reply without an object' });
    const r: ObjectRecord = objectRecord(info);
    return new RdmaObject(this, r.handle, r.type, r.device, r.attrs, r.userHandle, r.parents);
  }

  private svc<K extends 'Create' | 'Query' | 'Modify' | 'Destroy' | 'Invoke' | 'Batch'>(k: K): never {
    const s = this.client.objectService;
    return (s[k] as (...a: unknown[]) => unknown).bind(s) as never;
  }

  // ------------------------------------------------------------ generic verbs

  /** Creates an object: `create('pd', {}, {device: 'sim0'})`, `create('mr', {pd, length: 4096, access: ['LOCAL_WRITE']})`. */
  async create(type: string, attrs: AttrMap = {}, o: CreateOptions = {}): Promise<RdmaObject> {
    const r = await this.client.unary<object, ObjectReply__Output>(`create ${type}`, this.svc('Create'), {
      type, device: o.device ?? '', attrs: encodeAttrs(attrs), user_handle: userHandleOf(o.userHandle),
    }, this.md());
    return this.object(r.object);
  }

  /** Queries an object; returns it with fresh attributes (and updates `obj.attrs` when given an object). */
  async query(t: ObjectLike | number): Promise<RdmaObject> {
    const r = await this.client.unary<object, ObjectReply__Output>('query', this.svc('Query'), { handle: targetOf(t).handle }, this.md());
    const o = this.object(r.object);
    if (t instanceof RdmaObject) t.attrs = o.attrs;
    return o;
  }

  /** Modifies an object (qp: `{qp_state: 'INIT', port_num: 1, ...}`: the attribute mask follows from the names). */
  async modify(t: ObjectLike | number, attrs: AttrMap): Promise<RdmaObject> {
    const r = await this.client.unary<object, ObjectReply__Output>('modify', this.svc('Modify'), { handle: targetOf(t).handle, attrs: encodeAttrs(attrs) }, this.md());
    const o = this.object(r.object);
    if (t instanceof RdmaObject) t.attrs = o.attrs;
    return o;
  }

  /** Destroys an object (FAILED_PRECONDITION while other objects use it). */
  async destroy(t: ObjectLike | number): Promise<PlainMap> {
    const r = await this.client.unary<object, { attrs: Record<string, never> }>('destroy', this.svc('Destroy'), { handle: targetOf(t).handle }, this.md());
    return decodeAttrs(r.attrs);
  }

  /** Calls a method on an object (`post_send`, `poll`, `read`, ...). */
  async invoke(t: ObjectLike | number, method: string, attrs: AttrMap = {}): Promise<PlainMap> {
    const r = await this.client.unary<object, { attrs: Record<string, never> }>(method, this.svc('Invoke'), {
      handle: targetOf(t).handle, method, attrs: encodeAttrs(attrs), device: '',
    }, this.md());
    return decodeAttrs(r.attrs);
  }

  /** Calls a device method (`query_port`, `query_gid`). */
  async invokeDevice(device: string, method: string, attrs: AttrMap = {}): Promise<PlainMap> {
    const r = await this.client.unary<object, { attrs: Record<string, never> }>(method, this.svc('Invoke'), {
      handle: '0', method, attrs: encodeAttrs(attrs), device,
    }, this.md());
    return decodeAttrs(r.attrs);
  }

  /**
   * Many verbs in one round trip, in order; a step names an object an earlier
   * step created with `{ref: N}` (as a target or inside attributes). Stops at
   * the first error, which is reported, not thrown.
   */
  async batch(steps: readonly BatchStepInput[]): Promise<BatchResult> {
    const wire: BatchStep[] = steps.map((st) => {
      if ('create' in st) {
        return { create: { type: st.create, device: st.device ?? '', attrs: encodeAttrs(st.attrs), user_handle: userHandleOf(st.userHandle) } };
      }
      if ('query' in st) return { query: { ...targetOf(st.query), attrs: [] } };
      if ('modify' in st) return { modify: { ...targetOf(st.modify), attrs: encodeAttrs(st.attrs) } };
      if ('destroy' in st) return { destroy: targetOf(st.destroy) };
      return { invoke: { ...targetOf(st.invoke), method: st.method, attrs: encodeAttrs(st.attrs), device: st.device ?? '' } };
    });
    const r = await this.client.unary<object, BatchReply__Output>('batch', this.svc('Batch'), { steps: wire }, this.md());
    const results: BatchStepResult[] = r.results.map((x) => {
      if (x.object) return this.object(x.object.object);
      return decodeAttrs((x.destroyed ?? x.invoked)?.attrs);
    });
    if (!r.failed) return { results, failed: null };
    const e = r.error;
    // The ErrorInfo's details (the same as a unary call's trailer) when the daemon sent them, else its flat fields.
    const fields = fieldsOfDetail(e?.details) ?? { rdmaError: e?.code ?? '', errno: e?.errno ?? 0, call: e?.call ?? '', wrIndex: e?.wr_index ?? -1 };
    const error = new RdmaError({
      code: e?.status ?? grpc.status.UNKNOWN, details: e?.message ?? 'batch step failed', ...fields, what: `batch step ${r.failed_index}`,
    });
    return { results, failed: { index: r.failed_index, error } };
  }

  // ------------------------------------------------------------ typed helpers

  /** ibv_alloc_pd */
  allocPd(device?: string, o: Omit<CreateOptions, 'device'> = {}): Promise<RdmaObject> {
    return this.create('pd', {}, { ...o, device });
  }

  /** ibv_reg_mr over daemon-allocated shared memory of `length` bytes. */
  regMr(pd: ObjectLike, length: number | bigint, access: readonly string[] | number = [], o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('mr', { pd, length, access: access as AttrValue }, o);
  }

  /** ibv_create_cq */
  createCq(device: string | undefined, cqe: number, attrs: { channel?: ObjectLike; comp_vector?: number } = {}, o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('cq', { cqe, ...attrs }, { ...o, device });
  }

  /** ibv_create_qp: `{pd, send_cq, recv_cq, qp_type: 'RC', cap: {max_send_wr: 16, ...}}` */
  createQp(attrs: { pd: ObjectLike; send_cq: ObjectLike; recv_cq: ObjectLike; qp_type: string; cap?: AttrMap; srq?: ObjectLike; sq_sig_all?: boolean } & AttrMap, o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('qp', attrs, o);
  }

  /** ibv_post_send */
  async postSend(qp: ObjectLike, wrs: readonly AttrMap[]): Promise<void> {
    await this.invoke(qp, 'post_send', { wrs: wrs as AttrValue });
  }

  /** ibv_post_recv */
  async postRecv(qp: ObjectLike, wrs: readonly AttrMap[]): Promise<void> {
    await this.invoke(qp, 'post_recv', { wrs: wrs as AttrValue });
  }

  /** ibv_poll_cq: up to `max` completions (possibly none). */
  async pollCq(cq: ObjectLike, max = 16): Promise<WorkCompletion[]> {
    const r = await this.invoke(cq, 'poll', { max });
    return (r.wcs ?? []) as WorkCompletion[];
  }

  /**
   * Polls until `count` completions arrived or `timeoutMs` passed (then
   * throws DEADLINE_EXCEEDED); polls back off from 0 to 20 ms.
   */
  async waitCq(cq: ObjectLike, count = 1, timeoutMs = 10_000): Promise<WorkCompletion[]> {
    const got: WorkCompletion[] = [];
    const deadline = Date.now() + timeoutMs;
    let delay = 0;
    while (got.length < count) {
      got.push(...(await this.pollCq(cq, count - got.length)));
      if (got.length >= count) break;
      if (Date.now() > deadline) {
        throw new RdmaError({ code: grpc.status.DEADLINE_EXCEEDED, details: `${got.length} of ${count} completions after ${timeoutMs} ms`, what: 'waitCq' });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(20, delay + 1);
    }
    return got;
  }

  /** ibv_req_notify_cq: the next completion raises a `completion` event (on a CQ created with a completion channel). */
  async reqNotifyCq(cq: ObjectLike, solicitedOnly = false): Promise<void> {
    await this.invoke(cq, 'req_notify', { solicited_only: solicitedOnly });
  }

  /** Reads MR memory through the control path (any length: split into 16 MiB calls). */
  async readMr(mr: ObjectLike, offset: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let done = 0; done < length;) {
      const n = Math.min(MR_IO_CHUNK, length - done);
      const r = await this.invoke(mr, 'read', { offset: offset + done, length: n });
      parts.push(r.data as Buffer);
      done += n;
    }
    return Buffer.concat(parts);
  }

  /** Writes MR memory through the control path (any length: split into 16 MiB calls). */
  async writeMr(mr: ObjectLike, offset: number, data: Buffer | Uint8Array): Promise<void> {
    for (let done = 0; done < data.length;) {
      const n = Math.min(MR_IO_CHUNK, data.length - done);
      await this.invoke(mr, 'write', { offset: offset + done, data: data.subarray(done, done + n) });
      done += n;
    }
  }

  /** ibv_query_port */
  queryPort(device: string, port = 1): Promise<PlainMap> {
    return this.invokeDevice(device, 'query_port', { port });
  }
}

/** The daemon reads and writes MR memory in calls of at most 16 MiB. */
const MR_IO_CHUNK = 16 << 20;
