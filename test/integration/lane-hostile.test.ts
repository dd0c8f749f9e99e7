/**
 * Hostile fast-lane clients against a real daemon: a fuzzer that writes
 * random bytes into its rings (entries, indices, header) while another
 * session keeps posting through its own lane; and a client SIGKILLed with
 * WRs in flight. The daemon must keep serving, never post on an object that
 * is not the caller's, and release everything of the killed client.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H, R, S, SGE_SIZE, SQE_SIZE, cqRingOffset } from '../../src/wire/lane-layout.js';
import { backToBaseline, DEVICE, inspector, ROOT, settle, SLOW, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';
import { LANE_DAEMON_ARGS, lanePair, spinFor, writeWr } from './lane-support.js';
import { kernelResources, resourceDelta } from '../rxe/kernel-resources.js';

/** On a kernel device the kernel's own object counts (`rdma resource show`) are the ground truth. */
const KERNEL = !DEVICE.startsWith('sim');

let d: FdDaemon;
let baseline: number;

beforeAll(async () => {
  d = await spawnFdDaemon('lane-hostile', [...LANE_DAEMON_ARGS]);
  baseline = await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

/** A seeded generator (xorshift32): the same rounds every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('a fuzzer writing random bytes into its rings', () => {
  it('10,000 rounds: the daemon keeps serving another session and posts nothing on its objects', async () => {
    const attacker = await lanePair(d.socket, { lane: { sqEntries: 64, cqEntries: 64, cqRings: 2 } });
    const victim = await lanePair(d.socket);
    const rand = rng(0x5eed1a7e);
    try {
      victim.dst.memory.fill(0, 1 << 16, 0);
      victim.src.memory.fill(0, 1 << 16, 0x11);
      const raw = attacker.lane.raw;
      const l = attacker.lane.layout;
      // Handles worth trying: the victim's objects, the attacker's own, and nonsense.
      const handles = [victim.a, victim.b, victim.cq, victim.pd, victim.channel, attacker.a, attacker.b, attacker.cq, attacker.pd].map((o) => BigInt(o.handle));
      const keys = [victim.src.lkey, victim.dst.lkey, victim.src.rkey, victim.dst.rkey, attacker.src.lkey];
      const addrs = [victim.src.addr, victim.dst.addr, attacker.src.addr, 4096n, 0n, 0xffff_ffff_ffff_f000n];
      const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
      let victimDone = 0;
      const t0 = Date.now();
      for (let round = 0; round < 10_000; round++) {
        const r = rand() % 100;
        if (r < 70) {
          // Plausible entries with hostile fields, at random slots (or garbage).
          const n = 1 + (rand() % 8);
          for (let k = 0; k < n; k++) {
            const o = l.sqOffset + (rand() % l.sqEntries) * SQE_SIZE;
            if (rand() % 4 === 0) {
              randomBytes(SQE_SIZE).copy(raw, o);
              continue;
            }
            raw.fill(0, o, o + SQE_SIZE);
            raw[o + S.kind] = rand() % 6;
            raw[o + S.opcode] = rand() % 12;
            raw[o + S.numSge] = rand() % 12;
            raw.writeUInt32LE(rand() % 40, o + S.sendFlags);
            raw.writeBigUInt64LE(pick(handles), o + S.handle);
            raw.writeBigUInt64LE(0xa77ac000n + BigInt(round), o + S.wrId);
            raw.writeBigUInt64LE(BigInt.asUintN(64, pick(addrs) + BigInt(rand() % 8192)), o + S.remoteAddr);
            raw.writeUInt32LE(pick(keys), o + S.rkey);
            raw.writeBigUInt64LE(pick(handles), o + S.ah);
            raw.writeBigUInt64LE(pick(handles), o + S.bindMw);
            raw.writeBigUInt64LE(pick(handles), o + S.bindMr);
            for (let g = 0; g < 10; g++) {
              const so = o + S.sge + g * SGE_SIZE;
              raw.writeBigUInt64LE(BigInt.asUintN(64, pick(addrs) + BigInt(rand() % 65536)), so);
              raw.writeUInt32LE(rand() % 3 === 0 ? rand() : rand() % 4096, so + 8);
              raw.writeUInt32LE(pick(keys), so + 12);
            }
          }
          // Publish: a sane tail most of the time, a hostile one sometimes.
          const head = raw.readUInt32LE(H.sqHead);
          const tail = rand() % 10 === 0 ? rand() : (head + 1 + (rand() % l.sqEntries)) >>> 0;
          Atomics.store(new Int32Array(raw.buffer, raw.byteOffset, 1024), H.sqTail >> 2, tail | 0);
        } else if (r < 80) {
          // Hostile consumer indices and header fields.
          const ring = cqRingOffset(l, rand() % l.cqRings);
          raw.writeUInt32LE(rand(), pick([ring + R.head, H.errHead, H.sqHead, H.state, H.magic, H.sqEntries, H.cqOffset, ring + R.tail, ring + R.state]));
        } else {
          randomBytes(64).copy(raw, rand() % (l.totalSize - 64));
        }
        attacker.lane.ring();
        if (round % 500 === 0) {
          // The bystander's own write still completes, with its own data, promptly.
          const off = (victimDone % 64) * 512;
          victim.src.memory.fill(off, 512, (victimDone & 0xff) | 1);
          victim.lane.postSend(victim.a, [writeWr(victim, 0xb000 + victimDone, off, 512)]);
          const [wc] = await spinFor(victim.lane, victim.cq, 1, 10_000 * SLOW);
          expect(wc).toMatchObject({ wr_id: BigInt(0xb000 + victimDone), status: 'SUCCESS' });
          expect(victim.dst.memory.read(off, 512).every((b) => b === ((victimDone & 0xff) | 1))).toBe(true);
          victimDone++;
        }
        if (round % 16 === 0) await new Promise((res) => setImmediate(res));
      }
      const took = Date.now() - t0;
      expect(took).toBeLessThan(120_000 * SLOW);
      expect(victimDone).toBe(20);
      // The daemon is alive and answers, and logged no internal error.
      expect(d.proc.exitCode).toBe(null);
      expect(await victim.s.query(victim.a)).toMatchObject({ attrs: expect.objectContaining({ qp_state: 'RTS' }) });
      expect(d.logs.filter((x) => x.msg === 'fast lane: internal error')).toEqual([]);
      // Nothing reached the victim: its CQ holds only its own completions, its QPs are in RTS,
      // and no byte outside what it wrote changed.
      expect(victim.lane.poll(victim.cq, 64)).toEqual([]);
      expect(await victim.s.pollCq(victim.cq, 64)).toEqual([]);
      expect((await victim.s.query(victim.b)).attrs.qp_state).toBe('RTS');
      expect(victim.dst.memory.read(64 * 512, (1 << 16) - 64 * 512).every((b) => b === 0)).toBe(true);
      expect(victim.lane.errors()).toEqual([]);
      // The fuzzer reached the daemon: it drained thousands of entries and refused most of them.
      await attacker.lane.close();
      const closed = await waitFor(() => d.logs.find((x) => x.msg === 'fast lane closed' && x.session === attacker.s.id), 3000, 'the attacker\'s lane to close') as unknown as { entries: number; errors: number; posted: number };
      expect(closed.entries).toBeGreaterThan(2000);
      expect(closed.errors).toBeGreaterThan(500);
    } finally {
      await attacker.close().catch(() => {});
      await victim.close();
    }
  }, 300_000 * SLOW);
});

describe('a client SIGKILLed with WRs in flight on its lane', () => {
  it('its objects are gone within 2 s and the daemon\'s fds are back to baseline', async () => {
    const kernelBefore = KERNEL ? await kernelResources(DEVICE) : null;
    const child = spawn(process.execPath, [path.join(ROOT, 'test/integration/fixtures/lane-holder.mjs'), d.socket, DEVICE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    await waitFor(() => out.includes('\n'), 15_000, `the holder to post (${err})`);
    const held = JSON.parse(out) as { session: string; inFlight: number };
    expect(held.inFlight).toBeGreaterThan(0);
    const list = inspector(d.socket);
    expect((await list(held.session)).length).toBeGreaterThan(0);
    await waitFor(() => d.logs.some((l) => l.msg === 'fast lane opened' && l.session === held.session), 2000, 'the lane open log');
    expect(d.fdCount()).toBeGreaterThan(baseline);
    if (kernelBefore) {
      // The holder's PD, MR, CQ and two QPs are kernel objects while it lives.
      const held = resourceDelta(kernelBefore, await kernelResources(DEVICE));
      expect(held).toMatchObject({ pd: 1, mr: 1, cq: 1, qp: 2 });
    }
    const t0 = Date.now();
    child.kill('SIGKILL');
    await exited;
    await waitFor(async () => (await list(held.session)).length === 0, 2000, 'the holder\'s objects to be destroyed');
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(() => d.logs.some((l) => l.msg === 'fast lane closed' && l.session === held.session), 2000, 'the lane to close');
    await backToBaseline(d, baseline, 3000);
    if (kernelBefore) {
      // The kernel destroyed them too (not only the broker's tables): rdma resource show is back to the baseline.
      await waitFor(async () => {
        const delta = resourceDelta(kernelBefore, await kernelResources(DEVICE));
        return Object.values(delta).every((v) => v === 0) ? delta : null;
      }, 2000, 'rdma resource show back to its baseline');
    }
  });
});

