import { defineConfig } from 'vitest/config';

// The default run (npm test) covers unit, conformance-on-sim, integration,
// differential (the sim against the kernel's recorded answers) and adversarial
// (hostile clients) tests. The real-kernel suite (test/rxe) has its own config,
// vitest.rxe.config.ts, and runs inside the soft-RoCE VM through
// `npm run test:rxe`.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/conformance/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/differential/**/*.test.ts', 'test/adversarial/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
