/**
 * Loads the v1 API definition. Shared by the daemon's gRPC layer and the
 * client library; the generated types under `gen/` describe the messages.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './gen/broker.js';

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

export function packageDefinition(): protoLoader.PackageDefinition {
  // google.rpc.Status is loaded beside the API so that reflection describes
  // the grpc-status-details-bin trailer's message too (its ErrorInfo comes in
  // through the API's own import).
  cachedDefinition ??= protoLoader.loadSync([PROTO_FILE, STATUS_PROTO_FILE], { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  return cachedDefinition;
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
