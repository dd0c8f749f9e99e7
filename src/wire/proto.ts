/**
 * Loads the v1 API definition. Shared by the daemon's gRPC layer and the
 * client library; the generated types under `gen/` describe the messages.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './gen/broker.js';
import { CODECS, OBJECT_SERVICE_METHODS } from './codec.js';

/** Loader options: the generated types assume exactly these. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

export const PROTO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');
export const PROTO_FILE = 'rdmabroker/v1/broker.proto';
/** google.rpc.Status, the message of the grpc-status-details-bin trailer (src/wire/status-details.ts). */
export const STATUS_PROTO_FILE = 'google/rpc/status.proto';

let cached: ProtoGrpcType | undefined;
let cachedDefinition: protoLoader.PackageDefinition | undefined;

/** proto-loader's own definition (protobufjs reflection codecs): the reference the wire codec is tested against. */
export function referencePackageDefinition(): protoLoader.PackageDefinition {
  // google.rpc.Status is loaded beside the API so that reflection describes
  // the grpc-status-details-bin trailer's message too (its ErrorInfo comes in
  // through the API's own import).
  return protoLoader.loadSync([PROTO_FILE, STATUS_PROTO_FILE], { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
}

/**
 * The definition the daemon and the client library serve and call: proto-loader's,
 * with ObjectService's (de)serializers replaced by the codec of codec.ts (the
 * same bytes, without protobufjs' message objects, Longs and defaults pass).
 */
export function packageDefinition(): protoLoader.PackageDefinition {
  if (cachedDefinition) return cachedDefinition;
  const def = referencePackageDefinition();
  // For measuring the codec against protobufjs (npm run bench -- --codec reference).
  if (process.env.RDMA_BROKER_WIRE_CODEC === 'reference') return (cachedDefinition = def);
  const svc = def['rdmabroker.v1.ObjectService'] as protoLoader.ServiceDefinition;
  for (const [method, [req, rep]] of Object.entries(OBJECT_SERVICE_METHODS)) {
    const m = svc[method];
    const qc = CODECS[`rdmabroker.v1.${req}`];
    const pc = CODECS[`rdmabroker.v1.${rep}`];
    if (!m || !qc || !pc) throw new Error(`ObjectService.${method}: no codec`);
    svc[method] = {
      ...m,
      requestSerialize: (v: unknown) => qc.encode(v),
      requestDeserialize: (b: Buffer) => qc.decode(b) as object,
      responseSerialize: (v: unknown) => pc.encode(v),
      responseDeserialize: (b: Buffer) => pc.decode(b) as object,
    };
  }
  cachedDefinition = def;
  return def;
}

/** The loaded package: `api().rdmabroker.v1.ObjectService` and friends. */
export function api(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(packageDefinition()) as unknown as ProtoGrpcType;
  return cached;
}

/** Metadata header that carries the session token on every call. */
export const SESSION_HEADER = 'x-rdma-session';
/** Trailing metadata keys on errors. */
export const ERROR_TRAILERS = { code: 'rdma-error', errno: 'rdma-errno', call: 'rdma-call', wrIndex: 'rdma-wr-index' } as const;
