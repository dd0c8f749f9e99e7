/**
 * The one error class the client library throws for a failed call: the gRPC
 * status plus the broker's trailers (`rdma-error`, `rdma-errno`, `rdma-call`),
 * so a caller can tell NOT_FOUND from BUSY and rebuild the device's errno.
 */
import * as grpc from '@grpc/grpc-js';
import { ERROR_TRAILERS } from '../wire/proto.js';

/** gRPC status names by number (grpc.status is a numeric enum). */
const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `STATUS_${code}`;
}

export class RdmaError extends Error {
  /** The gRPC status code (grpc.status). */
  readonly code: grpc.status;
  /** The stable broker code: NO_SUCH_HANDLE, INVALID_ATTR, BUSY, ERRNO, ... ('' when the daemon sent none). */
  readonly rdmaError: string;
  /** The positive errno of a device error, 0 otherwise. */
  readonly errno: number;
  /** The verb that failed on the device ('' unless `errno` is set). */
  readonly call: string;
  /** A post verb's failing work request (its index in the list, as libibverbs' *bad_wr); -1 when none. */
  readonly wrIndex: number;
  /** The server's message, without the status prefix. */
  readonly details: string;

  constructor(o: { code: grpc.status; details: string; rdmaError?: string; errno?: number; call?: string; wrIndex?: number; what?: string }) {
    const where = o.what ? `${o.what}: ` : '';
    super(`${where}${statusName(o.code)}: ${o.details}`);
    this.name = 'RdmaError';
    this.code = o.code;
    this.details = o.details;
    this.rdmaError = o.rdmaError ?? '';
    this.errno = o.errno ?? 0;
    this.call = o.call ?? '';
    this.wrIndex = o.wrIndex ?? -1;
  }

  /** The status code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return statusName(this.code);
  }

  /** Builds the error from a grpc-js ServiceError (status + trailing metadata). */
  static fromServiceError(e: unknown, what?: string): RdmaError {
    if (e instanceof RdmaError) return e;
    const se = e as Partial<grpc.ServiceError>;
    if (typeof se?.code !== 'number') {
      return new RdmaError({ code: grpc.status.UNKNOWN, details: (e as Error)?.message ?? String(e), what });
    }
    const md = se.metadata;
    const get = (k: string): string => {
      const v = md?.get(k)[0];
      return typeof v === 'string' ? v : v ? v.toString() : '';
    };
    const errno = Number(get(ERROR_TRAILERS.errno) || 0);
    const wr = get(ERROR_TRAILERS.wrIndex);
    const wrIndex = wr === '' ? -1 : Number(wr);
    return new RdmaError({
      code: se.code,
      details: se.details ?? se.message ?? '',
      rdmaError: get(ERROR_TRAILERS.code),
      errno: Number.isFinite(errno) ? errno : 0,
      call: get(ERROR_TRAILERS.call),
      wrIndex: Number.isInteger(wrIndex) && wrIndex >= 0 ? wrIndex : -1,
      what,
    });
  }
}
