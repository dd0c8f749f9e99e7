/** A daemon with the device plugin on, a kubelet stand-in, and pods under bubblewrap. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { connect, type Client } from '../../../src/client/index.js';
import type { ContainerAllocateResponse__Output } from '../../../src/k8s/gen/deviceplugin/v1beta1/ContainerAllocateResponse.js';
import { EXAMPLE, spawnDaemon, waitFor, type Daemon } from '../helpers.js';
import { KubeletStandIn } from './kubelet.js';
import { runPod, startPod } from './pod.js';

export interface K8sRig {
  base: string;
  kubelet: KubeletStandIn;
  stateDir: string;
  daemon: Daemon;
  /** An admin client on the daemon's main socket. */
  admin: Client;
  /** Starts (or restarts) the daemon with the same directories. */
  restartDaemon(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** More daemon arguments; "{base}" in them is the rig's temp directory. */
  extra?: string[];
  /** Written as the daemon's --config (YAML). */
  config?: string;
  /** Daemon --device (default sim). */
  device?: string;
  /** How long the daemon may take to serve (default 15 s; the emulated VM needs more). */
  readyMs?: number;
}

export async function startRig(tag: string, o: RigOptions = {}): Promise<K8sRig> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `rb-k8s-${tag}-`));
  const kubelet = new KubeletStandIn(path.join(base, 'kubelet'));
  await kubelet.start();
  const stateDir = path.join(base, 'state');
  const args = ['--kubelet-dir', kubelet.dir, '--state-dir', stateDir, ...(o.extra ?? []).map((a) => a.replace('{base}', base))];
  if (o.config !== undefined) {
    fs.writeFileSync(path.join(base, 'tenants.yaml'), o.config);
    args.push('--config', path.join(base, 'tenants.yaml'));
  }
  const spawnOne = (): Promise<Daemon> => {
    const dir = fs.mkdtempSync(path.join(base, 'daemon-'));
    return spawnDaemon(tag, args, { dir, device: o.device, readyMs: o.readyMs });
  };
  const rig: K8sRig = {
    base, kubelet, stateDir,
    daemon: await spawnOne(),
    admin: undefined as unknown as Client,
    async restartDaemon() {
      rig.admin.close();
      await rig.daemon.stop();
      rig.daemon = await spawnOne();
      rig.admin = await connect({ socket: rig.daemon.socket });
    },
    async close() {
      rig.admin.close();
      kubelet.close();
      await rig.daemon.stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
  rig.admin = await connect({ socket: rig.daemon.socket });
  return rig;
}

/** The daemon's log lines (parsed) that match. */
export function logged(d: Daemon, msg: string | RegExp): Record<string, unknown>[] {
  return d.logs.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
}

/** Waits for the stand-in's n-th registration and a device list. */
export async function registered(k: KubeletStandIn, n = 1, ms = 5000): Promise<void> {
  await waitFor(() => k.registrations.length >= n && k.devices.length > 0, ms, `registration #${n}`);
}

/** The example, run in the pod to its end. */
export function runExample(r: ContainerAllocateResponse__Output, args: string[] = ['--bytes', '65536']): ReturnType<typeof runPod> {
  const m = r.mounts[0]!;
  return runPod({ hostDir: m.host_path, containerDir: m.container_path, env: r.envs, argv: [process.execPath, EXAMPLE, ...args] });
}

/** The example with --hold in the pod: resolves once its objects exist. */
export async function holdExample(r: ContainerAllocateResponse__Output, ms = 30_000): Promise<{ proc: ChildProcess; output: () => string; kill(): Promise<void> }> {
  const m = r.mounts[0]!;
  const proc = startPod({ hostDir: m.host_path, containerDir: m.container_path, env: r.envs, argv: [process.execPath, EXAMPLE, '--hold'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  let done = false;
  void exited.then(() => { done = true; });
  await waitFor(() => out.includes('holding') || done, ms, 'the pod to hold its objects');
  if (!out.includes('holding')) throw new Error(`the pod exited: ${out}`);
  return {
    proc, output: () => out,
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
