/**
 * The same verbs through three paths, behind one small interface so the
 * measuring loop is identical for each:
 * - grpc: the broker daemon over gRPC (raw generated stubs),
 * - core: the Broker class in-process (dispatcher, registry, accounting; no gRPC),
 * - sim:  the simulated device's backend called directly.
 */
import pino from 'pino';
import { Broker } from '../../src/core/broker.js';
import type { Session } from '../../src/core/sessions.js';
import { createSimBackend } from '../../src/verbs/sim/index.js';
import { QpAttrMask as M, type CqRef, type MrRef, type PdRef, type QpAttr, type QpRef } from '../../src/verbs/abi.js';
import type { Backend, DeviceContext } from '../../src/verbs/backend.js';
import { HandleValue, type PlainMap } from '../../src/wire/values.js';
import { w, type Sess } from './client.js';

export type QpTarget = 'INIT' | 'RTR' | 'RTS' | 'RESET';
export const ACCESS_RW = 1 | 2 | 4; // LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ
export const WRITE_BYTES = 64;

export interface MrInfo<H> {
  h: H;
  addr: bigint;
  lkey: number;
  rkey: number;
}

export interface Driver<H> {
  readonly name: string;
  allocPd(): Promise<H>;
  deallocPd(h: H): Promise<void>;
  regMr(pd: H, length: number): Promise<MrInfo<H>>;
  deregMr(h: H): Promise<void>;
  createCq(): Promise<H>;
  destroyCq(h: H): Promise<void>;
  createQp(pd: H, cq: H): Promise<{ h: H; qpn: number }>;
  destroyQp(h: H): Promise<void>;
  modifyQp(qp: H, to: QpTarget, destQpn: number): Promise<void>;
  /** A signaled 64-byte RDMA WRITE from the start of `mr` to its second half, on `qp`. */
  postWrite(qp: H, mr: MrInfo<H>): Promise<void>;
  /** Polls once; returns the number of completions. */
  poll(cq: H): Promise<number>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ gRPC

export class GrpcDriver implements Driver<string> {
  readonly name = 'grpc';
  constructor(private readonly s: Sess, private readonly gid: string, private readonly device = 'sim0') {}

  allocPd(): Promise<string> {
    return this.s.createH('pd', {}, this.device);
  }
  async deallocPd(h: string): Promise<void> {
    await this.s.destroy(h);
  }
  async regMr(pd: string, length: number): Promise<MrInfo<string>> {
    const r = await this.s.create({ type: 'mr', attrs: w({ pd: new HandleValue(Number(pd)), length, access: ACCESS_RW }) });
    const a = r.object?.attrs ?? {};
    return { h: String(r.object?.handle), addr: BigInt(String(a.addr?.u64 ?? 0)), lkey: Number(a.lkey?.u64 ?? 0), rkey: Number(a.rkey?.u64 ?? 0) };
  }
  async deregMr(h: string): Promise<void> {
    await this.s.destroy(h);
  }
  createCq(): Promise<string> {
    return this.s.createH('cq', { cqe: 256 }, this.device);
  }
  async destroyCq(h: string): Promise<void> {
    await this.s.destroy(h);
  }
  async createQp(pd: string, cq: string): Promise<{ h: string; qpn: number }> {
    const r = await this.s.create({ type: 'qp', attrs: w(qpCreateAttrs(Number(pd), Number(cq))) });
    return { h: String(r.object?.handle), qpn: Number(r.object?.attrs.qp_num?.u64 ?? 0) };
  }
  async destroyQp(h: string): Promise<void> {
    await this.s.destroy(h);
  }
  async modifyQp(qp: string, to: QpTarget, destQpn: number): Promise<void> {
    await this.s.modify(qp, w(modifyAttrs(to, destQpn, this.gid)));
  }
  async postWrite(qp: string, mr: MrInfo<string>): Promise<void> {
    await this.s.invoke(qp, 'post_send', w(writeWr(mr)));
  }
  async poll(cq: string): Promise<number> {
    const r = await this.s.invoke(cq, 'poll', POLL_ATTRS);
    return r.attrs.wcs?.list?.items.length ?? 0;
  }
  async close(): Promise<void> {}
}

const POLL_ATTRS = w({ max: 16 });

export function qpCreateAttrs(pd: number | HandleValue | PlainMap[string], cq: number | PlainMap[string]): PlainMap {
  const ph = typeof pd === 'number' ? new HandleValue(pd) : pd;
  const ch = typeof cq === 'number' ? new HandleValue(cq) : cq;
  return {
    pd: ph, send_cq: ch, recv_cq: ch, qp_type: 'RC',
    cap: { max_send_wr: 64, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 },
  };
}

/** qp.modify attributes for each step of RESET -> INIT -> RTR -> RTS (and back to RESET). */
export function modifyAttrs(to: QpTarget, destQpn: number, gid: string): PlainMap {
  switch (to) {
    case 'RESET':
      return { qp_state: 'RESET' };
    case 'INIT':
      return { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ACCESS_RW };
    case 'RTR':
      return {
        qp_state: 'RTR', path_mtu: 'MTU_1024', dest_qp_num: destQpn, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12,
        ah_attr: { port_num: 1, grh: { dgid: gid, sgid_index: 0, hop_limit: 1 } },
      };
    case 'RTS':
      return { qp_state: 'RTS', timeout: 14, retry_cnt: 7, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 };
  }
}

export function writeWr(mr: { addr: bigint; lkey: number; rkey: number }): PlainMap {
  return {
    wrs: [{
      wr_id: 1, opcode: 'RDMA_WRITE', send_flags: 2,
      sg_list: [{ addr: mr.addr, length: WRITE_BYTES, lkey: mr.lkey }],
      remote_addr: mr.addr + 2048n, rkey: mr.rkey,
    }],
  };
}

// ------------------------------------------------------------ core in-process

export class CoreDriver implements Driver<number> {
  readonly name = 'core';
  constructor(readonly broker: Broker, readonly s: Session, private readonly gid: string) {}

  /** A Broker over `backend` (default: a fresh sim) with one session, in this process. */
  static async start(backend: Backend = createSimBackend(), device = 'sim0'): Promise<CoreDriver> {
    const broker = new Broker({ backend, log: pino({ level: 'warn' }) });
    await broker.start();
    const s = broker.openSession({ name: 'bench', tenant: 'default', peer: 'in-process', leaseMs: 600_000, resumeGraceMs: 0 });
    const gid = broker.devices.get(device).ports[0]?.gids[0]?.gid ?? '';
    const d = new CoreDriver(broker, s, gid);
    d.device = device;
    return d;
  }

  private device = 'sim0';

  private async create(type: string, attrs: PlainMap, device = ''): Promise<import('../../src/core/registry.js').BrokerObject> {
    return this.broker.create(this.s, { type, device, attrs, userHandle: '0' });
  }
  async allocPd(): Promise<number> {
    return (await this.create('pd', {}, this.device)).handle;
  }
  async deallocPd(h: number): Promise<void> {
    await this.broker.destroy(this.s, h);
  }
  async regMr(pd: number, length: number): Promise<MrInfo<number>> {
    const o = await this.create('mr', { pd: new HandleValue(pd), length, access: ACCESS_RW });
    const r = o.ref as MrRef;
    return { h: o.handle, addr: r.addr, lkey: r.lkey, rkey: r.rkey };
  }
  async deregMr(h: number): Promise<void> {
    await this.broker.destroy(this.s, h);
  }
  async createCq(): Promise<number> {
    return (await this.create('cq', { cqe: 256 }, this.device)).handle;
  }
  async destroyCq(h: number): Promise<void> {
    await this.broker.destroy(this.s, h);
  }
  async createQp(pd: number, cq: number): Promise<{ h: number; qpn: number }> {
    const o = await this.create('qp', qpCreateAttrs(pd, cq));
    return { h: o.handle, qpn: (o.ref as QpRef).qp_num };
  }
  async destroyQp(h: number): Promise<void> {
    await this.broker.destroy(this.s, h);
  }
  async modifyQp(qp: number, to: QpTarget, destQpn: number): Promise<void> {
    await this.broker.modify(this.s, qp, modifyAttrs(to, destQpn, this.gid));
  }
  async postWrite(qp: number, mr: MrInfo<number>): Promise<void> {
    await this.broker.invoke(this.s, qp, '', 'post_send', writeWr(mr));
  }
  async poll(cq: number): Promise<number> {
    const r = await this.broker.invoke(this.s, cq, '', 'poll', { max: 16 });
    return (r.wcs as unknown[]).length;
  }
  async close(): Promise<void> {
    await this.broker.shutdown();
  }
}

// ---------------------------------------------------------- sim backend direct

type SimH = PdRef | MrRef | CqRef | QpRef;

/** A verbs backend called directly (the sim, or libibverbs in the VM). */
export class SimDriver implements Driver<SimH> {
  readonly name = 'sim';
  private tag = 1;
  private constructor(readonly backend: Backend, readonly ctx: DeviceContext, private readonly gid: string) {}

  static async start(backend: Backend = createSimBackend(), device = 'sim0'): Promise<SimDriver> {
    const ctx = await backend.openDevice(device);
    const gid = (await ctx.queryGidTable(1))[0]?.gid ?? '';
    return new SimDriver(backend, ctx, gid);
  }

  allocPd(): Promise<SimH> {
    return this.ctx.allocPd(this.tag++);
  }
  deallocPd(h: SimH): Promise<void> {
    return this.ctx.deallocPd(h as PdRef);
  }
  async regMr(pd: SimH, length: number): Promise<MrInfo<SimH>> {
    const r = await this.ctx.regMr(pd as PdRef, { kind: 'alloc', length }, ACCESS_RW, this.tag++);
    return { h: r, addr: r.addr, lkey: r.lkey, rkey: r.rkey };
  }
  deregMr(h: SimH): Promise<void> {
    return this.ctx.deregMr(h as MrRef);
  }
  createCq(): Promise<SimH> {
    return this.ctx.createCq(256, null, 0, this.tag++);
  }
  destroyCq(h: SimH): Promise<void> {
    return this.ctx.destroyCq(h as CqRef);
  }
  async createQp(pd: SimH, cq: SimH): Promise<{ h: SimH; qpn: number }> {
    const q = await this.ctx.createQp(pd as PdRef, {
      qp_type: 'RC', send_cq: cq as CqRef, recv_cq: cq as CqRef, srq: null, sq_sig_all: false,
      cap: { max_send_wr: 64, max_recv_wr: 16, max_send_sge: 1, max_recv_sge: 1, max_inline_data: 0 },
    }, this.tag++);
    return { h: q, qpn: q.qp_num };
  }
  destroyQp(h: SimH): Promise<void> {
    return this.ctx.destroyQp(h as QpRef);
  }
  modifyQp(qp: SimH, to: QpTarget, destQpn: number): Promise<void> {
    const q = qp as QpRef;
    switch (to) {
      case 'RESET':
        return this.ctx.modifyQp(q, { qp_state: 'RESET' }, M.STATE);
      case 'INIT':
        return this.ctx.modifyQp(q, { qp_state: 'INIT', pkey_index: 0, port_num: 1, qp_access_flags: ACCESS_RW }, M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS);
      case 'RTR': {
        const a: Partial<QpAttr> = {
          qp_state: 'RTR', path_mtu: 3, dest_qp_num: destQpn, rq_psn: 0, max_dest_rd_atomic: 1, min_rnr_timer: 12,
          ah_attr: { grh: { dgid: this.gid, flow_label: 0, sgid_index: 0, hop_limit: 1, traffic_class: 0 }, dlid: 0, sl: 0, src_path_bits: 0, static_rate: 0, port_num: 1 },
        };
        return this.ctx.modifyQp(q, a, M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER);
      }
      case 'RTS':
        return this.ctx.modifyQp(q, { qp_state: 'RTS', timeout: 14, retry_cnt: 7, rnr_retry: 7, sq_psn: 0, max_rd_atomic: 1 }, M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC);
    }
  }
  postWrite(qp: SimH, mr: MrInfo<SimH>): Promise<void> {
    return this.ctx.postSend(qp as QpRef, [{
      wr_id: 1n, opcode: 'RDMA_WRITE', send_flags: 2, sg_list: [{ addr: mr.addr, length: WRITE_BYTES, lkey: mr.lkey }],
      remote_addr: mr.addr + 2048n, rkey: mr.rkey,
    }]);
  }
  async poll(cq: SimH): Promise<number> {
    return (await this.ctx.pollCq(cq as CqRef, 16)).length;
  }
  async close(): Promise<void> {
    await this.ctx.close();
  }
}
