/**
 * The data path's lean entry points, for transports that decode work
 * requests themselves (the fast lane, src/lane): post already-decoded WRs on
 * a session's QP or SRQ, poll and arm a session's CQ. They skip the generic
 * invoke path's attribute tables, but not its rules: the session check, the
 * handle lookup (another session's object is NO_SUCH_HANDLE, as a missing
 * one), the object type, the method's table entry, the device state and
 * capability come from the runner's lean entry (Runner.enter in
 * ./runner.ts), the outcome is accounted by it (Runner.finish); the locks
 * (so WRs posted here and through Invoke(post_send) on one QP reach the
 * device in call order) are the runner's object locks.
 *
 * Handles inside a WR (AH, MW, MR) are broker handles; they are resolved
 * against the same session here, never by the caller. Every local address
 * range (SGEs, inline data, a window bind's range) goes through the one
 * ownership check (./memory-check.ts) against the session's own MRs.
 */
import {
  WR_OPCODE_VALUES, type AhRef, type CqRef, type MrRef, type MwRef, type QpRef, type RecvWr, type SendWr,
  type SendWrBind, type SrqRef, type Wc,
} from '../verbs/abi.js';
import type { Access } from './attrs.js';
import { BrokerError } from './errors.js';
import { tryLock, unlock, type BrokerObject } from './registry.js';
import type { Session } from './sessions.js';
import type { Registry } from './registry.js';
import type { Method, Runner } from './runner.js';
import { MemoryCheckError, checkRecvWrs, checkSendWrs, type MemoryIndex } from './memory-check.js';
import { ah as ahType } from './types/ah.js';
import { cq as cqType } from './types/cq.js';
import { mr as mrType } from './types/mr.js';
import { mw as mwType } from './types/mw.js';
import { qp as qpType } from './types/qp.js';
import { srq as srqType } from './types/srq.js';
import type { ObjectTypeSpec } from './types/spec.js';

/** A send WR as a transport decoded it: the backend's SendWr with broker handles of the caller's session in place of refs. */
export type DecodedSendWr = Omit<SendWr, 'ah' | 'bind_mw'> & {
  ah?: number;
  bind_mw?: Omit<SendWrBind, 'mw' | 'mr'> & { mw: number; mr: number };
};

/** WR `wrIndex` was refused by the core (the WRs before it were posted). */
export class WrError extends BrokerError {
  /** The refusal was the memory ownership check's (an address range outside the session's MRs). */
  readonly range: boolean;

  constructor(override readonly wrIndex: number, cause: BrokerError) {
    super(cause.code, cause.message, cause.errno, cause.call);
    this.name = 'WrError';
    this.range = cause instanceof MemoryCheckError;
  }
}

export type PostKind = 'send' | 'recv' | 'srq_recv';

/** What the data path needs of the broker (kept narrow so the hot path reads no more than it needs). */
export interface DataPathHost {
  readonly registry: Registry;
  readonly memory: MemoryIndex;
  readonly runner: Runner;
}

const OPCODES = new Set(Object.keys(WR_OPCODE_VALUES));

export class DataPath {
  private flusher: ((s: Session) => Promise<void>) | null = null;
  /** The methods this path serves, from the type tables (looked up once). */
  private readonly m: Record<PostKind | 'poll' | 'req_notify', Method>;

  constructor(private readonly host: DataPathHost) {
    const r = host.runner;
    this.m = {
      send: r.lean(qpType, 'post_send'),
      recv: r.lean(qpType, 'post_recv'),
      srq_recv: r.lean(srqType, 'post_recv'),
      poll: r.lean(cqType, 'poll'),
      req_notify: r.lean(cqType, 'req_notify'),
    };
  }

  /**
   * Registers the transport that queues WRs of its own (the fast lane):
   * before a post over the generic path, `fn` posts what the session had
   * queued there, so one QP sees WRs in the order the client issued them.
   */
  setFlusher(fn: ((s: Session) => Promise<void>) | null): void {
    this.flusher = fn;
  }

  private sink: ((cq: BrokerObject) => boolean) | null = null;

  /**
   * Registers the transport that drains CQs itself (the fast lane): a
   * completion event of a CQ it claims (returns true for) goes to it alone,
   * not to the session's event stream and fd mirrors.
   */
  setCompletionSink(fn: ((cq: BrokerObject) => boolean) | null): void {
    this.sink = fn;
  }

  /** @internal the broker's completion-event path: true when a transport took the event. */
  claimCompletion(cq: BrokerObject): boolean {
    return this.sink !== null && this.sink(cq);
  }

  /** Posts what the session queued on other transports (see {@link setFlusher}). */
  async flush(s: Session): Promise<void> {
    if (this.flusher) await this.flusher(s);
  }

  /** A WR's own handle (AH, MW, MR): the session's live object of that type (NO_SUCH_HANDLE / WRONG_TYPE otherwise). */
  private owned(s: Session, handle: number, type: ObjectTypeSpec, what: string): BrokerObject {
    const o = this.host.registry.lookup(handle, s);
    if (o.spec !== type) throw new BrokerError('WRONG_TYPE', `${what}: handle ${handle} is a ${o.type}, expected ${type.name}`);
    return o;
  }

  /**
   * Posts WRs on the session's QP (`send`, `recv`) or SRQ (`srq_recv`) in
   * order, as one ibv_post_send / ibv_post_recv / ibv_post_srq_recv. A bad
   * WR throws and the WRs before it were posted: a PostError from the
   * device carries `badIndex`, a {@link WrError} (a WR naming a foreign or
   * wrong-typed object, a bad field) `wrIndex`. Any other error (the target
   * itself refused) means nothing was posted.
   */
  async post(s: Session, handle: number, kind: 'send', wrs: readonly DecodedSendWr[]): Promise<void>;
  async post(s: Session, handle: number, kind: 'recv' | 'srq_recv', wrs: readonly RecvWr[]): Promise<void>;
  async post(s: Session, handle: number, kind: PostKind, wrs: readonly (DecodedSendWr | RecvWr)[]): Promise<void> {
    const m = this.m[kind];
    const target = this.host.runner.enter(s, handle, m, m.key);
    const mem = this.host.memory.of(s);
    const held: { o: BrokerObject; a: Access }[] = [];
    const hold = (o: BrokerObject, a: Access): void => {
      tryLock(o, a);
      held.push({ o, a });
    };
    try {
      hold(target, 'read');
      if (kind === 'send') {
        const out = new Array<SendWr>(wrs.length);
        const one: SendWr[] = [];
        for (let i = 0; i < wrs.length; i++) {
          try {
            const wr = this.resolveSend(s, wrs[i] as DecodedSendWr, target, hold, i);
            one[0] = wr;
            checkSendWrs(mem, target.device, one, `qp.post_send: WR ${i}`);
            out[i] = wr;
          } catch (e) {
            if (!(e instanceof BrokerError)) throw e;
            // The WRs before the refused one are posted, as the device does before a bad WR.
            if (i > 0) await target.dev.postSend(target.ref as QpRef, out.slice(0, i));
            throw new WrError(i, e);
          }
        }
        await target.dev.postSend(target.ref as QpRef, out);
      } else {
        const rwrs = wrs as RecvWr[];
        const one: RecvWr[] = [];
        for (let i = 0; i < rwrs.length; i++) {
          one[0] = rwrs[i]!;
          try {
            checkRecvWrs(mem, target.device, one, `${m.key}: WR ${i}`);
          } catch (e) {
            if (!(e instanceof BrokerError)) throw e;
            if (i > 0) await this.postRecvs(target, kind, rwrs.slice(0, i));
            throw new WrError(i, e);
          }
        }
        await this.postRecvs(target, kind, rwrs);
      }
      this.host.runner.finish(s, m);
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      for (const h of held) unlock(h.o, h.a);
    }
  }

  private postRecvs(target: BrokerObject, kind: PostKind, wrs: RecvWr[]): Promise<void> {
    return kind === 'recv' ? target.dev.postRecv(target.ref as QpRef, wrs) : target.dev.postSrqRecv(target.ref as SrqRef, wrs);
  }

  private resolveSend(s: Session, w: DecodedSendWr, qp: BrokerObject, hold: (o: BrokerObject, a: Access) => void, i: number): SendWr {
    const where = `qp.post_send: WR ${i}`;
    if (!OPCODES.has(w.opcode)) throw new BrokerError('INVALID_ATTR', `${where}: unknown opcode ${String(w.opcode)}`);
    if (!Number.isInteger(w.send_flags) || w.send_flags < 0 || w.send_flags > 0x1f) throw new BrokerError('INVALID_ATTR', `${where}: bad send_flags ${w.send_flags}`);
    const wr: SendWr = { wr_id: w.wr_id, opcode: w.opcode, send_flags: w.send_flags, sg_list: w.sg_list };
    if (w.imm_data !== undefined) wr.imm_data = w.imm_data;
    if (w.remote_addr !== undefined) wr.remote_addr = w.remote_addr;
    if (w.rkey !== undefined) wr.rkey = w.rkey;
    if (w.compare_add !== undefined) wr.compare_add = w.compare_add;
    if (w.swap !== undefined) wr.swap = w.swap;
    if (w.remote_qpn !== undefined) wr.remote_qpn = w.remote_qpn;
    if (w.remote_qkey !== undefined) wr.remote_qkey = w.remote_qkey;
    if (w.invalidate_rkey !== undefined) wr.invalidate_rkey = w.invalidate_rkey;
    if (w.remote_srqn !== undefined) wr.remote_srqn = w.remote_srqn;
    if (w.ah !== undefined) {
      const ah = this.owned(s, w.ah, ahType, `${where}: ah`);
      if (ah.device !== qp.device) throw new BrokerError('INVALID_ATTR', `${where}: the AH is on another device`);
      hold(ah, 'read');
      wr.ah = ah.ref as AhRef;
    }
    if (w.bind_mw !== undefined) {
      const b = w.bind_mw;
      const mw = this.owned(s, b.mw, mwType, `${where}: bind_mw.mw`);
      const mr = this.owned(s, b.mr, mrType, `${where}: bind_mw.mr`);
      if (mw.device !== qp.device || mr.device !== qp.device) throw new BrokerError('INVALID_ATTR', `${where}: bind_mw names objects on another device`);
      hold(mw, 'write');
      hold(mr, 'read');
      wr.bind_mw = { mw: mw.ref as MwRef, mr: mr.ref as MrRef, rkey: b.rkey, addr: b.addr, length: b.length, mw_access_flags: b.mw_access_flags };
    }
    return wr;
  }

  /** ibv_poll_cq on the session's CQ: up to `max` completions. */
  async poll(s: Session, cq: number, max: number): Promise<Wc[]> {
    const m = this.m.poll;
    const o = this.host.runner.enter(s, cq, m, m.key);
    tryLock(o, 'read');
    try {
      const wcs = await o.dev.pollCq(o.ref as CqRef, max);
      this.host.runner.finish(s, m);
      return wcs;
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      unlock(o, 'read');
    }
  }

  /** ibv_req_notify_cq on the session's CQ. */
  async arm(s: Session, cq: number, solicitedOnly = false): Promise<void> {
    const m = this.m.req_notify;
    const o = this.host.runner.enter(s, cq, m, m.key);
    tryLock(o, 'read');
    try {
      await o.dev.reqNotifyCq(o.ref as CqRef, solicitedOnly);
      this.host.runner.finish(s, m);
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      unlock(o, 'read');
    }
  }

  /** The session's CQ (for a transport that attaches to it): NO_SUCH_HANDLE / WRONG_TYPE otherwise. */
  cq(s: Session, handle: number): BrokerObject {
    this.host.runner.checkSession(s);
    return this.owned(s, handle, cqType, 'cq');
  }
}

/** The backend values and errors a data-path transport needs (it sees the device only through the core). */
export { WC_OPCODE_VALUES, WC_STATUS_NAMES, WR_OPCODE_VALUES } from '../verbs/abi.js';
export { PostError, VerbsError } from '../verbs/errno.js';
export type { RecvWr, Sge, Wc, WrOpcode } from '../verbs/abi.js';
