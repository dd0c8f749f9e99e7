/**
 * CPU per unary call of the real daemon (a child process on a unix socket)
 * under a closed loop of alloc PD / dealloc PD, without a profiler attached:
 * the daemon's event-loop thread and whole process (from /proc), this
 * client's process.cpuUsage, and the wall time. For before/after comparisons
 * of the daemon's per-call cost (run old and new builds interleaved).
 * Usage: [LOG_LEVEL=info] node .cache/bench-build/bench/tools/unary-cpu.js [CALLS]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conn } from '../lib/client.js';
import { startDaemon } from '../lib/procs.js';

const calls = Number(process.argv[2] ?? 4000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-ucpu-'));
const daemon = await startDaemon({ socket: path.join(tmp, 'b.sock'), logFile: path.join(tmp, 'daemon.log'), logLevel: process.env.LOG_LEVEL ?? 'info' });
const conn = new Conn(path.join(tmp, 'b.sock'));
await conn.ready();
const s = await conn.openSession('unary-cpu');
for (let i = 0; i < 200; i++) await s.destroy(await s.createH('pd', {}, 'sim0'));
const loop0 = daemon.cpuUs();
const all0 = daemon.cpuUs(true);
const cl0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < calls / 2; i++) await s.destroy(await s.createH('pd', {}, 'sim0'));
const loop = daemon.cpuUs() - loop0;
const all = daemon.cpuUs(true) - all0;
const cl = process.cpuUsage(cl0);
const wall = (performance.now() - t0) * 1000;
process.stdout.write(`${calls} calls, per call: daemon event loop ${(loop / calls).toFixed(0)} µs, whole daemon ${(all / calls).toFixed(0)} µs, `
  + `client ${((cl.user + cl.system) / calls).toFixed(0)} µs, wall ${(wall / calls).toFixed(0)} µs\n`);
s.end();
conn.close();
await daemon.stop();
fs.rmSync(tmp, { recursive: true, force: true });
