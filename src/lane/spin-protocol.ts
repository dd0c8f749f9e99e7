/**
 * What the main thread and the `--fast-lane-spin` worker (./spin-worker.ts)
 * share: the control block's word indices and the messages between them.
 */

import type { LaneParams } from '../wire/lane-layout.js';

/** Spinning lanes at most (each has a word in the control block). */
export const MAX_SPIN_LANES = 1024;
/** A lane is spun on for this long after its last traffic (submissions or completions). */
export const SPIN_ACTIVE_MS = 50;
/** An idle worker sleeps at most this long before it looks again. */
export const IDLE_WAIT_MS = 100;
/**
 * A wake-up only to poll a lane's device CQs (no submissions waiting) that
 * moved no completion makes the next such wake-up wait: first this long,
 * then twice as long each time, up to CQ_BACKOFF_MAX_MS; one that moved
 * some resets it. The main thread's loop is shared by every session: it is
 * not flooded with polls of CQs whose completions arrive some other way
 * (the sim moves them inside the post; an idle QP has none).
 */
export const CQ_BACKOFF_MIN_MS = 0.005;
export const CQ_BACKOFF_MAX_MS = 1;

/** Int32 word indices in the control SharedArrayBuffer. */
export const CTL = {
  /** 1: the worker exits. */
  stop: 0,
  /** Bumped (and notified) by the main thread to wake an idle worker. */
  wake: 1,
  /** Spin rounds done (for tests and metrics). */
  rounds: 2,
  /** First of MAX_SPIN_LANES words: 1 while a wake-up of that lane is in flight. */
  pending: 8,
  /** First of MAX_SPIN_LANES words: set by the main thread when a wake-up's CQ poll moved completions (the worker takes it). */
  found: 8 + MAX_SPIN_LANES,
} as const;

export const CTL_WORDS = CTL.found + MAX_SPIN_LANES;

/**
 * A lane to spin on. The worker finds its indices with the layout module
 * (src/wire/lane-layout.ts) from the lane's parameters, as the daemon
 * does: never from the memfd's header, which the client can overwrite.
 */
export interface SpinAdd {
  op: 'add';
  id: number;
  slot: number;
  /** A dup of the lane's memfd for the worker (it maps it, then closes this fd). */
  fd: number;
  params: LaneParams;
}

export type SpinMessage = SpinAdd | { op: 'remove'; id: number };
export type SpinReply = { op: 'wake'; id: number } | { op: 'removed'; id: number } | { op: 'stopped' };
