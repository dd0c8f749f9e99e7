/**
 * The standard rich error of gRPC: a `google.rpc.Status` (code, message,
 * details) serialized into the `grpc-status-details-bin` trailer, with one
 * `google.rpc.ErrorInfo` in its details. The messages are the real ones
 * (proto/google/rpc/status.proto, proto/google/rpc/error_details.proto), so
 * every language's gRPC library decodes them (grpc-go's status.FromError,
 * Python's grpc_status.rpc_status.from_call, ...). Shared by the daemon,
 * which encodes, and the client library, which decodes.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from './proto.js';

/** The trailer that carries the serialized google.rpc.Status (binary: the `-bin` suffix). */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';
/** google.protobuf.Any's type URL of an ErrorInfo detail. */
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
/** google.rpc.ErrorInfo's domain for every error the daemon reports. */
export const ERROR_DOMAIN = 'rdma-broker.io';

/**
 * google.rpc.ErrorInfo as data. rdma-brokerd's: `reason` is the broker's
 * stable code (NO_SUCH_HANDLE, INVALID_ATTR, BUSY, ERRNO, ..., INTERNAL),
 * `domain` is {@link ERROR_DOMAIN}, `metadata` holds `errno`, `call`,
 * `attribute` and `wr_index`, each only when the error has one.
 */
export interface ErrorDetail {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** A decoded google.rpc.Status: its code and message, and its ErrorInfo details (others are skipped). */
export interface StatusDetails {
  code: number;
  message: string;
  errorInfos: ErrorDetail[];
}

interface Types {
  status: protobuf.Type;
  errorInfo: protobuf.Type;
}

let types: Types | undefined;

/** The two messages, parsed from the proto files once (google/protobuf/any.proto is bundled with protobufjs). */
function load(): Types {
  if (!types) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
    types = { status: root.lookupType('google.rpc.Status'), errorInfo: root.lookupType('google.rpc.ErrorInfo') };
  }
  return types;
}

/** Serializes a google.rpc.Status whose details are the given ErrorInfos, for {@link STATUS_DETAILS_TRAILER}. */
export function encodeStatusDetails(code: number, message: string, infos: readonly ErrorDetail[]): Buffer {
  const t = load();
  const details = infos.map((i) => ({
    type_url: ERROR_INFO_TYPE_URL,
    value: t.errorInfo.encode(t.errorInfo.fromObject({ reason: i.reason, domain: i.domain, metadata: i.metadata })).finish(),
  }));
  return Buffer.from(t.status.encode(t.status.fromObject({ code, message, details })).finish());
}

/** Bytes a client accepts in the trailer: its own limit, far above what the daemon sends (messages are quoted short). */
const MAX_TRAILER_BYTES = 64 << 10;

/**
 * Decodes {@link STATUS_DETAILS_TRAILER}. Details of other types are skipped;
 * null when the bytes are not a Status (a peer that is not rdma-brokerd).
 */
export function decodeStatusDetails(bin: Uint8Array): StatusDetails | null {
  if (bin.length > MAX_TRAILER_BYTES) return null;
  const t = load();
  try {
    const s = t.status.toObject(t.status.decode(bin), { defaults: true, arrays: true }) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
    const errorInfos: ErrorDetail[] = [];
    for (const d of s.details) {
      if (d.type_url !== ERROR_INFO_TYPE_URL) continue;
      const i = t.errorInfo.toObject(t.errorInfo.decode(d.value), { defaults: true, objects: true }) as ErrorDetail;
      errorInfos.push({ reason: i.reason, domain: i.domain, metadata: { ...i.metadata } });
    }
    return { code: s.code, message: s.message, errorInfos };
  } catch {
    return null;
  }
}
