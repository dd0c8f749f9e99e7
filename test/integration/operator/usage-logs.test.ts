/**
 * What an operator sees first: one-line usage errors (exit 2) from rdmactl and
 * rdma-brokerd, and the daemon's log lines as text on a terminal (run under a
 * pseudo-terminal with util-linux `script`) and as JSON lines elsewhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { textLine } from '../../../src/daemon/logformat.js';
import { CTL_BIN, DAEMON_BIN, runNode, tempSocket, waitFor } from '../helpers.js';

// Each case spawns daemons and rdmactl; on a loaded machine a node start takes seconds.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

async function usageError(bin: string, args: string[], prog: string, problem: RegExp): Promise<void> {
  const r = await runNode([bin, ...args]);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${prog}: .* \\(see ${prog} --help\\)$`));
  expect(lines[0]).toMatch(problem);
  expect(r.stderr).not.toMatch(/place it at the end|Usage:/);
}

describe('usage errors are one line naming the problem, exit 2', () => {
  it('rdmactl', async () => {
    await Promise.all([
      usageError(CTL_BIN, ['quota', 'default', 'qp=-1'], 'rdmactl', /quota: qp: expected a non-negative integer or none, got "-1"/),
      usageError(CTL_BIN, ['--frobnicate', 'devices'], 'rdmactl', /unknown option --frobnicate/),
      usageError(CTL_BIN, ['objects', '--type'], 'rdmactl', /--type needs a value/),
      usageError(CTL_BIN, ['--json=yes', 'devices'], 'rdmactl', /--json takes no value/),
      usageError(CTL_BIN, ['devices', 'extra'], 'rdmactl', /devices: unexpected argument "extra"/),
      usageError(CTL_BIN, ['frob'], 'rdmactl', /unknown command "frob"/),
      usageError(CTL_BIN, [], 'rdmactl', /a command is required/),
    ]);
  }, 120_000);

  it('rdma-brokerd', async () => {
    await Promise.all([
      usageError(DAEMON_BIN, ['--listen', '50051'], 'rdma-brokerd', /--listen: expected HOST:PORT, got "50051"/),
      usageError(DAEMON_BIN, ['--bogus'], 'rdma-brokerd', /unknown option --bogus/),
      usageError(DAEMON_BIN, ['stray'], 'rdma-brokerd', /unexpected argument "stray"/),
      usageError(DAEMON_BIN, ['--log-format', 'xml'], 'rdma-brokerd', /--log-format: expected text or json, got "xml"/),
      usageError(DAEMON_BIN, ['--lease-ms=-5'], 'rdma-brokerd', /--lease-ms: expected a non-negative integer/),
    ]);
  }, 120_000);

  it('--help still prints the whole usage, exit 0', async () => {
    const r = await runNode([CTL_BIN, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: rdmactl/);
  });
});

describe('log format', () => {
  it('a pino line as text: ISO time, level, message, key=value (strings with spaces quoted, errors by message)', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, msg: 'TCP without TLS', listen: '0.0.0.0:1', n: 3, why: 'two words', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n  at x' } });
    expect(textLine(line)).toBe('2026-01-02T03:04:05.006Z WARN  TCP without TLS listen=0.0.0.0:1 n=3 why="two words" err="boom"\n');
    expect(textLine('not json')).toBe('not json\n');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  /** The daemon under a pseudo-terminal (script -qc): what a person running it by hand sees. */
  async function onTerminal(extra: string[]): Promise<string> {
    const { dir, socket } = tempSocket('tty');
    const cmd = [process.execPath, DAEMON_BIN, '--device', 'sim', '--socket', socket, ...extra].map((a) => `'${a}'`).join(' ');
    const p = spawn('script', ['-qefc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise((r) => p.on('exit', r));
    try {
      await waitFor(() => /rdma-brokerd serving/.test(out) || p.exitCode !== null, 15_000, `the daemon to serve on a terminal (${out})`);
      // Ctrl-C on the terminal: the line discipline sends SIGINT to the daemon, as for a person.
      p.stdin.write('\x03');
      await exited;
      return out.replace(/\r\n/g, '\n');
    } finally {
      if (p.exitCode === null) process.kill(-p.pid!, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(!hasScript)('on a terminal the daemon logs text lines with ISO times', async () => {
    const out = await onTerminal([]);
    const serving = out.split('\n').find((l) => l.includes('rdma-brokerd serving'));
    expect(serving).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  rdma-brokerd serving socket=\S+broker\.sock .*backend=sim /);
    expect(out).not.toMatch(/"level":/);
    expect(out).toMatch(/Z INFO  shutting down signal=SIGINT/);
  });

  it.skipIf(!hasScript)('--log-format json keeps JSON lines on a terminal', async () => {
    const out = await onTerminal(['--log-format', 'json']);
    const serving = out.split('\n').find((l) => l.includes('rdma-brokerd serving'));
    expect(JSON.parse(serving!)).toEqual(expect.objectContaining({ level: 30, time: expect.any(Number), backend: 'sim' }));
  });

  it('on a pipe (a service, journald) the default is JSON; --log-format text there gives text', async () => {
    const { dir, socket } = tempSocket('pipe');
    try {
      for (const [extra, json] of [[[], true], [['--log-format', 'text'], false]] as const) {
        const p = spawn(process.execPath, [DAEMON_BIN, '--device', 'sim', '--socket', socket, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (b: Buffer) => (out += b.toString()));
        await waitFor(() => out.includes('rdma-brokerd serving'), 15_000, 'serving');
        p.kill('SIGTERM');
        await new Promise((r) => p.on('exit', r));
        const first = out.split('\n')[0]!;
        if (json) expect(JSON.parse(first)).toEqual(expect.objectContaining({ level: expect.any(Number) }));
        else expect(first).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z [A-Z]+ /);
      }
    } finally {
      fs.rmSync(path.dirname(socket), { recursive: true, force: true });
      void dir;
    }
  });
});
