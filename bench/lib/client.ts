/**
 * A minimal client over the raw generated gRPC stubs (src/wire): sessions
 * (the Connect stream), the object verbs as promises, and the request/reply
 * sizes the transport floor has to match.
 */
import * as grpc from '@grpc/grpc-js';
import { api, packageDefinition, SESSION_HEADER } from '../../src/wire/proto.js';
import { toWireMap, type PlainMap } from '../../src/wire/values.js';
import type { ObjectServiceClient } from '../../src/wire/gen/rdmabroker/v1/ObjectService.js';
import type { SessionServiceClient } from '../../src/wire/gen/rdmabroker/v1/SessionService.js';
import type { InspectionServiceClient } from '../../src/wire/gen/rdmabroker/v1/InspectionService.js';
import type { DeviceServiceClient } from '../../src/wire/gen/rdmabroker/v1/DeviceService.js';
import type { CreateRequest } from '../../src/wire/gen/rdmabroker/v1/CreateRequest.js';
import type { ObjectReply__Output } from '../../src/wire/gen/rdmabroker/v1/ObjectReply.js';
import type { BatchStep } from '../../src/wire/gen/rdmabroker/v1/BatchStep.js';
import type { BatchReply__Output } from '../../src/wire/gen/rdmabroker/v1/BatchReply.js';
import type { DestroyReply__Output } from '../../src/wire/gen/rdmabroker/v1/DestroyReply.js';
import type { InvokeReply__Output } from '../../src/wire/gen/rdmabroker/v1/InvokeReply.js';
import type { SessionServerMessage__Output } from '../../src/wire/gen/rdmabroker/v1/SessionServerMessage.js';
import type { SessionClientMessage } from '../../src/wire/gen/rdmabroker/v1/SessionClientMessage.js';
import type { Value } from '../../src/wire/gen/rdmabroker/v1/Value.js';

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 << 20,
  'grpc.max_send_message_length': 64 << 20,
  // Every Conn is its own connection (grpc-js would otherwise share one
  // subchannel between channels to the same address).
  'grpc.use_local_subchannel_pool': 1,
};

/** One client connection (an HTTP/2 connection on the unix socket). */
export class Conn {
  readonly objects: ObjectServiceClient;
  readonly sessions: SessionServiceClient;
  readonly inspection: InspectionServiceClient;
  readonly devices: DeviceServiceClient;

  constructor(readonly socket: string) {
    const pkg = api().rdmabroker.v1;
    const addr = `unix:${socket}`;
    const creds = grpc.credentials.createInsecure();
    this.objects = new pkg.ObjectService(addr, creds, CHANNEL_OPTIONS);
    // The other stubs share the first stub's channel.
    const channelOverride = this.objects.getChannel();
    const opts = { ...CHANNEL_OPTIONS, channelOverride };
    this.sessions = new pkg.SessionService(addr, creds, opts);
    this.inspection = new pkg.InspectionService(addr, creds, opts);
    this.devices = new pkg.DeviceService(addr, creds, opts);
  }

  ready(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.objects.waitForReady(Date.now() + timeoutMs, (e) => (e ? reject(e) : resolve())));
  }

  async openSession(name: string): Promise<Sess> {
    const stream = this.sessions.Connect();
    const opened = await new Promise<{ token: string; id: string; fdToken: string; fdSocket: string }>((resolve, reject) => {
      const onData = (m: SessionServerMessage__Output): void => {
        if (m.opened) {
          stream.off('error', reject);
          stream.off('data', onData);
          resolve({ token: m.opened.token, id: m.opened.session_id, fdToken: m.opened.fd_token ?? '', fdSocket: m.opened.fd_socket ?? '' });
        }
      };
      stream.on('data', onData);
      stream.once('error', reject);
      const open: SessionClientMessage = { open: { name, lease_ms: 600_000, resume_grace_ms: 0 } };
      stream.write(open);
    });
    // Events (none expected here) must be drained for flow control.
    stream.on('data', () => {});
    stream.on('error', () => {});
    const sess = new Sess(this, stream, opened.token, opened.id);
    sess.fdToken = opened.fdToken;
    sess.fdSocket = opened.fdSocket;
    return sess;
  }

  async sessionIds(): Promise<Set<string>> {
    return new Promise((resolve, reject) => this.inspection.ListSessions({}, (e, r) => (e || !r ? reject(e) : resolve(new Set(r.sessions.map((s) => s.session_id))))));
  }

  /** The daemon's object count for a session (ListSessions). */
  async objectCount(sessionId: string): Promise<number> {
    return new Promise((resolve, reject) => this.inspection.ListSessions({}, (e, r) => {
      if (e || !r) return reject(e);
      resolve(r.sessions.find((s) => s.session_id === sessionId)?.object_count ?? -1);
    }));
  }

  close(): void {
    this.objects.close();
  }
}

export type Attrs = Record<string, Value>;
export const w = (m: PlainMap): Attrs => toWireMap(m);

/** A session: its stream and the metadata every call carries. */
export class Sess {
  readonly md: grpc.Metadata;
  /** When set, sees every request and reply. */
  tap: CallTap | null = null;
  /** Calls answered so far. */
  calls = 0;
  /** The fd channel of this session (SessionOpened.fd_token / fd_socket; empty when the daemon has none). */
  fdToken = '';
  fdSocket = '';

  constructor(
    readonly conn: Conn,
    private readonly stream: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage__Output>,
    readonly token: string,
    readonly id: string,
  ) {
    this.md = new grpc.Metadata();
    this.md.set(SESSION_HEADER, token);
  }

  private done<T>(method: Parameters<CallTap>[0], req: unknown, resolve: (r: T) => void, reject: (e: unknown) => void): (e: grpc.ServiceError | null, r?: T) => void {
    return (e, r) => {
      if (e || r === undefined) {
        reject(e ?? new Error(`${method}: no reply`));
        return;
      }
      this.calls++;
      this.tap?.(method, req, r);
      resolve(r);
    };
  }

  create(req: CreateRequest): Promise<ObjectReply__Output> {
    return new Promise((resolve, reject) => this.conn.objects.Create(req, this.md, this.done('Create', req, resolve, reject)));
  }

  /** Creates and returns the new handle (a decimal string). */
  async createH(type: string, attrs: PlainMap, device = ''): Promise<string> {
    const r = await this.create({ type, device, attrs: w(attrs) });
    return String(r.object?.handle);
  }

  destroy(handle: string): Promise<DestroyReply__Output> {
    const req = { handle };
    return new Promise((resolve, reject) => this.conn.objects.Destroy(req, this.md, this.done('Destroy', req, resolve, reject)));
  }

  modify(handle: string, attrs: Attrs): Promise<ObjectReply__Output> {
    const req = { handle, attrs };
    return new Promise((resolve, reject) => this.conn.objects.Modify(req, this.md, this.done('Modify', req, resolve, reject)));
  }

  invoke(handle: string, method: string, attrs: Attrs): Promise<InvokeReply__Output> {
    const req = { handle, method, attrs };
    return new Promise((resolve, reject) => this.conn.objects.Invoke(req, this.md, this.done('Invoke', req, resolve, reject)));
  }

  /** A Batch; a failed step rejects. */
  async batch(steps: BatchStep[]): Promise<BatchReply__Output> {
    const req = { steps };
    const r = await new Promise<BatchReply__Output>((resolve, reject) => this.conn.objects.Batch(req, this.md, this.done('Batch', req, resolve, reject)));
    if (r.failed) throw new Error(`batch step ${r.failed_index} failed: ${r.error?.code} ${r.error?.message}`);
    return r;
  }

  /** Ends the stream: the daemon ends the session and destroys its objects. */
  end(): void {
    this.stream.end();
  }
}

type MethodDef = { requestSerialize(m: unknown): Buffer; responseSerialize(m: unknown): Buffer };

/** Encoded size of a request and a reply of an ObjectService method, for the echo floor. */
export function wireSizes(method: 'Create' | 'Destroy' | 'Modify' | 'Invoke' | 'Batch', req: unknown, rep: unknown): { req: number; rep: number } {
  const svc = packageDefinition()['rdmabroker.v1.ObjectService'] as unknown as Record<string, MethodDef>;
  const m = svc[method];
  if (!m) throw new Error(`no method ${method}`);
  return { req: m.requestSerialize(req).length, rep: m.responseSerialize(rep).length };
}

/** Records the encoded sizes of every call a Sess makes (for matching the echo floor). */
export type CallTap = (method: 'Create' | 'Destroy' | 'Modify' | 'Invoke' | 'Batch', req: unknown, rep: unknown) => void;
