/**
 * Errors as gRPC statuses. Which status an error has is decided in one place,
 * src/core/status.ts (shared with the fd channel); here it becomes a gRPC
 * error with trailing metadata: the standard grpc-status-details-bin (a
 * google.rpc.Status holding a google.rpc.ErrorInfo, which any gRPC library
 * decodes) and the rdma-* trailers (rdma-error, rdma-errno, rdma-call, and
 * rdma-wr-index for a post verb's failing WR) that clients read by name.
 * Anything else is a bug: INTERNAL and a log line.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { asBrokerError, BrokerError, quote } from '../core/errors.js';
import { errorReport, internalReport } from '../core/status.js';
import { ERROR_TRAILERS } from '../wire/proto.js';
import { encodeStatusDetails, STATUS_DETAILS_TRAILER } from '../wire/status-details.js';

/**
 * What a request decodes to when its bytes are not a valid message (garbage,
 * or nested past protobufjs' recursion limit). grpc-js answers a throwing
 * deserializer with INTERNAL, as if the daemon were broken; with
 * {@link tolerantService} the handler gets this instead and the call is
 * answered INVALID_ARGUMENT (see {@link undecodable}).
 */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** A service definition whose request deserializers return {@link UndecodableRequest} instead of throwing. */
export function tolerantService<T extends grpc.ServiceDefinition>(def: T): T {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (b: Buffer) => {
        try {
          return decode(b);
        } catch (e) {
          return new UndecodableRequest(e instanceof Error ? e.message : String(e));
        }
      },
    };
  }
  return out as T;
}

/** The client's error for a request that did not decode (null for a decoded one). */
export function undecodable(request: unknown): BrokerError | null {
  if (!(request instanceof UndecodableRequest)) return null;
  return new BrokerError('INVALID_ATTR', `malformed request: not a valid protobuf message of this RPC (${quote(request.reason)})`);
}

export interface ServiceErrorLike {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

/**
 * Converts anything thrown by a verb into a gRPC error with trailers: the
 * rdma-* trailers, and the google.rpc.Status with its ErrorInfo in
 * grpc-status-details-bin, both from the one report of src/core/status.ts.
 */
export function toServiceError(e: unknown, log: Logger, what: string): ServiceErrorLike {
  const b = asBrokerError(e);
  if (!b) log.error({ err: e, rpc: what }, 'internal error');
  const r = b ? errorReport(b) : internalReport(`internal error in ${what}`);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_TRAILERS.code, r.code);
  if (r.errno) metadata.set(ERROR_TRAILERS.errno, String(r.errno));
  if (r.call) metadata.set(ERROR_TRAILERS.call, r.call);
  if (r.wr_index >= 0) metadata.set(ERROR_TRAILERS.wrIndex, String(r.wr_index));
  metadata.set(STATUS_DETAILS_TRAILER, encodeStatusDetails(r.status, r.message, [r.details]));
  return { code: r.status as number as grpc.status, details: r.message, metadata };
}

export { errorInfo, errorRecord, statusName, statusOf } from '../core/status.js';
