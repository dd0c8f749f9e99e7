/**
 * The google.rpc.Status codec of grpc-status-details-bin, and the client's
 * reading of it: the details win over the rdma-* trailers, which remain the
 * fallback (a daemon without details), and an ErrorInfo of another domain is
 * not taken for the broker's.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RdmaError } from '../../../src/client/errors.js';
import { decodeStatusDetails, encodeStatusDetails, ERROR_DOMAIN, STATUS_DETAILS_TRAILER } from '../../../src/wire/status-details.js';

const info = { reason: 'ERRNO', domain: ERROR_DOMAIN, metadata: { errno: '22', call: 'ibv_post_send', wr_index: '1', attribute: 'qp.post_send.wrs[1]' } };

function serviceError(md: grpc.Metadata): grpc.ServiceError {
  return Object.assign(new Error('x'), { code: grpc.status.INVALID_ARGUMENT, details: 'bad WR', metadata: md });
}

describe('status details', () => {
  it('round-trips a Status with its ErrorInfo', () => {
    const bin = encodeStatusDetails(3, 'bad WR', [info]);
    expect(decodeStatusDetails(bin)).toEqual({ code: 3, message: 'bad WR', errorInfos: [info] });
  });

  it('answers null for bytes that are not a Status', () => {
    expect(decodeStatusDetails(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toBeNull();
    expect(decodeStatusDetails(Buffer.alloc(1 << 20, 0x0a))).toBeNull();
  });

  it('the client prefers the details to the rdma-* trailers', () => {
    const md = new grpc.Metadata();
    md.set('rdma-error', 'BUSY');
    md.set('rdma-errno', '16');
    md.set(STATUS_DETAILS_TRAILER, encodeStatusDetails(3, 'bad WR', [info]));
    const e = RdmaError.fromServiceError(serviceError(md));
    expect([e.rdmaError, e.errno, e.call, e.wrIndex, e.attribute]).toEqual(['ERRNO', 22, 'ibv_post_send', 1, 'qp.post_send.wrs[1]']);
  });

  it('falls back to the trailers without details, or with details of another domain', () => {
    const md = new grpc.Metadata();
    md.set('rdma-error', 'ERRNO');
    md.set('rdma-errno', '12');
    md.set('rdma-call', 'ibv_create_cq');
    md.set('rdma-wr-index', 'garbage');
    const plain = RdmaError.fromServiceError(serviceError(md));
    expect([plain.rdmaError, plain.errno, plain.call, plain.wrIndex, plain.attribute]).toEqual(['ERRNO', 12, 'ibv_create_cq', -1, '']);
    md.set(STATUS_DETAILS_TRAILER, encodeStatusDetails(3, 'x', [{ ...info, domain: 'example.com' }]));
    expect(RdmaError.fromServiceError(serviceError(md)).errno).toBe(12);
  });
});
