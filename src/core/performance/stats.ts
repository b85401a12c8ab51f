/**
 * get_database_stats (and the stats://{connection} resource): the database's own
 * statistics in one shape for every backend, this server's pool and its query-log
 * totals. What a backend cannot provide is null and named in `not_available`.
 */
import type { ServerContext } from '../../context.js';
import type { DatabaseStats } from './stats/types.js';

/** Fields every backend is asked for; `sqlite` is SQLite's own and never "missing" elsewhere. */
const COMMON_FIELDS: Array<keyof DatabaseStats> = [
  'version', 'uptime_s', 'size_bytes', 'table_count', 'largest_tables', 'index_usage', 'connections', 'cache_hit_ratio',
  'transactions', 'deadlocks', 'locks_waiting', 'long_running_queries',
];

function notAvailable(stats: DatabaseStats): string[] {
  const missing: string[] = COMMON_FIELDS.filter((f) => stats[f] === null);
  if (stats.index_usage?.unused === null) missing.push('index_usage.unused');
  if (stats.connections) {
    for (const [k, v] of Object.entries(stats.connections)) if (v === null) missing.push(`connections.${k}`);
  }
  return missing;
}

export async function getDatabaseStats(ctx: ServerContext, connection: string | undefined, signal: AbortSignal) {
  const { config, dialect, module } = await ctx.registry.get(connection);
  const reader = module.performance.stats;
  const { stats, hints } = await dialect.withSession((s) => reader.read(s, config), { signal, timeoutMs: config.statement_timeout_ms, readsOnly: true });
  const log = await ctx.queryLog.totals(config.name);
  return {
    connection: config.name,
    backend: config.backend,
    collected_at: new Date().toISOString(),
    ...stats,
    pool: dialect.poolState(),
    query_log: { ...log, since: log.since === null ? null : new Date(log.since).toISOString(), persisted_to: ctx.queryLog.persistedTo },
    not_available: notAvailable(stats),
    hints,
  };
}
