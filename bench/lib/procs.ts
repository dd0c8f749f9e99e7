/** Child processes of the benchmark: the daemon (bin/rdma-brokerd.js --device sim) and the echo server. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json is). */
export const ROOT = ((): string => {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json'))) {
    const up = path.dirname(d);
    if (up === d) throw new Error('package.json not found above the benchmark');
    d = up;
  }
  return d;
})();

/** Where compiled benchmark files live (this file is BUILD/bench/lib/procs.js). */
export const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** sysconf(_SC_CLK_TCK): 100 on Linux. */
const CLK_TCK = 100;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(p: string, child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(p)) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening`);
    if (Date.now() > end) throw new Error(`${what} did not listen on ${p} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export interface HeapSample {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  gc: boolean;
}

export class Child {
  private nextId = 1;
  private stderr = '';

  constructor(
    readonly proc: ChildProcess,
    readonly socket: string,
  ) {
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get lastStderr(): string {
    return this.stderr;
  }

  /**
   * CPU time used so far (user + system, µs; clock-tick resolution) by the
   * main thread (the event loop), or by the whole process (with V8's
   * compiler and GC threads and the libuv pool) when `allThreads`.
   */
  cpuUs(allThreads = false): number {
    try {
      const stat = fs.readFileSync(allThreads ? `/proc/${this.pid}/stat` : `/proc/${this.pid}/task/${this.pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state is field 3; utime 14, stime 15.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(rest[11]) + Number(rest[12]);
      return (ticks * 1e6) / CLK_TCK;
    } catch {
      return NaN;
    }
  }

  /** Heap after a full GC (needs --expose-gc and bench/heap-hook.cjs). */
  heap(): Promise<HeapSample> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('heap query timed out')), 30_000);
      const on = (m: { id?: number } & HeapSample): void => {
        if (m.id !== id) return;
        clearTimeout(t);
        this.proc.off('message', on);
        resolve(m);
      };
      this.proc.on('message', on);
      this.proc.send({ cmd: 'heap', id });
    });
  }

  /** Starts a CPU profile in the daemon (bench/heap-hook.cjs); {@link stopProfile} writes it. */
  startProfile(): Promise<void> {
    return this.ask('prof-start').then(() => undefined);
  }

  /** Stops the profile {@link startProfile} began and writes it to `file` (a .cpuprofile). */
  async stopProfile(file: string): Promise<void> {
    const r = await this.ask('prof-stop', { file });
    if (r.error) throw new Error(`daemon profile: ${String(r.error)}`);
  }

  private ask(cmd: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${cmd} timed out`)), 30_000);
      const on = (m: { id?: number } & Record<string, unknown>): void => {
        if (m.id !== id) return;
        clearTimeout(t);
        this.proc.off('message', on);
        resolve(m);
      };
      this.proc.on('message', on);
      this.proc.send({ cmd, id, ...extra });
    });
  }

  /** SIGTERM, then SIGKILL after a grace period. Resolves when the process is gone. */
  async stop(graceMs = 20_000): Promise<number | null> {
    const p = this.proc;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    const gone = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    const code = await gone;
    clearTimeout(t);
    return code;
  }
}

export interface DaemonOptions {
  socket: string;
  logFile: string;
  /** Directory for a CPU profile (node --cpu-prof), or null. */
  cpuProfDir?: string | null;
  logLevel?: string;
  /** How long to wait for the socket (emulated VMs start slowly). */
  startTimeoutMs?: number;
  /** --device (default sim). */
  device?: 'sim' | 'ibverbs' | 'auto';
  /** More daemon arguments (e.g. --fast-lane-spin). */
  args?: string[];
  /** The checkout whose bin/rdma-brokerd.js runs (default this one; an A/B names an older build). */
  root?: string;
}

/** Starts rdma-brokerd (--device sim unless told) in a child process and waits until it listens. */
export async function startDaemon(o: DaemonOptions): Promise<Child> {
  const nodeArgs: string[] = [];
  // The hook only answers heap questions over IPC (and stops the daemon if the benchmark dies).
  nodeArgs.push('--expose-gc', '--require', path.join(ROOT, 'bench/heap-hook.cjs'));
  if (o.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  // One run's log only: the audit trail alone is a line per mutating verb (hundreds of MB over a few runs).
  const log = fs.openSync(o.logFile, 'w');
  try {
    fs.unlinkSync(o.socket);
  } catch {
    // not there
  }
  const proc = spawn(process.execPath, [...nodeArgs, path.join(o.root ?? ROOT, 'bin/rdma-brokerd.js'), '--device', o.device ?? 'sim', '--socket', o.socket, '--log-level', o.logLevel ?? 'info', ...(o.args ?? [])], {
    stdio: ['ignore', log, 'pipe', 'ipc'],
    env: { ...process.env, RDMA_BROKER_LOG_LEVEL: o.logLevel ?? 'info' },
  });
  fs.closeSync(log);
  const c = new Child(proc, o.socket);
  try {
    await waitForSocket(o.socket, proc, o.startTimeoutMs ?? 60_000, 'rdma-brokerd');
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${c.lastStderr}`);
  }
  return c;
}

/** Starts the bare echo server (the transport floor) in a child process. */
export async function startEcho(socket: string, startTimeoutMs = 60_000): Promise<Child> {
  try {
    fs.unlinkSync(socket);
  } catch {
    // not there
  }
  const proc = spawn(process.execPath, [path.join(BUILD, 'bench/echo-server.js'), socket], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const c = new Child(proc, socket);
  try {
    await waitForSocket(socket, proc, startTimeoutMs, 'echo server');
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${c.lastStderr}`);
  }
  return c;
}
