/**
 * The one place that maps errors to gRPC status codes. Core errors carry a
 * stable code, device errors an errno and the verb's name: both go to the
 * client in trailing metadata (rdma-error, rdma-errno, rdma-call) so a client
 * can rebuild the errno. Anything else is a bug: INTERNAL and a log line.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { asBrokerError, type BrokerError, type ErrorCode } from '../core/errors.js';
import { Errno } from '../verbs/backend.js';
import { ERROR_TRAILERS } from '../wire/proto.js';

const S = grpc.status;

const BY_CODE: Record<Exclude<ErrorCode, 'ERRNO'>, grpc.status> = {
  NO_SUCH_HANDLE: S.NOT_FOUND,
  NO_SUCH_DEVICE: S.NOT_FOUND,
  UNKNOWN_TYPE: S.INVALID_ARGUMENT,
  UNKNOWN_METHOD: S.INVALID_ARGUMENT,
  WRONG_TYPE: S.INVALID_ARGUMENT,
  INVALID_ATTR: S.INVALID_ARGUMENT,
  MISSING_ATTR: S.INVALID_ARGUMENT,
  READ_ONLY: S.FAILED_PRECONDITION,
  QUOTA_EXCEEDED: S.RESOURCE_EXHAUSTED,
  BUSY: S.FAILED_PRECONDITION,
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

const BY_ERRNO = new Map<number, grpc.status>([
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

export function statusOf(e: BrokerError): grpc.status {
  if (e.code === 'ERRNO') return BY_ERRNO.get(e.errno) ?? S.UNKNOWN;
  return BY_CODE[e.code];
}

export interface ServiceErrorLike {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/** Converts anything thrown by a verb into a gRPC error with trailers. */
export function toServiceError(e: unknown, log: Logger, what: string): ServiceErrorLike {
  const metadata = new grpc.Metadata();
  const b = asBrokerError(e);
  if (!b) {
    log.error({ err: e, rpc: what }, 'internal error');
    metadata.set(ERROR_TRAILERS.code, 'INTERNAL');
    return { code: S.INTERNAL, details: `internal error in ${what}`, metadata };
  }
  metadata.set(ERROR_TRAILERS.code, b.code);
  if (b.errno) metadata.set(ERROR_TRAILERS.errno, String(b.errno));
  if (b.call) metadata.set(ERROR_TRAILERS.call, b.call);
  return { code: statusOf(b), details: b.message, metadata };
}

/** The name of a gRPC status code ("INVALID_ARGUMENT"). */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

/**
 * The error as a plain record, for transports other than gRPC (the fd
 * channel): the same status a gRPC call would get. Null for an unknown error
 * (a bug), which the caller reports as INTERNAL.
 */
export function errorRecord(e: unknown): { status: number; status_name: string; code: string; message: string; errno: number; call: string } | null {
  const b = asBrokerError(e);
  if (!b) return null;
  const st = statusOf(b);
  return { status: st, status_name: statusName(st), code: b.code, message: b.message, errno: b.errno, call: b.call };
}

/** The error as the Batch reply's ErrorInfo. */
export function errorInfo(b: BrokerError): { status: number; code: string; message: string; errno: number; call: string } {
  return { status: statusOf(b), code: b.code, message: b.message, errno: b.errno, call: b.call };
}
