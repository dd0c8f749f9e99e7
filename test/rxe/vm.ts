/**
 * Where the real-kernel suite runs: inside the soft-RoCE VM (scripts/rxe-vm),
 * or on any host with a uverbs device. Elsewhere its tests are skipped, so
 * a stray `vitest run test/rxe` does not fail on a machine without RDMA.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, type SuiteAPI } from 'vitest';

/** True when the kernel offers a uverbs device (the VM's rxe0). */
export const hasUverbs = existsSync('/dev/infiniband/uverbs0');

/** True inside the VM that scripts/rxe-vm/run boots. */
export const inRxeVm = process.env.RXE_VM === '1';

/** `describe` that skips its tests when there is no uverbs device. */
export const describeRxe: ReturnType<SuiteAPI['skipIf']> = describe.skipIf(!hasUverbs);

/** The soft-RoCE device the VM creates on dummy0. */
export const RXE_DEVICE = process.env.RDMA_BROKER_RXE_DEVICE ?? 'rxe0';

const execFileP = promisify(execFile);

/** The Ethernet device rxe0 sits on in the VM. */
export const RXE_NETDEV = process.env.RDMA_BROKER_RXE_NETDEV ?? 'dummy0';

/** Names of the RDMA devices the kernel has now (`rdma -j link show`). */
export async function rdmaLinks(): Promise<string[]> {
  const { stdout } = await execFileP('rdma', ['-j', 'link', 'show'], { timeout: 30_000 });
  const links = JSON.parse(stdout.trim() || '[]') as { ifname: string }[];
  return [...new Set(links.map((l) => l.ifname))];
}

/** Removes the soft-RoCE device (`rdma link delete`), as a hot-unplug would. */
export async function rxeLinkDelete(device = RXE_DEVICE): Promise<void> {
  await execFileP('rdma', ['link', 'delete', device], { timeout: 60_000 });
}

/** Creates the soft-RoCE device again (`rdma link add DEV type rxe netdev dummy0`). */
export async function rxeLinkAdd(device = RXE_DEVICE, netdev = RXE_NETDEV): Promise<void> {
  await execFileP('rdma', ['link', 'add', device, 'type', 'rxe', 'netdev', netdev], { timeout: 60_000 });
}

/** Re-adds the device if a test removed it (for afterAll/afterEach). */
export async function ensureRxe(device = RXE_DEVICE, netdev = RXE_NETDEV): Promise<void> {
  if (!(await rdmaLinks()).includes(device)) await rxeLinkAdd(device, netdev);
}
