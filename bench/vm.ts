/**
 * --vm: on a kernel RDMA device (rxe0 in the soft-RoCE VM), the same verbs
 * through the broker (rdma-brokerd --device ibverbs in a child process, gRPC
 * on a unix socket) against a small C program calling libibverbs directly
 * (bench/vm/verbs-floor.c, compiled with gcc here): the hardware-path floor.
 * Runs only where /dev/infiniband/uverbs0 exists.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Conn } from './lib/client.js';
import pino from 'pino';
import { CoreDriver, GrpcDriver, SimDriver } from './lib/drivers.js';
import type { Backend } from '../src/verbs/backend.js';
import { ROOT, startDaemon, startEcho } from './lib/procs.js';
import type { LoopBudget, Summary } from './lib/stats.js';
import { VERB_ROWS, captureSizes, runDriver, runBatch, runFloor, fixture, type BatchResult } from './verbs.js';
import { EchoClient } from './lib/echo.js';
import { SESSION_HEADER } from '../src/wire/proto.js';
import { runLane, type LaneResult } from './lane.js';

const run = promisify(execFile);
// Loaded on demand, as the daemon does: it needs libibverbs.so.1.
const IBVERBS_MODULE: string = '../src/verbs/ibverbs/index.js';

export interface VmResult {
  status: string;
  device?: string;
  kernel?: string;
  /** The C program on libibverbs: per label (`write` spins on the CQ, `write.event` sleeps on a completion channel). */
  c?: Record<string, Summary>;
  /** The C program's WRs per second with 1 and 32 WRs per ibv_post_send (the lane's throughput rows' floor). */
  cThroughput?: CThroughput[];
  /** The broker over gRPC on the same device: per label. */
  grpc?: Record<string, Summary>;
  /** The libibverbs backend called in-process (koffi, worker threads), and the Broker core over it. */
  backend?: Record<string, Summary>;
  core?: Record<string, Summary>;
  batch?: BatchResult[];
  /** The bare grpc-js echo in the same guest, sized like each verb. */
  floor?: Record<string, Summary>;
  /** The fast lane on the kernel device (post + poll against the C program's `write`). */
  lane?: LaneResult;
}

export interface CThroughput {
  perPost: number;
  wrs: number;
  wrsPerSec: number;
  /** The C process's CPU (user + system) per WR. */
  cpuUsPerWr: number;
}

function toSummary(x: { n: number; p50_us: number; p99_us: number; mean_us: number }): Summary {
  return { n: x.n, p50Us: x.p50_us, p99Us: x.p99_us, meanUs: x.mean_us, opsPerSec: 1e6 / x.mean_us };
}

/**
 * `parts`: which of the broker's measurements run beside the C program and the
 * backend in-process (always): `verbs` (every verb over gRPC and the echo
 * floor), `batch`, `lane` (the fast lane, with gRPC post + poll beside it).
 */
export async function runVm(o: { tmp: string; cacheDir: string; budget: LoopBudget; batchBudget: LoopBudget; log: (m: string) => void; parts?: ReadonlySet<string> }): Promise<VmResult> {
  if (!fs.existsSync('/dev/infiniband/uverbs0')) {
    return { status: 'skipped: no /dev/infiniband/uverbs0 here (in the soft-RoCE VM: npm run bench:vm)' };
  }
  const part = (p: string): boolean => !o.parts || o.parts.has(p);
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  // The C floor, built now with the installed rdma-core headers (the guest runs the host's root: its gcc and libibverbs-dev).
  const bin = path.join(o.tmp, 'verbs-floor');
  const src = path.join(ROOT, 'bench/vm/verbs-floor.c');
  const cc = ['-O2', '-Wall', '-o', bin, src, '-libverbs'];
  try {
    await run('gcc', cc, { timeout: 300_000 });
  } catch (e) {
    return { status: `not measured: gcc ${cc.join(' ')} failed: ${(e as Error).message}`, kernel };
  }
  o.log('VM: the C program on libibverbs');
  const { stdout: devs } = await run('ibv_devices', [], { timeout: 60_000 }).catch(() => ({ stdout: '' }));
  const device = /\b(rxe\d+|mlx\d+_\d+)\b/.exec(devs)?.[1] ?? 'rxe0';
  const { stdout } = await run(bin, [device, String(o.budget.maxIters), String(o.budget.maxMs)], { timeout: 600_000, maxBuffer: 1 << 20 });
  const c: Record<string, Summary> = {};
  const cThroughput: CThroughput[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const x = JSON.parse(line) as { label: string; n: number; p50_us: number; p99_us: number; mean_us: number } | { throughput: number; wrs: number; wrs_per_sec: number; cpu_us_per_wr: number };
    if ('throughput' in x) cThroughput.push({ perPost: x.throughput, wrs: x.wrs, wrsPerSec: x.wrs_per_sec, cpuUsPerWr: x.cpu_us_per_wr });
    else c[x.label] = toSummary(x);
  }

  o.log(`VM: the libibverbs backend in-process, then the Broker core over it`);
  const ib = (await import(IBVERBS_MODULE)) as { createIbverbsBackend(o: { log: unknown }): Backend };
  const quiet = pino({ level: 'warn' });
  const bd = await SimDriver.start(ib.createIbverbsBackend({ log: quiet }), device);
  const backend = await runDriver(bd, o.budget);
  await bd.close();
  const cd = await CoreDriver.start(ib.createIbverbsBackend({ log: quiet }), device);
  const core = await runDriver(cd, o.budget);
  await cd.close();
  const out: VmResult = { status: `measured on ${device}, kernel ${kernel}`, device, kernel, c, cThroughput, backend, core };

  o.log(`VM: the broker on ${device} (--device ibverbs)`);
  const socket = path.join(o.tmp, 'vm-broker.sock');
  const daemon = await startDaemon({ socket, logFile: path.join(o.cacheDir, 'daemon-vm.log'), device: 'ibverbs', logLevel: 'info', startTimeoutMs: 300_000 });
  try {
    if (part('verbs') || part('batch')) {
      const conn = new Conn(socket);
      await conn.ready(120_000);
      const gid = await new Promise<string>((resolve, reject) => conn.devices.Query({ device }, (e, r) => (e || !r ? reject(e) : resolve(r.ports[0]?.gids[0]?.gid ?? ''))));
      const s = await conn.openSession('bench-vm');
      const g = new GrpcDriver(s, gid, device);
      const f = await fixture(g);
      if (part('verbs')) {
        out.grpc = await runDriver(g, o.budget);
        o.log('VM: the transport floor (bare grpc-js echo) in the same guest');
        const sizes = await captureSizes(g, s, f);
        const echoSock = path.join(o.tmp, 'vm-echo.sock');
        const echoProc = await startEcho(echoSock, 300_000);
        try {
          const echo = new EchoClient(echoSock, { key: SESSION_HEADER, value: s.token });
          await echo.ready(120_000);
          out.floor = await runFloor(echo, sizes, VERB_ROWS.map((r) => r.key), o.budget);
          echo.close();
        } finally {
          await echoProc.stop();
        }
      }
      if (part('batch')) {
        o.log('VM: Batch on the kernel device');
        out.batch = await runBatch(s, f, gid, [256], o.batchBudget, device);
      }
      s.end();
      conn.close();
    }
    if (part('lane')) {
      o.log('VM: the fast lane on the kernel device (and a second daemon with --fast-lane-spin)');
      const spinSocket = path.join(o.tmp, 'vm-broker-spin.sock');
      const spinDaemon = await startDaemon({ socket: spinSocket, logFile: path.join(o.cacheDir, 'daemon-vm-spin.log'), device: 'ibverbs', logLevel: 'info', startTimeoutMs: 300_000, args: ['--fast-lane-spin'] });
      try {
        out.lane = await runLane(socket, daemon, o.budget, o.log, { device, inproc: false, spin: { socket: spinSocket, daemon: spinDaemon } });
      } finally {
        await spinDaemon.stop();
      }
    }
    return out;
  } finally {
    await daemon.stop();
  }
}
