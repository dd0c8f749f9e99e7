/**
 * `rdmactl top` in a real terminal: run in a tmux pane (its own tmux server),
 * read back with capture-pane (polled until the expected text shows, never a
 * fixed sleep), driven with send-keys and resize-window. Skipped, saying so,
 * where tmux is not installed (scripts/install-deps.sh installs it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type Client } from '../../../src/client/index.js';
import { CTL_BIN, runNode, spawnDaemon, waitFor, type Daemon } from '../helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const TMUX = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
const SERVER = `rb-top-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SERVER, '-f', '/dev/null', ...args], { encoding: 'utf8' });
const pane = (name: string): string => {
  try {
    return tmux('capture-pane', '-p', '-t', name);
  } catch {
    return '';
  }
};
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let d: Daemon;
let dir: string;
beforeAll(async () => {
  d = await spawnDaemon('top', [], { logLevel: 'info' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-top-'));
});
afterAll(async () => {
  if (TMUX) {
    try {
      tmux('kill-server');
    } catch {
      // no session left: the server is gone already
    }
  }
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts `rdmactl top` in a detached 120x40 pane; its exit code and stderr land in files. */
function startTop(name: string, socket: string): { code: () => string | null; err: () => string } {
  const code = path.join(dir, `${name}.code`);
  const err = path.join(dir, `${name}.err`);
  const cmd = `${quote(process.execPath)} ${quote(CTL_BIN)} --socket ${quote(socket)} top --interval 0.3 2>${quote(err)}; echo $? > ${quote(code)}`;
  tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', name, cmd);
  return {
    code: () => (fs.existsSync(code) ? fs.readFileSync(code, 'utf8').trim() || null : null),
    err: () => (fs.existsSync(err) ? fs.readFileSync(err, 'utf8') : ''),
  };
}

const row = (screen: string, first: string): string | undefined => screen.split('\n').find((l) => l.startsWith(first));

describe.skipIf(!TMUX)(TMUX ? 'rdmactl top under tmux' : 'rdmactl top under tmux (skipped: tmux is not installed; sudo scripts/install-deps.sh)', () => {
  it('shows a client\'s objects per type, its registered bytes and verbs/s; redraws on resize; q quits with 0', async () => {
    const t = startTop('live', d.socket);
    await waitFor(() => pane('live').includes('SESSION'), 30_000, `top's first frame (${t.err()})`);
    expect(pane('live')).toMatch(/^rdmactl top - \d\d:\d\d:\d\d {2}120x40 {2}q quits {2}\S+broker\.sock$/m);

    let c: Client | null = null;
    let busy = true;
    try {
      c = await connect({ socket: d.socket });
      const s = await c.openSession({ name: 'top-client' });
      const pd = await s.allocPd('sim0');
      await s.regMr(pd, 1 << 20, ['LOCAL_WRITE']);
      await s.regMr(pd, 1 << 20, ['LOCAL_WRITE']);
      const cq = await s.createCq('sim0', 16);
      // The session's row: 4 objects, 1 PD, 2 MRs, 1 CQ, 2 MiB registered.
      const sessionRow = await waitFor(() => row(pane('live'), s.id)?.match(/\s4\s+1\s+2\s+1\s+2M\s/) && row(pane('live'), s.id), 30_000, `the session's counts (${pane('live')})`);
      expect(sessionRow).toContain('top-client');
      expect(row(pane('live'), 'SESSION')).toMatch(/^SESSION\s+TENANT\s+NAME\s+STATE\s+OBJS\s+PD\s+MR\s+CQ\s+REG_BYTES\s+AGE$/);
      // The tenant's row: its registered bytes come with the next accounting refresh.
      await waitFor(() => /^default\s+admin\s+1\s+4\s+1\s+2\s+1\s+2M\s/.test(row(pane('live'), 'default') ?? ''), 30_000, `the tenant's counts (${row(pane('live'), 'default')})`);
      // Verbs keep coming: the tenant's verbs/s shows them.
      const verbs = (async () => {
        while (busy) await s.pollCq(cq, 1);
      })();
      await waitFor(() => {
        const r = row(pane('live'), 'default')?.trim().split(/\s+/);
        return r && Number(r.at(-1)) > 0;
      }, 30_000, `verbs/s above 0 (${row(pane('live'), 'default')})`);
      busy = false;
      await verbs;

      // Narrower and shorter: a new frame at the new size, and no line wider than it.
      tmux('resize-window', '-t', 'live', '-x', '60', '-y', '20');
      await waitFor(() => pane('live').includes('60x20'), 30_000, 'a frame at 60x20');
      const narrow = pane('live').split('\n');
      for (const l of narrow) expect(l.length).toBeLessThanOrEqual(60);
      expect(row(narrow.join('\n'), 'SESSION')).toContain('OBJS');

      // The client's session ends: its row goes.
      await s.close();
      await waitFor(() => !pane('live').includes(s.id), 30_000, 'the session row to go');
    } finally {
      busy = false;
      c?.close();
    }

    tmux('send-keys', '-t', 'live', 'q');
    expect(await waitFor(t.code, 30_000, 'top to exit after q')).toBe('0');
    expect(t.err()).toBe('');
  });

  it('says in one line that the daemon went away and exits 1', async () => {
    const other = await spawnDaemon('top-away', [], { logLevel: 'info' });
    try {
      const t = startTop('away', other.socket);
      await waitFor(() => pane('away').includes('SESSION'), 30_000, `top's first frame (${t.err()})`);
      other.proc.kill('SIGKILL');
      expect(await waitFor(t.code, 30_000, 'top to exit when the daemon goes away')).toBe('1');
      expect(t.err()).toMatch(/^rdmactl: top: the daemon at \S+ went away \([^\n]+\)\n$/);
    } finally {
      await other.stop();
    }
  });
});

describe('rdmactl top on a pipe', () => {
  it('prints one frame and exits 0', async () => {
    const r = await runNode([CTL_BIN, '--socket', d.socket, 'top']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^rdmactl top - \\d\\d:\\d\\d:\\d\\d  ${d.socket.replace(/[.]/g, '\\.')}\\n`));
    expect(r.stdout).toMatch(/^TENANT\s+ROLE\s+SESS\s+OBJS/m);
    expect(r.stdout).toMatch(/^SESSION\s+TENANT\s+NAME\s+STATE\s+OBJS/m);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.code).toBe(0);
  });

  it('-j and several --addr are usage errors', async () => {
    const j = await runNode([CTL_BIN, '--socket', '/nonexistent', 'top', '-j']);
    expect(j.stderr).toMatch(/^rdmactl: top: no JSON output \(accounting -j and sessions -j have the same data\)/);
    expect(j.code).toBe(2);
    const many = await runNode([CTL_BIN, '--addr', '127.0.0.1:1', '--addr', '127.0.0.1:2', 'top']);
    expect(many.stderr).toMatch(/^rdmactl: top: one daemon at a time/);
    expect(many.code).toBe(2);
  });
});
