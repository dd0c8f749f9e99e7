/**
 * Where the real-kernel suite runs: inside the soft-RoCE VM (scripts/rxe-vm),
 * or on any host with a uverbs device. Elsewhere its tests are skipped, so
 * a stray `vitest run test/rxe` does not fail on a machine without RDMA.
 */
import { existsSync } from 'node:fs';
import { describe, type SuiteAPI } from 'vitest';

/** True when the kernel offers a uverbs device (the VM's rxe0). */
export const hasUverbs = existsSync('/dev/infiniband/uverbs0');

/** True inside the VM that scripts/rxe-vm/run boots. */
export const inRxeVm = process.env.RXE_VM === '1';

/** `describe` that skips its tests when there is no uverbs device. */
export const describeRxe: ReturnType<SuiteAPI['skipIf']> = describe.skipIf(!hasUverbs);

/** The soft-RoCE device the VM creates on dummy0. */
export const RXE_DEVICE = process.env.RDMA_BROKER_RXE_DEVICE ?? 'rxe0';
