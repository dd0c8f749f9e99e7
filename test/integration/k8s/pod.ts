/**
 * "Starts a pod": runs a command under bubblewrap in its own mount, pid and
 * ipc namespaces, as an unprivileged user (nobody), with only the
 * allocation's directory bound at /run/rdma-broker, read-only what node and
 * the checkout need, a fresh minimal /dev (no /dev/infiniband) and the
 * environment the device plugin's Allocate answer gave.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { ROOT } from '../helpers.js';

export const BWRAP = '/usr/bin/bwrap';
export const NOBODY = 65534;

/** Why bubblewrap cannot run here, or null when it can. */
export function bwrapUnavailable(): string | null {
  if (!fs.existsSync(BWRAP)) return `${BWRAP} is missing (apt-get install bubblewrap; scripts/install-deps.sh installs it)`;
  const r = spawnSync(BWRAP, [...baseArgs(), '/usr/bin/true'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return `bubblewrap does not run here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
  return null;
}

function baseArgs(): string[] {
  const args = ['--unshare-pid', '--unshare-ipc', '--die-with-parent', '--new-session', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp'];
  for (const d of ['/usr', '/bin', '/lib', '/lib64', '/sbin', '/etc']) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(d);
    } catch {
      continue;
    }
    // Debian's merged /usr: /lib is a symlink to usr/lib; recreate the link, bind the real directories.
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(d), d);
    else args.push('--ro-bind', d, d);
  }
  return args;
}

export interface PodSpec {
  /** The allocation's host directory (Allocate's mount host_path). */
  hostDir: string;
  /** Where it is mounted (Allocate's mount container_path). */
  containerDir: string;
  /** Allocate's envs. */
  env: Record<string, string>;
  /** The command, run as nobody. */
  argv: string[];
  /** Run as this uid/gid (default nobody). */
  uid?: number;
}

/** bubblewrap makes missing parents of a mount point mode 0700: make them 0755, as an image's /run or /work would be. */
function parents(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(p); d !== '/'; d = path.dirname(d)) out.unshift('--perms', '0755', '--dir', d);
  return out;
}

/** Spawns the pod's process (stdout/stderr piped). */
export function startPod(p: PodSpec): ChildProcess {
  const uid = p.uid ?? NOBODY;
  const args = [
    ...baseArgs(), ...parents(ROOT), '--ro-bind', ROOT, ROOT, ...parents(p.containerDir), '--bind', p.hostDir, p.containerDir,
    '--chdir', '/', '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin',
  ];
  for (const [k, v] of Object.entries(p.env)) args.push('--setenv', k, v);
  args.push('/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...p.argv);
  return spawn(BWRAP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the pod to its end: exit code and output. */
export function runPod(p: PodSpec, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startPod(p);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(t);
    resolve({ code, stdout, stderr });
  }));
}
