/**
 * The kernel's own view of RDMA objects, from iproute2's `rdma resource show`:
 * the ground truth the real-kernel suite checks cleanup against (every object
 * the broker creates is a kernel object; a leak shows up here even when the
 * broker's own tables look clean).
 *
 * Async (execFile), so a daemon running in the same process keeps serving
 * while the tool runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Per-device object counts, as `rdma resource show` prints them. */
export interface KernelResourceCounts {
  pd: number;
  mr: number;
  cq: number;
  qp: number;
  srq: number;
  ctx: number;
  cm_id: number;
  /** Every count the tool printed, including types this interface does not name. */
  all: Record<string, number>;
}

/** One object from `rdma -j resource show TYPE` (fields vary by type). */
export type KernelResourceEntry = Record<string, unknown> & { ifname?: string; pid?: number; comm?: string };

async function rdmaJson(args: string[]): Promise<unknown> {
  const { stdout } = await run('rdma', ['-j', ...args], { timeout: 30_000 });
  const text = stdout.trim();
  return text === '' ? [] : JSON.parse(text);
}

/** Parses `rdma -j resource show` (the summary): device name -> counts. */
export function parseResourceSummary(json: unknown): Map<string, KernelResourceCounts> {
  if (!Array.isArray(json)) throw new Error(`rdma resource show: expected a JSON array, got ${JSON.stringify(json)}`);
  const out = new Map<string, KernelResourceCounts>();
  for (const row of json as Record<string, unknown>[]) {
    const name = row.ifname;
    if (typeof name !== 'string') throw new Error(`rdma resource show: row without ifname: ${JSON.stringify(row)}`);
    const all: Record<string, number> = {};
    for (const [k, v] of Object.entries(row)) {
      if (k !== 'ifindex' && k !== 'ifname' && typeof v === 'number') all[k] = v;
    }
    out.set(name, {
      pd: all.pd ?? 0,
      mr: all.mr ?? 0,
      cq: all.cq ?? 0,
      qp: all.qp ?? 0,
      srq: all.srq ?? 0,
      ctx: all.ctx ?? 0,
      cm_id: all.cm_id ?? 0,
      all,
    });
  }
  return out;
}

/**
 * The kernel's object counts on one device (`rdma -j resource show`). The
 * counts include the kernel's own objects (ib_core holds a PD, CQ and QP per
 * rxe device), so compare against a baseline taken in the same VM.
 */
export async function kernelResources(device = 'rxe0'): Promise<KernelResourceCounts> {
  const counts = parseResourceSummary(await rdmaJson(['resource', 'show'])).get(device);
  if (!counts) throw new Error(`rdma resource show: no device ${device}`);
  return counts;
}

/**
 * The individual objects of one type (`rdma -j resource show pd|mr|cq|qp|srq|ctx|cm_id`),
 * optionally only those on one device or owned by one process.
 */
export async function kernelResourceEntries(
  type: string,
  filter: { device?: string; pid?: number } = {},
): Promise<KernelResourceEntry[]> {
  const json = await rdmaJson(['resource', 'show', type]);
  if (!Array.isArray(json)) throw new Error(`rdma resource show ${type}: expected a JSON array`);
  return (json as KernelResourceEntry[]).filter(
    (e) => (filter.device === undefined || e.ifname === filter.device) && (filter.pid === undefined || e.pid === filter.pid),
  );
}

/** `after - before` per named type, for "returned to baseline" assertions. */
export function resourceDelta(before: KernelResourceCounts, after: KernelResourceCounts): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before.all), ...Object.keys(after.all)])) {
    d[k] = (after.all[k] ?? 0) - (before.all[k] ?? 0);
  }
  return d;
}
