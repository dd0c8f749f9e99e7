/**
 * One differential run: every catalog case on one device (through a
 * {@link Device} adapter), compared with the kernel's recorded answers. The
 * runner's known disagreements (known-sim-gaps.json under `runner`) are
 * allowed and reported; any other disagreement fails, and so does a known
 * gap that now agrees (remove it: RDMA_BROKER_UPDATE_GAPS=1 rewrites the
 * runner's list from this run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog } from './catalog.js';
import { areaTable, judge, loadFixture, loadGaps, writeGaps, type JudgeOptions } from './compare.js';
import { runCase, type CaseRecord, type Device, type RunOptions } from './interp.js';

export function defineDifferential<H>(runner: string, open: () => Promise<{ dev: Device<H>; close(): Promise<void> }>, o: RunOptions & JudgeOptions & { timeoutMs?: number } = {}): void {
  describe(`differential: ${runner} against the kernel's recorded answers`, () => {
    const cases = buildCatalog();
    const { header, answers } = loadFixture();
    const got = new Map<string, CaseRecord>();
    let opened: { dev: Device<H>; close(): Promise<void> } | undefined;

    beforeAll(async () => {
      opened = await open();
    }, o.timeoutMs ?? 600_000);
    afterAll(async () => {
      await opened?.close();
    }, o.timeoutMs ?? 600_000);

    it('the fixture answers every case of the catalog', () => {
      const missing = cases.filter((c) => !answers.has(c.name)).map((c) => c.name);
      expect(missing, 'cases without a recorded answer: re-record test/fixtures/rxe-answers.jsonl (scripts/rxe-suite.sh)').toEqual([]);
    });

    it(`every case agrees with ${header.device} (kernel ${header.kernel}, rdma-core ${header.rdma_core}) but the known gaps`, async () => {
      const t0 = Date.now();
      for (const c of cases) {
        if (!answers.has(c.name)) continue;
        got.set(c.name, await runCase(opened!.dev, c, o));
      }
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      const known = loadGaps()[runner] ?? [];
      const v = judge(cases.filter((c) => answers.has(c.name)), answers, got, known, o);
      if (process.env.RDMA_BROKER_UPDATE_GAPS === '1') writeGaps(runner, v.disagreements);
      const agree = Object.values(v.perArea).reduce((a, [ok]) => a + ok, 0);
      const deliberate = Object.values(v.deliberate).reduce((a, k) => a + k, 0);
      console.log(`differential ${runner}: ${agree}/${got.size} cases agree${deliberate ? ` (${deliberate} with the broker's deliberate answers)` : ''}; per area: ${areaTable(v)}; ${v.disagreements.length - v.fresh.length} known gaps; ${seconds} s`);
      if (process.env.RDMA_BROKER_DIFF_VERBOSE === '1') for (const d of v.details.values()) console.log(`  ${d}`);
      const freshDetails = v.fresh.map((d) => v.details.get(d.case) ?? `${d.area} ${d.case}: ${d.fields.join(', ')}`);
      expect(freshDetails, `new disagreements with the kernel (${runner})`).toEqual([]);
      expect(v.stale.map((k) => k.case), `known gaps of ${runner} that now agree: remove them from test/differential/known-sim-gaps.json (RDMA_BROKER_UPDATE_GAPS=1)`).toEqual([]);
    }, o.timeoutMs ?? 600_000);
  });
}
