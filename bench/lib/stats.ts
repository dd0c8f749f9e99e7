/** Timing loops and summaries. Latencies are kept in microseconds. */

export interface Summary {
  /** Operations measured. */
  n: number;
  /** Operations per second (n / wall time of the measured phase). */
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export function percentile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Summarises latencies (µs) measured over `wallUs` of wall time. */
export function summarize(lat: number[], wallUs: number, opsPerSample = 1): Summary {
  const s = Float64Array.from(lat).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return {
    n: lat.length * opsPerSample,
    opsPerSec: wallUs > 0 ? (lat.length * opsPerSample * 1e6) / wallUs : NaN,
    p50Us: percentile(s, 0.5),
    p99Us: percentile(s, 0.99),
    meanUs: lat.length ? sum / lat.length : NaN,
  };
}

export const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

export interface LoopBudget {
  /** Stop after this many measured iterations... */
  maxIters: number;
  /** ...or after this much time, whichever comes first (at least minIters). */
  maxMs: number;
  minIters: number;
  warmup: number;
}

/**
 * Runs `body` in a closed loop (one at a time). `body` records its own
 * samples through `rec(label, µs)`, so one iteration can time several verbs
 * (create, then destroy). Returns samples per label and the wall time.
 */
export async function loop(
  budget: LoopBudget,
  body: (rec: (label: string, us: number) => void, i: number) => Promise<void>,
): Promise<Map<string, { lat: number[]; wallUs: number }>> {
  const noop = (): void => {};
  for (let i = 0; i < budget.warmup; i++) await body(noop, -1 - i);
  const out = new Map<string, { lat: number[]; wallUs: number }>();
  const rec = (label: string, us: number): void => {
    let e = out.get(label);
    if (!e) out.set(label, (e = { lat: [], wallUs: 0 }));
    e.lat.push(us);
    e.wallUs += us;
  };
  const start = nowUs();
  for (let i = 0; i < budget.maxIters; i++) {
    await body(rec, i);
    if (i + 1 >= budget.minIters && nowUs() - start > budget.maxMs * 1000) break;
  }
  return out;
}

/** Times one awaited call and records it. */
export async function timed<T>(rec: (label: string, us: number) => void, label: string, f: () => Promise<T>): Promise<T> {
  const t0 = nowUs();
  const r = await f();
  rec(label, nowUs() - t0);
  return r;
}

export function fmtNum(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(digits);
}

export function fmtUs(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} s`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)} ms`;
  if (x >= 100) return `${x.toFixed(0)} µs`;
  return `${x.toFixed(1)} µs`;
}

export function fmtBytes(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1 << 20) return `${(x / (1 << 20)).toFixed(1)} MiB`;
  if (x >= 1 << 10) return `${(x / 1024).toFixed(2)} KiB`;
  return `${x.toFixed(0)} B`;
}
