/**
 * analyze_slow_queries: statements whose mean or max time is over a threshold, by
 * fingerprint, from the query log (every backend) and from the database's own
 * statistics where it keeps them, merged by fingerprint.
 */
import type { ServerContext } from '../../context.js';
import { asDbError, DbError } from '../../errors.js';
import type { OpenConnection } from '../registry.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import { fingerprint } from './fingerprint.js';
import type { FingerprintSummary } from '../query-log/index.js';
import type { SourceRow } from './sources/types.js';

export const DEFAULT_THRESHOLD_S = 1.0;
export const DEFAULT_LIMIT = 20;
/** Durations of the latest calls kept per fingerprint in the result (for a sparkline). */
const RECENT = 20;

export interface SlowArgs {
  connection?: string;
  threshold?: number;
  limit?: number;
  since?: string;
}

export interface SlowQuery {
  fingerprint: string;
  calls: number;
  total_ms: number;
  mean_ms: number;
  p95_ms: number | null;
  max_ms: number;
  rows: number;
  last_seen: string | null;
  /** Where the numbers come from; the database's statistics win (they count every client). */
  source: string;
  /** Every source that saw this fingerprint. */
  seen_in: string[];
  /** Calls that failed (query log only), else null. */
  errors: number | null;
  /** The tools of this server that ran it (query log only). */
  tools: string[];
  /** Time of the latest calls, oldest first (query log only). */
  recent_ms: number[];
}

export interface SourceStatus {
  name: string;
  used: boolean;
  /** How to turn on a source that is not there. */
  hint: string | null;
  note: string | null;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** `since`: an ISO 8601 time, or a duration back from now (`30m`, `2h`, `1d`). */
export function parseSince(since: string | undefined, now = Date.now()): number | undefined {
  if (since === undefined) return undefined;
  const d = DURATION.exec(since.trim());
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]];
  const at = Date.parse(since);
  if (Number.isNaN(at)) throw new DbError('INVALID_INPUT', 'since must be an ISO 8601 time (2025-03-01T12:00:00Z) or a duration back from now (30m, 2h, 1d)', { field: 'since' });
  return at;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

function fromLog(r: FingerprintSummary): SlowQuery {
  return {
    fingerprint: r.fingerprint, calls: r.calls, total_ms: r.total_ms, mean_ms: r.mean_ms, p95_ms: r.p95_ms, max_ms: r.max_ms, rows: r.rows,
    last_seen: new Date(r.last_seen).toISOString(), source: 'query_log', seen_in: ['query_log'], errors: r.errors, tools: r.tools, recent_ms: [],
  };
}

/** Rows of a database source grouped by our fingerprint (two of its texts may differ only in IN-list length). */
function fromSource(rows: SourceRow[], name: string, flavor: SqlSupport): Map<string, SlowQuery> {
  const out = new Map<string, SlowQuery>();
  for (const r of rows) {
    const fp = fingerprint(r.text, flavor);
    const q = out.get(fp);
    if (!q) {
      out.set(fp, { fingerprint: fp, calls: r.calls, total_ms: r.total_ms, mean_ms: 0, p95_ms: r.p95_ms, max_ms: r.max_ms, rows: r.rows, last_seen: r.last_seen, source: name, seen_in: [name], errors: null, tools: [], recent_ms: [] });
      continue;
    }
    q.calls += r.calls;
    q.total_ms += r.total_ms;
    q.max_ms = Math.max(q.max_ms, r.max_ms);
    q.rows += r.rows;
    q.last_seen = [q.last_seen, r.last_seen].filter((x): x is string => x !== null).sort().pop() ?? null;
  }
  for (const q of out.values()) {
    q.mean_ms = round(q.calls > 0 ? q.total_ms / q.calls : 0);
    q.total_ms = round(q.total_ms);
    q.max_ms = round(q.max_ms);
  }
  return out;
}

/** What the database source gives, and how it stands; never fails the call for a source that is missing. */
async function readSource({ config, dialect, module }: OpenConnection, args: { thresholdMs: number; limit: number; since?: number; signal: AbortSignal }, redact: (text: string) => string) {
  const source = module.performance.sources;
  if (!source) return { status: null, rows: [] as SourceRow[] };
  if (args.since !== undefined) {
    return { status: { name: source.name, used: false, hint: null, note: 'keeps totals since its last reset, not the time of each call: `since` cannot apply to it' }, rows: [] };
  }
  try {
    return await dialect.withSession(async (s) => {
      const probe = await source.probe(s);
      if (!probe.available) return { status: { name: source.name, used: false, hint: probe.hint, note: null }, rows: [] };
      return { status: { name: source.name, used: true, hint: null, note: 'counts every client of this database since its last reset' }, rows: await source.slow(s, args.thresholdMs, args.limit) };
    }, { signal: args.signal, timeoutMs: config.statement_timeout_ms, readsOnly: true });
  } catch (err) {
    // A source we may not read (a missing privilege) leaves the query log's answer standing.
    const e = asDbError(err);
    if (e.code === 'CANCELLED') throw e;
    return { status: { name: source.name, used: false, hint: null, note: `could not be read: ${e.code}: ${redact(e.message)}` }, rows: [] };
  }
}

function logNote(ctx: ServerContext, complete: boolean, since: number | undefined): string {
  const where = ctx.queryLog.persistedTo ? `kept in ${ctx.queryLog.persistedTo}` : 'kept in memory since this server started (set query_log.path to keep it across restarts)';
  if (complete) return `statements run through this server's tools, ${where}`;
  return `statements run through this server's tools; the in-memory log holds the last ${ctx.queryLog.capacity} statements and no longer reaches back to ${new Date(since ?? 0).toISOString()}: older calls are not counted`;
}

export async function analyzeSlowQueries(ctx: ServerContext, args: SlowArgs, signal: AbortSignal) {
  const target = await ctx.registry.get(args.connection);
  const { config, module } = target;
  const thresholdMs = (args.threshold ?? DEFAULT_THRESHOLD_S) * 1000;
  const limit = args.limit ?? DEFAULT_LIMIT;
  const since = parseSince(args.since);
  const over = (q: { mean_ms: number; max_ms: number }): boolean => q.mean_ms > thresholdMs || q.max_ms > thresholdMs;
  const log = await ctx.queryLog.summarise(config.name, since);
  const db = await readSource(target, { thresholdMs, limit, since, signal }, ctx.redact);
  const merged = fromSource(db.rows, db.status?.name ?? '', module.sql);
  for (const r of log.rows.filter(over)) {
    const hit = merged.get(r.fingerprint);
    if (!hit) {
      merged.set(r.fingerprint, fromLog(r));
      continue;
    }
    // The database's numbers stand; what it does not keep comes from the log.
    hit.seen_in.push('query_log');
    hit.p95_ms ??= r.p95_ms;
    hit.last_seen ??= new Date(r.last_seen).toISOString();
    hit.errors = r.errors;
    hit.tools = r.tools;
  }
  const queries = [...merged.values()].sort((a, b) => b.total_ms - a.total_ms).slice(0, limit);
  const recent = ctx.queryLog.recent(config.name, new Set(queries.map((q) => q.fingerprint)), RECENT);
  for (const q of queries) q.recent_ms = recent.get(q.fingerprint) ?? [];
  const sources: SourceStatus[] = [{ name: 'query_log', used: true, hint: null, note: logNote(ctx, log.complete, since) }];
  if (db.status) sources.push(db.status);
  return {
    connection: config.name,
    threshold_s: thresholdMs / 1000,
    since: since === undefined ? null : new Date(since).toISOString(),
    queries,
    sources,
  };
}
