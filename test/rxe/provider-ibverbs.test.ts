/**
 * The provider of an RDMA device whatever its name (src/verbs/ibverbs/index.ts'
 * providerOf, src/sys/rdma-netlink.ts): the kernel's driver id of the device's
 * uverbs char device, as libibverbs matches providers. A second soft-RoCE
 * device named `roce_b` (no `rxe` in its name, no driver link in sysfs) is
 * still rxe, so its completions are read with the kernel's wc_flags
 * numbering (codec.ts' wcFlagsAbi), as rxe0's are.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { uverbsDriverId } from '../../src/sys/rdma-netlink.js';
import { wcFlagsAbi } from '../../src/verbs/ibverbs/codec.js';
import { createIbverbsBackend, providerOf } from '../../src/verbs/ibverbs/index.js';
import { describeRxe, inRxeVm, rdmaLinks, RXE_DEVICE } from './vm.js';

const run = promisify(execFile);
/** RDMA_DRIVER_RXE (rdma/ib_user_ioctl_verbs.h). */
const RDMA_DRIVER_RXE = 14;
const OTHER = 'roce_b';
const NETDEV = 'fxb1';

describeRxe('the provider of a device, whatever its name', () => {
  afterAll(async () => {
    if (!inRxeVm) return;
    if ((await rdmaLinks()).includes(OTHER)) await run('rdma', ['link', 'delete', OTHER]);
    await run('ip', ['link', 'delete', NETDEV]).catch(() => {});
  });

  it('rxe0 is rxe by its kernel driver id', async () => {
    expect(uverbsDriverId(RXE_DEVICE)).toBe(RDMA_DRIVER_RXE);
    expect(await providerOf(RXE_DEVICE)).toBe('rxe');
    expect(uverbsDriverId('no_such_device')).toBe(null);
  });

  // Only in the VM: it adds a netdev and an RDMA device to the guest.
  it.skipIf(!inRxeVm)(`an rxe device named ${OTHER} is rxe too, and reads completions with the kernel's numbering`, async () => {
    await run('ip', ['link', 'add', NETDEV, 'type', 'dummy']);
    await run('ip', ['link', 'set', NETDEV, 'up']);
    await run('rdma', ['link', 'add', OTHER, 'type', 'rxe', 'netdev', NETDEV]);
    // What the name and sysfs alone would say: no driver link, a name without "rxe".
    expect(existsSync(`/sys/class/infiniband/${OTHER}/device/driver`)).toBe(false);
    expect(await providerOf(OTHER, () => null)).toBe('roce_b');
    expect(uverbsDriverId(OTHER)).toBe(RDMA_DRIVER_RXE);
    const backend = createIbverbsBackend({ log: pino({ level: 'warn' }) });
    const listed = (await backend.listDevices()).find((d) => d.name === OTHER);
    expect(listed?.provider).toBe('rxe');
    const ctx = await backend.openDevice(OTHER);
    try {
      expect(ctx.provider).toBe('rxe');
      expect(wcFlagsAbi(ctx.provider)).toBe('kernel');
    } finally {
      await ctx.close();
    }
  });
});
