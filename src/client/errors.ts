/**
 * The one error class the client library throws for a failed call: the gRPC
 * status plus the broker's details, so a caller can tell NOT_FOUND from BUSY,
 * rebuild the device's errno and find the failing WR or attribute. The details
 * come from the google.rpc.ErrorInfo of the `grpc-status-details-bin` trailer
 * (Batch's ErrorInfo.details, the fd channel's `details`) when the daemon sent
 * one, else from the `rdma-*` trailers (`rdma-error`, `rdma-errno`,
 * `rdma-call`, `rdma-wr-index`) of daemons that predate it.
 */
import * as grpc from '@grpc/grpc-js';
import { ERROR_TRAILERS } from '../wire/proto.js';
import { decodeStatusDetails, ERROR_DOMAIN, STATUS_DETAILS_TRAILER, type ErrorDetail } from '../wire/status-details.js';

/** The error fields a google.rpc.ErrorInfo or the rdma-* trailers give. */
interface Fields {
  rdmaError: string;
  errno: number;
  call: string;
  attribute: string;
  wrIndex: number;
}

/** A non-negative decimal integer, or `none` for anything else (absent, garbage, out of range). */
function count(v: string | undefined, none: number): number {
  if (v === undefined || !/^\d{1,10}$/.test(v)) return none;
  const n = Number(v);
  return n <= 0x7fff_ffff ? n : none;
}

/** The fields of an rdma-brokerd ErrorInfo (null for one of another domain). */
export function fieldsOfDetail(d: ErrorDetail | null | undefined): Fields | null {
  if (!d || d.domain !== ERROR_DOMAIN) return null;
  const m = d.metadata ?? {};
  return { rdmaError: d.reason, errno: count(m.errno, 0), call: m.call ?? '', attribute: m.attribute ?? '', wrIndex: count(m.wr_index, -1) };
}

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
  /** The request attribute at fault (`qp.create.cap.max_send_wr`); '' when the daemon named none. */
  readonly attribute: string;
  /** The server's message, without the status prefix. */
  readonly details: string;

  constructor(o: { code: grpc.status; details: string; rdmaError?: string; errno?: number; call?: string; wrIndex?: number; attribute?: string; what?: string }) {
    const where = o.what ? `${o.what}: ` : '';
    super(`${where}${statusName(o.code)}: ${o.details}`);
    this.name = 'RdmaError';
    this.code = o.code;
    this.details = o.details;
    this.rdmaError = o.rdmaError ?? '';
    this.errno = o.errno ?? 0;
    this.call = o.call ?? '';
    this.wrIndex = o.wrIndex ?? -1;
    this.attribute = o.attribute ?? '';
  }

  /** The status code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return statusName(this.code);
  }

  /** The same error as the failure of `what` (the library call), for an error made before the call was known. */
  in(what: string): RdmaError {
    return new RdmaError({ code: this.code, details: this.details, rdmaError: this.rdmaError, errno: this.errno, call: this.call, wrIndex: this.wrIndex, attribute: this.attribute, what });
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
    const bin = md?.get(STATUS_DETAILS_TRAILER)[0];
    const status = Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : null;
    const fields = status?.errorInfos.map(fieldsOfDetail).find((f) => f !== null) ?? {
      rdmaError: get(ERROR_TRAILERS.code),
      errno: count(get(ERROR_TRAILERS.errno), 0),
      call: get(ERROR_TRAILERS.call),
      attribute: '',
      wrIndex: count(get(ERROR_TRAILERS.wrIndex), -1),
    };
    return new RdmaError({ code: se.code, details: se.details ?? se.message ?? '', ...fields, what });
  }
}

/**
 * An argument the library refuses before anything goes on the wire (a handle
 * of 1.5, NaN or -1, an attribute the wire cannot carry): INVALID_ARGUMENT
 * with the code and errno the daemon gives a bad attribute (INVALID_ATTR,
 * EINVAL), `attribute` naming the argument (`handle`, `attrs.wrs[0].length`,
 * `steps[2].query`) and the details saying what is wrong with it.
 */
export function invalidArgument(argument: string, problem: string): RdmaError {
  return new RdmaError({ code: grpc.status.INVALID_ARGUMENT, details: `${argument}: ${problem}`, rdmaError: 'INVALID_ATTR', errno: 22, attribute: argument });
}
