/**
 * A closed loop of one kind of verb through the in-process Broker core over
 * the sim (the bench's CoreDriver), for `node --cpu-prof` or callgrind:
 * prints µs per verb. Summarise a profile with bench/tools/prof-top.mjs.
 *
 * Usage: node [--cpu-prof] .cache/bench-build/bench/tools/core-loop.js [pd|cq|qp|mr|modify|post] [N]
 */
import { CoreDriver } from '../lib/drivers.js';

const kind = process.argv[2] ?? 'pd';
const n = Number(process.argv[3] ?? 100_000);
const d = await CoreDriver.start();
const pd = await d.allocPd();
const cq = await d.createCq();
const qa = await d.createQp(pd, cq);
const qb = await d.createQp(pd, cq);
const mr = await d.regMr(pd, 4096);
for (const to of ['INIT', 'RTR', 'RTS'] as const) {
  await d.modifyQp(qa.h, to, qb.qpn);
  await d.modifyQp(qb.h, to, qa.qpn);
}
const steps: Record<string, () => Promise<unknown>> = {
  pd: async () => d.deallocPd(await d.allocPd()),
  cq: async () => d.destroyCq(await d.createCq()),
  qp: async () => d.destroyQp((await d.createQp(pd, cq)).h),
  mr: async () => d.deregMr((await d.regMr(pd, 4096)).h),
  modify: async () => {
    const q = await d.createQp(pd, cq);
    for (const to of ['INIT', 'RTR', 'RTS', 'RESET'] as const) await d.modifyQp(q.h, to, qb.qpn);
    await d.destroyQp(q.h);
  },
  post: async () => {
    await d.postWrite(qa.h, mr);
    while ((await d.poll(cq)) === 0);
  },
};
const verbsPer: Record<string, number> = { pd: 2, cq: 2, qp: 2, mr: 2, modify: 6, post: 2 };
const step = steps[kind];
if (!step) throw new Error(`unknown kind ${kind}`);
for (let i = 0; i < Math.min(2000, n); i++) await step();
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < n; i++) await step();
const wall = (performance.now() - t0) * 1000;
const c = process.cpuUsage(c0);
const verbs = n * verbsPer[kind]!;
console.log(`${kind}: ${n} rounds, ${(wall / verbs).toFixed(2)} µs wall per verb, ${((c.user + c.system) / verbs).toFixed(2)} µs CPU per verb`);
await d.close();
