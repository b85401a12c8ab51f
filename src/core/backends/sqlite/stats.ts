/**
 * SQLite statistics: the file's own numbers (pages, free pages, journal mode, the
 * WAL file) and, when the dbstat virtual table is compiled in (better-sqlite3 has
 * it), the bytes of each table and index. SQLite keeps no server statistics: no
 * uptime, connections, cache ratio, transactions, deadlocks or index usage.
 */
import { statSync } from 'node:fs';
import { DbError } from '../../../errors.js';
import { BOOKKEEPING_SQL_LIST } from '../../bookkeeping.js';
import type { Session } from '../../dialect.js';
import { tableRows } from './plans.js';
import { num } from '../../performance/plans/types.js';
import { TOP_TABLES, type DatabaseStats, type Hint, type StatsReader, type TableStats } from '../../performance/stats/types.js';

/** dbstat reads every page: past this many (1 GiB of 4 KiB pages) sizes are left out rather than read. */
const MAX_DBSTAT_PAGES = 262_144;

const FILE = `
  SELECT sqlite_version() AS version,
    (SELECT page_size FROM pragma_page_size) AS page_size, (SELECT page_count FROM pragma_page_count) AS page_count,
    (SELECT freelist_count FROM pragma_freelist_count) AS freelist_count, (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode,
    (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN (${BOOKKEEPING_SQL_LIST})) AS tables,
    (SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name NOT IN (${BOOKKEEPING_SQL_LIST})) AS indexes,
    (SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1') AS has_stat1`;

/** Bytes per table (its b-tree) and per table's indexes, from dbstat's per-b-tree totals. */
const SIZES = `
  SELECT coalesce(m.tbl_name, d.name) AS tbl, sum(CASE WHEN m.type = 'index' THEN 0 ELSE d.pgsize END) AS data_bytes,
    sum(CASE WHEN m.type = 'index' THEN d.pgsize ELSE 0 END) AS index_bytes
  FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name
  WHERE d.aggregate = TRUE AND d.name NOT LIKE 'sqlite_%' AND coalesce(m.tbl_name, d.name) NOT IN (${BOOKKEEPING_SQL_LIST})
  GROUP BY 1 ORDER BY sum(d.pgsize) DESC, 1 LIMIT ${TOP_TABLES}`;

function walBytes(file: string | undefined, mode: string): number | null {
  if (mode !== 'wal' || !file || file === ':memory:') return null;
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0; // no -wal file right now: nothing waits for a checkpoint
  }
}

async function largestTables(s: Session, hasStat1: boolean, pages: number, hints: Hint[]): Promise<TableStats[] | null> {
  if (pages > MAX_DBSTAT_PAGES) {
    hints.push({ field: 'largest_tables', hint: `the file has ${pages} pages; sizing every table would read them all (dbstat): use sqlite3_analyzer on a copy` });
    return null;
  }
  let rows;
  try {
    rows = await s.query(SIZES);
  } catch (err) {
    if (!(err instanceof DbError && err.code === 'UNDEFINED_OBJECT')) throw err;
    hints.push({ field: 'largest_tables', hint: 'this SQLite build has no dbstat table (SQLITE_ENABLE_DBSTAT_VTAB)' });
    return null;
  }
  const out: TableStats[] = [];
  for (const r of rows) {
    const [data, index] = [num(r.data_bytes) ?? 0, num(r.index_bytes) ?? 0];
    out.push({ table: String(r.tbl), rows_estimate: await tableRows(s, String(r.tbl), hasStat1), data_bytes: data, index_bytes: index, total_bytes: data + index });
  }
  return out;
}

async function read(s: Session, { file }: { file?: string }): Promise<{ stats: DatabaseStats; hints: Hint[] }> {
  const hints: Hint[] = [];
  const [f] = await s.query(FILE);
  const [pageSize, pages] = [num(f.page_size) ?? 0, num(f.page_count) ?? 0];
  const [auto] = await s.query('PRAGMA wal_autocheckpoint');
  const journal = String(f.journal_mode);
  const largest = await largestTables(s, num(f.has_stat1) === 1, pages, hints);
  return {
    stats: {
      version: String(f.version),
      uptime_s: null,
      size_bytes: pageSize * pages,
      table_count: num(f.tables),
      largest_tables: largest,
      index_usage: { indexes: num(f.indexes), unused: null },
      connections: null,
      cache_hit_ratio: null,
      transactions: null,
      deadlocks: null,
      locks_waiting: null,
      long_running_queries: null,
      sqlite: {
        page_size: pageSize, page_count: pages, freelist_count: num(f.freelist_count) ?? 0, journal_mode: journal,
        wal_autocheckpoint: num(auto?.wal_autocheckpoint), wal_bytes: walBytes(file, journal), dbstat: largest !== null,
      },
    },
    hints,
  };
}

export const sqliteStats: StatsReader = { read };
