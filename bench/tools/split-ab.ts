/**
 * A/B of the in-process Batch handler (batch-split.ts's "handler" part:
 * the rpc layer's Batch, the core, the sim and the log) between two builds
 * of this repo in ONE process, rounds alternating between them, so a loaded
 * machine stretches both alike. Each side logs at info (an audit record per
 * mutating verb) through its own daemon destination for a regular file, to
 * a file of its own. Prints, per group, the median and the minimum over
 * rounds of the process CPU per verb (the round's decode, handler and
 * encode).
 *
 * Usage: node .cache/bench-build/bench/tools/split-ab.js A B [ROUNDS] [CALLS] [GROUPS] [SIZE]
 *   A, B: a checkout whose bench was built (A/.cache/bench-build), or such a build directory itself.
 *   GROUPS: comma-separated keys of bench/verbs.ts BATCH_GROUPS (default pd,cq,qp,modify,write,mr4k)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';

const [aArg, bArg, roundsArg, callsArg, groupsArg, sizeArg] = process.argv.slice(2);
if (!aArg || !bArg) throw new Error('usage: split-ab.js A B [ROUNDS] [CALLS] [GROUPS] [SIZE]');
const rounds = Number(roundsArg ?? 9);
const calls = Number(callsArg ?? 40);
const groups = (groupsArg ?? 'pd,cq,qp,modify,write,mr4k').split(',');
const size = Number(sizeArg ?? 256);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdma-split-ab-'));

type Handler = { func: grpc.handleUnaryCall<unknown, unknown>; deserialize(b: Buffer): unknown; serialize(m: unknown): Buffer };
type MD = { requestSerialize(m: unknown): Buffer };

interface Side {
  name: string;
  /** One Batch of `group`, decoded, handled and encoded. */
  run(group: string): Promise<void>;
}

function root(dir: string): string {
  const b = path.resolve(dir, '.cache/bench-build');
  return fs.existsSync(path.join(b, 'src')) ? b : path.resolve(dir);
}

async function load(dir: string, name: string): Promise<Side> {
  const r = root(dir);
  const imp = async <T>(p: string): Promise<T> => (await import(pathToFileURL(path.join(r, p)).href)) as T;
  const { Broker } = await imp<{ Broker: new (o: unknown) => { start(): Promise<void>; openSession(o: unknown): { token: string }; devices: { get(n: string): { ports: { gids: { gid: string }[] }[] } } } }>('src/core/broker.js');
  const { createServer } = await imp<{ createServer(o: unknown): unknown }>('src/rpc/server.js');
  const { createSimBackend } = await imp<{ createSimBackend(): unknown }>('src/verbs/sim/index.js');
  const { packageDefinition, SESSION_HEADER } = await imp<{ packageDefinition(): Record<string, unknown>; SESSION_HEADER: string }>('src/wire/proto.js');
  const verbs = await imp<{ batchSteps(g: string, n: number, f: unknown, gid: string): unknown[]; fixture(d: unknown): Promise<Record<string, unknown>> }>('bench/verbs.js');
  const { CoreDriver } = await imp<{ CoreDriver: new (b: unknown, s: unknown, gid: string) => unknown }>('bench/lib/drivers.js');
  const logdest = await imp<Record<string, unknown>>('src/daemon/logdest.js');
  // The daemon's destination for a log file: the build's own (logDestination, where it has one), else its
  // per-turn coalescing over a synchronous sonic-boom (main.ts before there was one).
  const fd = fs.openSync(path.join(tmp, `${name}.log`), 'w');
  const dest = typeof logdest.logDestination === 'function'
    ? (logdest.logDestination as (fd: number) => pino.DestinationStream)(fd)
    : (logdest.coalescingDestination as (s: unknown) => pino.DestinationStream)(pino.destination({ dest: fd, sync: true }));
  const log = pino({ level: 'info', base: { pid: process.pid } }, dest);
  const broker = new Broker({ backend: createSimBackend(), log });
  await broker.start();
  const server = createServer({ broker, log });
  const handlers = (server as { handlers: Map<string, Handler> }).handlers;
  const h = handlers.get('/rdmabroker.v1.ObjectService/Batch');
  if (!h) throw new Error(`${dir}: no Batch handler`);
  const def = packageDefinition()['rdmabroker.v1.ObjectService'] as Record<string, MD>;
  const s = broker.openSession({ name: 'x', tenant: 'default', peer: 'p', leaseMs: 600_000, resumeGraceMs: 0 });
  const md = new grpc.Metadata();
  md.set(SESSION_HEADER, s.token);
  const gid = broker.devices.get('sim0').ports[0]?.gids[0]?.gid ?? '';
  const fx = (await verbs.fixture(new CoreDriver(broker, s, gid))) as { pd: number; cq: number; mr: { h: number }; a: Q; b: Q; m: Q };
  type Q = { h: number; qpn: number };
  const str = (q: Q): { h: string; qpn: number } => ({ h: String(q.h), qpn: q.qpn });
  const f = { pd: String(fx.pd), cq: String(fx.cq), mr: { ...fx.mr, h: String(fx.mr.h) }, a: str(fx.a), b: str(fx.b), m: str(fx.m) };
  const wire = new Map<string, Buffer>();
  const call = (req: unknown): Promise<unknown> => new Promise((resolve, reject) => {
    h.func({ request: req, metadata: md, getPeer: () => 'p', getPath: () => '/x' } as never, (e: unknown, rep: unknown) => (e ? reject(e) : resolve(rep)));
  });
  return {
    name,
    async run(group: string): Promise<void> {
      let w = wire.get(group);
      if (!w) wire.set(group, (w = (def.Batch as MD).requestSerialize({ steps: verbs.batchSteps(group, size, f, gid) })));
      const rep = (await call(h.deserialize(w))) as { failed?: boolean; error?: unknown };
      if (rep.failed) throw new Error(`${name} ${group}: ${JSON.stringify(rep.error)}`);
      h.serialize(rep);
    },
  };
}

const sides = [await load(aArg, 'A'), await load(bArg, 'B')];
const cpuPerVerb = async (side: Side, group: string): Promise<number> => {
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await side.run(group);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls / size;
};
const median = (l: number[]): number => [...l].sort((x, y) => x - y)[Math.floor(l.length / 2)]!;
console.log(`CPU µs per verb, Batch ${size}, in-process, ${rounds} rounds of ${calls} calls alternating; A=${aArg} B=${bArg}`);
console.log(`${'group'.padEnd(8)}${'A med'.padStart(8)}${'B med'.padStart(8)}${'B/A'.padStart(7)}${'A min'.padStart(8)}${'B min'.padStart(8)}${'B/A'.padStart(7)}`);
for (const g of groups) {
  // Warm both (V8 compiles the path over the first few thousand verbs).
  for (const side of sides) for (let i = 0; i < 30; i++) await side.run(g);
  const res: Record<string, number[]> = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) res[side.name]!.push(await cpuPerVerb(side, g));
  }
  const [am, bm] = [median(res.A!), median(res.B!)];
  const [an, bn] = [Math.min(...res.A!), Math.min(...res.B!)];
  console.log(`${g.padEnd(8)}${am.toFixed(2).padStart(8)}${bm.toFixed(2).padStart(8)}${(bm / am).toFixed(3).padStart(7)}${an.toFixed(2).padStart(8)}${bn.toFixed(2).padStart(8)}${(bn / an).toFixed(3).padStart(7)}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(0);
