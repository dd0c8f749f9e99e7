/**
 * `rdmactl top`'s picture: what it knows of the daemon (the object table as
 * WatchObjects streams it, the sessions, the tenants' accounting) and the
 * frame it draws from that, fitted to the terminal. Pure: no I/O, so the
 * layout is tested without a terminal (the terminal loop is ./top.ts).
 */
import type { ObjectChange, SessionInfo, TenantUsage } from '../client/index.js';

/** The order of the per-type columns (others follow by name): parents before children, as `rdma res` lists them. */
const TYPE_ORDER = ['pd', 'mr', 'mw', 'cq', 'comp_channel', 'srq', 'qp', 'ah', 'xrcd', 'flow', 'dm'];
/** Short headers for the wide type names. */
const TYPE_TITLE: Record<string, string> = { comp_channel: 'CHAN' };

interface Tracked {
  type: string;
  session: string;
  tenant: string;
  /** Registered bytes (an MR's length), else 0. */
  bytes: number;
}

/** Per-type counts and registered bytes of a group of objects. */
interface Tally {
  objects: number;
  bytes: number;
  types: Map<string, number>;
}

const tally = (): Tally => ({ objects: 0, bytes: 0, types: new Map() });

/** The state `top` draws: changed by the watch stream and by each accounting/sessions refresh. */
export class TopModel {
  private readonly objects = new Map<number, Tracked>();
  /** True once the watch's initial listing is complete (SYNCED). */
  synced = false;
  sessions: SessionInfo[] = [];
  tenants: TenantUsage[] = [];
  /** Verbs per second per tenant over the last two accounting samples (absent until there are two). */
  readonly verbRate = new Map<string, number>();
  private lastVerbs: { at: number; totals: Map<string, number> } | null = null;

  /** Applies one change of the watch stream. */
  apply(ch: ObjectChange): void {
    if (ch.kind === 'SYNCED') {
      this.synced = true;
      return;
    }
    const o = ch.object;
    if (!o) return;
    if (ch.kind === 'DESTROYED') {
      this.objects.delete(o.handle);
      return;
    }
    const length = o.type === 'mr' ? Number(o.attrs.length ?? 0) : 0;
    this.objects.set(o.handle, { type: o.type, session: o.session, tenant: o.tenant, bytes: Number.isFinite(length) ? length : 0 });
  }

  /** A new accounting sample taken at `now` (ms): the verb rate is the growth of each tenant's verb count since the last one. */
  setAccounting(list: TenantUsage[], now: number): void {
    this.tenants = list;
    const totals = new Map(list.map((u) => [u.tenant, u.verbs.reduce((n, v) => n + Number(v.count), 0)]));
    const last = this.lastVerbs;
    if (last && now > last.at) {
      for (const [t, n] of totals) {
        const before = last.totals.get(t);
        if (before !== undefined) this.verbRate.set(t, Math.max(0, (n - before) * 1000 / (now - last.at)));
      }
    }
    this.lastVerbs = { at: now, totals };
  }

  /** The tracked objects grouped by `key` (session or tenant). */
  private tallies(key: 'session' | 'tenant'): Map<string, Tally> {
    const m = new Map<string, Tally>();
    for (const o of this.objects.values()) {
      const k = o[key];
      let t = m.get(k);
      if (!t) m.set(k, (t = tally()));
      t.objects++;
      t.bytes += o.bytes;
      t.types.set(o.type, (t.types.get(o.type) ?? 0) + 1);
    }
    return m;
  }

  /** The types to give columns: every type with a live object, in {@link TYPE_ORDER}. */
  private typeColumns(): string[] {
    const seen = new Set<string>();
    for (const o of this.objects.values()) seen.add(o.type);
    for (const u of this.tenants) for (const t of u.types) if (Number(t.current) > 0) seen.add(t.type);
    const rank = (t: string): number => {
      const i = TYPE_ORDER.indexOf(t);
      return i < 0 ? TYPE_ORDER.length : i;
    };
    return [...seen].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }

  /** The frame: at most `height` lines of at most `width` columns (no escapes); `live: false` (one frame on a pipe) leaves the size and the q out of the header. */
  render(o: { width: number; height: number; now: number; target: string; live?: boolean }): string[] {
    const width = Math.max(20, o.width);
    const types = this.typeColumns();
    const byTenant = this.tallies('tenant');
    const bySession = this.tallies('session');
    const totalObjects = [...byTenant.values()].reduce((n, t) => n + t.objects, 0);
    const totalRate = [...this.verbRate.values()].reduce((n, r) => n + r, 0);
    const totalBytes = this.tenants.length ? this.tenants.reduce((n, u) => n + Number(u.registered_bytes), 0) : [...byTenant.values()].reduce((n, t) => n + t.bytes, 0);
    const sessionIds = new Set([...this.sessions.map((s) => s.session_id), ...bySession.keys()]);
    const lines = [
      // The target last: a long socket path is what a narrow terminal cuts.
      `rdmactl top - ${new Date(o.now).toISOString().slice(11, 19)}  ${o.live === false ? '' : `${o.width}x${o.height}  q quits  `}${o.target}`,
      `sessions ${sessionIds.size}  tenants ${new Set([...this.tenants.map((u) => u.tenant), ...byTenant.keys()]).size}  objects ${totalObjects}`
        + `  registered ${bytes(totalBytes)}  verbs/s ${this.verbRate.size ? rate(totalRate) : '-'}${this.synced ? '' : '  (loading)'}`,
      '',
    ];

    // Tenants: accounting's view (it has the registered bytes and verbs), with the watched per-type counts.
    const tenantNames = [...new Set([...this.tenants.map((u) => u.tenant), ...byTenant.keys()])];
    const usage = new Map(this.tenants.map((u) => [u.tenant, u]));
    const tenantRows = tenantNames.map((name) => {
      const u = usage.get(name);
      const t = byTenant.get(name) ?? tally();
      // The watched table is live; accounting's count lags by up to an interval (used until the watch is synced).
      return { name, u, t, objects: this.synced || !u ? t.objects : Number(u.objects) };
    }).sort((a, b) => b.objects - a.objects || a.name.localeCompare(b.name));
    lines.push(...table(width, [
      { title: 'TENANT', left: true, keep: 3, cells: tenantRows.map((r) => r.name) },
      { title: 'ROLE', left: true, keep: 0, cells: tenantRows.map((r) => r.u?.role ?? '') },
      { title: 'SESS', keep: 2, cells: tenantRows.map((r) => (r.u ? r.u.sessions : String(this.sessions.filter((s) => s.tenant === r.name).length))) },
      { title: 'OBJS', keep: 3, cells: tenantRows.map((r) => String(r.objects)) },
      ...types.map((ty) => ({ title: (TYPE_TITLE[ty] ?? ty).toUpperCase(), keep: 1, cells: tenantRows.map((r) => count(r.t.types.get(ty))) })),
      { title: 'REG_BYTES', keep: 2, cells: tenantRows.map((r) => bytes(r.u ? Number(r.u.registered_bytes) : r.t.bytes)) },
      { title: 'VERBS/S', keep: 2, cells: tenantRows.map((r) => { const v = this.verbRate.get(r.name); return v === undefined ? '-' : rate(v); }) },
    ]));
    lines.push('');

    // Sessions: most objects first.
    const info = new Map(this.sessions.map((s) => [s.session_id, s]));
    const sessionRows = [...sessionIds].map((id) => ({ id, s: info.get(id), t: bySession.get(id) ?? tally() }))
      .sort((a, b) => b.t.objects - a.t.objects || a.id.localeCompare(b.id));
    const room = Math.max(0, o.height - lines.length - 1);
    const shown = sessionRows.length > room ? sessionRows.slice(0, Math.max(0, room - 1)) : sessionRows;
    lines.push(...table(width, [
      { title: 'SESSION', left: true, keep: 3, cells: shown.map((r) => r.id) },
      { title: 'TENANT', left: true, keep: 2, cells: shown.map((r) => r.s?.tenant ?? '') },
      { title: 'NAME', left: true, keep: 0, cells: shown.map((r) => r.s?.name ?? '') },
      { title: 'STATE', left: true, keep: 1, cells: shown.map((r) => r.s?.state ?? '') },
      { title: 'OBJS', keep: 3, cells: shown.map((r) => String(r.t.objects)) },
      ...types.map((ty) => ({ title: (TYPE_TITLE[ty] ?? ty).toUpperCase(), keep: 1, cells: shown.map((r) => count(r.t.types.get(ty))) })),
      { title: 'REG_BYTES', keep: 2, cells: shown.map((r) => bytes(r.t.bytes)) },
      { title: 'AGE', keep: 0, cells: shown.map((r) => (r.s ? age(o.now - Number(r.s.created_unix_ms)) : '')) },
    ]));
    if (shown.length < sessionRows.length) lines.push(`... ${sessionRows.length - shown.length} more sessions`);
    return lines.slice(0, Math.max(1, o.height)).map((l) => (l.length > width ? l.slice(0, width) : l));
  }
}

interface Column {
  title: string;
  /** Left-aligned (names) rather than right-aligned (numbers). */
  left?: boolean;
  /** How much the column matters: the lowest go first when the table is too wide (0: first). */
  keep: number;
  cells: string[];
}

/**
 * A header and rows, two spaces between columns. Too wide for `width`: the
 * columns that matter least are dropped (the later of equals first) until it
 * fits; what still does not fit is cut by the caller.
 */
function table(width: number, cols: Column[]): string[] {
  const w = cols.map((c) => Math.max(c.title.length, ...c.cells.map((x) => x.length)));
  const keep = cols.map(() => true);
  const total = (): number => cols.reduce((n, _c, i) => n + (keep[i] ? w[i]! + 2 : 0), -2);
  while (total() > width) {
    let drop = -1;
    for (let i = 0; i < cols.length; i++) if (keep[i] && (drop < 0 || cols[i]!.keep <= cols[drop]!.keep)) drop = i;
    if (drop < 0 || cols[drop]!.keep >= 3) break;
    keep[drop] = false;
  }
  const cell = (i: number, s: string): string => (cols[i]!.left ? s.padEnd(w[i]!) : s.padStart(w[i]!));
  const row = (get: (i: number) => string): string => cols.map((_c, i) => (keep[i] ? cell(i, get(i)) : null)).filter((x) => x !== null).join('  ').trimEnd();
  const rows = cols[0]!.cells.length;
  return [row((i) => cols[i]!.title), ...Array.from({ length: rows }, (_x, r) => row((i) => cols[i]!.cells[r] ?? ''))];
}

const count = (n: number | undefined): string => (n ? String(n) : '-');

/** Bytes as top prints memory: 512, 16K, 1.5M, 2G (powers of 1024). */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return String(Math.max(0, Math.round(n || 0)));
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && v !== Math.floor(v) ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

const rate = (r: number): string => (r < 10 ? r.toFixed(1) : String(Math.round(r)));

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}
