import { defineConfig } from 'vitest/config';

// The real-kernel suite (test/rxe), run inside the soft-RoCE VM by
// `npm run test:rxe` (scripts/rxe-vm). One file at a time: the files compare
// the kernel's device-wide resource counts, and the guest is slow (TCG).
export default defineConfig({
  test: {
    include: ['test/rxe/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
