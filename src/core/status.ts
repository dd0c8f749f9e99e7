/**
 * The one place that maps errors to status codes. Core errors carry a stable
 * code, device errors an errno and the verb's name. The codes are the
 * canonical status codes (google.rpc.Code, which gRPC uses with the same
 * numbers): the gRPC layer (src/rpc/status.ts) sends them as gRPC statuses
 * with the rdma-* trailers, the fd channel in its error records, so one
 * failure has one status on every transport.
 */
import { asBrokerError, type BrokerError, type ErrorCode } from './errors.js';
import { Errno } from '../verbs/errno.js';

/** Canonical status codes (google.rpc.Code; gRPC's status numbers). */
export const Status = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const NAMES = new Map<number, string>(Object.entries(Status).map(([k, v]) => [v, k]));

const S = Status;

const BY_CODE: Record<Exclude<ErrorCode, 'ERRNO'>, StatusCode> = {
  NO_SUCH_HANDLE: S.NOT_FOUND,
  NO_SUCH_DEVICE: S.NOT_FOUND,
  UNKNOWN_TYPE: S.INVALID_ARGUMENT,
  UNKNOWN_METHOD: S.INVALID_ARGUMENT,
  WRONG_TYPE: S.INVALID_ARGUMENT,
  INVALID_ATTR: S.INVALID_ARGUMENT,
  MISSING_ATTR: S.INVALID_ARGUMENT,
  READ_ONLY: S.FAILED_PRECONDITION,
  QUOTA_EXCEEDED: S.RESOURCE_EXHAUSTED,
  TOO_LARGE: S.RESOURCE_EXHAUSTED,
  BUSY: S.FAILED_PRECONDITION,
  LOCKED: S.ABORTED,
  NO_SESSION: S.UNAUTHENTICATED,
  NO_SUCH_TENANT: S.NOT_FOUND,
  NO_SUCH_SESSION: S.NOT_FOUND,
  PERMISSION_DENIED: S.PERMISSION_DENIED,
  UNAUTHENTICATED: S.UNAUTHENTICATED,
  DEVICE_LOST: S.UNAVAILABLE,
  UNSUPPORTED: S.UNIMPLEMENTED,
  SHUTTING_DOWN: S.UNAVAILABLE,
  NOT_READY: S.UNAVAILABLE,
  TIMED_OUT: S.DEADLINE_EXCEEDED,
};

const BY_ERRNO = new Map<number, StatusCode>([
  [Errno.EINVAL, S.INVALID_ARGUMENT],
  [Errno.EFAULT, S.INVALID_ARGUMENT],
  [Errno.ENODATA, S.INVALID_ARGUMENT],
  [Errno.ERANGE, S.OUT_OF_RANGE],
  [Errno.ENOMEM, S.RESOURCE_EXHAUSTED],
  [Errno.ENOSPC, S.RESOURCE_EXHAUSTED],
  // Out of fds (the daemon's, or the system's): nothing the caller did wrong, a pool ran dry.
  [Errno.EMFILE, S.RESOURCE_EXHAUSTED],
  [Errno.ENFILE, S.RESOURCE_EXHAUSTED],
  [Errno.EAGAIN, S.UNAVAILABLE],
  [Errno.EBUSY, S.FAILED_PRECONDITION],
  [Errno.EEXIST, S.ALREADY_EXISTS],
  [Errno.ENOENT, S.NOT_FOUND],
  [Errno.EPERM, S.PERMISSION_DENIED],
  [Errno.EACCES, S.PERMISSION_DENIED],
  [Errno.EOPNOTSUPP, S.UNIMPLEMENTED],
  [Errno.ENOSYS, S.UNIMPLEMENTED],
  [Errno.EIO, S.UNAVAILABLE],
  [Errno.ENODEV, S.UNAVAILABLE],
  [Errno.ETIMEDOUT, S.DEADLINE_EXCEEDED],
]);

/** The status of a core or device error. */
export function statusOf(e: BrokerError): StatusCode {
  if (e.code === 'ERRNO') return BY_ERRNO.get(e.errno) ?? S.UNKNOWN;
  return BY_CODE[e.code];
}

/** The name of a status code ("INVALID_ARGUMENT"). */
export function statusName(code: number): string {
  return NAMES.get(code) ?? String(code);
}

/**
 * The error as a plain record, for transports other than gRPC (the fd
 * channel): the same status a gRPC call would get. Null for an unknown error
 * (a bug), which the caller reports as INTERNAL.
 */
export function errorRecord(e: unknown): { status: number; status_name: string; code: string; message: string; errno: number; call: string; wr_index: number } | null {
  const b = asBrokerError(e);
  if (!b) return null;
  const st = statusOf(b);
  return { status: st, status_name: statusName(st), code: b.code, message: b.message, errno: b.errno, call: b.call, wr_index: b.wrIndex };
}

/** The error as the Batch reply's ErrorInfo (wr_index -1: not a post verb's WR). */
export function errorInfo(b: BrokerError): { status: number; code: string; message: string; errno: number; call: string; wr_index: number } {
  return { status: statusOf(b), code: b.code, message: b.message, errno: b.errno, call: b.call, wr_index: b.wrIndex };
}
