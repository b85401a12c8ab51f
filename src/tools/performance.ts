/**
 * PerformanceMonitor tools: time a statement and read its plan, find slow statements
 * in the query log and the database's own statistics, and describe the database.
 * The logic lives in core/performance.
 */
import { z } from 'zod';
import { LIMITS } from '../config.js';
import type { ServerContext } from '../context.js';
import { BACKEND_NAMES } from '../core/backends/lookup.js';
import { DEFAULT_RUNS, MAX_RUNS, monitorQuery } from '../core/performance/monitor.js';
import { analyzeSlowQueries, DEFAULT_LIMIT, DEFAULT_THRESHOLD_S } from '../core/performance/slow.js';
import { getDatabaseStats } from '../core/performance/stats.js';
import { barChart, bytesText, msText, sparkline } from './chart.js';
import { paramsArg } from './queries.js';
import { connectionArg, defineTool, type ToolDef } from './kit.js';

const planNode = z.object({
  depth: z.number(), operation: z.string(), table: z.string().nullable(), index: z.string().nullable(),
  estimated_rows: z.number().nullable(), actual_rows: z.number().nullable(), loops: z.number().nullable(), time_ms: z.number().nullable(),
  full_scan: z.boolean(), filter_columns: z.array(z.string()), index_columns: z.array(z.string()), rows_removed_by_filter: z.number().nullable(),
  sort_spilled: z.boolean().nullable(), table_rows: z.number().nullable(),
});

const finding = z.object({
  kind: z.enum(['missing_index', 'no_statistics', 'automatic_index', 'estimate_mismatch', 'sort_spilled']),
  table: z.string().nullable(), table_rows: z.number().nullable(), columns: z.array(z.string()),
  message: z.string(), suggestion: z.string().nullable().describe('A statement to consider; this tool never runs it.'),
});

const plan = z.object({
  source: z.string().describe('The command that produced the plan.'),
  analyzed: z.boolean().describe('The statement ran under EXPLAIN: actual rows and times are present.'),
  note: z.string().nullable(),
  planning_ms: z.number().nullable(), execution_ms: z.number().nullable(),
  nodes: z.array(planNode), indexes_used: z.array(z.string()),
  full_scans: z.array(z.object({ table: z.string(), table_rows: z.number().nullable() })),
  sorts_spilled: z.number(),
});

const slowQuery = z.object({
  fingerprint: z.string().describe('The statement with every literal replaced by ?: calls differing only in values share it.'),
  calls: z.number(), total_ms: z.number(), mean_ms: z.number(), p95_ms: z.number().nullable(), max_ms: z.number(), rows: z.number(),
  last_seen: z.string().nullable(),
  source: z.string().describe('Where the numbers come from: query_log, pg_stat_statements or performance_schema.'),
  seen_in: z.array(z.string()), errors: z.number().nullable(),
  tools: z.array(z.string()).describe('This server\'s tools that ran it (execute_query, execute_transaction, monitor_query_performance).'),
  recent_ms: z.array(z.number()).describe('Times of the latest calls through this server, oldest first.'),
});

const sourceStatus = z.object({ name: z.string(), used: z.boolean(), hint: z.string().nullable().describe('How to turn this source on.'), note: z.string().nullable() });

const n = z.number().nullable();

export const databaseStats = z.object({
  connection: z.string(), backend: z.enum(BACKEND_NAMES), collected_at: z.string(),
  version: z.string().nullable(), uptime_s: n, size_bytes: n, table_count: n,
  largest_tables: z.array(z.object({ table: z.string(), rows_estimate: n, data_bytes: n, index_bytes: n, total_bytes: n })).nullable(),
  index_usage: z.object({
    indexes: n,
    unused: z.array(z.object({ table: z.string(), index: z.string(), size_bytes: n })).nullable().describe('Indexes never scanned since statistics were last reset (unique and primary keys excluded).'),
  }).nullable(),
  connections: z.object({ open: n, active: n, max: n }).nullable(),
  cache_hit_ratio: n.describe('Share of page reads served from memory, 0 to 1.'),
  transactions: z.object({ committed: z.number(), rolled_back: z.number() }).nullable(),
  deadlocks: n, locks_waiting: n,
  long_running_queries: z.array(z.object({ id: z.string(), seconds: z.number(), state: z.string().nullable(), fingerprint: z.string() })).nullable(),
  sqlite: z.object({
    page_size: z.number(), page_count: z.number(), freelist_count: z.number(), journal_mode: z.string(),
    wal_autocheckpoint: n, wal_bytes: n, dbstat: z.boolean(),
  }).nullable(),
  pool: z.object({ open: n, busy: z.number(), waiting: z.number(), max: z.number() }),
  query_log: z.object({ statements: z.number(), errors: z.number(), fingerprints: z.number(), since: z.string().nullable(), persisted_to: z.string().nullable() }),
  not_available: z.array(z.string()).describe('Fields this backend cannot provide (they are null).'),
  hints: z.array(z.object({ field: z.string(), hint: z.string() })).describe('How to make a missing field available.'),
});

/** One line of headline numbers, then the largest tables as bars. */
export function statsChart(r: z.infer<typeof databaseStats>): string {
  const head = [
    r.size_bytes === null ? null : `size ${bytesText(r.size_bytes)}`,
    r.table_count === null ? null : `${r.table_count} tables`,
    r.cache_hit_ratio === null ? null : `cache hit ${(r.cache_hit_ratio * 100).toFixed(1)}%`,
    r.connections?.open == null ? null : `connections ${r.connections.open}/${r.connections.max ?? '?'}`,
    `${r.query_log.statements} statements logged`,
  ].filter((x) => x !== null).join(' · ');
  const bars = barChart('largest tables', (r.largest_tables ?? []).map((t) => ({
    label: t.table,
    value: t.total_bytes ?? 0,
    note: `${bytesText(t.total_bytes)}${t.rows_estimate === null ? '' : ` · ~${t.rows_estimate.toLocaleString('en-US')} rows`}`,
  })), 32);
  return bars ? `${head}\n${bars}` : head;
}

export function performanceTools(ctx: ServerContext): ToolDef[] {
  return [
    defineTool({
      name: 'monitor_query_performance',
      title: 'Profile a statement',
      description: 'Times a statement and explains its plan, with findings such as a missing index.',
      input: z.object({
        connection: connectionArg,
        query: z.string().min(1).max(1_000_000),
        params: paramsArg,
        runs: z.number().int().min(1).max(MAX_RUNS).optional().describe(`Default ${DEFAULT_RUNS}.`),
        analyze: z.boolean().optional(),
        timeout_ms: z.number().int().min(1).max(LIMITS.statement_timeout_ms).optional(),
      }),
      output: z.object({
        connection: z.string(),
        statement: z.enum(['read', 'write']).describe('write: not on the read-only allow-list; every run was rolled back.'),
        rolled_back: z.boolean(),
        runs: z.number(),
        timing_ms: z.object({ min: z.number(), median: z.number(), p95: z.number(), max: z.number() }).describe('Time on the connection per run, warm-up excluded.'),
        rows: z.number().describe('Rows returned (or affected) by the last run.'),
        truncated: z.boolean().describe('A run hit max_rows / max_bytes: its time covers reading the rows kept, not the whole result.'),
        plan: plan.nullable(),
        plan_error: z.object({ code: z.string(), message: z.string() }).nullable().describe('Why there is no plan (the timings still stand).'),
        findings: z.array(finding),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      handler: async (args, call) => monitorQuery(ctx, args, call),
    }),
    defineTool({
      name: 'analyze_slow_queries',
      title: 'Slow queries',
      description: 'Finds statements slower than threshold, grouped by fingerprint, busiest first.',
      input: z.object({
        connection: connectionArg,
        threshold: z.number().min(0).max(86_400).optional().describe(`Seconds (default ${DEFAULT_THRESHOLD_S}).`),
        limit: z.number().int().min(1).max(100).optional().describe(`Default ${DEFAULT_LIMIT}.`),
        since: z.string().min(1).max(64).optional().describe('ISO 8601 time or 30m, 2h, 1d.'),
      }),
      output: z.object({
        connection: z.string(), threshold_s: z.number(), since: z.string().nullable(),
        queries: z.array(slowQuery), sources: z.array(sourceStatus),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async (args, call) => analyzeSlowQueries(ctx, args, call.signal),
      chart: (r) => barChart(
        `statements slower than ${r.threshold_s} s (mean or max), by total time; latest calls at the right`,
        r.queries.map((q) => ({
          label: q.fingerprint,
          value: q.total_ms,
          note: `${msText(q.total_ms)} · ${q.calls} call${q.calls === 1 ? '' : 's'} · max ${msText(q.max_ms)}${q.recent_ms.length > 1 ? ` ${sparkline(q.recent_ms)}` : ''}`,
        })),
      ),
    }),
    defineTool({
      name: 'get_database_stats',
      title: 'Database statistics',
      description: 'Size, largest tables, unused indexes, connections, cache hits, locks.',
      input: z.object({ connection: connectionArg }),
      output: databaseStats,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async ({ connection }, call) => getDatabaseStats(ctx, connection, call.signal),
      chart: statsChart,
    }),
  ];
}
