/**
 * rdmactl watch prints every change the daemon sent, the same words in text
 * and JSON, and says when the daemon ends the stream (exit 1): a killed
 * client's 7 objects and a stopping daemon's teardown all arrive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { CTL_BIN, EXAMPLE, spawnDaemon, waitFor } from '../helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

interface Proc {
  p: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

function run(args: string[]): Proc {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return { p, out: () => out, err: () => err, exited: new Promise((r) => p.on('exit', (code) => r(code))) };
}

const count = (s: string, word: string): number => s.split('\n').filter((l) => l.startsWith(`${word} `)).length;

describe('rdmactl watch', () => {
  it('prints all 7 destroys of a killed client, then all 7 of a stopping daemon, then "daemon closed the stream" (exit 1)', async () => {
    const d = await spawnDaemon('watch');
    const text = run([CTL_BIN, '--socket', d.socket, 'watch', '--initial']);
    const json = run([CTL_BIN, '--socket', d.socket, 'watch', '-j', '--initial']);
    const examples: Proc[] = [];
    try {
      await waitFor(() => text.out().includes('synced') && json.out().includes('synced'), 20_000, 'both watches synced');
      // A client killed with its 7 objects (pd, 2 mr, comp_channel, cq, 2 qp): its session's teardown is 7 destroys.
      const a = run([EXAMPLE, '--socket', d.socket, '--hold']);
      examples.push(a);
      await waitFor(() => a.out().includes('holding'), 20_000, 'holding');
      await waitFor(() => count(text.out(), 'created') === 7, 10_000, '7 created');
      a.p.kill('SIGKILL');
      await waitFor(() => count(text.out(), 'destroyed') === 7, 10_000, `7 destroyed (${text.out()})`);
      // A second one held while the daemon stops: the shutdown destroys its 7 objects, and the watchers see each.
      const b = run([EXAMPLE, '--socket', d.socket, '--hold']);
      examples.push(b);
      await waitFor(() => b.out().includes('holding'), 20_000, 'holding');
      await waitFor(() => count(text.out(), 'created') === 14, 10_000, '14 created');
      d.proc.kill('SIGTERM');
      expect(await d.exited).toEqual({ code: 0, signal: null });
      expect(await text.exited).toBe(1);
      expect(await json.exited).toBe(1);
      expect(count(text.out(), 'destroyed')).toBe(14);
      expect(text.err()).toBe('rdmactl: daemon closed the stream\n');
      expect(json.err()).toBe('rdmactl: daemon closed the stream\n');
      // The same words in JSON as in text; the same changes in the same order.
      const kinds = json.out().trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
      const words = text.out().trim().split('\n').map((l) => l.split(' ')[0]);
      expect(kinds).toEqual(words);
      expect(kinds.filter((k) => k === 'destroyed')).toHaveLength(14);
      expect(new Set(kinds)).toEqual(new Set(['synced', 'created', 'destroyed']));
    } finally {
      for (const x of [text, json, ...examples]) x.p.kill('SIGKILL');
      await d.stop();
    }
  });

  it('Ctrl-C ends it quietly, exit 0', async () => {
    const d = await spawnDaemon('watch-int');
    try {
      const w = run([CTL_BIN, '--socket', d.socket, 'watch', '--initial']);
      await waitFor(() => w.out().includes('synced'), 20_000, 'synced');
      w.p.kill('SIGINT');
      expect(await w.exited).toBe(0);
      expect(w.err()).toBe('');
    } finally {
      await d.stop();
    }
  });
});
