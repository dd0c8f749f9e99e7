/**
 * The TypeScript client of rdma-brokerd.
 *
 * ```ts
 * import { connect } from 'rdma-broker';
 * const client = await connect({ socket: '/run/rdma-broker/broker.sock' });
 * const s = await client.openSession({ name: 'demo' });
 * const pd = await s.allocPd('sim0');
 * const mr = await s.regMr(pd, 4096, ['LOCAL_WRITE']);
 * await s.close();   // the daemon destroys pd and mr
 * client.close();
 * ```
 *
 * Local clients also get fds (docs/fd-channel.md): `s.regSharedMr(pd, n)`
 * registers memory mapped in this process too, `s.completionEvents(channel)`
 * gives a pollable fd of CQ events, `s.waitCqEvents(cq, events)` sleeps on it.
 */
export { connect, Client, AsyncQueue, tlsCredentials, TlsMismatchError } from './client.js';
export type {
  TlsOptions, TenantUsage, WhoAmI, QuotaUpdate,
  ConnectOptions, DeviceSummary, DeviceInfo, PortInfo, Gid, DescribeResult, ObjectRecord, PodRef, ObjectFilter, ObjectChange, SessionInfo,
} from './client.js';
export { Session, RdmaObject, SharedMr } from './session.js';
export { FastLane } from './lane.js';
export type { FastLaneOptions, LaneSendWr, LaneRecvWr, LaneSge, LaneWc, LaneError } from './lane.js';
export { FdChannel, FdChannelError, EventFd, SharedMemory, defaultFdSocket } from './fd-channel.js';
export type { AsyncRecord, CompletionRecord, MappedMr, RegisteredMr, RegMrOptions } from './fd-channel.js';
export type {
  OpenSessionOptions, SessionEvent, Target, CreateOptions, BatchStepInput, BatchStepResult, BatchResult, WorkCompletion,
} from './session.js';
export { RdmaError, statusName } from './errors.js';
export { handle, ref, HandleValue, RefValue, encodeAttrs, decodeAttrs, toPlain } from './values.js';
export type { AttrValue, AttrMap, ObjectLike, Plain, PlainMap } from './values.js';
export type {
  CreateAttrs, ModifyAttrs, MethodAttrs, InputAttrs, InputOf, ObjectTypeName, SendWrAttrs, RecvWrAttrs, SgeAttrs,
} from './attr-types.js';
export type { MrAccess } from './session.js';
export { toJson } from '../wire/values.js';
export { defaultSocket } from '../wire/defaults.js';
export { status } from '@grpc/grpc-js';
