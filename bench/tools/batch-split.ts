/**
 * Where a Batch's time goes, in-process: protobuf decode of the request,
 * the Broker's work, and protobuf encode of the reply, without a socket.
 * Usage: [BUFFERED=1 | BUFFERED=async | SONIC=1] [N=200] node .cache/bench-build/bench/tools/batch-split.js [GROUP] [SIZE] [LOGLEVEL]
 */
import fs from 'node:fs';
import pino from 'pino';
import { Broker } from '../../src/core/broker.js';
import { createServer } from '../../src/rpc/server.js';
import { createSimBackend } from '../../src/verbs/sim/index.js';
import { packageDefinition, SESSION_HEADER } from '../../src/wire/proto.js';
import * as grpc from '@grpc/grpc-js';
import { batchSteps, fixture, type Fixture } from '../verbs.js';
import { CoreDriver } from '../lib/drivers.js';
import { nowUs } from '../lib/stats.js';
import { coalescingDestination, fileSink } from '../../src/daemon/logdest.js';

const group = process.argv[2] ?? 'pd';
const size = Number(process.argv[3] ?? 256);
const level = process.argv[4] ?? 'info';
type MD = { requestSerialize(m: unknown): Buffer };
const def = packageDefinition()['rdmabroker.v1.ObjectService'] as unknown as Record<string, MD>;

// BUFFERED: the daemon's destination for a log file (src/daemon/logdest.ts: the per-turn coalescing over the
// synchronous file sink); BUFFERED=async: the coalescing over an asynchronous sonic-boom (the daemon's for a pipe);
// SONIC: asynchronous sonic-boom alone; otherwise synchronous sonic-boom writes of each line.
const sonic = (sync = false): ReturnType<typeof pino.destination> => pino.destination({ dest: '/dev/null', sync });
const dest = process.env.BUFFERED === 'async' ? coalescingDestination(sonic())
  : process.env.BUFFERED ? coalescingDestination(fileSink(fs.openSync('/dev/null', 'w')))
    : process.env.SONIC ? sonic() : pino.destination({ dest: '/dev/null', sync: true });
const log = pino({ level }, dest);
const broker = new Broker({ backend: createSimBackend(), log });
await broker.start();
const server = createServer({ broker, log } as never);
// The handler as registered: reach into the server's handler table.
// Its deserializer and serializer too: the daemon's own (they may differ from the client's in src/wire/proto.ts).
type Handler = { func: grpc.handleUnaryCall<unknown, unknown>; deserialize(b: Buffer): unknown; serialize(m: unknown): Buffer };
const handlers = (server as unknown as { handlers: Map<string, Handler> }).handlers;
const batchHandler = handlers.get('/rdmabroker.v1.ObjectService/Batch');
if (!batchHandler) throw new Error('no Batch handler');
const batch = batchHandler.func;
const batchDef = { requestSerialize: (def.Batch as MD).requestSerialize, requestDeserialize: batchHandler.deserialize, responseSerialize: batchHandler.serialize };
const s = broker.openSession({ name: 'x', tenant: 'default', peer: 'p', leaseMs: 600_000, resumeGraceMs: 0 });
const md = new grpc.Metadata();
md.set(SESSION_HEADER, s.token);

// The same fixture the benchmark builds, made through this broker.
const gid = broker.devices.get('sim0').ports[0]?.gids[0]?.gid ?? '';
const fx = await fixture(new CoreDriver(broker, s, gid));
const str = (q: { h: number; qpn: number }): { h: string; qpn: number } => ({ h: String(q.h), qpn: q.qpn });
const f: Fixture<string> = { pd: String(fx.pd), cq: String(fx.cq), mr: { ...fx.mr, h: String(fx.mr.h) }, a: str(fx.a), b: str(fx.b), m: str(fx.m) };
const steps = batchSteps(group, size, f, gid);
const wire = batchDef.requestSerialize({ steps });
const call = (req: unknown): Promise<unknown> => new Promise((resolve, reject) => {
  batch({ request: req, metadata: md, getPeer: () => 'p', getPath: () => '/x' } as never, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r)));
});
let tDec = 0, tCall = 0, tEnc = 0;
const N = Number(process.env.N ?? 200);
let cpu0 = process.cpuUsage();
for (let i = 0; i < N + 20; i++) {
  if (i === 20) cpu0 = process.cpuUsage();
  const a = nowUs();
  const req = batchDef.requestDeserialize(wire);
  const b = nowUs();
  const rep = await call(req);
  const c = nowUs();
  const bytes = batchDef.responseSerialize(rep);
  const d = nowUs();
  if (i === 0) {
    // The reply as a client reads it (once, untimed): a failed step is a broken benchmark.
    const back = (def.Batch as unknown as { responseDeserialize(b: Buffer): { failed: boolean; error: unknown } }).responseDeserialize(bytes);
    if (back.failed) throw new Error(JSON.stringify(back.error));
  }
  if (i >= 20) {
    tDec += b - a;
    tCall += c - b;
    tEnc += d - c;
  }
}
const cpu = process.cpuUsage(cpu0);
const per = (t: number): string => (t / N / size).toFixed(2);
process.stdout.write(`cpu per verb ${((cpu.user + cpu.system) / N / size).toFixed(2)} µs (system ${(cpu.system / N / size).toFixed(2)}) => ${(1e6 / ((cpu.user + cpu.system) / N / size)).toFixed(0)} verbs/s per core; `);
process.stdout.write(`${group} x${size} log=${level}: per verb µs: decode ${per(tDec)}, handler (rpc+core+sim) ${per(tCall)}, encode ${per(tEnc)}, total ${per(tDec + tCall + tEnc)} => ${(1e6 / ((tDec + tCall + tEnc) / N / size)).toFixed(0)} verbs/s (one core)\n`);
