/**
 * Compares a runner's records with the kernel's recorded answers
 * (test/fixtures/rxe-answers.jsonl) field by field, against the checked-in
 * list of known disagreements (known-sim-gaps.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AREAS, type Case } from './catalog.js';
import type { CaseRecord } from './interp.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE = path.join(HERE, '../fixtures/rxe-answers.jsonl');
export const GAPS_FILE = path.join(HERE, 'known-sim-gaps.json');

export interface FixtureHeader {
  kernel: string;
  rdma_core: string;
  device: string;
  active_mtu: number;
}

export function loadFixture(file = FIXTURE): { header: FixtureHeader; answers: Map<string, CaseRecord> } {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const first = JSON.parse(lines[0] ?? '{}') as { header?: FixtureHeader };
  if (!first.header) throw new Error(`${file}: the first line is not a header`);
  const answers = new Map<string, CaseRecord>();
  for (const l of lines.slice(1)) {
    const r = JSON.parse(l) as CaseRecord;
    answers.set(r.case, r);
  }
  return { header: first.header, answers };
}

/** The leaf paths where `got` differs from `want` (`r[3].wc[0].st`). */
export function diff(want: unknown, got: unknown, at = ''): string[] {
  if (Array.isArray(want) && Array.isArray(got)) {
    const out: string[] = [];
    if (want.length !== got.length) out.push(`${at}.length`);
    for (let i = 0; i < Math.min(want.length, got.length); i++) out.push(...diff(want[i], got[i], `${at}[${i}]`));
    return out;
  }
  if (want && got && typeof want === 'object' && typeof got === 'object' && !Array.isArray(want) && !Array.isArray(got)) {
    const out: string[] = [];
    const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
    for (const k of keys) out.push(...diff((want as Record<string, unknown>)[k], (got as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
    return out;
  }
  return want === got ? [] : [at];
}

/** What one difference looks like, for the report. */
export function describeDiff(want: CaseRecord, got: CaseRecord, p: string, wantName = 'kernel'): string {
  const pick = (r: CaseRecord): unknown => {
    let v: unknown = r;
    for (const part of p.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)) {
      if (part === 'length' && Array.isArray(v)) return JSON.stringify(v);
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    }
    return v;
  };
  return `${p}: ${wantName} ${JSON.stringify(pick(want))}, got ${JSON.stringify(pick(got))}`;
}

export interface Disagreement {
  case: string;
  area: string;
  fields: string[];
}

export interface KnownGap {
  case: string;
  area: string;
  /** The fields allowed to differ (paths as `diff` reports them). */
  fields: string[];
}

export type GapsFile = Record<string, KnownGap[]>;

export function loadGaps(): GapsFile {
  return fs.existsSync(GAPS_FILE) ? (JSON.parse(fs.readFileSync(GAPS_FILE, 'utf8')) as GapsFile) : {};
}

/** Writes the current disagreements of one runner as its known gaps. */
export function writeGaps(runner: string, ds: Disagreement[]): void {
  const all = loadGaps();
  all[runner] = ds.map((d) => ({ case: d.case, area: d.area, fields: d.fields }));
  const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(GAPS_FILE, JSON.stringify(sorted, null, 1) + '\n');
}

export interface Verdict {
  disagreements: Disagreement[];
  /** Disagreements not covered by the known gaps (the test fails on these). */
  fresh: Disagreement[];
  /** Known gaps that now agree (the list must shrink). */
  stale: KnownGap[];
  /** Per area: [agreeing cases, cases]. */
  perArea: Record<string, [number, number]>;
  /** Per area: cases compared with the broker's deliberate answers (see catalog.ts, BrokerAnswer). */
  deliberate: Record<string, number>;
  /** One line per disagreeing case, by case name. */
  details: Map<string, string>;
}

/** The path's parts: `r[9].wc` is ['r', 9, 'wc']. */
function pathParts(p: string): (string | number)[] {
  return p.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** The kernel's record with the broker's deliberate answers in place (a copy; `want` is left alone). */
export function withBrokerAnswers(want: CaseRecord, answers: Record<string, unknown>): CaseRecord {
  const out = structuredClone(want);
  for (const [p, value] of Object.entries(answers)) {
    const parts = pathParts(p);
    let at: unknown = out;
    for (const k of parts.slice(0, -1)) {
      at = at && typeof at === 'object' ? (at as Record<string | number, unknown>)[k] : undefined;
    }
    if (!at || typeof at !== 'object') throw new Error(`${want.case}: broker answer at ${p}: no such place in the kernel's record`);
    (at as Record<string | number, unknown>)[parts[parts.length - 1]!] = structuredClone(value);
  }
  return out;
}

export interface JudgeOptions {
  /** The runner goes through the broker's gRPC API: the cases' deliberate broker answers replace the kernel's. */
  broker?: boolean;
}

export function judge(cases: readonly Case[], answers: Map<string, CaseRecord>, got: Map<string, CaseRecord>, known: readonly KnownGap[], o: JudgeOptions = {}): Verdict {
  const disagreements: Disagreement[] = [];
  const details = new Map<string, string>();
  const perArea: Record<string, [number, number]> = Object.fromEntries(AREAS.map((a) => [a, [0, 0]]));
  const deliberate: Record<string, number> = Object.fromEntries(AREAS.map((a) => [a, 0]));
  for (const c of cases) {
    const kernel = answers.get(c.name);
    const mine = got.get(c.name);
    const area = perArea[c.area]!;
    area[1]++;
    if (!kernel || !mine) {
      disagreements.push({ case: c.name, area: c.area, fields: [kernel ? 'not run' : 'not recorded'] });
      continue;
    }
    const brokered = o.broker === true && c.broker !== undefined;
    if (brokered) deliberate[c.area]!++;
    const want = brokered ? withBrokerAnswers(kernel, c.broker!.answers) : kernel;
    const undef = (c.undefinedFields ?? []).map((u) => u.path);
    const fields = diff(want.r, mine.r, 'r').filter((p) => !undef.some((u) => p === u || p.startsWith(`${u}.`) || p.startsWith(`${u}[`)));
    if (fields.length === 0) {
      area[0]++;
      continue;
    }
    disagreements.push({ case: c.name, area: c.area, fields });
    details.set(c.name, `${c.area} ${c.name}: ${fields.slice(0, 4).map((p) => describeDiff(want, mine, p, brokered && Object.hasOwn(c.broker!.answers, p.replace(/\.length$/, '')) ? 'broker (deliberate)' : 'kernel')).join('; ')}${fields.length > 4 ? ` (+${fields.length - 4})` : ''}`);
  }
  const byCase = new Map(known.map((k) => [k.case, k]));
  const fresh = disagreements.filter((d) => {
    const k = byCase.get(d.case);
    return !k || d.fields.some((f) => !k.fields.includes(f));
  });
  const disagreeing = new Set(disagreements.map((d) => d.case));
  const stale = known.filter((k) => !disagreeing.has(k.case));
  return { disagreements, fresh, stale, perArea, deliberate, details };
}

export function areaTable(v: Verdict): string {
  return Object.entries(v.perArea).map(([a, [ok, all]]) => `${a} ${ok}/${all}${v.deliberate[a] ? ` (${v.deliberate[a]} deliberate)` : ''}`).join(', ');
}
