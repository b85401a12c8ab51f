/**
 * pg_stat_statements: every statement of every client, normalised by the server
 * (constants become $n), totals since its last reset. Needs the library in
 * shared_preload_libraries (a restart) and the extension in this database.
 */
import type { Session } from '../../dialect.js';
import { num } from '../../performance/plans/types.js';
import type { Probe, SourceRow, StatementSource } from '../../performance/sources/types.js';

/** Where the extension's view lives in this database, or null. */
async function viewSchema(s: Session): Promise<{ schema: string | null; loaded: boolean }> {
  const [row] = await s.query(
    `select (select quote_ident(n.nspname) from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_stat_statements') as schema,
            current_setting('shared_preload_libraries') ~ '(^|,)\\s*pg_stat_statements\\s*(,|$)' as loaded`,
  );
  return { schema: typeof row?.schema === 'string' ? row.schema : null, loaded: row?.loaded === true };
}

async function probe(s: Session): Promise<Probe> {
  const { schema, loaded } = await viewSchema(s);
  if (!loaded) {
    return {
      available: false,
      hint: "add pg_stat_statements to shared_preload_libraries (postgresql.conf, or ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements in this database",
    };
  }
  if (schema === null) return { available: false, hint: 'the library is loaded: run CREATE EXTENSION pg_stat_statements in this database' };
  return { available: true };
}

async function slow(s: Session, thresholdMs: number, limit: number): Promise<SourceRow[]> {
  const { schema } = await viewSchema(s);
  // Without pg_read_all_stats, other roles' statements read '<insufficient privilege>': nothing to group.
  const rows = await s.query(
    `select query, calls, total_exec_time as total_ms, max_exec_time as max_ms, rows
     from ${schema}.pg_stat_statements
     where dbid = (select oid from pg_database where datname = current_database())
       and (mean_exec_time > $1 or max_exec_time > $1) and query <> '<insufficient privilege>'
     order by total_exec_time desc limit $2`,
    [thresholdMs, limit],
  );
  return rows.map((r) => ({
    text: String(r.query), calls: num(r.calls) ?? 0, total_ms: num(r.total_ms) ?? 0, max_ms: num(r.max_ms) ?? 0,
    rows: num(r.rows) ?? 0, last_seen: null, p95_ms: null,
  }));
}

export const pgStatStatements: StatementSource = { name: 'pg_stat_statements', probe, slow };
