/**
 * A daemon in this process (sim device, a config file, temp sockets, loopback
 * TCP) and raw grpc-js clients that call it as a given tenant: over the
 * tenant's socket, the main socket, or TCP with a token or a certificate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { startDaemon, type Daemon } from '../../../src/daemon/main.js';
import type { DaemonOptions } from '../../../src/daemon/options.js';
import { api, SESSION_HEADER } from '../../../src/wire/proto.js';

export type Json = Record<string, unknown>;

export interface Harness {
  dir: string;
  daemon: Daemon;
  config: string;
  /** Every log line the daemon wrote, parsed. */
  logs: Json[];
  stop(): Promise<void>;
}

export async function startHarness(cfg: unknown, more: Partial<DaemonOptions> = {}, yaml = false): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-tenants-'));
  const config = path.join(dir, yaml ? 'config.yaml' : 'config.json');
  fs.writeFileSync(config, typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
  const logs: Json[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Json);
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const opts: DaemonOptions = {
    socket: path.join(dir, 'main.sock'), listen: null, device: 'sim', logLevel: 'info', leaseMs: 30_000, maxResumeGraceMs: 300_000,
    config, metricsListen: null, tlsCert: null, tlsKey: null, tlsCa: null, insecureTcp: false, fdSocket: path.join(dir, 'main.sock.fd'), ...more,
  };
  const daemon = await startDaemon(opts, log);
  return {
    dir, daemon, config, logs,
    async stop() {
      await daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Endpoint {
  target: string;
  creds?: grpc.ChannelCredentials;
  token?: string;
  options?: grpc.ChannelOptions;
}

export const unix = (p: string): Endpoint => ({ target: `unix:${p}` });

type Ctor = new (target: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => grpc.Client;

/** A raw client for every service on one endpoint, with promise helpers. */
export class Caller {
  readonly clients: Record<string, grpc.Client> = {};
  session: string | null = null;
  sessionId: string | null = null;
  private stream: grpc.ClientDuplexStream<unknown, unknown> | null = null;

  constructor(readonly ep: Endpoint) {
    const pkg = api().rdmabroker.v1 as unknown as Record<string, Ctor>;
    for (const s of ['DeviceService', 'ObjectService', 'SessionService', 'InspectionService', 'AdminService']) {
      this.clients[s] = new pkg[s]!(ep.target, ep.creds ?? grpc.credentials.createInsecure(), ep.options);
    }
  }

  metadata(withSession = true): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.ep.token) md.set('authorization', `Bearer ${this.ep.token}`);
    if (withSession && this.session) md.set(SESSION_HEADER, this.session);
    return md;
  }

  /** A unary call; resolves with the reply or rejects with the ServiceError. */
  call<T = Json>(service: string, method: string, req: unknown = {}, md = this.metadata()): Promise<T> {
    const c = this.clients[service] as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: T) => void) => void>;
    return new Promise((resolve, reject) => c[method]!.call(c, req, md, (e, r) => (e ? reject(e) : resolve(r))));
  }

  /** The status code a call ends with (0 = OK). */
  async code(service: string, method: string, req: unknown = {}, md?: grpc.Metadata): Promise<number> {
    try {
      await this.call(service, method, req, md);
      return grpc.status.OK;
    } catch (e) {
      return (e as grpc.ServiceError).code;
    }
  }

  /** Opens a session (Connect), keeping the stream. */
  open(name = 'test'): Promise<Json> {
    const c = this.clients.SessionService as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> };
    const st = c.Connect(this.metadata(false));
    this.stream = st;
    return new Promise((resolve, reject) => {
      st.on('data', (m: Json) => {
        if (m.opened) {
          const o = m.opened as Json;
          this.session = o.token as string;
          this.sessionId = o.session_id as string;
          resolve(o);
        }
      });
      st.on('error', reject);
      st.write({ open: { name } });
    });
  }

  /** A stream's status code: Connect or WatchObjects refused before any message. */
  streamCode(service: 'SessionService' | 'InspectionService', md = this.metadata(false)): Promise<number> {
    return new Promise((resolve) => {
      let st: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>;
      if (service === 'SessionService') {
        const d = (this.clients.SessionService as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }).Connect(md);
        d.write({ open: { name: 'probe' } });
        st = d;
      } else {
        st = (this.clients.InspectionService as unknown as { WatchObjects(r: unknown, md: grpc.Metadata): grpc.ClientReadableStream<unknown> }).WatchObjects({ initial: true }, md);
      }
      st.on('data', () => {
        resolve(grpc.status.OK);
        st.cancel();
      });
      st.on('error', (e: grpc.ServiceError) => resolve(e.code));
    });
  }

  close(): void {
    this.stream?.end();
    this.stream = null;
    for (const c of Object.values(this.clients)) c.close();
  }

  create(type: string, attrs: Json = {}, device = 'sim0'): Promise<Json> {
    return this.call<Json>('ObjectService', 'Create', { type, device, attrs }).then((r) => r.object as Json);
  }
}

export const h = (handle: unknown): Json => ({ handle: String(handle) });
export const u64 = (n: number | bigint): Json => ({ u64: String(n) });
export const str = (s: string): Json => ({ str: s });

/** Creates one object of each creatable kind the sim supports without a peer: pd, cq, mr, mw, srq, qp, comp_channel, ah. */
export async function workload(c: Caller): Promise<Record<string, string>> {
  const pd = await c.create('pd');
  const cq = await c.create('cq', { cqe: u64(16) });
  const mr = await c.create('mr', { pd: h(pd.handle), length: u64(4096), access: { list: { items: [str('LOCAL_WRITE')] } } });
  const srq = await c.create('srq', { pd: h(pd.handle), max_wr: u64(8) });
  const qp = await c.create('qp', {
    pd: h(pd.handle), send_cq: h(cq.handle), recv_cq: h(cq.handle), qp_type: str('RC'),
    cap: { map: { fields: { max_send_wr: u64(4), max_recv_wr: u64(4), max_send_sge: u64(1), max_recv_sge: u64(1) } } },
  });
  return { pd: pd.handle as string, cq: cq.handle as string, mr: mr.handle as string, srq: srq.handle as string, qp: qp.handle as string };
}
