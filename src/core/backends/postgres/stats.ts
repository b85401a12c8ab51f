/**
 * PostgreSQL statistics from the catalog and the cumulative statistics views, for
 * the connection's database: four queries on one pinned connection.
 */
import { BOOKKEEPING_SCHEMA, BOOKKEEPING_SQL_LIST } from '../../bookkeeping.js';
import type { Row, Session } from '../../dialect.js';
import { fingerprint } from '../../performance/fingerprint.js';
import { sql } from './sql.js';
import { num } from '../../performance/plans/types.js';
import { LONG_RUNNING_S, TOP_QUERIES, TOP_TABLES, type DatabaseStats, type StatsReader, type TableStats } from '../../performance/stats/types.js';

/** User relations: not the catalogs, nor the server's own tables (bookkeeping.ts). */
const USER_RELATIONS = `c.relkind in ('r', 'p', 'm') and n.nspname not in ('pg_catalog', 'information_schema', '${BOOKKEEPING_SCHEMA}') and n.nspname !~ '^pg_toast'
  and c.relname not in (${BOOKKEEPING_SQL_LIST})`;

const SUMMARY = `
  select version() as version,
    extract(epoch from now() - pg_postmaster_start_time())::float8 as uptime_s,
    pg_database_size(current_database()) as size_bytes,
    (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', '${BOOKKEEPING_SCHEMA}') and n.nspname !~ '^pg_toast' and c.relname not in (${BOOKKEEPING_SQL_LIST})) as table_count,
    (select count(*) from pg_stat_user_indexes where schemaname <> '${BOOKKEEPING_SCHEMA}' and relname not in (${BOOKKEEPING_SQL_LIST})) as index_count,
    (select count(*) from pg_stat_activity where backend_type = 'client backend') as open,
    (select count(*) from pg_stat_activity where backend_type = 'client backend' and state = 'active') as active,
    current_setting('max_connections')::int as max,
    d.blks_hit, d.blks_read, d.xact_commit, d.xact_rollback, d.deadlocks,
    (select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()) as locks_waiting
  from pg_stat_database d where d.datname = current_database()`;

const LARGEST = `
  select n.nspname as schema, c.relname as name, case when c.reltuples >= 0 then c.reltuples::float8 end as reltuples, st.n_live_tup as live,
    pg_table_size(c.oid) as data_bytes, pg_indexes_size(c.oid) as index_bytes, pg_total_relation_size(c.oid) as total_bytes
  from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_stat_all_tables st on st.relid = c.oid
  where ${USER_RELATIONS}
  order by pg_total_relation_size(c.oid) desc, c.relname limit ${TOP_TABLES}`;

/** Never scanned since the statistics were last reset; unique and primary-key indexes are not a waste even then. */
const UNUSED = `
  select s.schemaname as schema, s.relname as table, s.indexrelname as index, pg_relation_size(s.indexrelid) as size_bytes
  from pg_stat_user_indexes s join pg_index i on i.indexrelid = s.indexrelid
  where s.idx_scan = 0 and not i.indisunique and not i.indisprimary
  order by pg_relation_size(s.indexrelid) desc limit ${TOP_TABLES}`;

const LONG_RUNNING = `
  select pid, extract(epoch from now() - query_start)::float8 as seconds, state, query
  from pg_stat_activity
  where datname = current_database() and state <> 'idle' and pid <> pg_backend_pid() and query_start < now() - interval '${LONG_RUNNING_S} seconds'
  order by query_start limit ${TOP_QUERIES}`;

const qualified = (schema: unknown, name: unknown): string => (schema === 'public' ? String(name) : `${String(schema)}.${String(name)}`);

function tableOf(r: Row): TableStats {
  // reltuples is -1 until the table was first analysed; the live-tuple count is kept from the start.
  return {
    table: qualified(r.schema, r.name), rows_estimate: num(r.reltuples) ?? num(r.live),
    data_bytes: num(r.data_bytes), index_bytes: num(r.index_bytes), total_bytes: num(r.total_bytes),
  };
}

function ratio(hit: number | null, read: number | null): number | null {
  if (hit === null || read === null || hit + read === 0) return null;
  return Math.round((hit / (hit + read)) * 10_000) / 10_000;
}

async function read(s: Session): Promise<{ stats: DatabaseStats; hints: [] }> {
  const [sum] = await s.query(SUMMARY);
  const largest = await s.query(LARGEST);
  const unused = await s.query(UNUSED);
  const long = await s.query(LONG_RUNNING);
  return {
    stats: {
      version: String(sum.version),
      uptime_s: Math.round(num(sum.uptime_s) ?? 0),
      size_bytes: num(sum.size_bytes),
      table_count: num(sum.table_count),
      largest_tables: largest.map(tableOf),
      index_usage: {
        indexes: num(sum.index_count),
        unused: unused.map((r) => ({ table: qualified(r.schema, r.table), index: String(r.index), size_bytes: num(r.size_bytes) })),
      },
      connections: { open: num(sum.open), active: num(sum.active), max: num(sum.max) },
      cache_hit_ratio: ratio(num(sum.blks_hit), num(sum.blks_read)),
      transactions: { committed: num(sum.xact_commit) ?? 0, rolled_back: num(sum.xact_rollback) ?? 0 },
      deadlocks: num(sum.deadlocks),
      locks_waiting: num(sum.locks_waiting),
      long_running_queries: long.map((r) => ({
        id: String(r.pid), seconds: Math.round(num(r.seconds) ?? 0), state: r.state === null ? null : String(r.state), fingerprint: fingerprint(String(r.query ?? ''), sql),
      })),
      sqlite: null,
    },
    hints: [],
  };
}

export const postgresStats: StatsReader = { read: (s) => read(s) };
