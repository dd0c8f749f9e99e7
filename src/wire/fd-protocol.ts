/**
 * The fd channel's wire format, shared by the daemon and the client library.
 * docs/fd-channel.md is the reference for other languages; keep them in step.
 *
 * - Transport: a unix SOCK_SEQPACKET socket. One message = one packet = one
 *   UTF-8 JSON object of at most 64 KiB; the fds that go with it travel in
 *   the same packet as one SCM_RIGHTS control message (at most 8).
 * - The client speaks first; every request gets exactly one reply, in order.
 *   Requests carry an `id` (any JSON number or string) that the reply echoes.
 * - The first request must be `bind` with a one-time token from the session.
 */
import type { ErrorDetail } from './status-details.js';

/** Protocol version (the `bind` reply carries it). */
export const FD_PROTOCOL_VERSION = 1;

/** Ops a client may send. */
export type FdOp = 'bind' | 'get_fd' | 'async_fd' | 'reg_mr' | 'import_device' | 'lane_open' | 'lane_attach_cq' | 'lane_close';

export interface FdRequest {
  id?: number | string;
  op: FdOp;
  [key: string]: unknown;
}

/**
 * A failed request: the status and details the same failure has over gRPC.
 * `details` is the google.rpc.ErrorInfo of the gRPC trailer, as JSON; the
 * flat fields come first and stay.
 */
export interface FdErrorBody {
  /** gRPC status code (3 = INVALID_ARGUMENT, 5 = NOT_FOUND, 12 = UNIMPLEMENTED, 16 = UNAUTHENTICATED, ...). */
  status: number;
  status_name: string;
  /** The broker's stable error code (NO_SUCH_HANDLE, INVALID_ATTR, ERRNO, ...). */
  code: string;
  message: string;
  errno: number;
  call: string;
  /** The request attribute at fault ('' when none). */
  attribute: string;
  /** A post verb's failing work request, -1 when none. */
  wr_index: number;
  details: ErrorDetail;
}

export type FdReply =
  | ({ id: number | string | null; ok: true; fds: number } & Record<string, unknown>)
  | { id: number | string | null; ok: false; error: FdErrorBody };

/** What a passed fd is, in `get_fd` / `async_fd` replies. */
export type FdKind = 'completion_events' | 'async_events' | 'memfd' | 'command_fd';

// ------------------------------------------------------------ event records
//
// Event fds are pipes the daemon writes fixed-size little-endian records to.
// The read end is blocking as passed (clients that poll set O_NONBLOCK on
// their copy). Writes of one record are atomic (below PIPE_BUF), so records
// never tear. End of file means the object (or session) is gone.

/**
 * A completion-channel record: one CQ attached to the channel has a
 * completion event (it was armed with req_notify and a completion arrived).
 *   u64 cq_handle      the broker handle of the CQ
 *   u64 cq_user_handle the user_handle given when the CQ was created
 * If the client does not drain the pipe, a CQ's pending record is written
 * once there is room again (one pending record per CQ): none is lost.
 */
export const COMPLETION_RECORD_SIZE = 16;

/**
 * A session async-event record.
 *   u64 handle         the object's broker handle (0: a device/port event)
 *   u64 user_handle
 *   u32 kind           1 async event, 2 device lost, 3 object released by the broker
 *   u32 event_type     enum ibv_event_type value (CQ_ERR = 0 ... WQ_FATAL = 19); 0xffffffff for kind 3
 *   u32 port           port number for port events, else 0
 *   u32 reserved       0
 * If the client does not drain the pipe, the oldest pending records beyond
 * 1024 are dropped (the session stream carries every event too).
 */
export const ASYNC_RECORD_SIZE = 32;

export const ASYNC_KIND = { async: 1, device_lost: 2, object_released: 3 } as const;
export const NO_EVENT_TYPE = 0xffff_ffff;

export interface CompletionRecord {
  cq: number;
  userHandle: bigint;
}

export interface AsyncRecord {
  handle: number;
  userHandle: bigint;
  kind: 'async' | 'device_lost' | 'object_released' | 'unknown';
  /** enum ibv_event_type value, or null. */
  eventType: number | null;
  port: number;
}

export function encodeCompletion(r: CompletionRecord): Buffer {
  const b = Buffer.alloc(COMPLETION_RECORD_SIZE);
  b.writeBigUInt64LE(BigInt(r.cq), 0);
  b.writeBigUInt64LE(BigInt.asUintN(64, r.userHandle), 8);
  return b;
}

export function decodeCompletions(buf: Buffer): CompletionRecord[] {
  const out: CompletionRecord[] = [];
  for (let o = 0; o + COMPLETION_RECORD_SIZE <= buf.length; o += COMPLETION_RECORD_SIZE) {
    out.push({ cq: Number(buf.readBigUInt64LE(o)), userHandle: buf.readBigUInt64LE(o + 8) });
  }
  return out;
}

export function encodeAsync(r: { handle: number; userHandle: bigint; kind: keyof typeof ASYNC_KIND; eventType: number | null; port: number }): Buffer {
  const b = Buffer.alloc(ASYNC_RECORD_SIZE);
  b.writeBigUInt64LE(BigInt(r.handle), 0);
  b.writeBigUInt64LE(BigInt.asUintN(64, r.userHandle), 8);
  b.writeUInt32LE(ASYNC_KIND[r.kind], 16);
  b.writeUInt32LE(r.eventType ?? NO_EVENT_TYPE, 20);
  b.writeUInt32LE(r.port >>> 0, 24);
  return b;
}

export function decodeAsync(buf: Buffer): AsyncRecord[] {
  const names = Object.entries(ASYNC_KIND);
  const out: AsyncRecord[] = [];
  for (let o = 0; o + ASYNC_RECORD_SIZE <= buf.length; o += ASYNC_RECORD_SIZE) {
    const k = buf.readUInt32LE(o + 16);
    const t = buf.readUInt32LE(o + 20);
    out.push({
      handle: Number(buf.readBigUInt64LE(o)),
      userHandle: buf.readBigUInt64LE(o + 8),
      kind: (names.find(([, v]) => v === k)?.[0] as AsyncRecord['kind'] | undefined) ?? 'unknown',
      eventType: t === NO_EVENT_TYPE ? null : t,
      port: buf.readUInt32LE(o + 24),
    });
  }
  return out;
}

/** The default fd-channel socket path for a gRPC socket path. */
export function defaultFdSocket(grpcSocket: string): string {
  return `${grpcSocket}.fd`;
}
