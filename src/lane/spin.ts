/**
 * `--fast-lane-spin`: the main-thread side of the busy-poll worker
 * (./spin-worker.ts). Off by default. With it, a worker thread spins on every
 * open lane's indices and wakes the main thread as soon as a client publishes
 * submissions (without waiting for its doorbell) or while a lane has recent
 * traffic (so the daemon polls the device CQs without waiting for the
 * completion channel's event). The main thread still does all the work —
 * copy, validate, post, poll (src/lane/server.ts) — so the lane's safety
 * rules are the same in both modes, and the event loop never blocks.
 *
 * It costs a core while lanes are busy; the worker sleeps when no lane saw
 * traffic for SPIN_ACTIVE_MS, and the doorbells and channel events keep
 * working in both states (spinning only adds wake-ups). Meant for the
 * libibverbs backend, where the channel event is the slow part of a
 * completion; on the sim it changes little (completions are moved at once).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import * as libc from '../sys/libc.js';
import type { LaneParams } from '../wire/lane-layout.js';
import { CTL, CTL_WORDS, MAX_SPIN_LANES, type SpinAdd, type SpinReply } from './spin-protocol.js';

/** How long close() waits for the worker to leave its loop before terminating it. */
const STOP_MS = 2000;

export class LaneSpinner {
  private readonly worker: Worker;
  private readonly ctl: Int32Array;
  private readonly free: number[] = [];
  private readonly slots = new Map<number, number>();
  private stopped: Promise<void> | null = null;
  private exited = false;

  constructor(private readonly onWake: (lane: number) => void, private readonly log: Logger) {
    const sab = new SharedArrayBuffer(CTL_WORDS * 4);
    this.ctl = new Int32Array(sab);
    for (let i = MAX_SPIN_LANES - 1; i >= 0; i--) this.free.push(i);
    this.worker = new Worker(new URL('./spin-worker.js', import.meta.url), { workerData: { ctl: sab } });
    // The daemon's exit must not wait for this thread.
    this.worker.unref();
    this.worker.on('message', (m: SpinReply) => {
      if (m.op !== 'wake') return;
      const slot = this.slots.get(m.id);
      if (slot === undefined) return;
      // Clear first: traffic during the work below gets a wake-up of its own.
      Atomics.store(this.ctl, CTL.pending + slot, 0);
      this.onWake(m.id);
    });
    this.worker.on('error', (e) => this.log.error({ err: e }, 'fast lane spin worker failed (lanes keep working on doorbells and channel events)'));
    this.worker.on('exit', () => {
      this.exited = true;
    });
    this.log.info({ maxLanes: MAX_SPIN_LANES }, 'fast lane spin worker started');
  }

  /** A wake-up's CQ poll of the lane moved completions: the worker keeps polling its CQs at once. */
  found(id: number): void {
    const slot = this.slots.get(id);
    if (slot !== undefined) Atomics.store(this.ctl, CTL.found + slot, 1);
  }

  /** Spin rounds the worker has done (tests and metrics). */
  get rounds(): number {
    return Atomics.load(this.ctl, CTL.rounds);
  }

  /**
   * Starts spinning on a lane. The worker maps its own copy of the memfd
   * (a dup, so the lane's fd may close at any time). False when every slot
   * is taken: that lane works on doorbells only.
   */
  add(id: number, memfd: number, params: LaneParams): boolean {
    if (this.exited || this.stopped) return false;
    const slot = this.free.pop();
    if (slot === undefined) return false;
    const fd = libc.fcntl(memfd, libc.F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
      this.free.push(slot);
      return false;
    }
    Atomics.store(this.ctl, CTL.pending + slot, 0);
    Atomics.store(this.ctl, CTL.found + slot, 0);
    this.slots.set(id, slot);
    const m: SpinAdd = { op: 'add', id, slot, fd, params: { sqEntries: params.sqEntries, cqRings: params.cqRings, cqEntries: params.cqEntries } };
    this.worker.postMessage(m);
    this.nudge();
    return true;
  }

  /** Stops spinning on a lane (its slot is reused once the worker let go of the mapping). */
  remove(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    if (this.exited) return;
    this.worker.postMessage({ op: 'remove', id });
    const done = (m: SpinReply): void => {
      if (m.op !== 'removed' || m.id !== id) return;
      this.worker.off('message', done);
      this.free.push(slot);
    };
    this.worker.on('message', done);
    this.nudge();
  }

  /** Wakes an idle worker (a doorbell rang: traffic is starting). */
  nudge(): void {
    Atomics.add(this.ctl, CTL.wake, 1);
    Atomics.notify(this.ctl, CTL.wake);
  }

  /** Stops the worker (it unmaps every lane); resolves once it is gone. Idempotent. */
  close(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const t = setTimeout(() => void this.worker.terminate(), STOP_MS);
      this.worker.once('exit', () => {
        clearTimeout(t);
        this.log.info({ rounds: this.rounds }, 'fast lane spin worker stopped');
        resolve();
      });
      Atomics.store(this.ctl, CTL.stop, 1);
      this.nudge();
    });
    return this.stopped;
  }
}
