/**
 * Thin gRPC adapters over the broker core: resolve the session from the
 * `x-rdma-session` header, decode, call the core, encode. Every error goes
 * through status.ts.
 */
import { callPeerCred } from './peer.js';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import { FD_TOKEN_TTL_MS, noSuchSession, type Session } from '../core/sessions.js';
import { api, SESSION_HEADER } from '../wire/proto.js';
import { toWireMap } from '../wire/values.js';
import { eventOut, sessionInfo, typeInfo } from './convert.js';
import {
  encodeAttrsReply, encodeBatchReply, encodeObjectReply, inspectionServiceDefinition, objectServiceDefinition,
  type BatchIn, type CreateIn, type InvokeIn, type ModifyIn, type ObjectChangeOut, type ObjectPage, type TargetIn,
} from './codec.js';
import { tolerantService, toServiceError, undecodable } from './status.js';
import { checkName, LIMITS } from '../core/limits.js';
import { MR_IO_MAX } from '../core/types/mr.js';
import type { DeviceServiceHandlers } from '../wire/gen/rdmabroker/v1/DeviceService.js';
import type { SessionServiceHandlers } from '../wire/gen/rdmabroker/v1/SessionService.js';
import type { InspectionServiceHandlers } from '../wire/gen/rdmabroker/v1/InspectionService.js';
import type { DeviceSummary } from '../wire/gen/rdmabroker/v1/DeviceSummary.js';
import type { DeviceEntry } from '../core/devices.js';
import type { BrokerObject, ChangeKind, ListFilter } from '../core/registry.js';
import { BoundedStream, MAX_STREAM_BACKLOG } from './streams.js';
import type { ObjectFilter__Output } from '../wire/gen/rdmabroker/v1/ObjectFilter.js';
import type { ListObjectsResponse } from '../wire/gen/rdmabroker/v1/ListObjectsResponse.js';
import { HealthImplementation } from 'grpc-health-check';
import { addReflection } from './reflection.js';
import { TenantDirectory } from '../core/tenants.js';
import { callerOf, fixedTenant, guardService, type Authenticator, type CallerIdentity } from './auth.js';
import { adminHandlers } from './admin.js';
import { packageDefinition } from '../wire/proto.js';

export type { CallerIdentity } from './auth.js';

export interface ServerDeps {
  broker: Broker;
  log: Logger;
  /** The tenant table (roles, quotas); default: one tenant, "default", with admin rights. */
  tenants?: TenantDirectory;
  /** Identifies the callers of this listener (see auth.ts); default: the directory's socket tenant. */
  auth?: Authenticator;
  /** The fd channel socket beside this listener, told to clients with their fd tokens (null: none). */
  fdSocket?: string | null;
  /** A Connect stream that has not sent `open` within this time is ended with DEADLINE_EXCEEDED (default 5 s). */
  openTimeoutMs?: number;
}

/** Default of {@link ServerDeps.openTimeoutMs}. */
export const DEFAULT_OPEN_TIMEOUT_MS = 5000;
/** Connect streams of one tenant that may wait for their `open` at once (on one listener); more: RESOURCE_EXHAUSTED. */
export const MAX_PENDING_OPENS = 64;

/** The services a listener serves, for health checking. */
export const SERVICE_NAMES = ['DeviceService', 'ObjectService', 'SessionService', 'InspectionService', 'AdminService'].map((s) => `rdmabroker.v1.${s}`);

/** Upper bound of one reply: MR reads carry up to 16 MiB, a Batch several. */
export const MAX_MESSAGE_BYTES = 64 << 20;
/**
 * Upper bound of one request: an MR write of 16 MiB and its envelope. A
 * request is decoded before any handler runs, in one go on the event loop,
 * so this also bounds how long one decode can hold other calls up.
 */
export const MAX_REQUEST_BYTES = MR_IO_MAX + (1 << 20);
/** The bounds Describe reports (core/limits.ts declares them). */
const REQUEST_LIMITS: Record<string, number> = {
  batch_steps: LIMITS.batchSteps,
  batch_reply_bytes: LIMITS.batchReplyBytes,
  name_bytes: LIMITS.nameBytes,
  string_bytes: LIMITS.stringBytes,
  token_bytes: LIMITS.tokenBytes,
  attr_depth: LIMITS.attrDepth,
  attr_items: LIMITS.attrItems,
  request_bytes: MAX_REQUEST_BYTES,
};

/**
 * Server pings (see createServer): every 5 s, answered within 10 s. A peer
 * whose event loop stalls (a loaded host, a VM, a client spinning on its
 * fast lane, a long GC) must not lose its session for a few seconds of
 * silence; a connection that stopped being read is still closed within 15 s.
 */
export const KEEPALIVE_TIME_MS = 5000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;

function unary<Req, Res>(log: Logger, name: string, fn: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    let p: Promise<Res>;
    try {
      p = Promise.resolve(fn(call));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((r) => cb(null, r), (e: unknown) => cb(toServiceError(e, log, name)));
  };
}

function deviceSummary(d: DeviceEntry): DeviceSummary {
  return {
    name: d.name,
    backend: d.probe.backend,
    node_guid: d.listing.node_guid,
    port_count: d.ports.length,
    state: d.state,
    transport: d.listing.transport,
    provider: d.listing.provider,
  };
}

/** A tenant name no tenant has (config names are [A-Za-z0-9._-]). */
const NO_TENANT = '\u0000none';

function filterIn(f: ObjectFilter__Output | null | undefined, caller: CallerIdentity): ListFilter {
  const out: ListFilter = {};
  checkName(f?.device, 'filter.device');
  checkName(f?.session, 'filter.session');
  checkName(f?.type, 'filter.type');
  checkName(f?.tenant, 'filter.tenant');
  if (f?.device) out.device = f.device;
  if (f?.session) out.session = f.session;
  if (f?.type) out.type = f.type;
  if (f?.tenant) out.tenant = f.tenant;
  // Tenants only ever see their own objects: asking for another tenant's
  // finds nothing (no tenant can have this name: names are validated).
  if (caller.role === 'tenant') out.tenant = out.tenant && out.tenant !== caller.tenant ? NO_TENANT : caller.tenant;
  return out;
}

export function createServer(deps: ServerDeps): grpc.Server {
  const { broker, log } = deps;
  const tenants = deps.tenants ?? new TenantDirectory();
  const auth = deps.auth ?? fixedTenant(tenants, () => tenants.config.socketTenant, 'socket');
  const fdSocket = deps.fdSocket ?? null;
  const openTimeoutMs = deps.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  const pendingOpens = new Map<string, number>();
  const pkg = api().rdmabroker.v1;
  /** Open WatchObjects streams: ended (their queued changes written out) before the server is shut down. */
  const watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  const sessionOf = (call: { metadata: grpc.Metadata }): Session => {
    const token = call.metadata.get(SESSION_HEADER)[0];
    if (typeof token !== 'string' || !token) {
      throw new BrokerError('NO_SESSION', `missing ${SESSION_HEADER} header: open a session with SessionService.Connect first`);
    }
    if (token.length > LIMITS.tokenBytes) throw new BrokerError('NO_SESSION', `${SESSION_HEADER} header of ${token.length} bytes: a session token is at most ${LIMITS.tokenBytes}`);
    const s = broker.sessions.fromToken(token);
    // Another tenant's token is answered exactly like an unknown one.
    if (s.tenant !== callerOf(call).tenant) throw noSuchSession();
    broker.sessions.touch(s);
    return s;
  };

  const devices: DeviceServiceHandlers = {
    List: unary(log, 'DeviceService.List', () => ({ devices: broker.devices.list().map(deviceSummary) })),
    Query: unary(log, 'DeviceService.Query', (call) => {
      const d = broker.devices.get(checkName(call.request.device, 'device'));
      return {
        device: deviceSummary(d),
        attrs: toWireMap({ ...d.attr } as never),
        ports: d.ports.map((p) => ({ port: p.port, attrs: toWireMap({ ...p.attr } as never), gids: p.gids.map((g) => ({ ...g })) })),
      };
    }),
    Describe: unary(log, 'DeviceService.Describe', (call) => {
      // No device: the daemon's types, those that exist on at least one of its devices.
      const name = checkName(call.request.device, 'device');
      const d = broker.describe(name === '' ? undefined : name);
      const caps: string[] = [];
      if (d.supportsImport) caps.push('import_device');
      return {
        device: name,
        types: d.types.map((t) => typeInfo(t, d.unsupported)),
        supports_import: d.supportsImport,
        capabilities: caps,
        limits: REQUEST_LIMITS,
      };
    }),
  };

  // ObjectService: requests arrive decoded into the core's values, replies leave encoded (src/rpc/codec.ts).
  const objects = {
    Create: unary(log, 'ObjectService.Create', async (call: grpc.ServerUnaryCall<CreateIn, Buffer>) => {
      const s = sessionOf(call);
      const r = call.request;
      if (r.error) throw r.error;
      return encodeObjectReply(await broker.create(s, r.args));
    }),
    Query: unary(log, 'ObjectService.Query', async (call: grpc.ServerUnaryCall<TargetIn, Buffer>) => {
      const s = sessionOf(call);
      const r = call.request;
      if (r.error) throw r.error;
      return encodeObjectReply(await broker.query(s, r.handle));
    }),
    Modify: unary(log, 'ObjectService.Modify', async (call: grpc.ServerUnaryCall<ModifyIn, Buffer>) => {
      const s = sessionOf(call);
      const r = call.request;
      if (r.error) throw r.error;
      return encodeObjectReply(await broker.modify(s, r.handle, r.attrs));
    }),
    Destroy: unary(log, 'ObjectService.Destroy', async (call: grpc.ServerUnaryCall<TargetIn, Buffer>) => {
      const s = sessionOf(call);
      const r = call.request;
      if (r.error) throw r.error;
      return encodeAttrsReply(await broker.destroy(s, r.handle));
    }),
    Invoke: unary(log, 'ObjectService.Invoke', async (call: grpc.ServerUnaryCall<InvokeIn, Buffer>) => {
      const s = sessionOf(call);
      const r = call.request;
      if (r.error) throw r.error;
      return encodeAttrsReply(await broker.invoke(s, r.handle, r.device, r.method, r.attrs));
    }),
    Batch: unary(log, 'ObjectService.Batch', async (call: grpc.ServerUnaryCall<BatchIn, Buffer>) => {
      const s = sessionOf(call);
      // Refused before any step runs (steps past the limit were not even converted; the core checks again, with the reply bound).
      const n = call.request.count;
      if (n > LIMITS.batchSteps) throw new BrokerError('TOO_LARGE', `a Batch has at most ${LIMITS.batchSteps} steps, this one has ${n}`);
      return encodeBatchReply(await broker.batch(s, call.request.steps));
    }),
  };

  const sessions: SessionServiceHandlers = {
    Connect: (call) => {
      let session: Session | null = null;
      const peer = call.getPeer();
      let ended = false;
      const fail = (e: unknown): void => {
        if (ended) return;
        ended = true;
        const se = toServiceError(e, log, 'SessionService.Connect');
        call.emit('error', { code: se.code, details: se.details, metadata: se.metadata });
      };
      // Until `open`, the stream waits in its tenant's bounded pool, for a bounded time.
      const tenant = callerOf(call).tenant;
      let waiting = false;
      const unwait = (): void => {
        if (!waiting) return;
        waiting = false;
        clearTimeout(openTimer);
        const n = (pendingOpens.get(tenant) ?? 1) - 1;
        if (n > 0) pendingOpens.set(tenant, n);
        else pendingOpens.delete(tenant);
      };
      const openTimer = setTimeout(() => {
        if (!waiting) return;
        unwait();
        log.info({ tenant, peer, ms: openTimeoutMs }, 'Connect stream ended: no open in time');
        fail(new BrokerError('TIMED_OUT', `no open message within ${openTimeoutMs} ms of Connect`));
      }, openTimeoutMs);
      openTimer.unref();
      if ((pendingOpens.get(tenant) ?? 0) >= MAX_PENDING_OPENS) {
        clearTimeout(openTimer);
        log.warn({ tenant, peer, max: MAX_PENDING_OPENS }, 'Connect refused: too many streams of this tenant waiting for open');
        fail(new BrokerError('QUOTA_EXCEEDED', `tenant ${tenant} has ${MAX_PENDING_OPENS} Connect streams waiting for their open message; send open or close them`));
        return;
      }
      waiting = true;
      pendingOpens.set(tenant, (pendingOpens.get(tenant) ?? 0) + 1);
      // Events are pushed, not paced by the client: a client that stops reading is ended, not buffered for.
      const out = new BoundedStream<import('../wire/gen/rdmabroker/v1/SessionServerMessage.js').SessionServerMessage>(call, {
        log, what: 'SessionService.Connect', context: () => ({ tenant, session: session?.id }),
        onOverflow: () => closed(),
        end: fail,
      });
      call.on('data', (m: import('../wire/gen/rdmabroker/v1/SessionClientMessage.js').SessionClientMessage__Output) => {
        if (ended) return;
        try {
          const bad = undecodable(m);
          if (bad) throw bad;
          if (m.open) {
            if (session) throw new BrokerError('INVALID_ATTR', 'session already open on this stream');
            unwait();
            const who = callerOf(call);
            const o = m.open;
            checkName(o.name, 'open.name');
            checkName(o.resume_token, 'open.resume_token', LIMITS.tokenBytes);
            let resumed = false;
            if (o.resume_token) {
              // Check the tenant before resuming: another tenant's token is an unknown one and changes nothing.
              if (broker.sessions.fromToken(o.resume_token).tenant !== who.tenant) throw noSuchSession();
              const s = broker.sessions.resume(o.resume_token);
              session = s;
              resumed = true;
              log.info({ session: s.id, tenant: s.tenant, peer }, 'session resumed');
            } else {
              session = broker.openSession({ name: o.name, tenant: who.tenant, peer, leaseMs: o.lease_ms, resumeGraceMs: o.resume_grace_ms, labels: who.labels });
              const cred = callPeerCred(call);
              if (cred) session.peerCred = { ...cred, via: 'grpc' };
            }
            const s = session;
            out.write({
              opened: {
                session_id: s.id, token: s.token, lease_ms: s.opts.leaseMs, resume_grace_ms: s.opts.resumeGraceMs, resumed, tenant: s.tenant,
                fd_token: fdSocket ? broker.sessions.issueFdToken(s) : '', fd_socket: fdSocket ?? '',
              },
            });
            s.attach((seq, e) => out.write({ event: eventOut(seq, e) }));
            // The session can end while its stream is open (lease, eviction,
            // shutdown): the client learns it from the stream's status.
            const off = s.onEnd((reason) => {
              if (session !== s) return;
              session = null;
              fail(reason === 'shutdown'
                ? new BrokerError('SHUTTING_DOWN', 'the daemon is shutting down; the session ended')
                : new BrokerError('NO_SESSION', `the session ended (${reason})`));
            });
            call.once('close', off);
            return;
          }
          if (!session) throw new BrokerError('NO_SESSION', 'the first message must be open');
          broker.sessions.touch(session);
          if (m.keepalive) out.write({ keepalive: { nonce: m.keepalive.nonce } });
        } catch (e) {
          fail(e);
        }
      });
      const closed = (): void => {
        unwait();
        if (!session) return;
        const s = session;
        session = null;
        broker.sessions.streamClosed(s);
      };
      call.on('end', () => {
        closed();
        call.end();
      });
      call.on('cancelled', closed);
      call.on('error', closed);
      call.on('close', closed);
    },
    IssueFdToken: unary(log, 'SessionService.IssueFdToken', (call) => {
      const s = sessionOf(call);
      if (!fdSocket) throw new BrokerError('UNSUPPORTED', 'no fd channel on this listener (fds pass over a local unix socket; the daemon may run with --fd-socket none)');
      return { token: broker.sessions.issueFdToken(s), fd_socket: fdSocket, expires_ms: FD_TOKEN_TTL_MS };
    }),
  };

  const inspection: InspectionServiceHandlers = {
    ListObjects: unary(log, 'InspectionService.ListObjects', (call) => {
      const who = callerOf(call);
      const r = call.request;
      // Written by codec.ts' encodeObjectPage (inspectionServiceDefinition), straight from the objects.
      const page: ObjectPage = broker.list(filterIn(r.filter, who), Number(r.start_handle || 0), r.max_results);
      return page as unknown as ListObjectsResponse;
    }),
    WatchObjects: (call) => {
      const who = callerOf(call);
      let filter: ListFilter;
      try {
        filter = filterIn(call.request.filter, who);
      } catch (e) {
        // A streaming handler's throw would reach grpc-js as UNKNOWN: answer it like a unary call.
        call.emit('error', toServiceError(e, log, 'InspectionService.WatchObjects'));
        return;
      }
      // Changes are written by codec.ts' encodeObjectChange (inspectionServiceDefinition), straight from the objects.
      const out = new BoundedStream<ObjectChangeOut>(call, {
        log, what: 'InspectionService.WatchObjects', context: () => ({ tenant: who.tenant }),
        onOverflow: () => stop(),
        end: (e) => {
          const se = toServiceError(e, log, 'InspectionService.WatchObjects');
          call.emit('error', { code: se.code, details: se.details, metadata: se.metadata });
        },
      });
      // With `initial`, changes wait (bounded) behind a snapshot of the table
      // that is written at the client's pace; then they follow in order.
      let held: [ChangeKind, BrokerObject][] | null = call.request.initial ? [] : null;
      const stop = broker.watch(filter, (kind, o) => {
        if (!held) {
          out.write({ kind, object: o });
        } else if (held.length >= MAX_STREAM_BACKLOG) {
          out.overflow(held.length);
        } else {
          held.push([kind, o]);
        }
      });
      watches.add(call as grpc.ServerWritableStream<unknown, unknown>);
      const unwatch = (): void => {
        stop();
        watches.delete(call as grpc.ServerWritableStream<unknown, unknown>);
      };
      call.on('cancelled', unwatch);
      call.on('close', unwatch);
      call.on('error', unwatch);
      call.on('finish', unwatch);
      if (!held) return;
      const snapshot: BrokerObject[] = [];
      for (let start = 0; ;) {
        const page = broker.list(filter, start, 1000);
        snapshot.push(...page.objects);
        if (page.end) break;
        start = page.next;
      }
      void (async () => {
        const gone = (): boolean => out.overflowed || call.cancelled || call.destroyed;
        for (const o of snapshot) {
          if (gone()) return;
          if (!out.write({ kind: 'CREATED', object: o })) await out.drained();
        }
        if (gone()) return;
        out.write({ kind: 'SYNCED', object: null });
        const later = held ?? [];
        held = null;
        for (const [kind, o] of later) out.write({ kind, object: o });
      })().catch((e: unknown) => log.error({ err: e }, 'WatchObjects: initial listing failed'));
    },
    ListSessions: unary(log, 'InspectionService.ListSessions', (call) => {
      const who = callerOf(call);
      const asked = checkName(call.request.tenant, 'tenant');
      const tenant = who.role !== 'tenant' ? asked : asked && asked !== who.tenant ? NO_TENANT : who.tenant;
      const out = [];
      for (const s of broker.sessions.all()) {
        if (tenant && s.tenant !== tenant) continue;
        out.push(sessionInfo(s, broker.registry.countOwned(s.id)));
      }
      return { sessions: out };
    }),
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Pings every connection and closes one whose peer does not answer: a
    // connection whose header block is too large for HTTP/2 (over 64 KiB, an
    // x-rdma-session of 1 MiB) stops being read and would hold its call open
    // forever; this closes it within KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS.
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    // No channelz (nothing here serves or reads it): grpc-js then runs its plain
    // per-call handler, without the per-call and per-message counters and
    // timestamps kept for channelz.
    'grpc.enable_channelz': 0,
  });
  const admin = adminHandlers(broker, tenants, (name, fn) => unary(log, name, fn));
  // Requests that do not decode reach the handlers as UndecodableRequest (INVALID_ARGUMENT), not INTERNAL.
  server.addService(tolerantService(pkg.DeviceService.service), guardService('DeviceService', devices, auth, log));
  server.addService(tolerantService(objectServiceDefinition(pkg.ObjectService.service)), guardService('ObjectService', objects, auth, log) as unknown as grpc.UntypedServiceImplementation);
  server.addService(tolerantService(pkg.SessionService.service), guardService('SessionService', sessions, auth, log));
  server.addService(tolerantService(inspectionServiceDefinition(pkg.InspectionService.service)), guardService('InspectionService', inspection, auth, log));
  server.addService(tolerantService(pkg.AdminService.service), guardService('AdminService', admin, auth, log));
  // Health and reflection answer anyone, so probes and grpcurl need no credentials.
  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(SERVICE_NAMES.map((n) => [n, 'SERVING'])) });
  health.addToServer(server);
  addReflection(server, packageDefinition());
  healthOf.set(server, health);
  watchesOf.set(server, watches);
  return server;
}

const healthOf = new WeakMap<grpc.Server, HealthImplementation>();

/** Marks every service of a server NOT_SERVING (on shutdown, so probes see it before the socket goes). */
const watchesOf = new WeakMap<grpc.Server, Set<grpc.ServerWritableStream<unknown, unknown>>>();

/**
 * Ends the server's WatchObjects streams with status OK once the changes
 * queued on them are written (a daemon that stops sends the DESTROYED of
 * every object it tore down, then closes the stream; a forced shutdown
 * would drop what was still queued). Waits at most `ms`.
 */
export async function endWatchStreams(server: grpc.Server, ms = 2000): Promise<void> {
  const calls = [...(watchesOf.get(server) ?? [])];
  if (calls.length === 0) return;
  await new Promise<void>((resolve) => {
    let left = calls.length;
    const timer = setTimeout(resolve, ms);
    const one = (): void => {
      if (--left === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const c of calls) {
      let done = false;
      const fin = (): void => {
        if (done) return;
        done = true;
        one();
      };
      c.once('finish', fin);
      c.once('close', fin);
      c.once('error', fin);
      c.end();
    }
  });
}

export function setNotServing(server: grpc.Server): void {
  const h = healthOf.get(server);
  if (!h) return;
  h.setStatus('', 'NOT_SERVING');
  for (const n of SERVICE_NAMES) h.setStatus(n, 'NOT_SERVING');
}
