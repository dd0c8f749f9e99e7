/**
 * The Kubernetes pod flow on the VM's rxe0: rdma-brokerd --device ibverbs as
 * the kubelet's device plugin (the kubelet stand-in of test/integration/k8s),
 * Allocate, the write example in a pod (bubblewrap when it runs in the guest,
 * else a plain process given only Allocate's environment: see podRunner),
 * pod deletion judged by the kernel's own resource counts, a kubelet restart,
 * and the slots' health across `rdma link delete` / `add`.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXAMPLE, waitFor } from '../integration/helpers.js';
import { bwrapUnavailable, runPod } from '../integration/k8s/pod.js';
import { holdExample, logged, registered, startRig, type K8sRig } from '../integration/k8s/harness.js';
import type { ContainerAllocateResponse__Output } from '../../src/k8s/gen/deviceplugin/v1beta1/ContainerAllocateResponse.js';
import { kernelResources } from './kernel-resources.js';
import { RXE_DEVICE, describeRxe, ensureRxe, hasUverbs, inRxeVm, rxeLinkAdd, rxeLinkDelete } from './vm.js';

// Asked only where the suite runs (elsewhere its tests are skipped).
const noBwrap = hasUverbs ? bwrapUnavailable() : null;

/**
 * The pod: under bubblewrap where it runs; where it does not (the guest's
 * kernel or its root may refuse the namespaces), the example runs as a plain
 * child with only Allocate's environment (no --socket), which still proves
 * the socket, the fd channel and the tenant come from the allocation.
 */
function runExampleIn(r: ContainerAllocateResponse__Output): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [EXAMPLE, '--bytes', '65536', '--device', RXE_DEVICE];
  const m = r.mounts[0]!;
  if (!noBwrap) return runPod({ hostDir: m.host_path, containerDir: m.container_path, env: r.envs, argv: [process.execPath, ...args] }, 300_000);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', RDMA_BROKER_SOCKET: `${m.host_path}/broker.sock` };
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeRxe('the kubelet device plugin on rxe0', () => {
  let rig: K8sRig;

  beforeAll(async () => {
    if (noBwrap) console.warn(`rxe pod flow without bubblewrap: ${noBwrap}`);
    rig = await startRig('rxe', { device: 'ibverbs', readyMs: 300_000 });
    await registered(rig.kubelet, 1, 60_000);
  }, 420_000);

  afterAll(async () => {
    await rig?.close();
    if (inRxeVm) await ensureRxe();
  }, 120_000);

  it('a pod runs the write example on rxe0 through its allocation; deleting it frees the kernel objects', async () => {
    const k = rig.kubelet;
    const baseline = await kernelResources(RXE_DEVICE);
    const r = await k.admit({ namespace: 'team-a', name: 'writer', container: 'main', ids: ['slot-0'] });
    const out = await runExampleIn(r);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^rdma-write ok 65536 bytes$/m);
    if (noBwrap) return;
    const pod = await holdExample(r, 300_000);
    try {
      const s = (await rig.admin.listSessions()).find((x) => x.pod);
      expect(s?.pod).toEqual({ namespace: 'team-a', name: 'writer', container: 'main' });
      expect((await kernelResources(RXE_DEVICE)).qp).toBeGreaterThan(baseline.qp);
      k.deletePod('team-a', 'writer');
      await waitFor(async () => (await rig.admin.listObjects({ tenant: 'k8s.team-a' })).length === 0, 30_000, 'the pod\'s objects to go');
      await waitFor(async () => (await kernelResources(RXE_DEVICE)).qp === baseline.qp, 30_000, 'the kernel\'s QPs back to the baseline');
      expect(fs.existsSync(r.mounts[0]!.host_path)).toBe(false);
    } finally {
      await pod.kill();
    }
  }, 600_000);

  it('a kubelet restart is answered by a new registration', async () => {
    const k = rig.kubelet;
    const n = k.registrations.length;
    const t0 = Date.now();
    await k.restart();
    await registered(k, n + 1, 60_000);
    console.log(`re-registered ${k.registrations[n]!.at - t0} ms after the kubelet restart (emulated guest)`);
    expect(logged(rig.daemon, /registering again/).length).toBeGreaterThan(0);
  }, 300_000);

  it.skipIf(!inRxeVm)('rdma link delete turns the slots Unhealthy; rdma link add, Healthy again', async () => {
    const k = rig.kubelet;
    await rxeLinkDelete();
    await waitFor(() => k.devices.length > 0 && k.devices.every((d) => d.health === 'Unhealthy'), 60_000, 'Unhealthy slots');
    await rxeLinkAdd();
    await waitFor(() => k.devices.length > 0 && k.devices.every((d) => d.health === 'Healthy'), 60_000, 'Healthy slots');
  }, 300_000);
});
