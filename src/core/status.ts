/**
 * The one place that maps errors to status codes, and the one encoder of
 * their details. Core errors carry a stable code, device errors an errno and
 * the verb's name. The codes are the canonical status codes (google.rpc.Code,
 * which gRPC uses with the same numbers); the details are a
 * google.rpc.ErrorInfo (src/wire/status-details.ts). The gRPC layer
 * (src/rpc/status.ts) sends them as gRPC statuses with the rdma-* trailers
 * and the grpc-status-details-bin trailer, Batch in its ErrorInfo, the fd
 * channel in its error records: one failure has one status and the same
 * details on every transport.
 */
import { asBrokerError, type BrokerError, type ErrorCode } from './errors.js';
import { Errno } from '../verbs/errno.js';
import type { FdErrorBody } from '../wire/fd-protocol.js';
import { ERROR_DOMAIN, type ErrorDetail } from '../wire/status-details.js';

export { ERROR_DOMAIN, type ErrorDetail };

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
  // The port is down: the same call may work once it is back.
  [Errno.ENETUNREACH, S.UNAVAILABLE],
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
 * One failure as every transport reports it: the status, the flat fields the
 * rdma-* trailers, Batch's ErrorInfo and the fd channel's records have always
 * carried, and the google.rpc.ErrorInfo built from the same fields.
 */
export interface ErrorReport extends FdErrorBody {
  status: StatusCode;
}

function report(status: StatusCode, code: string, message: string, errno: number, call: string, attribute: string, wrIndex: number): ErrorReport {
  const metadata: Record<string, string> = {};
  if (errno) metadata.errno = String(errno);
  if (call) metadata.call = call;
  if (attribute) metadata.attribute = attribute;
  if (wrIndex >= 0) metadata.wr_index = String(wrIndex);
  return {
    status, status_name: statusName(status), code, message, errno, call, attribute, wr_index: wrIndex,
    details: { reason: code, domain: ERROR_DOMAIN, metadata },
  };
}

/**
 * The one encoder of error details: what a core or device error reports on
 * every transport (gRPC statuses and their grpc-status-details-bin trailer,
 * Batch's ErrorInfo, the fd channel's error records).
 */
export function errorReport(e: BrokerError): ErrorReport {
  return report(statusOf(e), e.code, e.message, e.errno, e.call, e.attribute, e.wrIndex);
}

/** The report of an unknown error (a bug): INTERNAL, with nothing of the error itself. */
export function internalReport(message: string): ErrorReport {
  return report(S.INTERNAL, 'INTERNAL', message, 0, '', '', -1);
}

/**
 * The error as the fd channel's error record: the same status and details a
 * gRPC call would get. Null for an unknown error (a bug), which the caller
 * reports with {@link internalReport}.
 */
export function errorRecord(e: unknown): ErrorReport | null {
  const b = asBrokerError(e);
  return b ? errorReport(b) : null;
}

/** The error as the Batch reply's ErrorInfo (wr_index -1: not a post verb's WR). */
export function errorInfo(b: BrokerError): { status: number; code: string; message: string; errno: number; call: string; wr_index: number; details: ErrorDetail } {
  const r = errorReport(b);
  return { status: r.status, code: r.code, message: r.message, errno: r.errno, call: r.call, wr_index: r.wr_index, details: r.details };
}
