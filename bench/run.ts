/**
 * npm run bench [-- --quick | --full] [--vm] [--only PARTS] [--profile] [--daemon-log-level L] [--out DIR]
 *
 * PARTS: verbs, batch, scaling, cleanup, heap, fds, lane, vm (comma-separated).
 * With --vm (in the soft-RoCE VM: npm run bench:vm), PARTS are the VM's: verbs, batch, lane
 * (the C program on libibverbs and the libibverbs backend in-process always run).
 *
 * What the broker costs, side by side in one run. Prints a table and writes
 * JSON to bench/results/. See README.md, "Benchmarks".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Conn } from './lib/client.js';
import { EchoClient } from './lib/echo.js';
import { CoreDriver, GrpcDriver, SimDriver } from './lib/drivers.js';
import { ROOT, startDaemon, startEcho, type Child } from './lib/procs.js';
import type { LoopBudget, Summary } from './lib/stats.js';
import { BATCH_GROUPS, VERB_ROWS, captureSizes, fixture, mrSyscallFloor, runBatch, runBatchParallel, runCpuGroups, warmBatch, runCpuGroupsFloor, runDriver, runFloor } from './verbs.js';
import { SESSION_HEADER } from '../src/wire/proto.js';
import { report, type Results } from './report.js';
import { runCleanup, runHeap, runScaling, runSessions1k } from './load.js';
import { runInprocChild } from './inproc.js';
import { runFds } from './fds.js';
import { runVm } from './vm.js';
import { runLane } from './lane.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    vm: { type: 'boolean' },
    only: { type: 'string' },
    profile: { type: 'boolean' },
    out: { type: 'string' },
    // For diagnosis: warn turns the daemon's per-verb audit log off.
    'daemon-log-level': { type: 'string' },
    // reference: the daemon and this client use protobufjs' codecs for ObjectService (src/wire/proto.ts), for before/after.
    codec: { type: 'string' },
  },
  strict: true,
});

// `npm run bench --full` (without --) reaches us as npm_config_full.
const envFlag = (k: string): boolean => process.env[`npm_config_${k}`] === 'true';
const mode: 'quick' | 'full' = args.full || envFlag('full') ? 'full' : 'quick';
const vmMode = Boolean(args.vm) || envFlag('vm');
// --vm runs only the VM part (everything there runs emulated, slowly); with it, --only names the VM's parts.
const VM_PARTS = ['verbs', 'batch', 'lane'] as const;
const onlyList = args.only ? args.only.split(',') : null;
const vmOnly = vmMode ? onlyList?.filter((p) => p !== 'vm') ?? [] : [];
const badVm = vmOnly.filter((p) => !(VM_PARTS as readonly string[]).includes(p));
if (badVm.length) throw new Error(`--vm --only: the VM's parts are ${VM_PARTS.join(', ')}, not ${badVm.join(', ')}`);
const vmParts = new Set<string>(vmOnly.length ? vmOnly : VM_PARTS);
const only = vmMode ? new Set<string>(['vm']) : onlyList ? new Set(onlyList) : null;
const want = (part: string): boolean => !only || only.has(part);

const BUDGETS: Record<typeof mode, {
  verbs: LoopBudget; direct: LoopBudget; floor: LoopBudget; batch: LoopBudget; fds: LoopBudget; vm: LoopBudget; vmBatch: LoopBudget;
  scalingMs: number; cleanup: number[]; heapN: number; inprocHeapN: number; cpuGroupMs: number;
  /** Per verb kind: how long the daemon and the echo server run it before anything of theirs is measured. */
  warmMs: number;
}> = {
  quick: {
    cpuGroupMs: 4000, warmMs: 1500, scalingMs: 1500, cleanup: [1000, 10_000, 100_000], heapN: 10_000, inprocHeapN: 20_000,
    fds: { maxIters: 5000, maxMs: 1000, minIters: 200, warmup: 50 },
    vm: { maxIters: 2000, maxMs: 6000, minIters: 15, warmup: 3 },
    vmBatch: { maxIters: 500, maxMs: 2000, minIters: 2, warmup: 1 },
    verbs: { maxIters: 5000, maxMs: 2500, minIters: 200, warmup: 50 },
    direct: { maxIters: 20000, maxMs: 1500, minIters: 500, warmup: 200 },
    floor: { maxIters: 5000, maxMs: 350, minIters: 200, warmup: 50 },
    batch: { maxIters: 2000, maxMs: 500, minIters: 20, warmup: 5 },
  },
  full: {
    cpuGroupMs: 6000, warmMs: 3000, scalingMs: 5000, cleanup: [1000, 10_000, 100_000], heapN: 100_000, inprocHeapN: 100_000,
    fds: { maxIters: 50000, maxMs: 5000, minIters: 1000, warmup: 200 },
    vm: { maxIters: 20000, maxMs: 30000, minIters: 200, warmup: 20 },
    vmBatch: { maxIters: 5000, maxMs: 8000, minIters: 20, warmup: 5 },
    verbs: { maxIters: 50000, maxMs: 15000, minIters: 2000, warmup: 300 },
    direct: { maxIters: 200000, maxMs: 6000, minIters: 5000, warmup: 1000 },
    floor: { maxIters: 50000, maxMs: 2000, minIters: 2000, warmup: 300 },
    batch: { maxIters: 20000, maxMs: 3000, minIters: 200, warmup: 20 },
  },
};

const children: Child[] = [];
const killAll = (): void => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

const log = (msg: string): void => {
  process.stderr.write(`[bench ${((performance.now()) / 1000).toFixed(1)}s] ${msg}\n`);
};

function cpuPerCall(calls: number, serverUs: number, serverAllUs: number, client: NodeJS.CpuUsage): { calls: number; serverUs: number; serverAllUs: number; clientUs: number } {
  return { calls, serverUs: serverUs / calls, serverAllUs: serverAllUs / calls, clientUs: (client.user + client.system) / calls };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (args.codec === 'reference') process.env.RDMA_BROKER_WIRE_CODEC = 'reference';
  else if (args.codec !== undefined && args.codec !== 'ours') throw new Error(`--codec ours|reference, not ${args.codec}`);
  const budget = BUDGETS[mode];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-bench-'));
  const cacheDir = path.join(ROOT, '.cache/bench');
  fs.mkdirSync(cacheDir, { recursive: true });
  const profDir = args.profile ? path.join(cacheDir, `prof-${Date.now()}`) : null;
  const results: Results = {
    mode,
    started: new Date(t0).toISOString(),
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg() },
    setup: {
      daemon: 'bin/rdma-brokerd.js --device sim in a child process, gRPC on a unix socket; client (this process) uses the raw generated stubs',
      floor: 'bare grpc-js unary service in a child process on a unix socket, raw-bytes payloads sized like each broker request and reply, same metadata header',
      direct: 'in this process: the Broker core (dispatcher, registry, accounting) over the sim backend, and the sim backend alone',
    },
    codec: args.codec === 'reference' ? 'protobufjs (proto-loader) on both sides' : 'src/wire/codec.ts on both sides',
    verbs: null, cpuGroups: null, mrFloor: null, batch: null, batchParallel: null, scaling: null, sessions1k: null, cleanup: null, heap: null, fds: null, lane: null, vm: null,
    notes: [],
  };

  const simParts = ['verbs', 'batch', 'scaling', 'cleanup', 'heap', 'fds', 'lane'].some(want);
  if (simParts) {
    const socket = path.join(tmp, 'broker.sock');
    const daemonLogLevel = args['daemon-log-level'] ?? 'info';
    if (daemonLogLevel !== 'info') results.notes.push(`the daemon ran with --log-level ${daemonLogLevel} (the default is info, which writes an audit line per mutating verb)`);
    const daemon = await startDaemon({ socket, logFile: path.join(cacheDir, 'daemon.log'), cpuProfDir: profDir, logLevel: daemonLogLevel });
    children.push(daemon);
    log(`daemon pid ${daemon.pid} on ${socket}`);
    const conn = new Conn(socket);
    await conn.ready();
    const gid = await new Promise<string>((resolve, reject) => conn.devices.Query({ device: 'sim0' }, (e, r) => (e || !r ? reject(e) : resolve(r.ports[0]?.gids[0]?.gid ?? ''))));

    if (want('verbs') || want('batch')) {
      // In-process parts first: while they keep this process busy, a session's
      // stream could miss the daemon's keepalive pings on a loaded machine.
      let inproc: { core: Record<string, Summary>; sim: Record<string, Summary> } | null = null;
      if (want('verbs')) {
        log('verbs in-process: Broker core over sim');
        const core = await CoreDriver.start();
        const coreRes = await runDriver(core, budget.direct);
        await core.close();
        log('verbs in-process: sim backend');
        const sim = await SimDriver.start();
        const simRes = await runDriver(sim, budget.direct);
        await sim.close();
        inproc = { core: coreRes, sim: simRes };
      }
      const s = await conn.openSession('bench-verbs');
      const g = new GrpcDriver(s, gid);
      const labels = [...new Set([...VERB_ROWS.map((r) => r.key), ...BATCH_GROUPS.flatMap((x) => x.labels)])];
      if (want('verbs')) {
        // A daemon that has run for a while has its per-call path compiled by
        // V8; a fresh one interprets it for its first thousands of calls (the
        // in-process handler path costs 4-5x its steady state over the first
        // 3,000), and the echo server has far less code of its own to warm.
        // Both run every verb kind first, so what is measured is the steady state.
        log(`warming up the daemon: every verb kind for ${budget.warmMs} ms`);
        await runCpuGroups(g, s, await fixture(g), { server: () => daemon.cpuUs() }, budget.warmMs);
        log('verbs over gRPC (unary)');
        // CPU per call on each side, which contention on a shared machine does not stretch as it stretches latency.
        let calls0 = s.calls;
        let srv0 = daemon.cpuUs();
        let all0 = daemon.cpuUs(true);
        let cli0 = process.cpuUsage();
        const grpcRes = await runDriver(g, budget.verbs);
        const brokerCpu = cpuPerCall(s.calls - calls0, daemon.cpuUs() - srv0, daemon.cpuUs(true) - all0, process.cpuUsage(cli0));
        log('transport floor: bare grpc-js echo');
        const f = await fixture(g);
        const sizes = await captureSizes(g, s, f);
        const echoSock = path.join(tmp, 'echo.sock');
        const echoProc = await startEcho(echoSock);
        children.push(echoProc);
        const echo = new EchoClient(echoSock, { key: SESSION_HEADER, value: s.token });
        await echo.ready();
        log(`warming up the echo server: every verb kind's sizes for ${budget.warmMs} ms`);
        await runCpuGroupsFloor(echo, sizes, { server: () => echoProc.cpuUs() }, budget.warmMs);
        calls0 = echo.calls;
        srv0 = echoProc.cpuUs();
        all0 = echoProc.cpuUs(true);
        cli0 = process.cpuUsage();
        const floor = await runFloor(echo, sizes, labels, budget.floor);
        const echoCpu = cpuPerCall(echo.calls - calls0, echoProc.cpuUs() - srv0, echoProc.cpuUs(true) - all0, process.cpuUsage(cli0));
        log('CPU per call by verb kind: broker, then echo with the same sizes');
        const broker = await runCpuGroups(g, s, f, { server: () => daemon.cpuUs() }, budget.cpuGroupMs);
        const echoRows = await runCpuGroupsFloor(echo, sizes, { server: () => echoProc.cpuUs() }, budget.cpuGroupMs);
        results.cpuGroups = { broker, echo: echoRows };
        echo.close();
        await echoProc.stop();
        results.verbs = { grpc: grpcRes, core: inproc?.core ?? {}, sim: inproc?.sim ?? {}, floor, cpu: { broker: brokerCpu, echo: echoCpu } };
      }
      if (want('batch')) {
        log('MR system-call floor (memfd_create, ftruncate, mmap, munmap) in this process');
        results.mrFloor = { length: 4096, ...mrSyscallFloor(4096, 500) };
        const f = await fixture(g);
        log(`warming up the daemon's Batch path: every group at 256 steps for ${budget.warmMs} ms`);
        await warmBatch(s, f, gid, 256, budget.warmMs);
        log('Batch (16, 256)');
        results.batch = await runBatch(s, f, gid, [16, 256], budget.batch, 'sim0', { server: () => daemon.cpuUs() });
        log('Batch 256 with 2 calls in flight');
        const par = [];
        for (let i = 0; i < 2; i++) {
          const ps = await conn.openSession(`bench-batch-${i}`);
          par.push({ s: ps, f: await fixture(new GrpcDriver(ps, gid)) });
        }
        results.batchParallel = await runBatchParallel(par, gid, 256, budget.batch.maxMs);
        for (const p of par) p.s.end();
      }
      s.end();
    }

    if (want('scaling')) {
      log('scaling: 1, 8, 64, 512 concurrent sessions');
      results.scaling = await runScaling(daemon, socket, [1, 8, 64, 512], budget.scalingMs);
      log('1,000 concurrent sessions');
      results.sessions1k = await runSessions1k(socket, 1000, 100);
    }
    if (want('cleanup')) {
      log(`cleanup of sessions holding ${budget.cleanup.join(', ')} objects`);
      results.cleanup = await runCleanup(socket, budget.cleanup);
    }
    if (want('heap')) {
      log('daemon heap per tracked object');
      results.heap = await runHeap(daemon, socket, [{ mix: 'pd', n: budget.heapN }, { mix: 'mix', n: budget.heapN }]);
    }
    if (want('cleanup') || want('heap')) {
      log('in-process cleanup and heap (child with --expose-gc)');
      const r = await runInprocChild(budget.cleanup, budget.inprocHeapN);
      if (results.cleanup) {
        for (const c of results.cleanup) c.coreMs = r.cleanup.find((x) => x.objects === c.objects)?.ms ?? null;
      } else {
        results.cleanup = r.cleanup.map((c) => ({ objects: c.objects, daemonMs: null, coreMs: c.ms, mix: '25% PD, 25% CQ, 50% RC QP' }));
      }
      results.heap = [...(results.heap ?? []), ...r.heap];
    }
    if (want('fds')) {
      log('fd passing round trips');
      results.fds = await runFds(socket, budget.fds);
    }
    if (want('lane')) {
      log('fast lane: post + poll (spinning, eventfd), gRPC and sim beside it, WRs/s per doorbell');
      // The spin mode on its own daemon, measured in the same run.
      const spinSocket = path.join(tmp, 'broker-spin.sock');
      const spinDaemon = await startDaemon({ socket: spinSocket, logFile: path.join(cacheDir, 'daemon-spin.log'), cpuProfDir: profDir, logLevel: daemonLogLevel, args: ['--fast-lane-spin'] });
      children.push(spinDaemon);
      try {
        results.lane = await runLane(socket, daemon, budget.direct, log, { spin: { socket: spinSocket, daemon: spinDaemon } });
      } finally {
        await spinDaemon.stop();
      }
    }

    conn.close();
    const code = await daemon.stop();
    if (code !== 0) results.notes.push(`the daemon exited with ${code} on SIGTERM`);
    if (profDir) results.notes.push(`daemon CPU profile: ${path.relative(ROOT, profDir)}`);
  }
  if (want('vm')) {
    log('VM mode: the broker on the kernel device vs a C program calling libibverbs');
    results.vm = await runVm({ tmp, cacheDir, budget: budget.vm, batchBudget: budget.vmBatch, log, parts: vmParts });
  }
  // In the VM, the host's load at boot (the guest's own load says nothing about the other jobs on the host).
  const hostLoad = process.env.RDMA_BROKER_BENCH_HOST_LOADAVG?.trim().split(/\s+/).slice(0, 3).map(Number);
  if (process.env.RXE_VM && hostLoad?.length === 3 && hostLoad.every(Number.isFinite)) results.host.vmHostLoadavg = hostLoad;
  results.seconds = (Date.now() - t0) / 1000;
  results.host.loadavgEnd = os.loadavg();
  fs.rmSync(tmp, { recursive: true, force: true });

  const text = report(results);
  process.stdout.write(text);
  const outDir = args.out ?? path.join(ROOT, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${mode}-${results.started.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2));
  fs.writeFileSync(path.join(outDir, `latest-${mode}.json`), JSON.stringify(results, null, 2));
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), file)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  killAll();
  process.exit(1);
});
