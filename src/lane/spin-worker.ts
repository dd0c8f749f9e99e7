/**
 * The busy-poll worker of `--fast-lane-spin` (see ./spin.ts): a worker
 * thread that maps each lane's memfd and spins on its indices, so the
 * daemon notices new submissions and completions without waiting for the
 * client's doorbell or the CQ's channel event.
 *
 * It only watches: it reads the client's sq_tail and the daemon's own
 * indices, never writes the rings, and never interprets an entry. When a
 * lane needs the main thread (unconsumed submissions, or recent traffic whose
 * completions the device CQ may hold), it sets the lane's `pending` word and
 * posts the lane's id once; the main thread clears the word, then copies,
 * validates and posts (src/lane/server.ts) — every safety rule stays there.
 *
 * A wake-up only to poll CQs backs off while such polls move nothing
 * (CQ_BACKOFF_MIN_MS), so the main thread is never flooded with them.
 *
 * Bounded: it spins only while some lane saw traffic within SPIN_ACTIVE_MS,
 * then sleeps on the control block (Atomics.wait, woken by the main thread
 * at the next doorbell) up to IDLE_WAIT_MS at a time; it exits when the stop
 * word is set.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { mapFd, type SharedMemory } from '../sys/memory.js';
import * as libc from '../sys/libc.js';
import { H, R, cqRingOffset, layoutFor } from '../wire/lane-layout.js';
import { CQ_BACKOFF_MAX_MS, CQ_BACKOFF_MIN_MS, CTL, SPIN_ACTIVE_MS, IDLE_WAIT_MS, type SpinAdd, type SpinMessage } from './spin-protocol.js';

interface Watched {
  readonly id: number;
  readonly slot: number;
  readonly mem: SharedMemory;
  readonly i32: Int32Array;
  readonly sqTail: number;
  readonly sqHead: number;
  /** Word indices of each completion ring's tail (daemon-written). */
  readonly cqTails: number[];
  lastTail: number;
  lastCq: number;
  /** performance.now() of the last traffic seen. */
  active: number;
  /** The wait before the next wake-up that only polls CQs (0: at once), and when it may come. */
  backoff: number;
  nextCqWake: number;
}

const port = parentPort;
if (!port) throw new Error('spin-worker: not in a worker thread');
const ctl = new Int32Array((workerData as { ctl: SharedArrayBuffer }).ctl);
const lanes = new Map<number, Watched>();

function add(m: SpinAdd): void {
  // The daemon validated these parameters when it opened the lane.
  const layout = layoutFor(m.params);
  // The fd is a dup made for this thread: mapping takes its own, then this one is closed.
  let mem: SharedMemory;
  try {
    mem = mapFd(m.fd, 0, layout.totalSize);
  } catch {
    // Not mappable (cannot happen for a lane's memfd): the lane works on doorbells alone.
    return;
  } finally {
    libc.close(m.fd);
  }
  const buf = mem.withView((v) => v);
  const i32 = new Int32Array(buf.buffer, buf.byteOffset, layout.totalSize >> 2);
  const cqTails = Array.from({ length: layout.cqRings }, (_, i) => (cqRingOffset(layout, i) + R.tail) >> 2);
  lanes.set(m.id, { id: m.id, slot: m.slot, mem, i32, sqTail: H.sqTail >> 2, sqHead: H.sqHead >> 2, cqTails, lastTail: 0, lastCq: 0, active: performance.now(), backoff: 0, nextCqWake: 0 });
}

function remove(id: number): void {
  const l = lanes.get(id);
  if (l) {
    lanes.delete(id);
    l.mem.close();
  }
  port!.postMessage({ op: 'removed', id });
}

function handle(m: SpinMessage): void {
  if (m.op === 'add') add(m);
  else if (m.op === 'remove') remove(m.id);
}

function cqSum(l: Watched): number {
  let s = 0;
  for (const t of l.cqTails) s = (s + Atomics.load(l.i32, t)) | 0;
  return s;
}

for (;;) {
  if (Atomics.load(ctl, CTL.stop) !== 0) break;
  // Control messages are read here, between rounds (the loop never returns to the worker's event loop).
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) handle(m.message as SpinMessage);
  const now = performance.now();
  let busy = false;
  for (const l of lanes.values()) {
    const tail = Atomics.load(l.i32, l.sqTail);
    const cq = cqSum(l);
    if (tail !== l.lastTail || cq !== l.lastCq) {
      l.lastTail = tail;
      l.lastCq = cq;
      l.active = now;
    }
    const submissions = tail !== Atomics.load(l.i32, l.sqHead);
    const recent = now - l.active < SPIN_ACTIVE_MS;
    if (!submissions && !recent) continue;
    busy = true;
    if (!submissions) {
      // Only the device CQs to poll: back off while such polls find nothing (see CQ_BACKOFF_MIN_MS).
      if (now < l.nextCqWake || Atomics.load(ctl, CTL.pending + l.slot) !== 0) continue;
      l.backoff = Atomics.exchange(ctl, CTL.found + l.slot, 0) !== 0 ? 0 : Math.min(CQ_BACKOFF_MAX_MS, Math.max(CQ_BACKOFF_MIN_MS, l.backoff * 2));
      l.nextCqWake = now + l.backoff;
    }
    // One wake-up in flight per lane: the main thread clears the word before it works.
    if (Atomics.compareExchange(ctl, CTL.pending + l.slot, 0, 1) === 0) port.postMessage({ op: 'wake', id: l.id });
  }
  Atomics.add(ctl, CTL.rounds, 1);
  if (!busy) {
    const gen = Atomics.load(ctl, CTL.wake);
    Atomics.wait(ctl, CTL.wake, gen, IDLE_WAIT_MS);
  }
}
for (const id of [...lanes.keys()]) remove(id);
port.postMessage({ op: 'stopped' });
