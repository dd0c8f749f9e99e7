/** The printed report: tables, ratios and goals (PASS/MISS with the factor). */
import type { Summary } from './lib/stats.js';
import { fmtBytes, fmtNum, fmtUs } from './lib/stats.js';
import type { LaneResult } from './lane.js';
import { BATCH_GROUPS, CPU_GROUPS, VERB_ROWS, type BatchParallelResult, type BatchResult, type CpuGroupRow } from './verbs.js';
import type { VmResult } from './vm.js';

/** The fast lane in the VM: post + poll within this factor of the C program's. */
export const VM_LANE_GOAL = 3;

/** CPU per call (µs): the server's event-loop thread, the whole server process, the client process. */
export interface CpuPerCall {
  calls: number;
  serverUs: number;
  serverAllUs: number;
  clientUs: number;
}

export interface ScalingRow {
  sessions: number;
  connections: number;
  summary: Summary;
  errors: number;
  /** CPU per call and the share of one core each side used. */
  daemonCpuPerCallUs?: number;
  clientCpuPerCallUs?: number;
  daemonBusy?: number;
  clientBusy?: number;
}

export interface CleanupRow {
  objects: number;
  /** Via the daemon: stream end -> session gone from ListSessions. */
  daemonMs: number | null;
  /** In-process: Broker.evict() on the sim. */
  coreMs: number | null;
  mix: string;
}

export interface HeapRow {
  what: string;
  objects: number;
  bytesPerObject: number;
  where: string;
}

export interface Results {
  mode: string;
  started: string;
  seconds?: number;
  host: Record<string, unknown>;
  setup: Record<string, string>;
  verbs: {
    grpc: Record<string, Summary>;
    core: Record<string, Summary>;
    sim: Record<string, Summary>;
    floor: Record<string, Summary & { rpcs: { req: number; rep: number }[] }>;
    /** CPU per unary call (µs), server and client side, over the whole loop. */
    cpu?: { broker: CpuPerCall; echo: CpuPerCall };
  } | null;
  /** Which codec ObjectService ran with (--codec). */
  codec?: string;
  /** CPU per call by verb kind (issue 14's goals), the broker and the echo server with the same sizes. */
  cpuGroups?: { broker: CpuGroupRow[]; echo: CpuGroupRow[] } | null;
  /** The MR's own system calls, measured in the bench process in the same run (µs per MR). */
  mrFloor?: { length: number; us: number; n: number } | null;
  batch: BatchResult[] | null;
  batchParallel: BatchParallelResult[] | null;
  scaling: ScalingRow[] | null;
  sessions1k: { sessions: number; opened: number; served: number; listed: number; openMs: number; verbMs: number; closeMs: number; connections: number; errors: string[] } | null;
  cleanup: CleanupRow[] | null;
  heap: HeapRow[] | null;
  fds: { status: string; rows: { label: string; summary: Summary }[] } | null;
  lane?: LaneResult | null;
  vm: VmResult | null;
  goals?: Goal[];
  notes: string[];
}

export interface Goal {
  goal: string;
  measured: string;
  verdict: 'PASS' | 'MISS' | 'n/a';
  factor: string;
}

function table(head: string[], rows: string[][], right: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (right[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(head), sep, ...rows.map(line)].join('\n') + '\n';
}

const pctOf = (f: number | undefined): string => (f === undefined || !Number.isFinite(f) ? '-' : `${(100 * f).toFixed(0)}% of a core`);

const x = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');

/** The average of the labels' p50s: the typical per-verb cost of a group. */
function p50Of(s: Record<string, Summary>, labels: string[]): number {
  let t = 0;
  for (const l of labels) {
    const v = s[l];
    if (!v) return NaN;
    t += v.p50Us;
  }
  return t / labels.length;
}

/** Issue 14's goals. */
const UNARY_P50_GOAL = 1.2;
const CLIENT_CPU_GOAL = 1.5;
/** Batch 256, verbs/s per verb kind (MR 1 MiB has none: its cost is the memory). */
const BATCH_GOALS: Record<string, number> = { pd: 250_000, cq: 250_000, qp: 150_000, modify: 150_000, write: 150_000, mr4k: 100_000 };

/** Batch 256 per verb kind: the better of one call in flight and two (both cores busy). */
function batch256(r: Results): BatchResult[] {
  return (r.batch ?? []).filter((b) => b.size === 256).map((b) => {
    const p = r.batchParallel?.find((q) => q.group === b.group && q.size === 256);
    return p && p.verbsPerSec > b.verbsPerSec ? { ...b, verbsPerSec: p.verbsPerSec } : b;
  });
}

/** The C row a lane row is measured against: the same wait (spinning on the CQ, or sleeping on a completion channel). */
const cRowFor = (key: string): string => (key === 'lane.wait' ? 'write.event' : 'write');

/** The VM lane rows with their C floor: post + poll (the issue's goal, per wait mode) and WRs/s per post. */
export function vmLaneRows(vm: VmResult): { label: string; key: string; summary: Summary; cKey: string; c?: Summary; ratio: number; cSpinRatio: number }[] {
  const c = vm.c ?? {};
  const rows: { label: string; key: string; summary: Summary }[] = [...(vm.lane?.latency ?? [])];
  if (vm.backend?.write) rows.push({ key: 'backend', label: 'libibverbs backend in-process (koffi, no daemon)', summary: vm.backend.write });
  if (vm.core?.write) rows.push({ key: 'core', label: 'Broker core in-process over it (no transport)', summary: vm.core.write });
  return rows.map((l) => {
    const cKey = cRowFor(l.key);
    const cs = c[cKey];
    return { ...l, cKey, c: cs, ratio: cs ? l.summary.p50Us / cs.p50Us : NaN, cSpinRatio: c.write ? l.summary.p50Us / c.write.p50Us : NaN };
  });
}

function vmLaneTables(vm: VmResult): string {
  const L = vm.lane!;
  let out = `\nFast lane on the kernel device, post + poll of a 64 B RDMA WRITE against the C program's with the same wait (goal: within ${VM_LANE_GOAL}x):\n`;
  out += '(C spinning: `write`, ibv_post_send then ibv_poll_cq until it is there; C sleeping: `write.event`, req_notify, post, ibv_get_cq_event, poll)\n\n';
  out += table(['post + poll', 'p50', 'p99', 'C p50 (same wait)', 'vs C', 'vs C spinning', 'goal'], vmLaneRows(vm).map((l) => [
    l.label, fmtUs(l.summary.p50Us), fmtUs(l.summary.p99Us), l.c ? `${fmtUs(l.c.p50Us)} (${l.cKey})` : '-', x(l.ratio), x(l.cSpinRatio),
    l.key.startsWith('lane.') && Number.isFinite(l.ratio) ? (l.ratio <= VM_LANE_GOAL ? 'PASS' : 'MISS') : '',
  ]), [false, true, true, true, true, true, false]);
  out += '\n';
  const ct = vm.cThroughput ?? [];
  out += table(['WRs per doorbell / post', 'lane WRs/s', 'daemon CPU per WR', 'C WRs/s', 'C CPU per WR', 'lane/C WRs/s'], L.throughput.map((t) => {
    const cr = ct.find((q) => q.perPost === t.perDoorbell);
    return [t.daemon ? `${t.perDoorbell} (daemon ${t.daemon}, no doorbell)` : String(t.perDoorbell), fmtNum(t.wrsPerSec), fmtUs(t.daemonCpuUsPerWr),
      cr ? fmtNum(cr.wrsPerSec) : '-', cr ? fmtUs(cr.cpuUsPerWr) : '-', cr ? x(t.wrsPerSec / cr.wrsPerSec) : '-'];
  }), [false, true, true, true, true, true]);
  return out;
}

export function computeGoals(r: Results): Goal[] {
  const goals: Goal[] = [];
  if (r.verbs) {
    const ratios: { key: string; ratio: number }[] = [];
    for (const row of VERB_ROWS) {
      const g = r.verbs.grpc[row.key];
      const f = r.verbs.floor[row.key];
      if (g && f) ratios.push({ key: row.key, ratio: g.p50Us / f.p50Us });
    }
    const sorted = [...ratios].sort((a, b) => a.ratio - b.ratio);
    const worst = sorted[sorted.length - 1];
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    const pass = ratios.filter((q) => q.ratio <= UNARY_P50_GOAL).length;
    if (worst && median) {
      goals.push({
        goal: `broker unary p50 within ${UNARY_P50_GOAL}x of bare grpc-js echo (same payload), every verb`,
        measured: `${pass}/${ratios.length} verbs within; median ${x(median.ratio)}, worst ${x(worst.ratio)} (${worst.key})`,
        verdict: pass === ratios.length ? 'PASS' : 'MISS',
        factor: pass === ratios.length ? `worst ${x(worst.ratio)} of ${UNARY_P50_GOAL}x` : `worst ${(worst.ratio / UNARY_P50_GOAL).toFixed(2)}x over the goal`,
      });
    }
  }
  if (r.cpuGroups) {
    let bc = 0;
    let ec = 0;
    let bn = 0;
    let en = 0;
    for (const g of CPU_GROUPS) {
      const b = r.cpuGroups.broker.find((q) => q.group === g.key);
      const e = r.cpuGroups.echo.find((q) => q.group === g.key);
      if (!b || !e) continue;
      const ratio = b.serverUs / e.serverUs;
      goals.push({
        goal: `daemon CPU per unary verb <= ${g.goal}x the echo server's: ${g.label}`,
        measured: `${fmtUs(b.serverUs)} vs ${fmtUs(e.serverUs)} per call (${x(ratio)})`,
        verdict: ratio <= g.goal ? 'PASS' : 'MISS',
        factor: ratio <= g.goal ? `${(ratio / g.goal).toFixed(2)} of the allowance` : `${(ratio / g.goal).toFixed(2)}x over the goal`,
      });
      bc += b.clientUs * b.calls;
      bn += b.calls;
      ec += e.clientUs * e.calls;
      en += e.calls;
    }
    if (bn && en) {
      const ratio = bc / bn / (ec / en);
      goals.push({
        goal: `client CPU per call <= ${CLIENT_CPU_GOAL}x the echo client's (the same verb kinds)`,
        measured: `${fmtUs(bc / bn)} vs ${fmtUs(ec / en)} per call (${x(ratio)})`,
        verdict: ratio <= CLIENT_CPU_GOAL ? 'PASS' : 'MISS',
        factor: ratio <= CLIENT_CPU_GOAL ? `${(ratio / CLIENT_CPU_GOAL).toFixed(2)} of the allowance` : `${(ratio / CLIENT_CPU_GOAL).toFixed(2)}x over the goal`,
      });
    }
  }
  if (r.batch) {
    for (const b of batch256(r)) {
      const goal = BATCH_GOALS[b.group];
      if (goal === undefined) continue;
      const label = BATCH_GROUPS.find((q) => q.key === b.group)?.label ?? b.group;
      let measured = `${fmtNum(b.verbsPerSec)} verbs/s`;
      const one = r.batch.find((q) => q.group === b.group && q.size === 256);
      if (one?.daemonCpuUsPerVerb) measured += ` (daemon CPU ${fmtUs(one.daemonCpuUsPerVerb)} per verb: ${fmtNum(1e6 / one.daemonCpuUsPerVerb)} verbs/s per daemon core)`;
      if (b.group === 'mr4k' && r.mrFloor) {
        // An MR verb pair is one reg (memfd, ftruncate, seal, mmap) and one dereg (munmap, close): half the floor each.
        const floorVps = 2e6 / r.mrFloor.us;
        measured += `; its system calls alone ${fmtUs(r.mrFloor.us)} per MR = ${fmtNum(floorVps)} verbs/s (${x(floorVps / b.verbsPerSec)} of the broker)`;
      }
      goals.push({
        goal: `Batch 256 >= ${fmtNum(goal)} verbs/s: ${label}`,
        measured,
        verdict: b.verbsPerSec >= goal ? 'PASS' : 'MISS',
        factor: b.verbsPerSec >= goal ? `${(b.verbsPerSec / goal).toFixed(2)}x of the goal` : `at ${(b.verbsPerSec / goal).toFixed(2)} of the goal (needs ${(goal / b.verbsPerSec).toFixed(2)}x)`,
      });
    }
  }
  if (r.cleanup) {
    const big = r.cleanup.find((c) => c.objects === 100_000);
    const ms = big?.daemonMs ?? big?.coreMs ?? null;
    if (big && ms !== null) {
      goals.push({
        goal: '100k-object session cleaned up in < 1 s',
        measured: `${fmtUs(ms * 1000)} (daemon${big.coreMs !== null ? `; in-process core ${fmtUs(big.coreMs * 1000)}` : ''})`,
        verdict: ms < 1000 ? 'PASS' : 'MISS',
        factor: `${(ms / 1000).toFixed(2)}x of the 1 s budget`,
      });
    }
  }
  if (r.heap) {
    const d = r.heap.filter((h) => h.where === 'daemon');
    const worst = d.reduce<HeapRow | null>((a, b) => (a === null || b.bytesPerObject > a.bytesPerObject ? b : a), null);
    if (worst) {
      goals.push({
        goal: '< 2 KiB daemon heap per tracked object',
        measured: d.map((h) => `${h.what}: ${fmtBytes(h.bytesPerObject)}`).join('; '),
        verdict: worst.bytesPerObject < 2048 ? 'PASS' : 'MISS',
        factor: `worst ${(worst.bytesPerObject / 2048).toFixed(2)}x of 2 KiB (${worst.what})`,
      });
    }
  }
  if (r.vm?.lane) {
    for (const l of vmLaneRows(r.vm).filter((q) => q.key.startsWith('lane.'))) {
      if (!l.c) continue;
      goals.push({
        goal: `in the VM, ${l.label}: post + poll within ${VM_LANE_GOAL}x of the C program's (${l.cKey})`,
        measured: `${fmtUs(l.summary.p50Us)} vs ${fmtUs(l.c.p50Us)} p50 (${x(l.ratio)}; ${x(l.cSpinRatio)} of C spinning)`,
        verdict: l.ratio <= VM_LANE_GOAL ? 'PASS' : 'MISS',
        factor: l.ratio <= VM_LANE_GOAL ? `${(l.ratio / VM_LANE_GOAL).toFixed(2)} of the allowance` : `${(l.ratio / VM_LANE_GOAL).toFixed(2)}x over the goal`,
      });
    }
  }
  if (r.sessions1k) {
    const s = r.sessions1k;
    const ok = s.served === s.sessions && s.listed >= s.sessions;
    goals.push({
      goal: '1,000 concurrent sessions served',
      measured: `${s.opened} opened, ${s.served} ran a verb, ${s.listed} listed at once (${s.connections} connections)`,
      verdict: ok ? 'PASS' : 'MISS',
      factor: `${s.served}/${s.sessions}`,
    });
  }
  return goals;
}

export function report(r: Results): string {
  let out = `\nrdma-broker benchmark (${r.mode}) — ${r.started}, ${String(r.host.cpus)} CPUs (${String(r.host.cpuModel)}), node ${String(r.host.node)}\n`;
  for (const [k, v] of Object.entries(r.setup)) out += `  ${k}: ${v}\n`;
  const la = (v: unknown): string => (Array.isArray(v) ? (v as number[]).map((n) => n.toFixed(1)).join(' ') : '-');
  out += `  load average at start ${la(r.host.loadavg)}, at end ${la(r.host.loadavgEnd)} (other work on the machine stretches latencies; CPU per call is steadier)\n`;
  if (r.host.vmHostLoadavg) out += `  in the soft-RoCE VM: the figures above are the guest's; the host's load average when it booted ${la(r.host.vmHostLoadavg)}\n`;

  if (r.verbs) {
    const v = r.verbs;
    out += '\n## Unary verbs: broker over gRPC vs the transport floor vs in-process (concurrency 1)\n\n';
    const rows = VERB_ROWS.map((row) => {
      const g = v.grpc[row.key];
      const f = v.floor[row.key];
      const c = v.core[row.key];
      const s = v.sim[row.key];
      const ratio = g && f ? g.p50Us / f.p50Us : NaN;
      return [
        row.label,
        g ? fmtNum(g.opsPerSec) : '-', g ? fmtUs(g.p50Us) : '-', g ? fmtUs(g.p99Us) : '-',
        f ? fmtUs(f.p50Us) : '-', f ? fmtUs(f.p99Us) : '-', f ? f.rpcs.map((q) => `${q.req}/${q.rep}`).join('+') : '-',
        x(ratio), Number.isFinite(ratio) ? (ratio <= UNARY_P50_GOAL ? 'PASS' : 'MISS') : '-',
        c ? fmtUs(c.p50Us) : '-', s ? fmtUs(s.p50Us) : '-',
        c && s ? fmtNum(s.opsPerSec) : '-',
      ];
    });
    out += table(
      ['verb', 'broker ops/s', 'p50', 'p99', 'echo p50', 'echo p99', 'bytes req/rep', 'broker/echo', `goal ${UNARY_P50_GOAL}x`, 'core p50', 'sim p50', 'sim ops/s'],
      rows, [false, true, true, true, true, true, true, true, false, true, true, true],
    );
    out += '(post send + poll is two RPCs, post_send then cq.poll, against two echo calls; ops/s at concurrency 1 = 1/mean latency)\n';
    if (v.cpu) {
      const b = v.cpu.broker;
      const e = v.cpu.echo;
      out += `CPU per unary call, averaged over every verb above (${b.calls} and ${e.calls} calls): daemon event loop ${fmtUs(b.serverUs)} vs echo server's ${fmtUs(e.serverUs)} (${x(b.serverUs / e.serverUs)}); `
        + `whole daemon process ${fmtUs(b.serverAllUs)} vs ${fmtUs(e.serverAllUs)}; client ${fmtUs(b.clientUs)} vs ${fmtUs(e.clientUs)} (${x(b.clientUs / e.clientUs)})\n`;
    }
  }
  if (r.cpuGroups) {
    const cg = r.cpuGroups;
    out += `\n## CPU per unary call by verb kind (one kind at a time; codec: ${r.codec ?? '-'})\n\n`;
    out += table(
      ['verbs', 'calls', 'daemon loop', 'echo server', 'daemon/echo', 'goal', 'client', 'echo client', 'client/echo'],
      CPU_GROUPS.map((g) => {
        const b = cg.broker.find((q) => q.group === g.key);
        const e = cg.echo.find((q) => q.group === g.key);
        const ratio = b && e ? b.serverUs / e.serverUs : NaN;
        return [
          g.label, b ? String(b.calls) : '-', b ? fmtUs(b.serverUs) : '-', e ? fmtUs(e.serverUs) : '-', x(ratio),
          Number.isFinite(ratio) ? `${ratio <= g.goal ? 'PASS' : 'MISS'} ${g.goal}x` : '-',
          b ? fmtUs(b.clientUs) : '-', e ? fmtUs(e.clientUs) : '-', b && e ? x(b.clientUs / e.clientUs) : '-',
        ];
      }),
      [false, true, true, true, true, false, true, true, true],
    );
    out += '(CPU from /proc at clock-tick resolution, 10 ms: each row is a few seconds of calls)\n';
  }

  if (r.batch) {
    const rows = r.batch.filter((b) => b.size === 256 && b.daemonCpuUsPerVerb);
    if (rows.length) {
      out += '\n## Batch 256: daemon event-loop CPU per verb (what one daemon core could serve; load stretches it less than wall time)\n\n';
      out += table(['verbs', 'daemon CPU per verb', 'verbs/s per daemon core', 'goal'], rows.map((b) => [
        BATCH_GROUPS.find((q) => q.key === b.group)?.label ?? b.group, fmtUs(b.daemonCpuUsPerVerb ?? NaN), fmtNum(1e6 / (b.daemonCpuUsPerVerb ?? NaN)),
        BATCH_GOALS[b.group] !== undefined ? fmtNum(BATCH_GOALS[b.group] ?? 0) : '',
      ]), [false, true, true, true]);
    }
  }
  if (r.batch && r.verbs) {
    const v = r.verbs;
    out += '\n## Batch: per-verb cost at batch sizes 16 and 256 vs the same verbs called directly\n\n';
    out += '(per verb = Batch call p50 / verbs; verbs/s = closed-loop throughput; unary/core/sim = average p50 of the same verbs one at a time)\n\n';
    const rows = r.batch.map((b) => {
      const g = BATCH_GROUPS.find((q) => q.key === b.group);
      const labels = g?.labels ?? [];
      const sim = p50Of(v.sim, labels);
      const core = p50Of(v.core, labels);
      const unary = p50Of(v.grpc, labels);
      return [
        g?.label ?? b.group, String(b.size), fmtUs(b.call.p50Us), fmtUs(b.call.p99Us), fmtUs(b.perVerbUs), fmtNum(b.verbsPerSec),
        b.size === 256 && BATCH_GOALS[b.group] !== undefined ? `${b.verbsPerSec >= (BATCH_GOALS[b.group] ?? 0) ? 'PASS' : 'MISS'} ${fmtNum(BATCH_GOALS[b.group] ?? 0)}` : '',
        fmtUs(unary), x(unary / b.perVerbUs), fmtUs(core), x(b.perVerbUs / core), fmtUs(sim), x(b.perVerbUs / sim),
      ];
    });
    out += table(
      ['verbs', 'batch', 'call p50', 'call p99', 'per verb', 'verbs/s', 'goal (1 call)', 'unary p50', 'unary/batch', 'core p50', 'batch/core', 'sim p50', 'batch/sim'],
      rows, [false, true, true, true, true, true, false, true, true, true, true, true, true],
    );
    if (r.batchParallel) {
      out += '\nBatch 256 with ' + String(r.batchParallel[0]?.inFlight ?? 2) + ' calls in flight (one session each):\n\n';
      out += table(
        ['verbs', 'verbs/s', 'call p50', 'call p99', 'goal'],
        r.batchParallel.map((b) => [BATCH_GROUPS.find((q) => q.key === b.group)?.label ?? b.group, fmtNum(b.verbsPerSec), fmtUs(b.call.p50Us), fmtUs(b.call.p99Us), BATCH_GOALS[b.group] !== undefined ? `${b.verbsPerSec >= (BATCH_GOALS[b.group] ?? 0) ? 'PASS' : 'MISS'} ${fmtNum(BATCH_GOALS[b.group] ?? 0)}` : '']),
        [false, true, true, true, false],
      );
    }
  } else if (r.batch) {
    out += '\n## Batch\n\n';
    out += table(['group', 'batch', 'call p50', 'per verb', 'verbs/s'], r.batch.map((b) => [b.group, String(b.size), fmtUs(b.call.p50Us), fmtUs(b.perVerbUs), fmtNum(b.verbsPerSec)]));
  }

  if (r.scaling) {
    out += '\n## Scaling: concurrent sessions, each a closed loop of alloc PD / dealloc PD (one client process)\n\n';
    out += table(
      ['sessions', 'connections', 'verbs/s', 'p50', 'p99', 'errors', 'daemon CPU/call', 'daemon busy', 'client CPU/call', 'client busy'],
      r.scaling.map((s) => [
        String(s.sessions), String(s.connections), fmtNum(s.summary.opsPerSec), fmtUs(s.summary.p50Us), fmtUs(s.summary.p99Us), String(s.errors),
        fmtUs(s.daemonCpuPerCallUs ?? NaN), pctOf(s.daemonBusy), fmtUs(s.clientCpuPerCallUs ?? NaN), pctOf(s.clientBusy),
      ]),
      [true, true, true, true, true, true, true, true, true, true],
    );
  }
  if (r.sessions1k) {
    const s = r.sessions1k;
    out += `\n1,000 sessions at once: ${s.opened}/${s.sessions} opened in ${fmtUs(s.openMs * 1000)}, ${s.served} ran alloc PD concurrently in ${fmtUs(s.verbMs * 1000)}, ${s.listed} listed by ListSessions, all gone ${fmtUs(s.closeMs * 1000)} after their streams ended (${s.connections} connections)${s.errors.length ? `; errors: ${s.errors.slice(0, 3).join('; ')}` : ''}\n`;
  }
  if (r.cleanup) {
    out += '\n## Cleanup: time to destroy a session\'s objects when it ends\n\n';
    out += table(
      ['objects', 'mix', 'daemon (stream end -> session gone)', 'in-process core (evict)', 'goal <1 s (100k)'],
      r.cleanup.map((c) => [
        String(c.objects), c.mix, c.daemonMs === null ? '-' : fmtUs(c.daemonMs * 1000), c.coreMs === null ? '-' : fmtUs(c.coreMs * 1000),
        c.objects === 100_000 ? ((c.daemonMs ?? c.coreMs ?? Infinity) < 1000 ? 'PASS' : 'MISS') : '',
      ]),
      [true, false, true, true, false],
    );
  }
  if (r.heap) {
    out += '\n## Heap per tracked object (after full GC, --expose-gc)\n\n';
    out += table(
      ['objects', 'count', 'where', 'heap bytes/object', 'goal <2 KiB'],
      r.heap.map((h) => [h.what, String(h.objects), h.where, fmtBytes(h.bytesPerObject), h.where === 'daemon' ? (h.bytesPerObject < 2048 ? 'PASS' : 'MISS') : '']),
      [false, true, false, true, false],
    );
  }
  if (r.fds) {
    out += '\n## fd passing round trip\n\n';
    out += `${r.fds.status}\n\n`;
    if (r.fds.rows.length) {
      out += table(['round trip', 'ops/s', 'p50', 'p99'], r.fds.rows.map((x) => [x.label, fmtNum(x.summary.opsPerSec), fmtUs(x.summary.p50Us), fmtUs(x.summary.p99Us)]), [false, true, true, true]);
    }
  }
  if (r.lane) {
    const L = r.lane;
    out += '\n## Fast lane (shared-memory rings, eventfd doorbells; docs/fast-lane.md)\n\n';
    out += `${L.status}\n\n`;
    out += table(['post + poll, 64 B RDMA WRITE', 'p50', 'p99', 'goal'], L.latency.map((x) => [
      x.label, fmtUs(x.summary.p50Us), fmtUs(x.summary.p99Us),
      x.key === 'lane.spin' ? `p50 <= ${L.goals.spinP50Us} us: ${x.summary.p50Us <= L.goals.spinP50Us ? 'PASS' : 'MISS'}` : '',
    ]), [false, true, true, false]);
    out += '\n';
    out += table(['WRs per doorbell', 'WRs/s', 'daemon CPU per WR', 'goal'], L.throughput.map((t) => [
      t.daemon ? `${t.perDoorbell} (daemon ${t.daemon}, no doorbell)` : String(t.perDoorbell), fmtNum(t.wrsPerSec), fmtUs(t.daemonCpuUsPerWr),
      t.perDoorbell === 32 && !t.daemon
        ? `>= ${fmtNum(L.goals.wrsPerSec32)}/s: ${t.wrsPerSec >= L.goals.wrsPerSec32 ? 'PASS' : 'MISS'}; <= ${L.goals.daemonCpuUsPerWr32} us CPU: ${t.daemonCpuUsPerWr <= L.goals.daemonCpuUsPerWr32 ? 'PASS' : 'MISS'}`
        : '',
    ]), [true, true, true, false]);
  }
  if (r.vm) {
    out += '\n## Kernel device (soft-RoCE VM): the broker vs a C program on libibverbs\n\n';
    out += `${r.vm.status}\n`;
    const c = r.vm.c;
    const g = r.vm.grpc ?? {};
    if (c) {
      out += '(everything in the VM runs under qemu emulation: compare ratios, not absolute times)\n\n';
      const be = r.vm.backend ?? {};
      const co = r.vm.core ?? {};
      out += table(
        ['verb', 'C libibverbs p50', 'backend (koffi) p50', 'core in-proc p50', 'broker gRPC p50', 'broker p99', 'echo p50', 'backend/C', 'broker/C', 'broker/echo'],
        VERB_ROWS.map((row) => {
          const a = c[row.key];
          const b = g[row.key];
          const k = be[row.key];
          const q = co[row.key];
          const e = r.vm?.floor?.[row.key];
          return [
            row.label, a ? fmtUs(a.p50Us) : '-', k ? fmtUs(k.p50Us) : '-', q ? fmtUs(q.p50Us) : '-', b ? fmtUs(b.p50Us) : '-', b ? fmtUs(b.p99Us) : '-',
            e ? fmtUs(e.p50Us) : '-', a && k ? x(k.p50Us / a.p50Us) : '-', a && b ? x(b.p50Us / a.p50Us) : '-', b && e ? x(b.p50Us / e.p50Us) : '-',
          ];
        }),
        [false, true, true, true, true, true, true, true, true, true],
      );
      if (r.vm.lane) out += vmLaneTables(r.vm);
      if (r.vm.batch) {
        out += '\nBatch on the kernel device (per verb = call p50 / verbs):\n\n';
        out += table(
          ['verbs', 'batch', 'per verb', 'verbs/s', 'C p50 (same verbs)', 'batch/C'],
          r.vm.batch.map((b) => {
            const grp = BATCH_GROUPS.find((q) => q.key === b.group);
            // The C program times post+poll together ('write'): half of it per verb.
            const cp = b.group === 'write' ? (c.write?.p50Us ?? NaN) / 2 : p50Of(c, grp?.labels ?? []);
            return [grp?.label ?? b.group, String(b.size), fmtUs(b.perVerbUs), fmtNum(b.verbsPerSec), fmtUs(cp), x(b.perVerbUs / cp)];
          }),
          [false, true, true, true, true, true],
        );
      }
    }
  }
  const goals = computeGoals(r);
  r.goals = goals;
  if (goals.length) {
    out += '\n## Goals (reported, not asserted)\n\n';
    out += table(['goal', 'measured', 'verdict', 'factor'], goals.map((g) => [g.goal, g.measured, g.verdict, g.factor]));
  }
  if (r.notes.length) out += '\nNotes:\n' + r.notes.map((n) => `- ${n}\n`).join('');
  if (r.seconds !== undefined) out += `\n(run took ${r.seconds.toFixed(1)} s)\n`;
  return out;
}
