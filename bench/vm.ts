/** --vm: placeholder until the C floor lands. */
import type { LoopBudget } from './lib/stats.js';

export async function runVm(_o: { tmp: string; cacheDir: string; budget: LoopBudget }): Promise<Record<string, unknown>> {
  return { status: 'TODO' };
}
