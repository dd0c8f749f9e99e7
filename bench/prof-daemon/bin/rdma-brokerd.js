#!/usr/bin/env node
// A daemon that profiles itself: runs the rdma-brokerd.js named by
// REAL_DAEMON under V8's sampling profiler and, when it exits, writes
// PROF_DIR/daemon-PID.cpuprofile (default /tmp/prof). Laid out as a checkout
// (bin/rdma-brokerd.js) so batch-ab.js takes this directory as a side:
//   REAL_DAEMON=$PWD/bin/rdma-brokerd.js PROF_DIR=/tmp/p \
//     node .cache/bench-build/bench/tools/batch-ab.js bench/prof-daemon bench/prof-daemon 2 300 pd 256
// The profile also records the event-loop thread's CPU time over the run
// (cpuUs): a sample's time is wall time, and on a loaded machine a thread
// that is preempted mid-call has its wait counted for whatever was running;
// prof-cat.mjs scales its figures to this CPU time.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.PROF_DIR ?? '/tmp/prof';
const real = process.env.REAL_DAEMON;
if (!real) {
  console.error('prof-daemon: set REAL_DAEMON to the rdma-brokerd.js to run');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const clk = 100; // USER_HZ: /proc's tick is 1/100 s on Linux
const threadCpuUs = () => {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / clk;
};
const s = new inspector.Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.setSamplingInterval', { interval: 200 });
s.post('Profiler.start');
const cpu0 = threadCpuUs();
process.on('exit', () => {
  const cpuUs = threadCpuUs() - cpu0;
  s.post('Profiler.stop', (err, r) => {
    if (err) return;
    fs.writeFileSync(path.join(dir, `daemon-${process.pid}.cpuprofile`), JSON.stringify({ ...r.profile, cpuUs }));
  });
});
await import(path.resolve(real));
