/**
 * The differential catalog (test/differential) on rxe0 itself: through the
 * libibverbs backend in-process, and through rdma-brokerd --device ibverbs
 * over gRPC, compared with the kernel's recorded answers
 * (test/fixtures/rxe-answers.jsonl, which scripts/rxe-suite.sh has just
 * re-recorded and checked). Disagreements here are the broker's or the
 * binding's, not the sim's: known ones are listed under `rxe-backend` (and
 * `rxe-grpc`, run only with RDMA_BROKER_DIFF_RXE_GRPC=1, as scripts/rxe-suite.sh sets it) in
 * test/differential/known-sim-gaps.json.
 */
import pino from 'pino';
import { connect, type Client } from '../../src/client/index.js';
import { createIbverbsBackend } from '../../src/verbs/ibverbs/index.js';
import { spawnDaemon, type Daemon } from '../integration/helpers.js';
import { backendDevice } from '../differential/runner-backend.js';
import { grpcDevice } from '../differential/runner-grpc.js';
import { defineDifferential } from '../differential/suite.js';
import { describeRxe, RXE_DEVICE } from './vm.js';

describeRxe('differential catalog on soft-RoCE', () => {
  defineDifferential('rxe-backend', () => backendDevice(createIbverbsBackend({ log: pino({ level: 'warn' }) }), RXE_DEVICE), { timeoutMs: 1_200_000 });

  // Through the broker the catalog takes 3x as long under TCG (18-19 min):
  // scripts/rxe-suite.sh sets RDMA_BROKER_DIFF_RXE_GRPC=1 (0 leaves it out).
  if (process.env.RDMA_BROKER_DIFF_RXE_GRPC !== '1') return;
  let d: Daemon | undefined;
  let client: Client | undefined;
  defineDifferential('rxe-grpc', async () => {
    // info: a debug line per call of thousands, parsed and kept by the helper, slows the guest down.
    d = await spawnDaemon('rxe-diff', [], { device: 'ibverbs', readyMs: 600_000, logLevel: 'info' });
    client = await connect({ socket: d.socket });
    const { dev, close } = await grpcDevice(client, RXE_DEVICE, { leaseMs: 600_000, resumeGraceMs: 120_000 }).catch((e: Error) => {
      const ends = d!.logs.filter((l) => /session/i.test(String(l.msg))).slice(-5).map((l) => JSON.stringify(l));
      throw new Error(`${e.message}; the daemon's last session lines: ${ends.join(' ')}`);
    });
    return {
      dev,
      async close() {
        await close();
        client?.close();
        await d?.stop();
      },
    };
  }, { timeoutMs: 2_400_000, broker: true });
});
