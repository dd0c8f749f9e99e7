/**
 * The conformance suite's data-path cases (test/conformance/datapath.ts)
 * through a daemon, over the gRPC data path and over the fast lane: on the
 * sim by default, on rxe0 in the VM (RDMA_BROKER_FD_DEVICE=rxe0, part of
 * scripts/rxe-suite.sh).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { DEVICE, SLOW, settle, spawnFdDaemon, type FdDaemon } from './fd-support.js';
import { defineDataPathConformance } from '../conformance/datapath.js';
import { LANE_DAEMON_ARGS } from './lane-support.js';

let d: FdDaemon;

beforeAll(async () => {
  d = await spawnFdDaemon('lane-conformance', [...LANE_DAEMON_ARGS]);
  await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

for (const lane of ['grpc', 'fast'] as const) {
  describe(`data-path conformance on ${DEVICE}, ${lane} lane`, () => {
    defineDataPathConformance(lane, { socket: () => d.socket, device: DEVICE, timeoutMs: 5000 * SLOW });
  });
}
