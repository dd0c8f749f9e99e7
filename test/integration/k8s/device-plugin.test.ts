/**
 * rdma-brokerd as a kubelet device plugin, driven by a kubelet stand-in over
 * the real protos: registration, ListAndWatch, Allocate, a pod (bubblewrap:
 * own mount, pid and ipc namespaces, user nobody, only the allocation's
 * directory at /run/rdma-broker, no /dev/infiniband) running the unmodified
 * write example, pod deletion, kubelet and daemon restarts, bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../../src/client/index.js';
import { waitFor } from '../helpers.js';
import { bwrapUnavailable } from './pod.js';
import { holdExample, logged, registered, runExample, startRig, type K8sRig } from './harness.js';

const noBwrap = bwrapUnavailable();
if (noBwrap) console.warn(`k8s pod tests skipped: ${noBwrap}`);

let rig: K8sRig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

function podsDir(r: K8sRig): string[] {
  return fs.readdirSync(path.join(r.stateDir, 'pods'));
}

describe.skipIf(noBwrap !== null)('kubelet device plugin', () => {
  it('registers, lists 64 healthy slots, and an allocation serves the example in a sandboxed pod', async () => {
    rig = await startRig('flow', { extra: ['--metrics-listen', '127.0.0.1:0'] });
    const k = rig.kubelet;
    await registered(k);
    const reg = k.registrations[0]!;
    expect(reg.request).toMatchObject({ version: 'v1beta1', endpoint: 'rdma-broker.sock', resource_name: 'rdma-broker.io/session' });
    expect(reg.options).toMatchObject({ pre_start_required: true, get_preferred_allocation_available: true });
    expect(k.devices).toHaveLength(64);
    expect(new Set(k.devices.map((d) => d.health))).toEqual(new Set(['Healthy']));
    expect(await k.preferred(['slot-3', 'slot-1', 'slot-2'], ['slot-2'], 2)).toEqual(['slot-2', 'slot-1']);

    const r = await k.admit({ namespace: 'team-a', name: 'writer', container: 'main', ids: ['slot-0'] });
    expect(r.envs).toEqual({ RDMA_BROKER_SOCKET: '/run/rdma-broker/broker.sock' });
    expect(r.mounts).toHaveLength(1);
    const m = r.mounts[0]!;
    expect(m.container_path).toBe('/run/rdma-broker');
    expect(path.dirname(m.host_path)).toBe(path.join(rig.stateDir, 'pods'));
    expect(fs.readdirSync(m.host_path).sort()).toEqual(['broker.sock', 'broker.sock.fd']);
    // The directory is reachable by any uid; the one above it is not listable.
    expect(fs.statSync(m.host_path).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(rig.stateDir, 'pods')).mode & 0o777).toBe(0o711);

    const out = await runExample(r);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^rdma-write ok 65536 bytes$/m);
    expect(out.code).toBe(0);

    // A held pod: its sessions and objects carry the pod's names and its namespace's tenant.
    const pod = await holdExample(r);
    try {
      const sessions = (await rig.admin.listSessions()).filter((s) => s.pod);
      expect(sessions).toHaveLength(1);
      expect(sessions[0]!.pod).toEqual({ namespace: 'team-a', name: 'writer', container: 'main' });
      expect(sessions[0]!.tenant).toBe('k8s.team-a');
      const objs = await rig.admin.listObjects({ tenant: 'k8s.team-a' });
      expect(objs.length).toBeGreaterThan(4);
      for (const o of objs) expect(o.pod).toEqual({ namespace: 'team-a', name: 'writer', container: 'main' });
      const audit = rig.daemon.logs.filter((l) => l.audit === true && l.verb === 'create' && l.tenant === 'k8s.team-a');
      expect(audit.length).toBeGreaterThan(0);
      expect(audit[0]!.labels).toMatchObject({ namespace: 'team-a', pod: 'writer', container: 'main' });
      // Per-pod metrics.
      const port = logged(rig.daemon, 'metrics serving on /metrics')[0]!.port as number;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const podKey = 'tenant="k8s.team-a",namespace="team-a",pod="writer",container="main"';
      expect(text).toContain(`rdma_broker_pod_sessions{${podKey}} 1`);
      const m = new RegExp(`rdma_broker_pod_objects\\{${podKey}\\} (\\d+)`).exec(text);
      expect(Number(m?.[1])).toBe(objs.length);
    } finally {
      await pod.kill();
    }
  });

  it('a deleted pod loses its objects within 2 s, its directory goes, and its slot is allocated again', async () => {
    rig = await startRig('delete', { extra: ['--cdi-dir', '{base}/cdi'] });
    const k = rig.kubelet;
    await registered(k);
    const r = await k.admit({ namespace: 'ns1', name: 'p', container: 'c', ids: ['slot-5'] });
    // With --cdi-dir: a CDI spec with the same mount and variable, named in cdi_devices.
    const id = r.annotations['rdma-broker.io/allocation']!;
    expect(r.cdi_devices).toEqual([{ name: `rdma-broker.io/session=${id}` }]);
    const specFile = path.join(rig.base, 'cdi', `rdma-broker.io_session-${id}.json`);
    const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
    expect(spec).toMatchObject({ kind: 'rdma-broker.io/session', devices: [{ name: id, containerEdits: {
      env: ['RDMA_BROKER_SOCKET=/run/rdma-broker/broker.sock'],
      mounts: [{ hostPath: r.mounts[0]!.host_path, containerPath: '/run/rdma-broker' }],
    } }] });
    const pod = await holdExample(r);
    try {
      expect((await rig.admin.listObjects({ tenant: 'k8s.ns1' })).length).toBeGreaterThan(0);
      const t0 = Date.now();
      k.deletePod('ns1', 'p');
      await waitFor(async () => (await rig!.admin.listObjects({ tenant: 'k8s.ns1' })).length === 0, 2000, 'the pod\'s objects to go');
      await waitFor(() => logged(rig!.daemon, 'kubernetes allocation released').length > 0, 2000, 'the release');
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(fs.existsSync(r.mounts[0]!.host_path)).toBe(false);
      expect(logged(rig.daemon, 'kubernetes allocation released')[0]).toMatchObject({ reason: 'pod gone from pod-resources' });
      expect(fs.existsSync(specFile)).toBe(false);
    } finally {
      await pod.kill();
    }
    expect(podsDir(rig)).toEqual([]);
    const again = await k.admit({ namespace: 'ns1', name: 'p2', container: 'c', ids: ['slot-5'] });
    expect((await runExample(again)).stdout).toMatch(/rdma-write ok/);
  });

  it('a kubelet restart is answered by a new registration within 2 s; the running pod keeps its objects', async () => {
    rig = await startRig('kubelet-restart');
    const k = rig.kubelet;
    await registered(k);
    const r = await k.admit({ namespace: 'ns1', name: 'p', container: 'c', ids: ['slot-0', 'slot-1'] });
    const pod = await holdExample(r);
    try {
      const before = (await rig.admin.listObjects({ tenant: 'k8s.ns1' })).map((o) => o.handle).sort();
      expect(before.length).toBeGreaterThan(0);
      const t0 = Date.now();
      await k.restart();
      await registered(k, 2, 2000);
      expect(k.registrations[1]!.at - t0).toBeLessThan(2000);
      // The same slots, all healthy.
      expect(k.devices.map((d) => d.ID)).toEqual(Array.from({ length: 64 }, (_, i) => `slot-${i}`));
      expect(k.devices.every((d) => d.health === 'Healthy')).toBe(true);
      expect(logged(rig.daemon, /registering again/).length).toBeGreaterThan(0);
      // The daemon's own line may come a moment after the stand-in saw the call.
      await waitFor(() => logged(rig!.daemon, 'registered with the kubelet').length === 2, 2000, 'the daemon\'s second registration line');
      // Several pod-resources polls later (1 s apart) the pod and its objects are all still there.
      await new Promise((res) => setTimeout(res, 1500));
      const after = (await rig.admin.listObjects({ tenant: 'k8s.ns1' })).map((o) => o.handle).sort();
      expect(after).toEqual(before);
      expect(fs.existsSync(r.mounts[0]!.host_path)).toBe(true);
    } finally {
      await pod.kill();
    }
  });

  it('a restarted daemon serves the running pod\'s socket again', async () => {
    rig = await startRig('daemon-restart');
    const k = rig.kubelet;
    await registered(k);
    const r = await k.admit({ namespace: 'ns1', name: 'p', container: 'c', ids: ['slot-7'] });
    expect((await runExample(r)).stdout).toMatch(/rdma-write ok/);
    const n = k.registrations.length;
    await rig.restartDaemon();
    expect(logged(rig.daemon, 'allocation recovered; its socket is served again')).toHaveLength(1);
    await registered(k, n + 1);
    const out = await runExample(r);
    expect(out.stdout).toMatch(/rdma-write ok/);
    const pod = await holdExample(r);
    try {
      const s = (await rig.admin.listSessions()).find((x) => x.pod);
      expect(s?.pod).toEqual({ namespace: 'ns1', name: 'p', container: 'c' });
    } finally {
      await pod.kill();
    }
  });

  it('two namespaces are two tenants: neither sees the other\'s objects, and each one\'s quota holds', async () => {
    rig = await startRig('tenants', {
      config: [
        'tenants:',
        '  - name: team-a',
        '    quotas: { pd: 2 }',
        'kubernetes:',
        '  namespaces: { ns-a: team-a }',
        '  template:',
        '    quotas: { pd: 1, sessions: 2 }',
        '',
      ].join('\n'),
    });
    const k = rig.kubelet;
    await registered(k);
    const ra = await k.admit({ namespace: 'ns-a', name: 'a', container: 'c', ids: ['slot-0'] });
    const rb = await k.admit({ namespace: 'ns-b', name: 'b', container: 'c', ids: ['slot-1'] });
    const ca = await connect({ socket: ra.mounts[0]!.host_path + '/broker.sock' });
    const cb = await connect({ socket: rb.mounts[0]!.host_path + '/broker.sock' });
    try {
      const sa = await ca.openSession({ name: 'a' });
      const sb = await cb.openSession({ name: 'b' });
      expect(sa.tenant).toBe('team-a');
      expect(sb.tenant).toBe('k8s.ns-b');
      await sa.allocPd('sim0');
      await sa.allocPd('sim0');
      await expect(sa.allocPd('sim0')).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
      await sb.allocPd('sim0');
      await expect(sb.allocPd('sim0')).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
      expect((await ca.listObjects()).map((o) => o.tenant)).toEqual(['team-a', 'team-a']);
      expect((await cb.listObjects()).map((o) => o.tenant)).toEqual(['k8s.ns-b']);
      expect(await cb.listObjects({ tenant: 'team-a' })).toEqual([]);
      expect((await cb.listSessions()).map((s) => s.tenant)).toEqual(['k8s.ns-b']);
      await sa.close();
      await sb.close();
    } finally {
      ca.close();
      cb.close();
    }
  });
});

describe('kubelet device plugin: bad input', () => {
  it('Allocate of unknown or repeated IDs is refused in one line and makes nothing', async () => {
    rig = await startRig('bad-ids');
    const k = rig.kubelet;
    await registered(k);
    await expect(k.allocate(['slot-999'])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/unknown device ID "slot-999"/) });
    await expect(k.allocate(['slot-1'], ['slot-1'])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/requested twice/) });
    await expect(k.allocate(['slot-2'], ['../../etc'])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(k.allocate([])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(podsDir(rig)).toEqual([]);
    await expect(k.preStart(['slot-3'])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    // Still serving.
    expect((await rig.admin.devices()).map((d) => d.name)).toEqual(['sim0']);
    const [r] = await k.allocate(['slot-1']);
    // Nobody has named its pod yet: a connection is told to retry, not given a tenant.
    const c = await connect({ socket: r!.mounts[0]!.host_path + '/broker.sock' });
    try {
      await expect(c.openSession({ name: 'early' })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/not yet named the pod/) });
    } finally {
      c.close();
    }
  });

  it('pod-resources unreachable: a clear error, nothing is evicted, and it recovers', async () => {
    rig = await startRig('no-podres');
    const k = rig.kubelet;
    await registered(k);
    const r = await k.admit({ namespace: 'ns1', name: 'p', container: 'c', ids: ['slot-0'] });
    const c = await connect({ socket: r.mounts[0]!.host_path + '/broker.sock' });
    try {
      const s = await c.openSession({ name: 'x' });
      await s.allocPd('sim0');
      k.stopPodResources();
      await waitFor(() => logged(rig!.daemon, /pod-resources unreachable/).length > 0, 5000, 'the error line');
      const line = logged(rig.daemon, /pod-resources unreachable/)[0]!;
      expect(String(line.error)).toMatch(/pod-resources List at .*kubelet\.sock/);
      // Polls keep failing; the pod is not taken for gone.
      await new Promise((res) => setTimeout(res, 1500));
      expect((await c.listObjects()).length).toBe(1);
      expect(logged(rig.daemon, /pod-resources unreachable/)).toHaveLength(1);
      await k.startPodResources();
      await waitFor(() => logged(rig!.daemon, 'pod-resources answers again').length > 0, 5000, 'recovery');
      expect((await c.listObjects()).length).toBe(1);
      await s.close();
    } finally {
      c.close();
    }
  });

  it('a kubelet that refuses the registration: one clear error, the daemon serves, and registers once the kubelet accepts', async () => {
    rig = await startRig('refuse');
    const k = rig.kubelet;
    await registered(k);
    k.refuse = 'resource name already taken';
    await k.restart();
    await waitFor(() => logged(rig!.daemon, /registration failed/).length > 0, 5000, 'the refusal to be logged');
    expect(String(logged(rig.daemon, /registration failed/)[0]!.error)).toMatch(/refused.*resource name already taken/);
    expect((await rig.admin.devices()).length).toBe(1);
    await new Promise((res) => setTimeout(res, 1500));
    expect(logged(rig.daemon, /registration failed/)).toHaveLength(1);
    k.refuse = null;
    await registered(k, 2, 3000);
  });

  it('a symlink planted in an allocation directory: the restarted daemon refuses it, removes only the link and creates nothing outside', async () => {
    rig = await startRig('symlink');
    const k = rig.kubelet;
    await registered(k);
    const r = await k.admit({ namespace: 'ns1', name: 'p', container: 'c', ids: ['slot-0'] });
    const dir = r.mounts[0]!.host_path;
    const outside = path.join(rig.base, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep'), 'x');
    rig.daemon.proc.kill('SIGKILL');
    await rig.daemon.exited;
    for (const f of ['broker.sock', 'broker.sock.fd']) {
      fs.rmSync(path.join(dir, f), { force: true });
      fs.symlinkSync(path.join(outside, f), path.join(dir, f));
    }
    // Entries no allocation names: a stray directory and a symlink to the outside directory.
    fs.mkdirSync(path.join(rig.stateDir, 'pods', '0'.repeat(32)));
    fs.symlinkSync(outside, path.join(rig.stateDir, 'pods', 'f'.repeat(32)));
    await rig.restartDaemon();
    const err = logged(rig.daemon, 'allocation not recovered; releasing it');
    expect(err).toHaveLength(1);
    expect(String(err[0]!.error)).toMatch(/symlink/);
    expect(fs.readdirSync(outside)).toEqual(['keep']);
    expect(fs.existsSync(dir)).toBe(false);
    expect(podsDir(rig)).toEqual([]);
    // Still serving, and the slot is free again.
    expect((await rig.admin.devices()).length).toBe(1);
    await registered(k, 2);
    expect((await k.allocate(['slot-0']))).toHaveLength(1);
  });

  it('an allocation no pod claims is released after the claim timeout', async () => {
    rig = await startRig('claim', { extra: ['--k8s-claim-timeout-ms', '800'] });
    const k = rig.kubelet;
    await registered(k);
    const [r] = await k.allocate(['slot-9']);
    await waitFor(() => logged(rig!.daemon, 'kubernetes allocation released').length > 0, 4000, 'the unclaimed allocation to be released');
    expect(logged(rig.daemon, 'kubernetes allocation released')[0]!.reason).toMatch(/no pod claimed it within 800 ms/);
    expect(fs.existsSync(r!.mounts[0]!.host_path)).toBe(false);
    expect(podsDir(rig)).toEqual([]);
  });
});
