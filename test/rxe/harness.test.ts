/**
 * Proves the soft-RoCE VM harness: rxe0 exists and is active, the kernel's
 * resource counts can be read, and libibverbs works through koffi — the
 * ground the libibverbs backend's real-kernel tests stand on.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import koffi from 'koffi';
import { afterAll, expect, it } from 'vitest';
import { kernelResourceEntries, kernelResources, parseResourceSummary, resourceDelta } from './kernel-resources.js';
import { RXE_DEVICE, describeRxe, ensureRxe, inRxeVm, rdmaLinks, rxeLinkAdd, rxeLinkDelete } from './vm.js';

const run = promisify(execFile);

describeRxe('soft-RoCE VM', () => {
  it('has rxe0 on dummy0 (rdma link show)', async () => {
    const { stdout } = await run('rdma', ['-j', 'link', 'show']);
    const links = JSON.parse(stdout) as { ifname: string; port: number; state: string; netdev?: string }[];
    const link = links.find((l) => l.ifname === RXE_DEVICE);
    expect(link, stdout).toBeDefined();
    expect(link?.state).toBe('ACTIVE');
    if (inRxeVm) expect(link?.netdev).toBe('dummy0');
  });

  it('shows port 1 PORT_ACTIVE in ibv_devinfo', async () => {
    const { stdout } = await run('ibv_devinfo', ['-d', RXE_DEVICE]);
    expect(stdout).toContain(`hca_id:\t${RXE_DEVICE}`);
    expect(stdout).toMatch(/port:\s+1\s+state:\s+PORT_ACTIVE \(4\)/);
  });

  it('reads the kernel resource counts per type', async () => {
    const counts = await kernelResources(RXE_DEVICE);
    for (const t of ['pd', 'mr', 'cq', 'qp', 'srq', 'ctx'] as const) {
      expect(Number.isInteger(counts[t]), t).toBe(true);
      expect(counts[t], t).toBeGreaterThanOrEqual(0);
    }
    // ib_core's own objects on every device (the GSI QP's PD, CQ and QP).
    expect(counts.pd).toBeGreaterThanOrEqual(1);
    expect(counts.qp).toBeGreaterThanOrEqual(1);
    const pds = await kernelResourceEntries('pd', { device: RXE_DEVICE });
    expect(pds.length).toBe(counts.pd);
    await expect(kernelResources('no-such-device')).rejects.toThrow(/no device/);
  });
});

it('parses `rdma -j resource show` output', () => {
  const m = parseResourceSummary([
    { ifindex: 0, ifname: 'rxe0', pd: 2, cq: 1, qp: 1, cm_id: 0, mr: 3, ctx: 1, srq: 0 },
    { ifindex: 1, ifname: 'mlx5_0', pd: 1, cq: 4, qp: 2, mr: 0 },
  ]);
  expect(m.get('rxe0')).toMatchObject({ pd: 2, mr: 3, cq: 1, qp: 1, srq: 0, ctx: 1, cm_id: 0 });
  expect(m.get('mlx5_0')).toMatchObject({ pd: 1, cq: 4, qp: 2, srq: 0, ctx: 0 });
  expect(resourceDelta(m.get('mlx5_0')!, m.get('rxe0')!)).toMatchObject({ pd: 1, mr: 3, cq: -3, qp: -1, ctx: 1 });
  expect(() => parseResourceSummary({})).toThrow();
});

describeRxe('libibverbs through koffi', () => {
  it('opens rxe0, allocates a PD the kernel counts, and frees it', async () => {
    const lib = koffi.load('libibverbs.so.1');
    const Device = koffi.opaque('ibv_device_smoke');
    const Context = koffi.opaque('ibv_context_smoke');
    const Pd = koffi.opaque('ibv_pd_smoke');
    const getDeviceList = lib.func('ibv_get_device_list', koffi.pointer(koffi.pointer(Device)), [koffi.out(koffi.pointer('int'))]);
    const freeDeviceList = lib.func('ibv_free_device_list', 'void', [koffi.pointer(koffi.pointer(Device))]);
    const getDeviceName = lib.func('ibv_get_device_name', 'const char *', [koffi.pointer(Device)]);
    const openDevice = lib.func('ibv_open_device', koffi.pointer(Context), [koffi.pointer(Device)]);
    const closeDevice = lib.func('ibv_close_device', 'int', [koffi.pointer(Context)]);
    const allocPd = lib.func('ibv_alloc_pd', koffi.pointer(Pd), [koffi.pointer(Context)]);
    const deallocPd = lib.func('ibv_dealloc_pd', 'int', [koffi.pointer(Pd)]);

    const num = [0];
    const list = getDeviceList(num);
    expect(list).not.toBeNull();
    const n = num[0] ?? 0;
    expect(n).toBeGreaterThanOrEqual(1);
    const devices = koffi.decode(list, koffi.pointer(Device), n) as unknown[];
    const names = devices.map((d) => getDeviceName(d) as string);
    expect(names).toContain(RXE_DEVICE);
    const dev = devices[names.indexOf(RXE_DEVICE)];

    const ctx = openDevice(dev);
    expect(ctx, `ibv_open_device errno ${koffi.errno()}`).not.toBeNull();
    try {
      const base = await kernelResources(RXE_DEVICE);
      const pd = allocPd(ctx);
      expect(pd, `ibv_alloc_pd errno ${koffi.errno()}`).not.toBeNull();
      const during = await kernelResources(RXE_DEVICE);
      expect(during.pd - base.pd).toBe(1);
      const mine = await kernelResourceEntries('pd', { device: RXE_DEVICE, pid: process.pid });
      expect(mine.length).toBe(1);
      expect(deallocPd(pd)).toBe(0);
      const after = await kernelResources(RXE_DEVICE);
      expect(resourceDelta(base, after).pd).toBe(0);
    } finally {
      expect(closeDevice(ctx)).toBe(0);
      freeDeviceList(list);
    }
  });
});

describeRxe('device removal and re-add', () => {
  afterAll(async () => {
    await ensureRxe();
  });

  it('rdma link delete removes rxe0 and rdma link add brings it back active', async () => {
    expect(await rdmaLinks()).toContain(RXE_DEVICE);
    await rxeLinkDelete();
    expect(await rdmaLinks()).not.toContain(RXE_DEVICE);
    await expect(kernelResources(RXE_DEVICE)).rejects.toThrow(/no device/);
    await rxeLinkAdd();
    expect(await rdmaLinks()).toContain(RXE_DEVICE);
    const { stdout } = await run('ibv_devinfo', ['-d', RXE_DEVICE]);
    expect(stdout).toMatch(/state:\s+PORT_ACTIVE/);
    // A fresh device: only the kernel's own objects.
    const counts = await kernelResources(RXE_DEVICE);
    expect(counts.ctx).toBe(0);
    expect(counts.mr).toBe(0);
  });
});
