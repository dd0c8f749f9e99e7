/**
 * An open uverbs context on a real device, through libibverbs.
 *
 * The context is assembled from one module per thread (objects.ts, events.ts,
 * datapath.ts, control.ts); this file adds the import handles and close.
 *
 * Threads: every verb that enters the kernel for more than a doorbell
 * (create, destroy, modify, query, reg) runs on a libuv worker via koffi's
 * async calls. The data-path verbs (post send/recv, poll, arm) are userspace
 * ring operations plus at most a doorbell write, reached through
 * `context->ops` like libibverbs' inline functions, and run on the main thread.
 *
 * Events: the async-event fd and every completion channel fd are made
 * non-blocking and watched by the backend's single {@link FdPoller}; each
 * event is read and acknowledged in the same synchronous step, so a CQ/QP/SRQ
 * destroy (which waits until every *read* event is acked, rdma-core cmd_cq.c)
 * never waits on us. No fd of this context is handed out: if that ever
 * happens, hand out mirrors, never the real channel fd.
 *
 * Device loss: every call but destroy/close fails EIO; a destroy whose ioctl
 * answers EIO counts as done (libibverbs' verbs_is_destroy_err).
 */

import type { MrRef, PdRef } from '../abi.js';
import type { DeviceCaps, DeviceContext } from '../backend.js';
import { Errno, VerbsError } from '../errno.js';
import { destroyInOrder, step } from '../teardown.js';
import { L, callAsync, readI32, readU32 } from './binding.js';
import { gidText } from './codec.js';
import { ControlVerbs } from './control.js';
import { IbvAh, IbvChannel, IbvCq, IbvDm, IbvFlow, IbvMr, IbvMw, IbvPd, IbvQp, IbvSrq, IbvXrcd } from './objects.js';

export type { ContextInit, ProviderCaps } from './objects.js';
export { writeXrcdInit } from './control.js';

const { EINVAL } = Errno;

export class IbvContext extends ControlVerbs implements DeviceContext {
  private closing: Promise<void> | null = null;

  /** The uverbs command fd (for import probing). */
  get cmdFd(): number {
    return readI32(this.ptr, L.context.cmd_fd);
  }

  /** For ibv_import_device (issue 4): the context keeps owning the fd. */
  commandFd(): number {
    this.live('ibv_import_device');
    return this.cmdFd;
  }

  /** The kernel handle of a PD or MR, for ibv_import_pd / ibv_import_mr on the importing side. */
  kernelHandle(ref: PdRef | MrRef): number {
    if (ref instanceof IbvPd && ref.ctx === this && !ref.dead) return readU32(ref.ptr, L.pd.handle);
    if (ref instanceof IbvMr && ref.ctx === this && !ref.dead) return readU32(ref.ptr, L.mr.handle);
    throw new VerbsError('ibv_import', EINVAL, 'not a live PD or MR of this context');
  }

  get numCompVectors(): number {
    return readI32(this.ptr, L.context.num_comp_vectors);
  }

  capabilities(): DeviceCaps {
    return { supportsImport: this.caps.supportsImport };
  }

  // ---------------------------------------------------------------- close

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // Children first, as the kernel's cleanup ends up doing; a failure is logged
    // and left to ibv_close_device, where the kernel destroys whatever remains.
    // Windows before QPs: a type 2 window bound through a QP holds a reference
    // on it, and rxe's QP destroy waits for that reference (about 50 s) before
    // giving up on it.
    await destroyInOrder(this.objects, [
      step(IbvFlow, (o) => this.destroyFlow(o)),
      step(IbvMw, (o) => this.deallocMw(o)),
      step(IbvQp, async (o) => {
        for (const [hex, lid] of o.mcast) await this.detachMcast(o, gidText(Buffer.from(hex, 'hex')), lid).catch(() => {});
        await this.destroyQp(o);
      }),
      step(IbvAh, (o) => this.destroyAh(o)),
      step(IbvMr, (o) => this.deregMr(o)),
      step(IbvSrq, (o) => this.destroySrq(o)),
      step(IbvCq, (o) => this.destroyCq(o)),
      step(IbvChannel, (o) => this.destroyCompChannel(o)),
      step(IbvXrcd, (o) => this.closeXrcd(o)),
      step(IbvPd, (o) => this.deallocPd(o)),
      // After the MRs on it.
      step(IbvDm, (o) => this.freeDm(o)),
    ], {
      skip: (o) => o.dead,
      onError: (o, e) => this.init.warn(`closing ${this.name}: destroying a ${o.constructor.name.replace(/^Ibv/, '').toLowerCase()} failed`, e),
    });
    this.closed = true;
    this.unwatchAsync();
    for (const o of this.objects) if (o instanceof IbvChannel) o.unwatch();
    const { res } = await callAsync(this.ibv.fn.close_device, this.ptr);
    if (res !== 0) this.init.warn(`ibv_close_device(${this.name}) answered ${res}`);
    for (const o of this.objects) if (o instanceof IbvMr) o.mem?.close();
    this.objects.clear();
    this.cqByPtr.clear();
    this.qpByPtr.clear();
    this.srqByPtr.clear();
    this.scratch.free();
    this.eventBlock.free();
    this.handler = null;
    this.init.onClosed(this);
  }
}
