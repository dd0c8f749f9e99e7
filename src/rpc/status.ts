/**
 * Errors as gRPC statuses. Which status an error has is decided in one place,
 * src/core/status.ts (shared with the fd channel); here it becomes a gRPC
 * error with trailing metadata (rdma-error, rdma-errno, rdma-call) so a
 * client can rebuild the errno. Anything else is a bug: INTERNAL and a log
 * line.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { asBrokerError } from '../core/errors.js';
import { statusOf } from '../core/status.js';
import { ERROR_TRAILERS } from '../wire/proto.js';

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
    return { code: grpc.status.INTERNAL, details: `internal error in ${what}`, metadata };
  }
  metadata.set(ERROR_TRAILERS.code, b.code);
  if (b.errno) metadata.set(ERROR_TRAILERS.errno, String(b.errno));
  if (b.call) metadata.set(ERROR_TRAILERS.call, b.call);
  return { code: statusOf(b) as number as grpc.status, details: b.message, metadata };
}

export { errorInfo, errorRecord, statusName, statusOf } from '../core/status.js';
