/**
 * The whole flow through the broker: open a session; create a PD, a source
 * and a target MR, a CQ and two RC QPs; move both QPs RESET -> INIT -> RTR ->
 * RTS connected to each other; RDMA WRITE the source into the target; wait
 * for the completion; check the target's bytes.
 *
 *   npm run example:write -- --socket PATH --bytes N [--device D] [--wait events|poll] [--memory shared|daemon] [--lane grpc|fast] [--hold]
 *
 * On a local daemon (unix socket) the MRs are memfds shared with this
 * process (through the fd channel): the example writes the source bytes and
 * checks the target bytes in its own mapping, and with `--wait events` it
 * sleeps on the completion channel's event fd instead of polling. Over TCP
 * there are no fds: the bytes go through the control path (`--memory
 * daemon`) and `--wait events` waits on the session's event stream.
 *
 * Works on any device the daemon serves: the address comes from the port's
 * LID and GID 0 (a GRH is added on RoCE, where the link layer is Ethernet).
 * With `--lane fast` the post and the completion go through the session's
 * fast lane (docs/fast-lane.md: rings in shared memory, eventfd doorbells)
 * instead of gRPC calls; `--wait poll` then spins on the completion ring.
 * With --hold it prints `holding` once its objects exist and waits to be
 * killed (tests use that to check cleanup after SIGKILL).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { randomFillSync } from 'node:crypto';
import {
  connect, RdmaError, type AttrMap, type Client, type CreateAttrs, type MrAccess, type PortInfo, type RdmaObject, type SendWrAttrs, type Session,
  type SharedMr,
} from '../client/index.js';

const USAGE = `Usage: npm run example:write -- [--socket PATH | --addr HOST:PORT [--token T]] [--bytes N] [--device D]
         [--wait events|poll] [--memory shared|daemon] [--lane grpc|fast] [--hold]
  --socket PATH the daemon's unix socket (default: $RDMA_BROKER_SOCKET, as in a
                Kubernetes pod, else the daemon's default socket)
  --token T     bearer token for TCP (default: $RDMACTL_TOKEN, as rdmactl)
  --bytes N     bytes to write (default 4096)
  --device D    the device (default: the first live device)
  --wait W      events: sleep until the CQ's completion event (default on a unix socket);
                poll: poll the CQ (default over TCP)
  --memory M    shared: MRs over memfds mapped here too (default on a unix socket);
                daemon: daemon memory, bytes through the control path (default over TCP)
  --lane L      grpc: post and poll with gRPC calls (default);
                fast: through the session's fast lane (shared-memory rings; a local daemon)
  --hold        print "holding" after creating the objects, then wait until killed
`;

export interface WriteOptions {
  bytes: number;
  device?: string;
  /** How to wait for the completion (default: events when the session has an fd channel, else poll). */
  wait?: 'events' | 'poll';
  /** Where the MRs' memory lives (default: shared when the session has an fd channel, else daemon). */
  memory?: 'shared' | 'daemon';
  /** Post and poll over gRPC (default) or through the session's fast lane. */
  lane?: 'grpc' | 'fast';
  /** Called once every object exists, before the write. */
  onObjects?: (objects: RdmaObject[]) => Promise<void> | void;
}

/** An ah_attr that reaches `port` of this device (its own LID; GID 0 in a GRH on RoCE). */
function selfAddress(p: PortInfo): AttrMap {
  const ah: Record<string, AttrMap[string]> = { port_num: p.port, dlid: Number(p.attrs.lid ?? 0), sl: 0 };
  const gid0 = p.gids.find((g) => g.index === 0);
  if (p.attrs.link_layer === 'Ethernet') {
    if (!gid0) throw new Error(`port ${p.port} is on Ethernet but has no GID 0`);
    ah.grh = { dgid: gid0.gid, sgid_index: 0, hop_limit: 1 };
  }
  return ah;
}

/** Runs the flow on an open session; returns the number of bytes verified. */
export async function rdmaWrite(client: Client, s: Session, o: WriteOptions): Promise<number> {
  const devices = (await client.devices()).filter((d) => d.state === 'live');
  const device = o.device ?? devices[0]?.name;
  if (!device) throw new Error('the daemon serves no live device');
  const info = await client.queryDevice(device);
  const port = info.ports.find((p) => p.attrs.state === 'ACTIVE') ?? info.ports[0];
  if (!port) throw new Error(`${device} has no ports`);
  const ah = selfAddress(port);
  // The path MTU: the port's active MTU (an enum value, 1..5).
  const pathMtu = Number(port.attrs.active_mtu ?? 3);

  const shared = (o.memory ?? (s.hasFdChannel ? 'shared' : 'daemon')) === 'shared';
  const wait = o.wait ?? (s.hasFdChannel ? 'events' : 'poll');
  const pd = await s.allocPd(device);
  const access: MrAccess = ['LOCAL_WRITE', 'REMOTE_WRITE', 'REMOTE_READ'];
  // Shared: memfds created and mapped here, registered over the same pages.
  const smrs: SharedMr[] = [];
  const mr = async (): Promise<RdmaObject> => {
    if (!shared) return s.regMr(pd, o.bytes, access);
    const m = await s.regSharedMr(pd, o.bytes, access);
    smrs.push(m);
    return m.mr;
  };
  try {
    const src = await mr();
    const dst = await mr();
    // Events: the CQ reports to a completion channel; its pollable fd (or the
    // session stream, without an fd channel) says when the CQ has work.
    // The fast lane moves completions when the CQ's channel fires: it always needs one.
    const channel = wait === 'events' || o.lane === 'fast' ? await s.create('comp_channel', {}, { device }) : null;
    const cq = await s.createCq(device, 16, channel ? { channel } : {});
    const qpAttrs: CreateAttrs<'qp'> = { pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 4, max_recv_wr: 4, max_send_sge: 1, max_recv_sge: 1 } };
    const a = await s.createQp(qpAttrs);
    const b = await s.createQp(qpAttrs);
    await o.onObjects?.([pd, src, dst, ...(channel ? [channel] : []), cq, a, b]);
    return await writeAndCheck(s, { ...o, port: port.port, pathMtu, ah, access, src, dst, smr: smrs, channel, cq, a, b });
  } finally {
    for (const m of smrs) m.close();
  }
}

async function writeAndCheck(
  s: Session,
  o: WriteOptions & {
    port: number; pathMtu: number; ah: AttrMap; access: MrAccess; src: RdmaObject; dst: RdmaObject; smr: SharedMr[];
    channel: RdmaObject | null; cq: RdmaObject; a: RdmaObject; b: RdmaObject;
  },
): Promise<number> {
  const { port, pathMtu, ah, access, src, dst, channel, cq, a, b } = o;
  const [srcMem, dstMem] = o.smr;

  const connectQp = async (qp: RdmaObject, peer: RdmaObject): Promise<void> => {
    await qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: port, qp_access_flags: access });
    await qp.modify({
      qp_state: 'RTR', path_mtu: pathMtu, dest_qp_num: peer.num('qp_num'), rq_psn: 0,
      max_dest_rd_atomic: 1, min_rnr_timer: 12, ah_attr: ah,
    });
    await qp.modify({ qp_state: 'RTS', sq_psn: 0, timeout: 14, retry_cnt: 7, rnr_retry: 7, max_rd_atomic: 1 });
  };
  await connectQp(a, b);
  await connectQp(b, a);

  const data = randomFillSync(Buffer.alloc(o.bytes));
  if (srcMem) srcMem.memory.write(0, data);
  else await s.writeMr(src, 0, data);
  const wr = {
    wr_id: 1, opcode: 'RDMA_WRITE', send_flags: ['SIGNALED'],
    sg_list: [{ addr: src.big('addr'), length: o.bytes, lkey: src.num('lkey') }],
    remote_addr: dst.big('addr'), rkey: dst.num('rkey'),
  } satisfies SendWrAttrs;

  if (o.lane === 'fast') {
    const lane = await s.fastLane({ sqEntries: 8, cqRings: 1, cqEntries: 16 });
    try {
      await lane.attachCq(cq);
      lane.postSend(a, [wr]);
      const [wc] = o.wait === 'poll' ? await spin(() => lane.poll(cq, 1), 30_000) : await lane.waitCompletions(cq, 1, 30_000);
      const errs = lane.errors();
      if (errs.length > 0) throw new Error(`the fast lane refused the write: ${errs[0]!.code} (errno ${errs[0]!.errno})`);
      if (!wc || wc.status !== 'SUCCESS') throw new Error(`RDMA WRITE completed with status ${wc?.status}`);
      if (wc.opcode !== 'RDMA_WRITE') throw new Error(`unexpected completion opcode ${wc.opcode}`);
    } finally {
      await lane.close();
    }
    return checkBytes(s, o, dst, dstMem, data);
  }
  // Arm before posting, so the completion raises an event.
  const events = channel && s.hasFdChannel ? await s.completionEvents(channel) : null;
  const stream = channel && !events ? s.events() : null;
  try {
    if (channel) await s.reqNotifyCq(cq);
    await s.postSend(a, [wr]);
    let wcs;
    if (events) {
      wcs = await s.waitCqEvents(cq, events, 1, 30_000);
    } else if (stream) {
      // No fd channel (TCP): the session stream carries the completion event.
      for await (const e of stream) if (e.kind === 'completion' && e.handle === cq.handle) break;
      wcs = await s.pollCq(cq, 1);
    } else {
      wcs = await s.waitCq(cq, 1, 30_000);
    }
    const [wc] = wcs;
    if (!wc || wc.status !== 'SUCCESS') throw new Error(`RDMA WRITE completed with status ${wc?.status}`);
    if (wc.opcode !== 'RDMA_WRITE') throw new Error(`unexpected completion opcode ${wc.opcode}`);
  } finally {
    events?.close();
    stream?.cancel();
  }
  void b;
  return checkBytes(s, o, dst, dstMem, data);
}

async function checkBytes(s: Session, o: WriteOptions, dst: RdmaObject, dstMem: SharedMr | undefined, data: Buffer): Promise<number> {
  const got = dstMem ? dstMem.memory.read(0, o.bytes) : await s.readMr(dst, 0, o.bytes);
  if (!got.equals(data)) {
    let i = 0;
    while (i < got.length && got[i] === data[i]) i++;
    throw new Error(`target differs from source at byte ${i}`);
  }
  return o.bytes;
}

/** Spins on `poll` until it returns something (yielding to the event loop now and then, so keepalives still go out). */
async function spin<T>(poll: () => T[], timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = 0; i < 10_000; i++) {
      const r = poll();
      if (r.length > 0) return r;
    }
    if (Date.now() > deadline) throw new Error(`no completion after ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

export async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' }, addr: { type: 'string' }, token: { type: 'string' }, bytes: { type: 'string' }, device: { type: 'string' },
        wait: { type: 'string' }, memory: { type: 'string' }, lane: { type: 'string' },
        hold: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`rdma-write: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const bytes = Number(v.bytes ?? 4096);
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 0x7fffffff) {
    process.stderr.write(`rdma-write: --bytes: expected 1..2147483647, got ${v.bytes}\n`);
    return 2;
  }
  if (v.wait !== undefined && v.wait !== 'events' && v.wait !== 'poll') {
    process.stderr.write(`rdma-write: --wait: expected events or poll, got ${v.wait}\n`);
    return 2;
  }
  if (v.memory !== undefined && v.memory !== 'shared' && v.memory !== 'daemon') {
    process.stderr.write(`rdma-write: --memory: expected shared or daemon, got ${v.memory}\n`);
    return 2;
  }
  if (v.lane !== undefined && v.lane !== 'grpc' && v.lane !== 'fast') {
    process.stderr.write(`rdma-write: --lane: expected grpc or fast, got ${v.lane}\n`);
    return 2;
  }
  let client: Client | null = null;
  try {
    const token = v.token ?? (process.env.RDMACTL_TOKEN || undefined);
    client = await connect(v.addr ? { addr: v.addr, token } : { socket: v.socket, token });
    const s = await client.openSession({ name: `rdma-write[${process.pid}]` });
    const n = await rdmaWrite(client, s, {
      bytes,
      device: v.device,
      wait: v.wait as 'events' | 'poll' | undefined,
      memory: v.memory as 'shared' | 'daemon' | undefined,
      lane: v.lane as 'grpc' | 'fast' | undefined,
      onObjects: v.hold
        ? (objs) => {
            process.stdout.write('holding\n');
            // Wait until killed; the session (and its objects) live as long as this process,
            // unless the daemon ends it (evicted, or the daemon stopped): then say so and exit 1.
            return new Promise<void>((_resolve, reject) => {
              const keep = setInterval(() => {}, 1 << 30);
              s.once('close', (err: Error | null) => {
                clearInterval(keep);
                reject(new Error(`the session ended while holding (evicted, or the daemon stopped)${err ? `: ${err.message}` : ''}`));
              });
            });
          }
        : undefined,
    });
    process.stdout.write(`rdma-write ok ${n} bytes\n`);
    await s.close();
    return 0;
  } catch (e) {
    const msg = e instanceof RdmaError ? e.message + (e.errno ? ` (errno ${e.errno} in ${e.call})` : '') : (e as Error).message;
    process.stderr.write(`rdma-write: ${msg}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
