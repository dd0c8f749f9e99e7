/**
 * The catalog through the broker's gRPC API: one session on a daemon (the sim
 * in-process in `npm test`; rdma-brokerd --device ibverbs on rxe0 in the VM
 * suite). A failed call answers with the device's errno when the broker has
 * one (the `rdma-errno` trailer), else with the gRPC status name: a broker
 * that refuses before the device without the kernel's errno disagrees. A
 * failed post verb's WR index (*bad_wr) comes in the `rdma-wr-index` trailer.
 */
import { RdmaError, type AttrMap, type Client, type RdmaObject, type Session, type SessionEvent } from '../../src/client/index.js';
import type { QpAttr } from '../../src/verbs/abi.js';
import type { Device, Kind, NSendWr, NWc, Sge } from './interp.js';

const MTU_NAMES: Record<number, string> = { 1: 'MTU_256', 2: 'MTU_512', 3: 'MTU_1024', 4: 'MTU_2048', 5: 'MTU_4096' };

function sgl(sg: Sge[]): AttrMap[] {
  return sg.map((s) => ({ addr: s.addr, length: s.length, lkey: s.lkey }));
}

function ahAttr(a: QpAttr['ah_attr']): AttrMap {
  return {
    port_num: a.port_num, dlid: a.dlid, sl: a.sl, src_path_bits: a.src_path_bits, static_rate: a.static_rate,
    ...(a.grh ? { grh: { dgid: a.grh.dgid, flow_label: a.grh.flow_label, sgid_index: a.grh.sgid_index, hop_limit: a.grh.hop_limit, traffic_class: a.grh.traffic_class } } : {}),
  };
}

/** The qp.modify attributes of an ibv_qp_attr + mask (the broker derives the mask from the attributes present). */
function modifyAttrs(a: Partial<QpAttr>, mask: number): AttrMap {
  const m: Record<string, AttrMap[string]> = {};
  const has = (bit: number): boolean => (mask & bit) !== 0;
  if (has(1 << 0) && a.qp_state) m.qp_state = a.qp_state;
  if (has(1 << 1) && a.cur_qp_state) m.cur_qp_state = a.cur_qp_state;
  if (has(1 << 3)) m.qp_access_flags = a.qp_access_flags ?? 0;
  if (has(1 << 4)) m.pkey_index = a.pkey_index ?? 0;
  if (has(1 << 5)) m.port_num = a.port_num ?? 0;
  if (has(1 << 6)) m.qkey = a.qkey ?? 0;
  if (has(1 << 7) && a.ah_attr) m.ah_attr = ahAttr(a.ah_attr);
  if (has(1 << 8)) m.path_mtu = MTU_NAMES[a.path_mtu ?? 0] ?? a.path_mtu ?? 0;
  if (has(1 << 9)) m.timeout = a.timeout ?? 0;
  if (has(1 << 10)) m.retry_cnt = a.retry_cnt ?? 0;
  if (has(1 << 11)) m.rnr_retry = a.rnr_retry ?? 0;
  if (has(1 << 12)) m.rq_psn = a.rq_psn ?? 0;
  if (has(1 << 13)) m.max_rd_atomic = a.max_rd_atomic ?? 0;
  if (has(1 << 15)) m.min_rnr_timer = a.min_rnr_timer ?? 0;
  if (has(1 << 16)) m.sq_psn = a.sq_psn ?? 0;
  if (has(1 << 17)) m.max_dest_rd_atomic = a.max_dest_rd_atomic ?? 0;
  if (has(1 << 20)) m.dest_qp_num = a.dest_qp_num ?? 0;
  return m;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : (v as number) ?? 0;
}

/**
 * A {@link Device} over one session of a broker client, on `device`.
 * `leaseMs`: the session's lease (a slow guest may stall the client's
 * keepalives; 0 is the daemon's default). `resumeGraceMs`: when set, the
 * session outlives a broken stream and is resumed at once (the daemon closes
 * a connection whose HTTP/2 pings go unanswered for 2.5 s, which a loaded
 * emulated guest can stall; the events of the gap are replayed on resume).
 */
export async function grpcDevice(client: Client, device: string, o: { leaseMs?: number; resumeGraceMs?: number } = {}): Promise<{ dev: Device<RdmaObject>; close(): Promise<void> }> {
  const s: Session = await client.openSession({ name: 'differential', leaseMs: o.leaseMs ?? 0, resumeGraceMs: o.resumeGraceMs ?? 0 });
  let closing = false;
  let resuming: Promise<void> | null = null;
  if (o.resumeGraceMs) {
    s.on('close', () => {
      if (closing || resuming) return;
      resuming = s.resume().finally(() => (resuming = null));
    });
  }
  const info = await client.queryDevice(device);
  const gid = info.ports[0]?.gids[0]?.gid;
  if (!gid) throw new Error(`${device}: port 1 has no GID`);
  const port = await s.queryPort(device, 1);
  const mtuName = String(port.active_mtu);
  const activeMtu = Number(Object.entries(MTU_NAMES).find(([, n]) => n === mtuName)?.[0] ?? port.active_mtu);
  const tags = new Map<number, number>();
  const channels = new Map<number, RdmaObject>();
  const asyncEvents: [string, number | null][] = [];
  const completions = new Map<number, number>();
  s.on('event', (e: SessionEvent) => {
    if (e.kind === 'async') asyncEvents.push([e.eventType, e.handle ? tags.get(e.handle) ?? null : null]);
    else if (e.kind === 'completion') {
      const t = tags.get(e.handle);
      if (t !== undefined) completions.set(t, (completions.get(t) ?? 0) + 1);
    }
  });
  const tagged = (o: RdmaObject, tag: number): RdmaObject => {
    tags.set(o.handle, tag);
    return o;
  };

  const dev: Device<RdmaObject> = {
    activeMtu,
    gid,
    failure(e) {
      if (!(e instanceof RdmaError)) return null;
      // The post verbs report the failing WR's index in the rdma-wr-index trailer (-1: none, *bad_wr unset).
      const bad = e.wrIndex >= 0 ? { bad: e.wrIndex } : {};
      if (e.errno) return { err: e.errno, ...bad };
      return { err: e.codeName, ...bad };
    },
    allocPd: () => s.allocPd(device),
    async createCq(cqe, channel, tag) {
      const ch = channel ? await s.create('comp_channel', {}, { device }) : null;
      try {
        const cq = tagged(await s.create('cq', { cqe, ...(ch ? { channel: ch } : {}) }, { device }), tag);
        if (ch) channels.set(cq.handle, ch);
        return cq;
      } catch (e) {
        if (ch) await ch.destroy();
        throw e;
      }
    },
    async regMr(pd, length, access, tag) {
      const mr = tagged(await s.create('mr', { pd, length, access }), tag);
      return { h: mr, info: { addr: mr.big('addr'), lkey: mr.num('lkey'), rkey: mr.num('rkey'), length } };
    },
    writeMem: (mr, off, data) => s.writeMr(mr, off, data),
    readMem: (mr, off, len) => (len ? s.readMr(mr, off, len) : Promise.resolve(Buffer.alloc(0))),
    async createSrq(pd, max_wr, max_sge, srq_limit, tag) {
      return tagged(await s.create('srq', { pd, max_wr, max_sge, srq_limit }), tag);
    },
    async createQp(pd, o, tag) {
      const qp = tagged(await s.create('qp', {
        pd, send_cq: o.scq, recv_cq: o.rcq, qp_type: o.type, sq_sig_all: o.sigAll, ...(o.srq ? { srq: o.srq } : {}),
        cap: { max_send_wr: o.sw, max_recv_wr: o.rw, max_send_sge: o.ssge, max_recv_sge: o.rsge, max_inline_data: o.inl },
      }), tag);
      return { h: qp, qpn: qp.num('qp_num') };
    },
    async createAh(pd, sgid, tag) {
      return tagged(await s.create('ah', { pd, port_num: 1, grh: { dgid: gid, sgid_index: sgid, hop_limit: 1 } }), tag);
    },
    async allocMw(pd, type, tag) {
      const mw = tagged(await s.create('mw', { pd, mw_type: type }), tag);
      return { h: mw, rkey: mw.num('rkey') };
    },
    async modifyQp(qp, attr, mask) {
      await s.modify(qp, modifyAttrs(attr, mask));
    },
    // The recorded work requests as generic attributes: the same invoke the typed postSend makes.
    postSend: async (qp, wrs) => void await s.invoke(qp, 'post_send', { wrs: wrs.map((w: NSendWr<RdmaObject>): AttrMap => {
      const m: Record<string, AttrMap[string]> = { wr_id: w.wr_id, opcode: w.opcode, send_flags: w.send_flags, sg_list: sgl(w.sg_list) };
      if (w.imm_data !== undefined) m.imm_data = w.imm_data;
      if (w.remote_addr !== undefined) m.remote_addr = w.remote_addr;
      if (w.rkey !== undefined) m.rkey = w.rkey;
      if (w.compare_add !== undefined) m.compare_add = w.compare_add;
      if (w.swap !== undefined) m.swap = w.swap;
      if (w.ah !== undefined) m.ah = w.ah;
      if (w.remote_qpn !== undefined) m.remote_qpn = w.remote_qpn;
      if (w.remote_qkey !== undefined) m.remote_qkey = w.remote_qkey;
      if (w.invalidate_rkey !== undefined) m.invalidate_rkey = w.invalidate_rkey;
      if (w.bind_mw) m.bind_mw = { ...w.bind_mw, length: BigInt(w.bind_mw.length) };
      return m;
    }) }),
    postRecv: async (qp, wrs) => void await s.invoke(qp, 'post_recv', { wrs: wrs.map((w) => ({ wr_id: w.wr_id, sg_list: sgl(w.sg_list) })) }),
    async postSrqRecv(srq, wrs) {
      await s.invoke(srq, 'post_recv', { wrs: wrs.map((w) => ({ wr_id: w.wr_id, sg_list: sgl(w.sg_list) })) });
    },
    async pollCq(cq, max) {
      return (await s.pollCq(cq, max)).map((w): NWc => ({
        wr_id: BigInt(w.wr_id as string | number | bigint), status: w.status, opcode: w.opcode, byte_len: w.byte_len, imm_data: num(w.imm_data),
        wc_flags: num(w.wc_flags), qp_num: num(w.qp_num), src_qp: num(w.src_qp),
      }));
    },
    async queryQp(qp) {
      const q = (await s.query(qp)).attrs;
      const cap = (q.cap ?? {}) as Record<string, unknown>;
      return {
        state: q.qp_state as QpAttr['qp_state'],
        cap: { max_send_wr: num(cap.max_send_wr), max_recv_wr: num(cap.max_recv_wr), max_send_sge: num(cap.max_send_sge), max_recv_sge: num(cap.max_recv_sge), max_inline_data: num(cap.max_inline_data) },
      };
    },
    reqNotify: (cq, sol) => s.reqNotifyCq(cq, sol),
    async resizeCq(cq, cqe) {
      const r = await s.invoke(cq, 'resize', { cqe });
      if (r.cqe !== undefined) cq.attrs = { ...cq.attrs, cqe: r.cqe };
    },
    async cqCap(cq) {
      return cq.num('cqe');
    },
    async modifySrq(srq, attr) {
      await s.modify(srq, { ...(attr.max_wr !== undefined ? { max_wr: attr.max_wr } : {}), ...(attr.srq_limit !== undefined ? { srq_limit: attr.srq_limit } : {}) });
    },
    async querySrq(srq) {
      const q = (await s.query(srq)).attrs;
      return { max_wr: num(q.max_wr), srq_limit: num(q.srq_limit) };
    },
    async bindMw1(qp, mw, b) {
      const r = await s.invoke(qp, 'bind_mw', { mw, mr: b.mr, addr: b.addr, length: BigInt(b.length), mw_access_flags: b.mw_access_flags, wr_id: b.wr_id, send_flags: 2 });
      return num(r.rkey);
    },
    async deregMr(mr) {
      await mr.destroy();
    },
    async destroy(kind: Kind, h: RdmaObject) {
      await h.destroy();
      if (kind === 'cq') {
        const ch = channels.get(h.handle);
        channels.delete(h.handle);
        if (ch) await ch.destroy();
      }
    },
    takeAsyncEvents: () => asyncEvents.splice(0),
    takeCompletionEvents(tag) {
      const k = completions.get(tag) ?? 0;
      completions.delete(tag);
      return k;
    },
  };
  return {
    dev,
    async close() {
      closing = true;
      await resuming?.catch(() => undefined);
      await s.close();
    },
  };
}
