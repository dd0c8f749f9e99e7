/**
 * The events thread of a context (main thread, woken by the backend's
 * {@link FdPoller}): the async event fd and the completion channels, each
 * event read and acknowledged in one synchronous step.
 */
import type { BackendEvent } from '../backend.js';
import * as libc from '../../sys/libc.js';
import { L, NativeBlock, readI32 } from './binding.js';
import { asyncEventName } from './codec.js';
import { ContextBase, type IbvChannel } from './objects.js';
import type { FdPoller } from './poller.js';

const EAGAIN = 11;

/** A context's event readers, and where they deliver. */
export abstract class ContextEvents extends ContextBase {
  protected handler: ((e: BackendEvent) => void) | null = null;
  /** For ibv_get_cq_event's two out-pointers and ibv_get_async_event's struct (main thread only). */
  protected readonly eventBlock = new NativeBlock(32);
  protected unwatchAsync: () => void = () => {};

  constructor(...args: ConstructorParameters<typeof ContextBase>) {
    super(...args);
    const init = this.init;
    const asyncFd = readI32(this.ptr, L.context.async_fd);
    if (!libc.setNonBlocking(asyncFd)) init.warn(`cannot make the async event fd non-blocking (errno ${libc.errno()})`);
    else this.unwatchAsync = init.poller.watch(asyncFd, () => this.drainAsync());
  }

  setEventHandler(handler: (event: BackendEvent) => void): void {
    this.handler = handler;
  }

  protected emit(e: BackendEvent): void {
    const h = this.handler;
    if (!h) return;
    try {
      h(e);
    } catch (err) {
      this.init.warn('event handler threw', err);
    }
  }

  /** Called by the backend when the device disappears (rxe has no DEVICE_FATAL of its own). */
  deviceLost(): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.emit({ kind: 'async', type: 'DEVICE_FATAL', tag: null, port: null });
    this.emit({ kind: 'device_lost' });
  }

  protected drainAsync(): boolean {
    const b = this.eventBlock;
    const fn = this.ibv.fn;
    for (;;) {
      if (this.closed) return false;
      b.zero();
      const rc = fn.get_async_event(this.ptr, b.ptr);
      if (rc !== 0) {
        const e = libc.errno();
        // EAGAIN: drained. Anything else: the file is dead (device gone); stop watching it.
        return e === EAGAIN;
      }
      const element = b.view.getBigUint64(L.asyncEvent.element, true);
      const typeNum = b.view.getUint32(L.asyncEvent.event_type, true);
      const type = asyncEventName(typeNum);
      let tag: number | null = null;
      let port: number | null = null;
      switch (type) {
        case 'CQ_ERR':
          tag = this.cqByPtr.get(element)?.tag ?? null;
          break;
        case 'QP_FATAL': case 'QP_REQ_ERR': case 'QP_ACCESS_ERR': case 'COMM_EST': case 'SQ_DRAINED':
        case 'PATH_MIG': case 'PATH_MIG_ERR': case 'QP_LAST_WQE_REACHED':
          tag = this.qpByPtr.get(element)?.tag ?? null;
          break;
        case 'SRQ_ERR': case 'SRQ_LIMIT_REACHED':
          tag = this.srqByPtr.get(element)?.tag ?? null;
          break;
        case 'PORT_ACTIVE': case 'PORT_ERR': case 'LID_CHANGE': case 'PKEY_CHANGE': case 'SM_CHANGE':
        case 'CLIENT_REREGISTER': case 'GID_CHANGE':
          port = b.view.getInt32(L.asyncEvent.element, true);
          break;
        default:
          break;
      }
      // Ack before anything else: a destroy of that object may be waiting for it.
      fn.ack_async_event(b.ptr);
      if (type === null) continue;
      this.emit({ kind: 'async', type, tag, port });
      if (type === 'DEVICE_FATAL' && !this.lost) {
        this.lost = true;
        this.emit({ kind: 'device_lost' });
      }
    }
  }

  protected drainChannel(ch: IbvChannel): boolean {
    const b = this.eventBlock;
    const fn = this.ibv.fn;
    for (;;) {
      if (ch.dead) return false;
      const rc = fn.get_cq_event(ch.ptr, b.ptr, b.at(8));
      if (rc !== 0) return libc.errno() === EAGAIN;
      const cqPtr = b.view.getBigUint64(0, true);
      // Ack at once: ibv_destroy_cq waits until every read event is acked.
      fn.ack_cq_events(cqPtr, 1);
      const cq = this.cqByPtr.get(cqPtr);
      if (cq && !cq.dead) this.emit({ kind: 'completion', cq: cq.tag, channel: ch.tag });
    }
  }
}
