/**
 * `npm run bench:vm` is run by an operator (it boots the soft-RoCE VM), never
 * here; these cheap checks keep its pieces from rotting between runs: the C
 * floor (bench/vm/verbs-floor.c) compiles warning-free against the installed
 * libibverbs headers, and the report pairs each fast-lane row with the C row
 * of the same wait mode for the "within 3x of C" goal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { computeGoals, vmLaneRows, type Results } from '../../bench/report.js';
import type { VmResult } from '../../bench/vm.js';
import type { Summary } from '../../bench/lib/stats.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const gcc = spawnSync('gcc', ['--version']).status === 0;
const headers = fs.existsSync('/usr/include/infiniband/verbs.h');

describe.skipIf(!gcc || !headers)('bench/vm/verbs-floor.c', () => {
  it('compiles with -Wall -Werror against the installed libibverbs headers', () => {
    const r = spawnSync('gcc', ['-O2', '-Wall', '-Werror', '-fsyntax-only', path.join(ROOT, 'bench/vm/verbs-floor.c')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

const sum = (p50Us: number): Summary => ({ n: 100, opsPerSec: 1e6 / p50Us, p50Us, p99Us: p50Us * 2, meanUs: p50Us });

describe('the VM report: fast lane against the C floor', () => {
  const vm: VmResult = {
    status: 'measured',
    c: { write: sum(100), 'write.event': sum(200) },
    backend: { write: sum(900) },
    lane: {
      status: '',
      latency: [
        { key: 'lane.spin', label: 'spin', summary: sum(250) },
        { key: 'lane.wait', label: 'wait', summary: sum(700) },
        { key: 'grpc', label: 'grpc', summary: sum(5000) },
      ],
      throughput: [],
      goals: { spinP50Us: 25, wrsPerSec32: 1e6, daemonCpuUsPerWr32: 2 },
    },
  };

  it('compares the spinning lane with C spinning and the eventfd lane with C on a completion channel', () => {
    const rows = vmLaneRows(vm);
    const by = new Map(rows.map((r) => [r.key, r]));
    expect(by.get('lane.spin')).toMatchObject({ cKey: 'write', ratio: 2.5 });
    expect(by.get('lane.wait')).toMatchObject({ cKey: 'write.event', ratio: 3.5, cSpinRatio: 7 });
    expect(by.get('backend')).toMatchObject({ cKey: 'write', ratio: 9 });
  });

  it('reports one goal per lane row, PASS within 3x and MISS beyond', () => {
    const goals = computeGoals({ vm, notes: [] } as unknown as Results);
    expect(goals.map((g) => g.verdict)).toEqual(['PASS', 'MISS']);
    expect(goals[0]!.goal).toContain('within 3x');
  });
});
