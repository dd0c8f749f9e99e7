/**
 * The broker's own CPU per unary call, in-process and without a socket:
 * protobuf decode of the request, the gRPC handler (session lookup, core,
 * sim, audit log), protobuf encode of the reply. This is what a unary verb
 * adds on top of the transport.
 * Usage: node .cache/bench-build/bench/tools/unary-split.js [LOGLEVEL]
 */
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { Broker } from '../../src/core/broker.js';
import { createServer } from '../../src/rpc/server.js';
import { createSimBackend } from '../../src/verbs/sim/index.js';
import { packageDefinition, SESSION_HEADER } from '../../src/wire/proto.js';
import { toWireMap } from '../../src/wire/values.js';
import { HandleValue } from '../../src/wire/values.js';
import { nowUs } from '../lib/stats.js';
import { modifyAttrs, qpCreateAttrs } from '../lib/drivers.js';

const level = process.argv[2] ?? 'info';
type MD = { requestSerialize(m: unknown): Buffer; responseDeserialize(b: Buffer): unknown };
const def = packageDefinition()['rdmabroker.v1.ObjectService'] as unknown as Record<string, MD>;
const log = pino({ level }, pino.destination({ dest: '/dev/null', sync: true }));
const broker = new Broker({ backend: createSimBackend(), log });
await broker.start();
const server = createServer({ broker, log } as never);
// The handlers as registered, with the daemon's own deserializers and serializers.
type Handler = { func: grpc.handleUnaryCall<unknown, unknown>; deserialize(b: Buffer): unknown; serialize(m: unknown): Buffer };
const handlers = (server as unknown as { handlers: Map<string, Handler> }).handlers;
const s = broker.openSession({ name: 'x', tenant: 'default', peer: 'p', leaseMs: 600_000, resumeGraceMs: 0 });
const md = new grpc.Metadata();
md.set(SESSION_HEADER, s.token);

async function call(method: string, req: unknown): Promise<{ us: number; dec: number; enc: number; rep: Record<string, unknown> }> {
  const d = def[method] as MD;
  const wire = d.requestSerialize(req);
  const handler = handlers.get(`/rdmabroker.v1.ObjectService/${method}`);
  if (!handler) throw new Error(method);
  const h = handler.func;
  const t0 = nowUs();
  const r = handler.deserialize(wire);
  const t1 = nowUs();
  const rep = await new Promise<unknown>((resolve, reject) => h({ request: r, metadata: md, getPeer: () => 'p', getPath: () => '/x' } as never, (e: unknown, x: unknown) => (e ? reject(e) : resolve(x))));
  const t2 = nowUs();
  const bytes = handler.serialize(rep);
  const t3 = nowUs();
  // The reply as the client reads it (outside the timed part): the benchmark needs created handles.
  return { us: t3 - t0, dec: t1 - t0, enc: t3 - t2, rep: d.responseDeserialize(bytes) as Record<string, unknown> };
}

const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
const cq = await broker.create(s, { type: 'cq', device: 'sim0', attrs: { cqe: 256 }, userHandle: '0' });
const gid = broker.devices.get('sim0').ports[0]?.gids[0]?.gid ?? '';
const N = Number(process.env.N ?? 3000);
const cases: [string, () => Promise<void>][] = [
  ['alloc+dealloc PD', async () => {
    const r = await call('Create', { type: 'pd', device: 'sim0', attrs: {} });
    await call('Destroy', { handle: (r.rep.object as { handle: number }).handle });
  }],
  ['create+destroy QP', async () => {
    const r = await call('Create', { type: 'qp', attrs: toWireMap(qpCreateAttrs(pd.handle, cq.handle)) });
    await call('Destroy', { handle: (r.rep.object as { handle: number }).handle });
  }],
  ['modify QP INIT/RTR/RTS/RESET', async () => {
    const q = await broker.create(s, { type: 'qp', device: '', attrs: qpCreateAttrs(new HandleValue(pd.handle), new HandleValue(cq.handle)), userHandle: '0' });
    for (const to of ['INIT', 'RTR', 'RTS', 'RESET'] as const) await call('Modify', { handle: q.handle, attrs: toWireMap(modifyAttrs(to, 17, gid)) });
    await broker.destroy(s, q.handle);
  }],
];
for (const [name, f] of cases) {
  // Warm: the handler path costs several times its steady state over its first few thousand calls (V8 compiles it).
  for (let i = 0; i < 5000; i++) await f();
  const c0 = process.cpuUsage();
  const t0 = nowUs();
  for (let i = 0; i < N; i++) await f();
  const c = process.cpuUsage(c0);
  const calls = name.startsWith('modify') ? 4 : 2;
  process.stdout.write(`${name} (log ${level}): ${((c.user + c.system) / N / calls).toFixed(1)} µs CPU per call, ${((nowUs() - t0) / N / calls).toFixed(1)} µs wall per call\n`);
}
await broker.shutdown();
