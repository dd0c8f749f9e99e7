import { defineConfig } from 'vitest/config';

// The default run (npm test) covers unit, conformance-on-sim and integration
// tests. The real-kernel suite (test/rxe) runs inside the soft-RoCE VM through
// `npm run test:rxe`, which sets RDMA_BROKER_RXE=1.
const rxe = process.env.RDMA_BROKER_RXE === '1';

export default defineConfig({
  test: {
    include: rxe ? ['test/rxe/**/*.test.ts'] : ['test/unit/**/*.test.ts', 'test/conformance/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: rxe ? 120_000 : 30_000,
    hookTimeout: rxe ? 120_000 : 30_000,
    pool: 'forks',
    fileParallelism: !rxe,
  },
});
