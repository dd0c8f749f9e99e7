#!/bin/sh
# The real-kernel suite, run inside the soft-RoCE VM by `npm run test:rxe`:
# test/rxe (conformance on rxe0, the daemon end to end, cleanup against
# `rdma resource show`, device removal), then the fd-channel integration tests
# against a daemon serving rxe0 (RDMA_BROKER_FD_DEVICE, see docs/fd-channel.md).
set -e
npx vitest run --config vitest.rxe.config.ts
echo "rxe-suite: fd-channel tests on rxe0"
RDMA_BROKER_FD_DEVICE=rxe0 npx vitest run test/integration/fd- \
  --no-file-parallelism --testTimeout 300000 --hookTimeout 300000
