/**
 * A session: the SessionService.Connect stream that owns the client's
 * objects (session-stream.ts: lease, keepalives, events), the generic verbs
 * (create, query, modify, destroy, invoke, batch) and typed helpers over them
 * (the data path in data-path.ts), and its fd channel (fd-link.ts). The
 * objects and verb arguments are in objects.ts.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { SESSION_HEADER } from '../wire/proto.js';
import type { AttrMap, ObjectLike, PlainMap } from './values.js';
import { fieldsOfDetail, RdmaError } from './errors.js';
import type { Client, ObjectRecord } from './client.js';
import {
  encodeBatch, encodeCreate, encodeHandle, encodeInvoke, encodeModify, malformedReply,
  type AttrsOut, type BatchOut, type ObjectCall, type ObjectOut,
} from './codec.js';
import type { IssueFdTokenReply__Output } from '../wire/gen/rdmabroker/v1/IssueFdTokenReply.js';
import type { AsyncRecord, CompletionRecord, EventFd, FdChannel } from './fd-channel.js';
import { FastLane, type FastLaneOptions } from './lane.js';
import { SessionStream, type OpenSessionOptions, type SessionEvent } from './session-stream.js';
import { FdLink } from './fd-link.js';
import * as dp from './data-path.js';
import type { CreateAttrs, MethodAttrs } from './attr-types.js';
import {
  RdmaObject, SharedMr, targetOf,
  type BatchResult, type BatchStepInput, type BatchStepResult, type CreateOptions, type WorkCompletion,
} from './objects.js';

export type { OpenSessionOptions, SessionEvent } from './session-stream.js';

/** ibv_access_flags for an MR: a mask or flag names (`['LOCAL_WRITE', 'REMOTE_READ']`), as mr.create declares them. */
export type MrAccess = NonNullable<CreateAttrs<'mr'>['access']>;
export { RdmaObject, SharedMr } from './objects.js';
export type { Target, CreateOptions, BatchStepInput, BatchStepResult, BatchResult, WorkCompletion } from './objects.js';

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
  private readonly stream: SessionStream;
  private readonly fdLink = new FdLink('', '', () => this.issueFdToken());

  /** @internal use Client.openSession */
  constructor(readonly client: Client, private readonly opts: OpenSessionOptions) {
    super();
    this.token = opts.resumeToken ?? '';
    this.stream = new SessionStream(client, opts, {
      opened: (op) => {
        this.id = op.session_id;
        this.token = op.token;
        this.tenant = op.tenant;
        this.leaseMs = op.lease_ms;
        this.resumeGraceMs = op.resume_grace_ms;
        this.resumed = op.resumed;
        this.fdSocket = op.fd_socket;
        this.fdLink.reset(op.fd_socket, op.fd_token);
      },
      event: (ev) => this.emit('event', ev),
      closed: (err) => this.emit('close', err),
    });
  }

  /** True while the session's stream is open. */
  get attached(): boolean {
    return this.stream.attached;
  }

  /** @internal Opens the stream and waits for `opened`. */
  async open(resumeToken = this.opts.resumeToken ?? ''): Promise<void> {
    await this.stream.open(resumeToken);
  }

  /**
   * Reattaches to the session after its stream broke, within its resume
   * grace period: the objects (and their handles) are still there.
   */
  async resume(): Promise<void> {
    if (this.stream.attached) return;
    if (!this.token) throw new RdmaError({ code: grpc.status.FAILED_PRECONDITION, details: 'the session was never opened', what: 'resume' });
    await this.open(this.token);
  }

  /**
   * Ends the stream: the daemon destroys the session's objects children-first
   * (unless the session has a resume grace period, which then starts).
   * Resolves when the daemon has closed the stream.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.fdLink.close();
    await this.stream.close(timeoutMs);
  }

  /** The session's events as an async iterator (ends when the stream ends). */
  events(): AsyncIterableIterator<SessionEvent> & { cancel(): void } {
    return this.stream.events();
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
    return this.fdLink.channel();
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
  waitCqEvents(cq: ObjectLike, events: EventFd<CompletionRecord>, count = 1, timeoutMs = 10_000): Promise<WorkCompletion[]> {
    return dp.waitCqEvents(this, cq, events, count, timeoutMs);
  }

  private md(): grpc.Metadata {
    return this.client.metadata({ [SESSION_HEADER]: this.token });
  }

  private object(r: ObjectRecord | null): RdmaObject {
    if (!r) throw new RdmaError({ code: grpc.status.INTERNAL, details: 'reply without an object' });
    return new RdmaObject(this, r.handle, r.type, r.device, r.attrs, r.userHandle, r.parents);
  }

  /**
   * A unary ObjectService call through the library's codec (codec.ts).
   * `encode` writes the request: an argument it refuses rejects the call
   * (INVALID_ARGUMENT, named after `what`) and nothing is sent.
   */
  private call<R extends { malformed: boolean }>(what: string, k: 'Create' | 'Query' | 'Modify' | 'Destroy' | 'Invoke' | 'Batch', encode: () => Buffer): Promise<R> {
    let req: Buffer;
    try {
      req = encode();
    } catch (e) {
      return Promise.reject(e instanceof RdmaError ? e.in(what) : e);
    }
    const s = this.client.objectCalls;
    return this.client.unary<Buffer, R>(what, (s[k] as unknown as ObjectCall<R>).bind(s), req, this.md()).then((r) => {
      // A value without a kind: fromWire's TypeError, as decoding the attributes after the call threw it.
      if (r.malformed) throw malformedReply();
      return r;
    });
  }

  // ------------------------------------------------------------ generic verbs

  /** Creates an object: `create('pd', {}, {device: 'sim0'})`, `create('mr', {pd, length: 4096, access: ['LOCAL_WRITE']})`. */
  async create(type: string, attrs: AttrMap = {}, o: CreateOptions = {}): Promise<RdmaObject> {
    const r = await this.call<ObjectOut>(`create ${type}`, 'Create', () => encodeCreate(type, o.device ?? '', attrs, o.userHandle));
    return this.object(r.object);
  }

  /** Queries an object; returns it with fresh attributes (and updates `obj.attrs` when given an object). */
  async query(t: ObjectLike | number): Promise<RdmaObject> {
    const r = await this.call<ObjectOut>('query', 'Query', () => encodeHandle(targetOf(t).handle));
    const o = this.object(r.object);
    if (t instanceof RdmaObject) t.attrs = o.attrs;
    return o;
  }

  /** Modifies an object (qp: `{qp_state: 'INIT', port_num: 1, ...}`: the attribute mask follows from the names). */
  async modify(t: ObjectLike | number, attrs: AttrMap): Promise<RdmaObject> {
    const r = await this.call<ObjectOut>('modify', 'Modify', () => encodeModify(targetOf(t).handle, attrs));
    const o = this.object(r.object);
    if (t instanceof RdmaObject) t.attrs = o.attrs;
    return o;
  }

  /** Destroys an object (FAILED_PRECONDITION while other objects use it). */
  async destroy(t: ObjectLike | number): Promise<PlainMap> {
    return (await this.call<AttrsOut>('destroy', 'Destroy', () => encodeHandle(targetOf(t).handle))).attrs;
  }

  /** Calls a method on an object (`post_send`, `poll`, `read`, ...). */
  async invoke(t: ObjectLike | number, method: string, attrs: AttrMap = {}): Promise<PlainMap> {
    return (await this.call<AttrsOut>(method, 'Invoke', () => encodeInvoke(targetOf(t).handle, method, attrs, ''))).attrs;
  }

  /** Calls a device method (`query_port`, `query_gid`). */
  async invokeDevice(device: string, method: string, attrs: AttrMap = {}): Promise<PlainMap> {
    return (await this.call<AttrsOut>(method, 'Invoke', () => encodeInvoke('0', method, attrs, device))).attrs;
  }

  /**
   * Many verbs in one round trip, in order; a step names an object an earlier
   * step created with `{ref: N}` (as a target or inside attributes). Stops at
   * the first error, which is reported, not thrown.
   */
  async batch(steps: readonly BatchStepInput[]): Promise<BatchResult> {
    const r = await this.call<BatchOut>('batch', 'Batch', () => encodeBatch(steps));
    const results: BatchStepResult[] = r.results.map((x) => (x.kind === 'object' ? this.object(x.object) : x.attrs));
    if (!r.failed) return { results, failed: null };
    const e = r.error;
    // The ErrorInfo's details (the same as a unary call's trailer) when the daemon sent them, else its flat fields.
    const fields = fieldsOfDetail(e?.details) ?? { rdmaError: e?.code ?? '', errno: e?.errno ?? 0, call: e?.call ?? '', wrIndex: e?.wr_index ?? -1 };
    const error = new RdmaError({
      code: e?.status ?? grpc.status.UNKNOWN, details: e?.message ?? 'batch step failed', ...fields, what: `batch step ${r.failedIndex}`,
    });
    return { results, failed: { index: r.failedIndex, error } };
  }

  // ------------------------------------------------------------ typed helpers

  /** ibv_alloc_pd */
  allocPd(device?: string, o: Omit<CreateOptions, 'device'> = {}): Promise<RdmaObject> {
    return this.create('pd', {}, { ...o, device });
  }

  // The typed helpers' attributes are derived from the daemon's declarations (attr-types.ts).

  /** ibv_reg_mr over daemon-allocated shared memory of `length` bytes. */
  regMr(pd: ObjectLike, length: CreateAttrs<'mr'>['length'], access: MrAccess = [], o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('mr', { pd, length, access }, o);
  }

  /** ibv_create_cq */
  createCq(device: string | undefined, cqe: CreateAttrs<'cq'>['cqe'], attrs: Omit<CreateAttrs<'cq'>, 'cqe'> = {}, o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('cq', { cqe, ...attrs }, { ...o, device });
  }

  /** ibv_create_qp: `{pd, send_cq, recv_cq, qp_type: 'RC', cap: {max_send_wr: 16, ...}}` */
  createQp(attrs: CreateAttrs<'qp'>, o: CreateOptions = {}): Promise<RdmaObject> {
    return this.create('qp', attrs, o);
  }

  /** ibv_post_send */
  postSend(qp: ObjectLike, wrs: MethodAttrs<'qp', 'post_send'>['wrs']): Promise<void> {
    return dp.postSend(this, qp, wrs);
  }

  /** ibv_post_recv */
  postRecv(qp: ObjectLike, wrs: MethodAttrs<'qp', 'post_recv'>['wrs']): Promise<void> {
    return dp.postRecv(this, qp, wrs);
  }

  /** ibv_poll_cq: up to `max` completions (possibly none). */
  pollCq(cq: ObjectLike, max = 16): Promise<WorkCompletion[]> {
    return dp.pollCq(this, cq, max);
  }

  /**
   * Polls until `count` completions arrived or `timeoutMs` passed (then
   * throws DEADLINE_EXCEEDED); polls back off from 0 to 20 ms.
   */
  waitCq(cq: ObjectLike, count = 1, timeoutMs = 10_000): Promise<WorkCompletion[]> {
    return dp.waitCq(this, cq, count, timeoutMs);
  }

  /** ibv_req_notify_cq: the next completion raises a `completion` event (on a CQ created with a completion channel). */
  reqNotifyCq(cq: ObjectLike, solicitedOnly = false): Promise<void> {
    return dp.reqNotifyCq(this, cq, solicitedOnly);
  }

  /** Reads MR memory through the control path (any length: split into 16 MiB calls). */
  readMr(mr: ObjectLike, offset: number, length: number): Promise<Buffer> {
    return dp.readMr(this, mr, offset, length);
  }

  /** Writes MR memory through the control path (any length: split into 16 MiB calls). */
  writeMr(mr: ObjectLike, offset: number, data: Buffer | Uint8Array): Promise<void> {
    return dp.writeMr(this, mr, offset, data);
  }

  /** ibv_query_port */
  queryPort(device: string, port = 1): Promise<PlainMap> {
    return this.invokeDevice(device, 'query_port', { port });
  }
}
