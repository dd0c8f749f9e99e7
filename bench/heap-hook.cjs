// Preloaded into the daemon by the benchmark (node --expose-gc --require):
// answers heap questions over the IPC channel. Not part of the daemon.
'use strict';
if (typeof process.send === 'function') {
  let prof = null;
  process.on('message', (m) => {
    // A CPU profile of a window the benchmark chooses (not the daemon's start-up): prof-start, then prof-stop writes it to m.file.
    if (m && m.cmd === 'prof-start') {
      const inspector = require('node:inspector');
      prof = new inspector.Session();
      prof.connect();
      prof.post('Profiler.enable', () => prof.post('Profiler.start', () => process.send({ id: m.id })));
      return;
    }
    if (m && m.cmd === 'prof-stop') {
      if (!prof) return process.send({ id: m.id, error: 'no profile running' });
      prof.post('Profiler.stop', (err, r) => {
        if (!err) require('node:fs').writeFileSync(m.file, JSON.stringify(r.profile));
        prof.disconnect();
        prof = null;
        process.send({ id: m.id, error: err ? String(err) : undefined });
      });
      return;
    }
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
