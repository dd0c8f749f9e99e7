/**
 * Errors the core raises. Each has a stable code; exactly one module
 * (src/core/status.ts) maps codes and errnos to status codes, which gRPC and
 * the fd channel both send.
 */
import { Errno, PostError, VerbsError } from '../verbs/errno.js';

export type ErrorCode =
  /** The handle does not exist or belongs to another session (never tells which). */
  | 'NO_SUCH_HANDLE'
  | 'NO_SUCH_DEVICE'
  | 'UNKNOWN_TYPE'
  | 'UNKNOWN_METHOD'
  /** A handle attribute names an object of the wrong type. */
  | 'WRONG_TYPE'
  | 'INVALID_ATTR'
  | 'MISSING_ATTR'
  /** device and port objects cannot be created, modified or destroyed. */
  | 'READ_ONLY'
  | 'QUOTA_EXCEEDED'
  /** The object has children (or another state forbids it): retrying alone will not help. */
  | 'BUSY'
  /** Another verb holds the object right now (a modify or destroy in flight): retrying may work. */
  | 'LOCKED'
  | 'NO_SESSION'
  | 'NO_SUCH_TENANT'
  /** An admin named a session that does not exist. */
  | 'NO_SUCH_SESSION'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'DEVICE_LOST'
  | 'UNSUPPORTED'
  | 'SHUTTING_DOWN'
  /** The listener does not know its caller yet (a pod the kubelet has not named yet); retry shortly. */
  | 'NOT_READY'
  /** A client did not do what it had to within the time the daemon gives (send `open` on Connect). */
  | 'TIMED_OUT'
  /** A request, or the reply it would need, exceeds a fixed limit of the daemon (steps per Batch, reply size). */
  | 'TOO_LARGE'
  /** The device answered with an errno (see `errno`, `call`). */
  | 'ERRNO';

export class BrokerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    // What the broker refuses as invalid before the device carries the errno
    // libibverbs / the kernel gives such a request: EINVAL.
    readonly errno: number = code === 'INVALID_ATTR' || code === 'MISSING_ATTR' ? Errno.EINVAL : 0,
    readonly call: string = '',
    /** A post verb's failing work request: its index in the list (libibverbs' *bad_wr); -1 when none. */
    readonly wrIndex: number = -1,
    /** The request attribute at fault, as a path (`qp.create.cap.max_send_wr`); '' when none. */
    readonly attribute: string = '',
  ) {
    super(message);
    this.name = 'BrokerError';
  }

  /** Wraps a backend error, keeping its errno, call name and failing WR. */
  static fromVerbs(e: VerbsError): BrokerError {
    const wr = e instanceof PostError && e.badIndex >= 0 ? e.badIndex : -1;
    return new BrokerError('ERRNO', e.message, e.errno, e.call, wr);
  }
}

/** How much of a client's string an error message or a log line quotes (see limits.ts). */
export const QUOTE_BYTES = 64;

/**
 * A client's string for an error message or a log line: JSON-quoted, at most
 * {@link QUOTE_BYTES} of it, so a hostile 1 MiB name can neither make a reply
 * too big to send nor fill the log.
 */
export function quote(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  if (s.length <= QUOTE_BYTES) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, QUOTE_BYTES))}... (${Buffer.byteLength(s)} bytes)`;
}

export const err = {
  noHandle: (h: number | string) => new BrokerError('NO_SUCH_HANDLE', `no such object: handle ${h}`),
  noDevice: (d: string) => new BrokerError('NO_SUCH_DEVICE', `no such device: ${quote(d)}`),
  invalid: (msg: string, attribute = '') => new BrokerError('INVALID_ATTR', msg, Errno.EINVAL, '', -1, attribute),
  missing: (path: string) => new BrokerError('MISSING_ATTR', `missing mandatory attribute ${path}`, Errno.EINVAL, '', -1, path),
  // Children present: what the kernel answers with EBUSY, so the errno is EBUSY too.
  busy: (msg: string) => new BrokerError('BUSY', msg, Errno.EBUSY),
  locked: (msg: string) => new BrokerError('LOCKED', msg),
};

/**
 * An object as a mixed-device refusal names it: its type, handle and device,
 * and the attribute path that named it (`qp.create.recv_cq`); none for the
 * verb's target.
 */
export interface Placed {
  readonly obj: { readonly type: string; readonly handle: number; readonly device: string };
  readonly attribute?: string;
}

function placedLabel(where: string, p: Placed): string {
  const a = p.attribute;
  const rel = a === undefined ? 'the target' : a.startsWith(`${where}.`) ? a.slice(where.length + 1) : a;
  return `${p.obj.type} ${p.obj.handle} (${rel})`;
}

/**
 * The one refusal of a verb whose objects are on different devices (a
 * create whose handles are, or whose named device is not its parent's; a
 * method given a handle of another device): INVALID_ATTR naming both
 * objects, or the object and the device the request names, with their
 * devices, e.g. `qp.create: objects on different devices: pd 7 (pd) is on
 * sim0, cq 9 (recv_cq) on sim1`. The attribute is the odd object's.
 */
export function mixedDevices(where: string, first: Placed, other: Placed | string): BrokerError {
  const tail = typeof other === 'string' ? `the request names ${other}` : `${placedLabel(where, other)} on ${other.obj.device}`;
  const attribute = (typeof other === 'string' ? first.attribute : other.attribute) ?? '';
  return err.invalid(`${where}: objects on different devices: ${placedLabel(where, first)} is on ${first.obj.device}, ${tail}`, attribute);
}

/** Normalises anything thrown below the core into a BrokerError (unknown errors are re-thrown). */
export function asBrokerError(e: unknown): BrokerError | null {
  if (e instanceof BrokerError) return e;
  if (e instanceof VerbsError) return BrokerError.fromVerbs(e);
  return null;
}
