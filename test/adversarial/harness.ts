/**
 * The adversarial suite's target: a daemon on the simulated device, served in
 * this process (so the broker's table, the sim's own pools and every log line
 * can be checked), over real gRPC on a temp unix socket and the fd channel
 * beside it; and raw clients that send whatever bytes a hostile client would.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Broker } from '../../src/core/broker.js';
import { TenantDirectory } from '../../src/core/tenants.js';
import { FdChannelServer } from '../../src/fdpass/server.js';
import { createServer } from '../../src/rpc/server.js';
import { SimBackend } from '../../src/verbs/sim/index.js';
import { api, SESSION_HEADER } from '../../src/wire/proto.js';
import type { SessionOpened__Output } from '../../src/wire/gen/rdmabroker/v1/SessionOpened.js';
import { tempSocket } from '../integration/helpers.js';

/** A call not answered within this long is a hang. */
export const HANG_MS = 5000;

export const SERVICES = ['DeviceService', 'ObjectService', 'SessionService', 'InspectionService', 'AdminService'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface CallResult {
  code: grpc.status;
  details: string;
  /** Wall time until the answer. */
  ms: number;
  /** The decoded reply (on success). */
  reply: unknown;
  /** Bytes of the error's trailing metadata, as received. */
  trailerBytes: number;
}

export interface LogSummary {
  lines: number;
  bytes: number;
  longest: number;
  /** Lines at level error or above (clipped). */
  errors: string[];
}

export interface Target {
  broker: Broker;
  backend: SimBackend;
  tenants: TenantDirectory;
  socket: string;
  fdSocket: string;
  log: LogSummary;
  /** Raw clients, one per service, all on one channel (one HTTP/2 connection). */
  clients: Record<ServiceName, grpc.Client>;
  /** Objects in the broker's table. */
  brokerObjects(): number;
  /** Objects in the sim device's own pools (what `rdma resource show` counts). */
  deviceObjects(): number;
  /** Encodes a request of `service.method` as the method's own serializer does. */
  encode(service: ServiceName, method: string, req: unknown): Buffer;
  /** Sends raw request bytes; answers within `ms` ({@link HANG_MS} unless given) or reports DEADLINE_EXCEEDED. */
  call(service: ServiceName, method: string, body: Buffer, md?: grpc.Metadata, client?: grpc.Client, ms?: number): Promise<CallResult>;
  /** A session opened over its own Connect stream. */
  openSession(name: string, o?: { keepaliveMs?: number; leaseMs?: number }): Promise<RawSession>;
  stop(): Promise<void>;
}

export interface RawSession {
  opened: SessionOpened__Output;
  md(): grpc.Metadata;
  /** The stream ended (the daemon closed it, or close()); with its status when there was one. */
  ended: Promise<{ code: number | null; details: string }>;
  /** Largest gap between keepalive replies (when keepalives are sent). */
  maxGapMs(): number;
  close(): Promise<void>;
}

function methodDef(service: ServiceName, method: string): grpc.MethodDefinition<unknown, unknown> {
  const def = (api().rdmabroker.v1[service] as unknown as { service: Record<string, grpc.MethodDefinition<unknown, unknown>> }).service;
  const m = def[method];
  if (!m) throw new Error(`no method ${service}.${method}`);
  return m;
}

/** The methods of a service (from the proto). */
export function methodsOf(service: ServiceName): string[] {
  return Object.keys((api().rdmabroker.v1[service] as unknown as { service: Record<string, unknown> }).service);
}

export async function startTarget(tag: string, o: { limits?: Record<string, number> } = {}): Promise<Target> {
  const { dir, socket } = tempSocket(`adv-${tag}`);
  const fdSocket = `${socket}.fd`;
  const summary: LogSummary = { lines: 0, bytes: 0, longest: 0, errors: [] };
  const log = pino({ level: 'debug' }, {
    write(line: string) {
      summary.lines++;
      summary.bytes += line.length;
      summary.longest = Math.max(summary.longest, line.length);
      if (/"level":(5|6)\d/.test(line) && summary.errors.length < 20) summary.errors.push(line.slice(0, 600));
    },
  });
  const backend = new SimBackend({ limits: o.limits });
  const broker = new Broker({ backend, log });
  await broker.start();
  const tenants = new TenantDirectory();
  const server = createServer({ broker, log, tenants, fdSocket });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const fd = new FdChannelServer({ broker, log });
  fd.listen(fdSocket);
  const pkg = api().rdmabroker.v1;
  const addr = `unix:${socket}`;
  const creds = grpc.credentials.createInsecure();
  // Big enough for the largest reply; the client's own send limit must not hide the daemon's.
  const chOpts = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const first = new pkg.DeviceService(addr, creds, chOpts);
  const channelOverride = first.getChannel();
  const clients = { DeviceService: first } as unknown as Record<ServiceName, grpc.Client>;
  for (const s of SERVICES) if (s !== 'DeviceService') clients[s] = new (pkg[s] as unknown as typeof grpc.Client)(addr, creds, { ...chOpts, channelOverride });
  const sessions: RawSession[] = [];
  const sim = (): number => {
    const d = broker.devices.get('sim0');
    const dev = backend.deviceByGid(d.ports[0]?.gids[0]?.gid ?? '');
    if (!dev) throw new Error('no sim device');
    return Object.values(dev.counts).reduce((a, b) => a + b, 0);
  };
  const t: Target = {
    broker, backend, tenants, socket, fdSocket, log: summary, clients,
    brokerObjects: () => broker.list({}, 0, 10_000).objects.length,
    deviceObjects: sim,
    encode: (service, method, req) => methodDef(service, method).requestSerialize(req),
    call(service, method, body, md = new grpc.Metadata(), client = clients[service], ms = HANG_MS) {
      const m = methodDef(service, method);
      const t0 = Date.now();
      return new Promise<CallResult>((resolve) => {
        let answered = false;
        const done = (code: grpc.status, details: string, reply: unknown, trailers: grpc.Metadata | null): void => {
          if (answered) return;
          answered = true;
          let trailerBytes = 0;
          if (trailers) for (const [k, v] of Object.entries(trailers.getMap())) trailerBytes += k.length + String(v).length;
          resolve({ code, details, ms: Date.now() - t0, reply, trailerBytes });
        };
        const opts = { deadline: Date.now() + ms };
        if (m.responseStream) {
          // Server streams (WatchObjects): the first message or the status answers.
          const st = client.makeServerStreamRequest(m.path, (b: Buffer) => b, m.responseDeserialize, body, md, opts);
          st.once('data', (r: unknown) => {
            st.cancel();
            done(grpc.status.OK, '', r, null);
          });
          st.on('error', (e: grpc.ServiceError) => done(e.code, e.details, null, e.metadata));
          st.on('end', () => done(grpc.status.OK, '', null, null));
          // A watch without `initial` stays open quietly, as it should: not refused within a moment is an answer.
          setTimeout(() => {
            st.cancel();
            done(grpc.status.OK, '', null, null);
          }, 300);
          return;
        }
        if (m.requestStream) {
          const st = client.makeBidiStreamRequest(m.path, (b: Buffer) => b, m.responseDeserialize, md, opts);
          st.once('data', (r: unknown) => {
            st.cancel();
            done(grpc.status.OK, '', r, null);
          });
          st.on('error', (e: grpc.ServiceError) => done(e.code, e.details, null, e.metadata));
          st.on('end', () => done(grpc.status.OK, '', null, null));
          st.write(body);
          st.end();
          return;
        }
        client.makeUnaryRequest(m.path, (b: Buffer) => b, m.responseDeserialize, body, md, opts, (e, r) => {
          if (e) done(e.code, e.details, null, e.metadata);
          else done(grpc.status.OK, '', r, null);
        });
      });
    },
    async openSession(name, so = {}) {
      const c = clients.SessionService as unknown as { Connect(): grpc.ClientDuplexStream<unknown, unknown> };
      const stream = c.Connect();
      let last = 0;
      let maxGap = 0;
      let timer: NodeJS.Timeout | null = null;
      const ended = new Promise<{ code: number | null; details: string }>((resolve) => {
        stream.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
        stream.on('end', () => resolve({ code: null, details: 'end' }));
        stream.on('close', () => resolve({ code: null, details: 'close' }));
      });
      void ended.then(() => timer && clearInterval(timer));
      const opened = await new Promise<SessionOpened__Output>((resolve, reject) => {
        stream.on('data', (m: { opened?: SessionOpened__Output | null; keepalive?: unknown }) => {
          if (m.opened) resolve(m.opened);
          if (m.keepalive) {
            const now = Date.now();
            if (last) maxGap = Math.max(maxGap, now - last);
            last = now;
          }
        });
        stream.once('error', reject);
        stream.write({ open: { name, lease_ms: so.leaseMs ?? 0 } });
      });
      if (so.keepaliveMs) {
        last = Date.now();
        let nonce = 0;
        timer = setInterval(() => stream.write({ keepalive: { nonce: ++nonce } }), so.keepaliveMs);
      }
      const rs: RawSession = {
        opened,
        md() {
          const md = new grpc.Metadata();
          md.set(SESSION_HEADER, opened.token);
          return md;
        },
        ended,
        maxGapMs: () => maxGap,
        async close() {
          if (timer) clearInterval(timer);
          stream.end();
          await ended;
          const s = broker.sessions.get(opened.session_id);
          if (s?.closed) await s.closed;
        },
      };
      sessions.push(rs);
      return rs;
    },
    async stop() {
      for (const s of sessions) await s.close().catch(() => {});
      for (const c of Object.values(clients)) c.close();
      fd.close();
      await broker.shutdown();
      server.forceShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Seconds a session's cleanup may take before the table counts as left behind. */
export async function settled(t: Target, ms = 5000): Promise<{ broker: number; device: number }> {
  const end = Date.now() + ms;
  for (;;) {
    const r = { broker: t.brokerObjects(), device: t.deviceObjects() };
    if ((r.broker === 0 && r.device === 0) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}
