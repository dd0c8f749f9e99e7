/**
 * Every struct offset and size the libibverbs binding uses, checked against
 * the installed rdma-core headers with a tiny offsetof program built by gcc.
 * Another rdma-core version (or architecture) with a different layout fails
 * here instead of being silently misread.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYOUT } from '../../../../src/verbs/ibverbs/binding.js';

const HEADER = '/usr/include/infiniband/verbs.h';

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = !hasGcc() ? 'gcc is not installed' : !existsSync(HEADER) ? `${HEADER} is missing (apt-get install libibverbs-dev)` : null;
if (missing) console.warn(`skipping the libibverbs layout check: ${missing}`);

describe.skipIf(missing !== null)('libibverbs struct layouts (rdma-core headers)', () => {
  it('match every offset and size in binding.ts', () => {
    const lines: string[] = [];
    for (const [struct, members] of Object.entries(LAYOUT)) {
      for (const member of Object.keys(members)) {
        const expr = member === '$size' ? `sizeof(struct ${struct})` : `offsetof(struct ${struct}, ${member})`;
        lines.push(`  printf("%s.%s=%zu\\n", "${struct}", "${member}", ${expr});`);
      }
    }
    const src = ['#include <stddef.h>', '#include <stdio.h>', '#include <infiniband/verbs.h>', 'int main(void) {', ...lines, '  return 0;', '}', ''].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'ibv-layout-'));
    try {
      writeFileSync(join(dir, 'layout.c'), src);
      execFileSync('gcc', ['-o', join(dir, 'layout'), join(dir, 'layout.c')], { stdio: 'pipe' });
      const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
      const measured: Record<string, number> = {};
      for (const l of out.trim().split('\n')) {
        const [k, v] = l.split('=');
        measured[k as string] = Number(v);
      }
      const expected: Record<string, number> = {};
      for (const [struct, members] of Object.entries(LAYOUT)) {
        for (const [member, value] of Object.entries(members)) expected[`${struct}.${member}`] = value;
      }
      expect(Object.keys(measured).length).toBe(Object.keys(expected).length);
      expect(measured).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
