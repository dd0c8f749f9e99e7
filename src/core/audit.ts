/**
 * The audit trail: every mutating verb (create, modify, destroy, and the
 * methods that take a write lock: resize, attach/detach multicast) and
 * every attempt on a handle the caller does not own is logged once, with
 * its result, whether it succeeded or not. The runner (./runner.ts) decides
 * what is audited; this module only writes the records. Data-path methods
 * (post, poll, notify, MR reads and writes) and queries of one's own objects
 * are not audited.
 */
import type { Logger } from 'pino';
import { clip } from './limits.js';
import type { Session } from './sessions.js';

export class Audit {
  private readonly main: Logger;
  private readonly extra: Logger | null;
  /** Per session: the audit loggers with its tenant and id bound. */
  private readonly bySession = new WeakMap<Session, { main: Logger; extra: Logger | null }>();

  /** `extra`: a second destination for audit records (the daemon's --audit-log), besides the log. */
  constructor(log: Logger, extra: Logger | undefined) {
    this.main = log.child({ audit: true });
    this.extra = extra ?? null;
  }

  /** One verb's record: what it named and its result ("ok" or an error code). */
  verb(s: Session, verb: string, type: string, handle: number, device: string, result: string, method = ''): void {
    // The session's loggers carry tenant and session pre-serialised (pino
    // child bindings), so a record serialises only the verb's own fields.
    let l = this.bySession.get(s);
    if (!l) {
      const bound = s.labels ? { tenant: s.tenant, session: s.id, labels: s.labels } : { tenant: s.tenant, session: s.id };
      l = { main: this.main.child(bound), extra: this.extra?.child({ audit: true, ...bound }) ?? null };
      this.bySession.set(s, l);
    }
    // type, device and method may be the client's own (unknown) names: logged as bounded prefixes.
    const rec = method
      ? { verb, type: clip(type), method: clip(method), handle, device: device ? clip(device) : undefined, result }
      : { verb, type: clip(type), handle, device: device ? clip(device) : undefined, result };
    l.main.info(rec, 'audit');
    l.extra?.info(rec, 'audit');
  }

  /** Writes one free-form audit record (`"audit": true`) to the log and to the audit log, if any. */
  record(fields: Record<string, unknown>, msg: string): void {
    this.main.info(fields, msg);
    this.extra?.info({ audit: true, ...fields }, msg);
  }
}
