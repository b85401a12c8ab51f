/** postgres: what the prompts tell an agent (contract/prompts.ts). */
import type { PromptSupport } from '../contract/prompts.js';

export const prompts: PromptSupport = {
  catalog: {
    tables: "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    columns: 'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
    foreignKeys: "SELECT conrelid::regclass AS table_name, conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
    indexes: 'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = ? AND tablename = ?',
  },
  migrationNote: 'PostgreSQL DDL is transactional. For an index on a large table use CREATE INDEX CONCURRENTLY in a migration marked `-- migrate:no-transaction`.',
  plan: 'EXPLAIN (FORMAT JSON) <the query>. Only for a SELECT on a writable connection, EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) gives actual rows and times (ANALYZE runs the statement).',
  findSlow: 'If pg_stat_statements is installed: `SELECT query, calls, mean_exec_time FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10`.',
  staleStatistics: 'Stale statistics mislead the planner: `SELECT relname, n_live_tup, n_dead_tup, last_analyze, last_autoanalyze FROM pg_stat_user_tables`.',
};
