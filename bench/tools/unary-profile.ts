/**
 * Profiles the daemon and the bare echo server under the same closed loop of
 * unary calls (alloc PD / dealloc PD vs echo calls of the same sizes), each
 * with --cpu-prof, and prints the profile paths. Summarise them with
 * bench/tools/prof-incl.mjs.
 * Usage: node .cache/bench-build/bench/tools/unary-profile.js [CALLS]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Conn } from '../lib/client.js';
import { EchoClient } from '../lib/echo.js';
import { BUILD, ROOT, startDaemon, sleep } from '../lib/procs.js';
import { SESSION_HEADER } from '../../src/wire/proto.js';

const calls = Number(process.argv[2] ?? 4000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-prof-'));
const out = path.join(ROOT, '.cache/bench', `unary-prof-${Date.now()}`);
fs.mkdirSync(out, { recursive: true });

const daemon = await startDaemon({ socket: path.join(tmp, 'b.sock'), logFile: path.join(out, 'daemon.log'), cpuProfDir: path.join(out, 'daemon'), logLevel: process.env.DAEMON_LOG_LEVEL ?? 'info' });
const conn = new Conn(path.join(tmp, 'b.sock'));
await conn.ready();
const s = await conn.openSession('prof');
let t0 = performance.now();
let c0 = daemon.cpuUs();
for (let i = 0; i < calls / 2; i++) await s.destroy(await s.createH('pd', {}, 'sim0'));
const dUs = daemon.cpuUs() - c0;
const dWall = (performance.now() - t0) * 1000;
s.end();
conn.close();
await daemon.stop();

const esock = path.join(tmp, 'e.sock');
const ep = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${path.join(out, 'echo')}`, path.join(BUILD, 'bench/echo-server.js'), esock], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
while (!fs.existsSync(esock)) await sleep(20);
const echo = new EchoClient(esock, { key: SESSION_HEADER, value: 'x'.repeat(32) });
await echo.ready();
const a = EchoClient.payload(10, 54);
const b = EchoClient.payload(8, 0);
const statOf = (): number => {
  const st = fs.readFileSync(`/proc/${ep.pid}/task/${ep.pid}/stat`, 'utf8');
  const r = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return ((Number(r[11]) + Number(r[12])) * 1e6) / 100;
};
t0 = performance.now();
c0 = statOf();
for (let i = 0; i < calls / 2; i++) {
  await echo.call(a);
  await echo.call(b);
}
const eUs = statOf() - c0;
const eWall = (performance.now() - t0) * 1000;
echo.close();
const gone = new Promise((r) => ep.once('exit', r));
ep.kill('SIGTERM');
await gone;
process.stdout.write(`${calls} calls: daemon event loop ${(dUs / calls).toFixed(0)} µs CPU/call, wall ${(dWall / calls).toFixed(0)} µs/call; `
  + `echo ${(eUs / calls).toFixed(0)} µs CPU/call, wall ${(eWall / calls).toFixed(0)} µs/call\nprofiles: ${out}/daemon, ${out}/echo\n`);
fs.rmSync(tmp, { recursive: true, force: true });
