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
 * device in call order) are the runner's object locks, each with the access
 * the method's table declares (the target's `lock`, and for the handles
 * inside a WR the `access` and `types` of qp.post_send's `wrs` members):
 * nothing here names a lock or a type of its own.
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
import type { Access, AttrSpec } from './attrs.js';
import { BrokerError, mixedDevices } from './errors.js';
import { tryLock, unlock, type BrokerObject } from './registry.js';
import type { Session } from './sessions.js';
import type { Registry } from './registry.js';
import type { Method, Runner } from './runner.js';
import { MemoryCheckError, checkRecvWrs, checkSendWrs, type MemoryIndex } from './memory-check.js';
import { cq as cqType } from './types/cq.js';
import { qp as qpType } from './types/qp.js';
import { srq as srqType } from './types/srq.js';

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

/** What a method's table declares for a handle attribute: the lock it takes and the object types it accepts. */
interface HandleRule {
  readonly access: Access;
  readonly types: readonly string[];
  /** "qp.post_send: wrs.ah", for errors. */
  readonly where: string;
}

/** The table's rule for the handle attribute at `path` (list and struct members by name); throws when the table has none. */
function handleRule(m: Method, path: readonly string[]): HandleRule {
  let specs: readonly AttrSpec[] | undefined = m.attrs;
  let a: AttrSpec | undefined;
  for (const name of path) {
    a = specs?.find((x) => x.name === name);
    specs = a?.members;
  }
  if (!a || a.kind !== 'handle' || !a.types) throw new Error(`${m.key}: the table has no handle attribute ${path.join('.')}`);
  return { access: a.access ?? 'read', types: a.types, where: `${m.key}: ${path.join('.')}` };
}

/** The lock a lean method takes on its target, from its table; a create-like method ('new') is not one. */
function targetLock(m: Method): Access {
  if (m.access === 'new') throw new Error(`${m.key}: a method that creates its target has no lean entry`);
  return m.access;
}

/** An object the post holds a lock on, besides its target. */
interface Held {
  readonly o: BrokerObject;
  readonly a: Access;
}

export class DataPath {
  private flusher: ((s: Session) => Promise<void>) | null = null;
  /** The methods this path serves, from the type tables (looked up once). */
  private readonly m: Record<PostKind | 'poll' | 'req_notify', Method>;
  /** Per method: the lock its table declares on the target. */
  private readonly lock: Record<PostKind | 'poll' | 'req_notify', Access>;
  /** The handles a send WR may carry, with the locks and types post_send's table declares for them. */
  private readonly rule: { readonly ah: HandleRule; readonly mw: HandleRule; readonly mr: HandleRule };

  constructor(private readonly host: DataPathHost) {
    const r = host.runner;
    this.m = {
      send: r.lean(qpType, 'post_send'),
      recv: r.lean(qpType, 'post_recv'),
      srq_recv: r.lean(srqType, 'post_recv'),
      poll: r.lean(cqType, 'poll'),
      req_notify: r.lean(cqType, 'req_notify'),
    };
    const m = this.m;
    this.lock = { send: targetLock(m.send), recv: targetLock(m.recv), srq_recv: targetLock(m.srq_recv), poll: targetLock(m.poll), req_notify: targetLock(m.req_notify) };
    this.rule = {
      ah: handleRule(m.send, ['wrs', 'ah']),
      mw: handleRule(m.send, ['wrs', 'bind_mw', 'mw']),
      mr: handleRule(m.send, ['wrs', 'bind_mw', 'mr']),
    };
  }

  /** @internal The lock a lean method takes on its target (tests check it is the table's). */
  lockOf(kind: PostKind | 'poll' | 'req_notify'): Access {
    return this.lock[kind];
  }

  /** @internal The lock and types the table declares for a send WR's handle (tests check them). */
  ruleOf(which: 'ah' | 'mw' | 'mr'): { access: Access; types: readonly string[] } {
    return this.rule[which];
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

  /** A WR's own handle (AH, MW, MR): the session's live object of a type its rule accepts (NO_SUCH_HANDLE / WRONG_TYPE otherwise). */
  private owned(s: Session, handle: number, rule: HandleRule, where: string): BrokerObject {
    const o = this.host.registry.lookup(handle, s);
    if (!rule.types.includes(o.type)) throw new BrokerError('WRONG_TYPE', `${where}: handle ${handle} is a ${o.type}, expected ${rule.types.join(' or ')}`);
    return o;
  }

  /**
   * Posts WRs on the session's QP (`send`, `recv`) or SRQ (`srq_recv`) in
   * order, as one ibv_post_send / ibv_post_recv / ibv_post_srq_recv. A bad
   * WR throws and the WRs before it were posted: a PostError from the
   * device carries `badIndex`, a {@link WrError} (a WR naming a foreign or
   * wrong-typed object, a bad field) `wrIndex`. Any other error (the target
   * itself refused) means nothing was posted. A send WR naming no AH and no
   * window reaches the device as the caller built it (no copy): the caller
   * hands it over and must not change it afterwards.
   */
  async post(s: Session, handle: number, kind: 'send', wrs: readonly DecodedSendWr[]): Promise<void>;
  async post(s: Session, handle: number, kind: 'recv' | 'srq_recv', wrs: readonly RecvWr[]): Promise<void>;
  async post(s: Session, handle: number, kind: PostKind, wrs: readonly (DecodedSendWr | RecvWr)[]): Promise<void> {
    const m = this.m[kind];
    const target = this.host.runner.enter(s, handle, m, m.key);
    const lock = this.lock[kind];
    // Locks beyond the target's (a WR's AH, window, MR): only WRs that name them allocate this.
    let held: Held[] | null = null;
    tryLock(target, lock);
    try {
      const mem = this.host.memory.of(s);
      if (kind === 'send') {
        const out: SendWr[] = [];
        let refused: { i: number; e: BrokerError } | null = null;
        for (let i = 0; i < wrs.length; i++) {
          try {
            const w = wrs[i] as DecodedSendWr;
            if (w.ah === undefined && w.bind_mw === undefined) out.push(checkSend(w, i));
            else out.push(this.resolveSend(s, w, target, (held ??= []), i));
          } catch (e) {
            if (!(e instanceof BrokerError)) throw e;
            refused = { i, e };
            break;
          }
        }
        // The memory check of the WRs before a refused one (it names the first bad WR: fewer are posted then).
        try {
          checkSendWrs(mem, target.device, out, m.key);
        } catch (e) {
          if (!(e instanceof MemoryCheckError)) throw e;
          refused = { i: e.wrIndex, e };
        }
        if (refused) {
          // The WRs before the refused one are posted, as the device does before a bad WR.
          if (refused.i > 0) await target.dev.postSend(target.ref as QpRef, out.slice(0, refused.i));
          throw new WrError(refused.i, refused.e);
        }
        await target.dev.postSend(target.ref as QpRef, out);
      } else {
        const rwrs = wrs as RecvWr[];
        try {
          checkRecvWrs(mem, target.device, rwrs, m.key);
        } catch (e) {
          if (!(e instanceof MemoryCheckError)) throw e;
          if (e.wrIndex > 0) await this.postRecvs(target, kind, rwrs.slice(0, e.wrIndex));
          throw new WrError(e.wrIndex, e);
        }
        await this.postRecvs(target, kind, rwrs);
      }
      this.host.runner.finish(s, m);
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      unlock(target, lock);
      if (held) for (const h of held) unlock(h.o, h.a);
    }
  }

  private postRecvs(target: BrokerObject, kind: PostKind, wrs: RecvWr[]): Promise<void> {
    return kind === 'recv' ? target.dev.postRecv(target.ref as QpRef, wrs) : target.dev.postSrqRecv(target.ref as SrqRef, wrs);
  }

  private hold(held: Held[], o: BrokerObject, a: Access): void {
    tryLock(o, a);
    held.push({ o, a });
  }

  /** A WR naming an AH or a window: its handles resolved in the session, each locked as the table declares. */
  private resolveSend(s: Session, w: DecodedSendWr, qp: BrokerObject, held: Held[], i: number): SendWr {
    const where = `qp.post_send: WR ${i}`;
    checkSend(w, i);
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
    const rule = this.rule;
    if (w.ah !== undefined) {
      const ah = this.owned(s, w.ah, rule.ah, `${where}: ah`);
      // As the runner words it for the same WR over gRPC.
      if (ah.device !== qp.device) throw mixedDevices('qp.post_send', { obj: qp }, { obj: ah, attribute: `qp.post_send.wrs[${i}].ah` });
      this.hold(held, ah, rule.ah.access);
      wr.ah = ah.ref as AhRef;
    }
    if (w.bind_mw !== undefined) {
      const b = w.bind_mw;
      const mw = this.owned(s, b.mw, rule.mw, `${where}: bind_mw.mw`);
      const mr = this.owned(s, b.mr, rule.mr, `${where}: bind_mw.mr`);
      if (mw.device !== qp.device) throw mixedDevices('qp.post_send', { obj: qp }, { obj: mw, attribute: `qp.post_send.wrs[${i}].bind_mw.mw` });
      if (mr.device !== qp.device) throw mixedDevices('qp.post_send', { obj: qp }, { obj: mr, attribute: `qp.post_send.wrs[${i}].bind_mw.mr` });
      this.hold(held, mw, rule.mw.access);
      this.hold(held, mr, rule.mr.access);
      wr.bind_mw = { mw: mw.ref as MwRef, mr: mr.ref as MrRef, rkey: b.rkey, addr: b.addr, length: b.length, mw_access_flags: b.mw_access_flags };
    }
    return wr;
  }

  /** ibv_poll_cq on the session's CQ: up to `max` completions. */
  async poll(s: Session, cq: number, max: number): Promise<Wc[]> {
    const m = this.m.poll;
    const lock = this.lock.poll;
    const o = this.host.runner.enter(s, cq, m, m.key);
    tryLock(o, lock);
    try {
      const wcs = await o.dev.pollCq(o.ref as CqRef, max);
      this.host.runner.finish(s, m);
      return wcs;
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      unlock(o, lock);
    }
  }

  /** ibv_req_notify_cq on the session's CQ. */
  async arm(s: Session, cq: number, solicitedOnly = false): Promise<void> {
    const m = this.m.req_notify;
    const lock = this.lock.req_notify;
    const o = this.host.runner.enter(s, cq, m, m.key);
    tryLock(o, lock);
    try {
      await o.dev.reqNotifyCq(o.ref as CqRef, solicitedOnly);
      this.host.runner.finish(s, m);
    } catch (e) {
      this.host.runner.finish(s, m, e);
      throw e;
    } finally {
      unlock(o, lock);
    }
  }

  /** The session's CQ (for a transport that attaches to it): NO_SUCH_HANDLE / WRONG_TYPE otherwise. */
  cq(s: Session, handle: number): BrokerObject {
    this.host.runner.checkSession(s);
    const o = this.host.registry.lookup(handle, s);
    if (o.spec !== this.m.poll.type) throw new BrokerError('WRONG_TYPE', `cq: handle ${handle} is a ${o.type}, expected ${this.m.poll.type.name}`);
    return o;
  }
}

/**
 * A send WR's own fields the core checks whoever decoded it (the opcode and
 * the flags are the backend's enums); the WR itself when it passes: a WR
 * naming no AH and no window goes to the device as the transport built it.
 */
function checkSend(w: DecodedSendWr, i: number): SendWr {
  if (!OPCODES.has(w.opcode)) throw new BrokerError('INVALID_ATTR', `qp.post_send: WR ${i}: unknown opcode ${String(w.opcode)}`);
  if (!Number.isInteger(w.send_flags) || w.send_flags < 0 || w.send_flags > 0x1f) throw new BrokerError('INVALID_ATTR', `qp.post_send: WR ${i}: bad send_flags ${w.send_flags}`);
  return w as SendWr;
}

/** The backend values and errors a data-path transport needs (it sees the device only through the core). */
export { WC_OPCODE_VALUES, WC_STATUS_NAMES, WR_OPCODE_VALUES } from '../verbs/abi.js';
export { PostError, VerbsError } from '../verbs/errno.js';
export type { RecvWr, Sge, Wc, WrOpcode } from '../verbs/abi.js';
