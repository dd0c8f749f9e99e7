/**
 * The standard error details (google.rpc.Status in grpc-status-details-bin,
 * one google.rpc.ErrorInfo inside), read as a client in another language
 * would: a bare grpc-js channel with messages from protobufjs, parsed from the
 * proto files (no code of this repository on the decoding side). The same
 * failure has the same ErrorInfo in a unary call's trailer and in Batch's
 * ErrorInfo; the fd channel's records carry it too. A post whose second WR is
 * bad names WR 1; reg_mr of length 0 is errno 22 (EINVAL: what rxe0's kernel
 * answers ibv_reg_mr of length 0) on both gRPC and the fd channel.
 */
import path from 'node:path';
import pino from 'pino';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RdmaObject, Session } from '../../src/client/index.js';
import { FdChannelServer } from '../../src/fdpass/server.js';
import { connectPacket } from '../../src/sys/packet-socket.js';
import { closeAll } from '../../src/sys/scm.js';
import * as libc from '../../src/sys/libc.js';
import { failure, ROOT, startQpFixture, waitFor, type InProcess } from './helpers.js';

const root = new protobuf.Root();
root.resolvePath = (_o, target) => path.join(ROOT, 'proto', target);
root.loadSync(['rdmabroker/v1/broker.proto', 'google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
const T = (n: string): protobuf.Type => root.lookupType(n);

interface ErrorInfoMsg { reason: string; domain: string; metadata: Record<string, string> }

let rb: InProcess;
let s: Session;
let pd: RdmaObject;
let qp: RdmaObject;
let mr: RdmaObject;
let raw: grpc.Client;
let fdServer: FdChannelServer;
let fdSocket: string;

beforeAll(async () => {
  let cq: RdmaObject;
  ({ rb, s, pd, cq } = await startQpFixture('status', 'status-details'));
  qp = await s.createQp({ pd, send_cq: cq, recv_cq: cq, qp_type: 'RC', cap: { max_send_wr: 4, max_recv_wr: 4, max_send_sge: 1, max_recv_sge: 1 } });
  await qp.modify({ qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: [] });
  mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
  raw = new grpc.Client(`unix:${rb.socket}`, grpc.credentials.createInsecure());
  fdSocket = path.join(path.dirname(rb.socket), 'fd.sock');
  fdServer = new FdChannelServer({ broker: rb.broker, log: pino({ level: 'silent' }) });
  fdServer.listen(fdSocket);
});
afterAll(async () => {
  raw?.close();
  fdServer?.close();
  await s?.close();
  await rb?.stop();
});

/** A unary call as a foreign client makes it: protobufjs messages over a bare channel. */
function call(method: string, reqType: string, replyType: string, req: object): Promise<{ reply: Record<string, unknown> | null; error: grpc.ServiceError | null }> {
  const md = new grpc.Metadata();
  md.set('x-rdma-session', s.token);
  const rq = T(reqType);
  const rp = T(replyType);
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      `/rdmabroker.v1.ObjectService/${method}`,
      (m: object) => Buffer.from(rq.encode(rq.fromObject(m)).finish()),
      (b: Buffer) => rp.toObject(rp.decode(b), { defaults: true, arrays: true, objects: true, longs: String }),
      req, md,
      (error, reply) => resolve({ reply: (reply as Record<string, unknown> | undefined) ?? null, error: error ?? null }),
    );
  });
}

/** The trailer decoded with the real messages: the Status, and its details unpacked from google.protobuf.Any. */
function statusOf(e: grpc.ServiceError): { code: number; message: string; infos: ErrorInfoMsg[] } {
  const bin = e.metadata.get('grpc-status-details-bin')[0];
  expect(Buffer.isBuffer(bin), 'grpc-status-details-bin is a binary trailer').toBe(true);
  const st = T('google.rpc.Status');
  const status = st.toObject(st.decode(bin as Buffer), { defaults: true, arrays: true }) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  const ei = T('google.rpc.ErrorInfo');
  const infos = status.details.map((d) => {
    expect(d.type_url).toBe('type.googleapis.com/google.rpc.ErrorInfo');
    return ei.toObject(ei.decode(d.value), { defaults: true, objects: true }) as ErrorInfoMsg;
  });
  return { code: status.code, message: status.message, infos };
}

const u64 = (v: bigint | number): object => ({ u64: String(v) });
const map = (fields: Record<string, object>): object => ({ map: { fields } });
const list = (items: object[]): object => ({ list: { items } });
const sge = (off: number): object => map({ addr: u64(mr.big('addr') + BigInt(off)), length: u64(16), lkey: u64(mr.num('lkey')) });
/** post_recv's wrs: WR 1 has two SGEs on a QP with max_recv_sge 1, which the device (libibverbs' *bad_wr) refuses. */
const badSecondWr = (): object => ({ wrs: list([map({ wr_id: u64(1), sg_list: list([sge(0)]) }), map({ wr_id: u64(2), sg_list: list([sge(16), sge(32)]) })]) });

describe('google.rpc.Status details', () => {
  let unaryInfo: ErrorInfoMsg;

  it('a unary post whose second WR is bad names WR index 1 in its ErrorInfo, and keeps the rdma-* trailers', async () => {
    const { error } = await call('Invoke', 'rdmabroker.v1.InvokeRequest', 'rdmabroker.v1.InvokeReply', { handle: String(qp.handle), method: 'post_recv', attrs: badSecondWr() });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const st = statusOf(error!);
    expect(st.code).toBe(error!.code);
    expect(st.message).toBe(error!.details);
    expect(st.infos).toHaveLength(1);
    unaryInfo = st.infos[0]!;
    expect(unaryInfo.reason).toBe('ERRNO');
    expect(unaryInfo.domain).toBe('rdma-broker.io');
    expect(unaryInfo.metadata).toEqual({ errno: '22', call: error!.metadata.get('rdma-call')[0], wr_index: '1' });
    expect(error!.metadata.get('rdma-wr-index')).toEqual(['1']);
    expect(error!.metadata.get('rdma-errno')).toEqual(['22']);
    expect(error!.metadata.get('rdma-error')).toEqual(['ERRNO']);
  });

  it("Batch's ErrorInfo carries the same google.rpc.ErrorInfo for the same failure", async () => {
    const { reply, error } = await call('Batch', 'rdmabroker.v1.BatchRequest', 'rdmabroker.v1.BatchReply', {
      steps: [{ query: { handle: String(pd.handle) } }, { invoke: { handle: String(qp.handle), method: 'post_recv', attrs: badSecondWr() } }],
    });
    expect(error).toBeNull();
    expect(reply?.failed).toBe(true);
    expect(reply?.failed_index).toBe(1);
    const e = reply!.error as { wr_index: number; errno: number; details: ErrorInfoMsg };
    expect(e.wr_index).toBe(1);
    expect(e.details).toEqual(unaryInfo);
  });

  it('the client library reads the details: index, errno and the attribute at fault', async () => {
    // The typed helper refuses a string for sg_list at compile time too; the daemon must at run time.
    // @ts-expect-error sg_list is a list
    const post = await failure(s.postRecv(qp, [{ wr_id: 1, sg_list: [{ addr: mr.big('addr'), length: 16, lkey: mr.num('lkey') }] }, { wr_id: 2, sg_list: [] }, { wr_id: 3, sg_list: 'x' }]));
    expect(post.codeName).toBe('INVALID_ARGUMENT');
    expect(post.errno).toBe(22);
    expect(post.attribute).toMatch(/wrs\[2\]\.sg_list$/);
    const zero = await failure(s.regMr(pd, 0, ['LOCAL_WRITE']));
    expect(zero.errno).toBe(22);
    expect(zero.rdmaError).toBe('INVALID_ATTR');
    expect(zero.attribute).toMatch(/length$/);
  });

  it('reg_mr of length 0 reports errno 22 and its attribute in the trailer', async () => {
    const { error } = await call('Create', 'rdmabroker.v1.CreateRequest', 'rdmabroker.v1.ObjectReply', { type: 'mr', attrs: { pd: { handle: String(pd.handle) }, length: u64(0) } });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const [info] = statusOf(error!).infos;
    expect(info?.reason).toBe('INVALID_ATTR');
    expect(info?.metadata.errno).toBe('22');
    expect(info?.metadata.attribute).toMatch(/length$/);
    expect(error!.metadata.get('rdma-errno')).toEqual(['22']);
  });

  it('an fd-channel record carries the same ErrorInfo: reg_mr of length 0 is errno 22', async () => {
    const token = rb.broker.sessions.issueFdToken(rb.broker.sessions.get(s.id)!);
    const fd = libc.memfd_create('status-details', libc.MFD_CLOEXEC | libc.MFD_ALLOW_SEALING);
    expect(libc.ftruncate(fd, 4096)).toBe(0);
    const c = await connectPacket(fdSocket);
    const replies: Record<string, unknown>[] = [];
    c.start({ onMessage: (b, fds) => { closeAll(fds); replies.push(JSON.parse(b.toString()) as Record<string, unknown>); }, onClose: () => {} });
    c.send(Buffer.from(JSON.stringify({ id: 1, op: 'bind', token })));
    c.send(Buffer.from(JSON.stringify({ id: 2, op: 'reg_mr', pd: pd.handle, length: 0 })), [fd]);
    await waitFor(() => replies.length === 2, 3000, 'fd-channel replies');
    c.close();
    libc.close(fd);
    expect(replies[0]?.ok).toBe(true);
    const e = replies[1]?.error as { status: number; errno: number; code: string; details: ErrorInfoMsg };
    expect(e.status).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.errno).toBe(22);
    expect(e.details).toEqual({ reason: 'INVALID_ATTR', domain: 'rdma-broker.io', metadata: { errno: '22', attribute: 'length' } });
  });

});
