/**
 * The catalog against the backend interface (`DeviceContext`): the sim
 * in-process in `npm test`, the libibverbs backend on rxe0 in the VM suite.
 */
import {
  SendFlags, type ChannelRef, type CqRef, type MrRef, type MwRef, type ObjectRef, type PdRef, type QpRef,
  type SrqRef, type AhRef, type SendWr,
} from '../../src/verbs/abi.js';
import type { Backend, BackendEvent, DeviceContext } from '../../src/verbs/backend.js';
import { PostError, VerbsError } from '../../src/verbs/errno.js';
import type { Device, Kind, NSendWr } from './interp.js';

type Ref = ObjectRef & { kind: string };

/** A {@link Device} over one open context of `backend`. */
export async function backendDevice(backend: Backend, name?: string): Promise<{ dev: Device<Ref>; close(): Promise<void> }> {
  const devName = name ?? (await backend.listDevices())[0]?.name;
  if (!devName) throw new Error('the backend lists no device');
  const ctx: DeviceContext = await backend.openDevice(devName);
  const asyncEvents: [string, number | null][] = [];
  const completions = new Map<number, number>();
  ctx.setEventHandler((e: BackendEvent) => {
    if (e.kind === 'async') asyncEvents.push([e.type, e.tag]);
    else if (e.kind === 'completion') completions.set(e.cq, (completions.get(e.cq) ?? 0) + 1);
  });
  const port = await ctx.queryPort(1);
  const gids = await ctx.queryGidTable(1);
  const gid = (gids.find((g) => g.index === 0) ?? gids[0])?.gid;
  if (!gid) throw new Error('port 1 has no GID');
  const channels = new Map<number, ChannelRef>();
  const PD_TAG = 1_000_000;

  const dev: Device<Ref> = {
    activeMtu: port.active_mtu,
    gid,
    failure(e) {
      if (e instanceof PostError) return { err: e.errno, bad: e.badIndex };
      if (e instanceof VerbsError) return { err: e.errno };
      return null;
    },
    allocPd: () => ctx.allocPd(PD_TAG),
    async createCq(cqe, channel, tag) {
      const ch = channel ? await ctx.createCompChannel(tag) : null;
      try {
        const cq = await ctx.createCq(cqe, ch, 0, tag);
        if (ch) channels.set(tag, ch);
        return cq;
      } catch (e) {
        if (ch) await ctx.destroyCompChannel(ch);
        throw e;
      }
    },
    async regMr(pd, length, access, tag) {
      const mr = await ctx.regMr(pd as PdRef, { kind: 'alloc', length }, access, tag);
      return { h: mr, info: { addr: mr.addr, lkey: mr.lkey, rkey: mr.rkey, length: mr.length } };
    },
    async writeMem(mr, off, data) {
      (mr as MrRef).memory!.write(off, data);
    },
    async readMem(mr, off, len) {
      return Buffer.from((mr as MrRef).memory!.read(off, len));
    },
    createSrq: (pd, max_wr, max_sge, srq_limit, tag) => ctx.createSrq(pd as PdRef, { max_wr, max_sge, srq_limit }, tag),
    async createQp(pd, o, tag) {
      const qp = await ctx.createQp(pd as PdRef, {
        qp_type: o.type, send_cq: o.scq as CqRef, recv_cq: o.rcq as CqRef, srq: o.srq as SrqRef | null, sq_sig_all: o.sigAll,
        cap: { max_send_wr: o.sw, max_recv_wr: o.rw, max_send_sge: o.ssge, max_recv_sge: o.rsge, max_inline_data: o.inl },
      }, tag);
      return { h: qp, qpn: qp.qp_num };
    },
    createAh: (pd, sgid, tag) => ctx.createAh(pd as PdRef, {
      grh: { dgid: gid, flow_label: 0, sgid_index: sgid, hop_limit: 1, traffic_class: 0 }, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1,
    }, tag),
    async allocMw(pd, type, tag) {
      const mw = await ctx.allocMw(pd as PdRef, type, tag);
      return { h: mw, rkey: mw.rkey };
    },
    modifyQp: (qp, attr, mask) => ctx.modifyQp(qp as QpRef, attr, mask),
    postSend: (qp, wrs) => ctx.postSend(qp as QpRef, wrs.map((w: NSendWr<Ref>): SendWr => ({
      ...w,
      ah: w.ah as AhRef | undefined,
      bind_mw: w.bind_mw ? { ...w.bind_mw, mw: w.bind_mw.mw as MwRef, mr: w.bind_mw.mr as MrRef } : undefined,
    }))),
    postRecv: (qp, wrs) => ctx.postRecv(qp as QpRef, wrs),
    postSrqRecv: (srq, wrs) => ctx.postSrqRecv(srq as SrqRef, wrs),
    pollCq: (cq, max) => ctx.pollCq(cq as CqRef, max),
    async queryQp(qp) {
      const q = await ctx.queryQp(qp as QpRef);
      return { state: q.attr.qp_state, cap: q.init.cap };
    },
    reqNotify: (cq, sol) => ctx.reqNotifyCq(cq as CqRef, sol),
    async resizeCq(cq, cqe) {
      await ctx.resizeCq(cq as CqRef, cqe);
    },
    async cqCap(cq) {
      return (cq as CqRef).cqe;
    },
    modifySrq: (srq, attr, mask) => ctx.modifySrq(srq as SrqRef, attr, mask),
    querySrq: (srq) => ctx.querySrq(srq as SrqRef),
    bindMw1: (qp, mw, b) => ctx.bindMw(qp as QpRef, mw as MwRef, { ...b, send_flags: SendFlags.SIGNALED, mr: b.mr as MrRef }),
    deregMr: (mr) => ctx.deregMr(mr as MrRef),
    async destroy(kind: Kind, h: Ref) {
      switch (kind) {
        case 'qp': return ctx.destroyQp(h as QpRef);
        case 'mw': return ctx.deallocMw(h as MwRef);
        case 'ah': return ctx.destroyAh(h as AhRef);
        case 'srq': return ctx.destroySrq(h as SrqRef);
        case 'mr': return ctx.deregMr(h as MrRef);
        case 'pd': return ctx.deallocPd(h as PdRef);
        case 'cq': {
          await ctx.destroyCq(h as CqRef);
          const ch = channels.get(h.tag);
          channels.delete(h.tag);
          if (ch) await ctx.destroyCompChannel(ch);
        }
      }
    },
    takeAsyncEvents: () => asyncEvents.splice(0),
    takeCompletionEvents(tag) {
      const k = completions.get(tag) ?? 0;
      completions.delete(tag);
      return k;
    },
  };
  return { dev, close: () => ctx.close() };
}
