/**
 * The write example as a user runs it: through npm (a signal to npm reaches
 * the example, so nothing is left holding objects), and told when its
 * session is evicted.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CTL_BIN, EXAMPLE, ROOT, runNode, spawnDaemon, waitFor, type Daemon } from '../helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

let d: Daemon;
beforeAll(async () => {
  d = await spawnDaemon('examples');
});
afterAll(async () => {
  await d?.stop();
});

async function sessions(): Promise<{ session_id: string; pid?: number }[]> {
  const r = await runNode([CTL_BIN, '--socket', d.socket, 'sessions', '-j']);
  return JSON.parse(r.stdout) as { session_id: string; pid?: number }[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the write example', () => {
  it('SIGTERM to `npm run example:write -- --hold` ends the example too: its session and objects go', async () => {
    const npm = spawn('npm', ['run', '-s', 'example:write', '--', '--socket', d.socket, '--hold'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise((r) => npm.on('exit', r));
    try {
      await waitFor(() => out.includes('holding'), 60_000, 'holding');
      const [s] = await sessions();
      const examplePid = s?.pid;
      expect(examplePid).toEqual(expect.any(Number));
      npm.kill('SIGTERM');
      await exited;
      await waitFor(() => !alive(examplePid!), 10_000, 'the example process to end');
      await waitFor(async () => (await sessions()).length === 0, 10_000, 'its session to end');
      const objs = JSON.parse((await runNode([CTL_BIN, '--socket', d.socket, 'objects', '-j'])).stdout) as unknown[];
      expect(objs).toEqual([]);
    } finally {
      npm.kill('SIGKILL');
    }
  });

  it('an evicted --hold example says its session ended and exits 1', async () => {
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, '--hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => p.on('exit', r));
    try {
      await waitFor(() => out.includes('holding'), 60_000, 'holding');
      const [s] = await sessions();
      const ev = await runNode([CTL_BIN, '--socket', d.socket, 'evict', s!.session_id]);
      expect(ev.stdout).toMatch(/^evicted s-\S+ tenant default objects_destroyed 7\n$/);
      expect(await exited).toBe(1);
      expect(out).toBe('holding\n');
      expect(err).toMatch(/^rdma-write: the session ended while holding \(evicted, or the daemon stopped\)/);
      expect(err.trim().split('\n')).toHaveLength(1);
    } finally {
      p.kill('SIGKILL');
    }
  });
});
