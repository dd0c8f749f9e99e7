/** Integration helpers: a broker served over real grpc-js on a temp unix socket, in process or as a child. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Broker } from '../../src/core/broker.js';
import { createServer } from '../../src/rpc/server.js';
import { SimBackend } from '../../src/verbs/sim/index.js';
import type { PoolCounts } from '../../src/verbs/sim/device.js';
import { connect, RdmaError, type AttrMap, type Client, type RdmaObject, type Session } from '../../src/client/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DAEMON_BIN = path.join(ROOT, 'bin/rdma-brokerd.js');
export const CTL_BIN = path.join(ROOT, 'bin/rdmactl.js');
export const EXAMPLE = path.join(ROOT, 'dist/examples/rdma-write.js');

export function tempSocket(tag: string): { dir: string; socket: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rb-${tag}-`));
  return { dir, socket: path.join(dir, 'broker.sock') };
}

export interface InProcess {
  broker: Broker;
  server: grpc.Server;
  socket: string;
  client: Client;
  backend: SimBackend;
  /** The device's own object pools (what `rdma resource show` would count), summed. */
  deviceObjects(device?: string): number;
  stop(): Promise<void>;
}

/** A broker on the sim backend, served in this process on a temp unix socket, and a client connected to it. */
export async function startInProcess(tag: string, o: { limits?: Record<string, number>; devices?: number; deviceFaults?: boolean } = {}): Promise<InProcess> {
  const { dir, socket } = tempSocket(tag);
  const log = pino({ level: 'silent' });
  const backend = new SimBackend({ limits: o.limits, devices: o.devices, deviceFaults: o.deviceFaults });
  const broker = new Broker({ backend, log });
  await broker.start();
  const server = createServer({ broker, log });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = await connect({ socket });
  return {
    broker, server, socket, client, backend,
    deviceObjects(device = 'sim0') {
      const d = broker.devices.get(device);
      const gid = d.ports[0]?.gids[0]?.gid ?? '';
      const dev = backend.deviceByGid(gid);
      if (!dev) throw new Error(`no sim device with GID ${gid}`);
      const c: PoolCounts = dev.counts;
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
    async stop() {
      client.close();
      await broker.shutdown();
      server.forceShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Daemon {
  proc: ChildProcess;
  socket: string;
  /** The daemon's temp directory (its socket is in it); removed by stop(). */
  dir: string;
  /** Parsed pino lines so far (a line that is not JSON as `{ msg: line }`). */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the daemon (when it still runs), waits for its exit and removes its directory. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** --device (default sim). */
  device?: string;
  /** --log-level (default debug). */
  logLevel?: string;
  /** How long it may take to serve (default 15 s). */
  readyMs?: number;
  /** The child's stdin (default pipe). */
  stdin?: 'pipe' | 'ignore';
  /** A directory to run in (created by the caller, e.g. holding a config); default a new temp one. Either way stop() removes it. */
  dir?: string;
}

/** Waits for `cond` (polled every 20 ms) or throws after `ms`. */
export async function waitFor<T>(cond: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns rdma-brokerd on `DIR/broker.sock` (a temp DIR unless given) and waits until it serves. */
export async function spawnDaemon(tag: string, extra: string[] = [], o: SpawnOptions = {}): Promise<Daemon> {
  const dir = o.dir ?? tempSocket(tag).dir;
  const socket = path.join(dir, 'broker.sock');
  const proc = spawn(process.execPath, [DAEMON_BIN, '--device', o.device ?? 'sim', '--socket', socket, '--log-level', o.logLevel ?? 'debug', ...extra], {
    stdio: [o.stdin ?? 'pipe', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(() => dead || logs.some((l) => l.msg === 'rdma-brokerd serving'), o.readyMs ?? 15_000, 'the daemon to serve')
    .catch((e: Error) => {
      proc.kill('SIGKILL');
      throw new Error(`${e.message}; stderr: ${stderr}; log: ${logs.slice(-5).map((l) => JSON.stringify(l)).join(' ')}`);
    });
  if (dead) throw new Error(`the daemon exited early: ${stderr}`);
  return {
    proc, socket, dir, logs, exited,
    async stop() {
      if (!dead) proc.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a node script to completion; returns its exit code and output. */
export function runNode(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The RdmaError a call fails with (fails the test when it succeeds or throws something else). */
/**
 * Connects two RC QPs of one client session to each other through INIT, RTR
 * and RTS (port 1, GID index 0, PSNs 0, REMOTE_WRITE); `timeout` is the local
 * ACK timeout's exponent, retries are 7 (RNR: for ever).
 */
export async function connectRc(a: RdmaObject, b: RdmaObject, gid: string, timeout: number): Promise<void> {
  for (const [x, y] of [[a, b], [b, a]] as const) {
    await x.modify({ qp_state: 'INIT', port_num: 1, pkey_index: 0, qp_access_flags: ['REMOTE_WRITE'] });
    await x.modify({
      qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: y.num('qp_num'), rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 1,
      ah_attr: { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } },
    });
  }
  for (const x of [a, b]) await x.modify({ qp_state: 'RTS', sq_psn: 0, timeout, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
}

export async function failure(p: Promise<unknown>): Promise<RdmaError> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof RdmaError)) throw new Error(`expected the call to fail with an RdmaError, got ${e === null ? 'success' : String(e)}`);
  return e;
}

/** A session on an in-process broker with a PD, a CQ and the port's address (GRH to GID 0): what QP tests start from. */
export interface QpFixture {
  rb: InProcess;
  s: Session;
  pd: RdmaObject;
  cq: RdmaObject;
  ah: AttrMap;
}

export async function startQpFixture(tag: string, name: string): Promise<QpFixture> {
  const rb = await startInProcess(tag);
  const s = await rb.client.openSession({ name });
  const pd = await s.allocPd('sim0');
  const cq = await s.createCq('sim0', 64);
  const q = await rb.client.queryDevice('sim0');
  const ah: AttrMap = { port_num: 1, grh: { dgid: q.ports[0]?.gids[0]?.gid ?? '', sgid_index: 0, hop_limit: 1 } };
  return { rb, s, pd, cq, ah };
}
