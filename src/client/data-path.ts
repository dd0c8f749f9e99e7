/**
 * The session's data-path helpers over the generic invoke: post, poll (by
 * polling, or sleeping on a completion channel's event fd), arm, and MR
 * reads and writes through the control path in bounded calls.
 */
import * as grpc from '@grpc/grpc-js';
import { RdmaError } from './errors.js';
import type { AttrMap, AttrValue, ObjectLike, PlainMap } from './values.js';
import type { WorkCompletion } from './objects.js';
import type { CompletionRecord, EventFd } from './fd-channel.js';

/** The one verb the helpers go through (Session.invoke). */
export interface Invoker {
  invoke(t: ObjectLike | number, method: string, attrs?: AttrMap): Promise<PlainMap>;
}

/** The daemon reads and writes MR memory in calls of at most 16 MiB. */
const MR_IO_CHUNK = 16 << 20;

export async function postSend(s: Invoker, qp: ObjectLike, wrs: readonly AttrMap[]): Promise<void> {
  await s.invoke(qp, 'post_send', { wrs: wrs as AttrValue });
}

export async function postRecv(s: Invoker, qp: ObjectLike, wrs: readonly AttrMap[]): Promise<void> {
  await s.invoke(qp, 'post_recv', { wrs: wrs as AttrValue });
}

export async function pollCq(s: Invoker, cq: ObjectLike, max: number): Promise<WorkCompletion[]> {
  const r = await s.invoke(cq, 'poll', { max });
  return (r.wcs ?? []) as WorkCompletion[];
}

export async function reqNotifyCq(s: Invoker, cq: ObjectLike, solicitedOnly: boolean): Promise<void> {
  await s.invoke(cq, 'req_notify', { solicited_only: solicitedOnly });
}

/** Polls until `count` completions or `timeoutMs` (then DEADLINE_EXCEEDED); polls back off from 0 to 20 ms. */
export async function waitCq(s: Invoker, cq: ObjectLike, count: number, timeoutMs: number): Promise<WorkCompletion[]> {
  const got: WorkCompletion[] = [];
  const deadline = Date.now() + timeoutMs;
  let delay = 0;
  while (got.length < count) {
    got.push(...(await pollCq(s, cq, count - got.length)));
    if (got.length >= count) break;
    if (Date.now() > deadline) {
      throw new RdmaError({ code: grpc.status.DEADLINE_EXCEEDED, details: `${got.length} of ${count} completions after ${timeoutMs} ms`, what: 'waitCq' });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(20, delay + 1);
  }
  return got;
}

/**
 * Waits for `count` completions sleeping on the channel's event fd: poll; if
 * short, arm, poll again (a completion may have come before the arm), then
 * wait for the CQ's record. Records of other CQs on the channel are consumed.
 */
export async function waitCqEvents(s: Invoker, cq: ObjectLike, events: EventFd<CompletionRecord>, count: number, timeoutMs: number): Promise<WorkCompletion[]> {
  const got: WorkCompletion[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    got.push(...(await pollCq(s, cq, count - got.length)));
    if (got.length >= count) return got;
    await reqNotifyCq(s, cq, false);
    got.push(...(await pollCq(s, cq, count - got.length)));
    if (got.length >= count) return got;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || events.ended) {
        throw new RdmaError({ code: grpc.status.DEADLINE_EXCEEDED, details: `${got.length} of ${count} completions after ${timeoutMs} ms`, what: 'waitCqEvents' });
      }
      const recs = await events.next(left);
      if (recs.some((r) => r.cq === cq.handle)) break;
    }
  }
}

/** Reads MR memory in calls of at most {@link MR_IO_CHUNK}. */
export async function readMr(s: Invoker, mr: ObjectLike, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let done = 0; done < length;) {
    const n = Math.min(MR_IO_CHUNK, length - done);
    const r = await s.invoke(mr, 'read', { offset: offset + done, length: n });
    parts.push(r.data as Buffer);
    done += n;
  }
  return Buffer.concat(parts);
}

/** Writes MR memory in calls of at most {@link MR_IO_CHUNK}. */
export async function writeMr(s: Invoker, mr: ObjectLike, offset: number, data: Buffer | Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) {
    const n = Math.min(MR_IO_CHUNK, data.length - done);
    await s.invoke(mr, 'write', { offset: offset + done, data: data.subarray(done, done + n) });
    done += n;
  }
}
