// Preloaded into the daemon by the benchmark (node --expose-gc --require):
// answers heap questions over the IPC channel. Not part of the daemon.
'use strict';
if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (!m || m.cmd !== 'heap') return;
    for (let i = 0; i < 3; i++) global.gc?.();
    const u = process.memoryUsage();
    process.send({ id: m.id, heapUsed: u.heapUsed, rss: u.rss, external: u.external, arrayBuffers: u.arrayBuffers, gc: typeof global.gc === 'function' });
  });
  // The benchmark went away: stop as the daemon stops on SIGTERM.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The IPC channel must not keep a stopping daemon alive.
  process.channel?.unref?.();
}
