/**
 * Database statistics, one shape for every backend. A backend that cannot provide a
 * field leaves it null (the manager names it in `not_available`); nothing is guessed.
 */
import type { Session } from '../../dialect.js';

export interface TableStats {
  table: string;
  /** The catalog's estimate (PostgreSQL reltuples or live tuples, InnoDB TABLE_ROWS, SQLite sqlite_stat1 or max(rowid)). */
  rows_estimate: number | null;
  data_bytes: number | null;
  index_bytes: number | null;
  total_bytes: number | null;
}

export interface LongRunning {
  /** Backend pid (PostgreSQL) or connection id (MySQL). */
  id: string;
  seconds: number;
  state: string | null;
  /** The statement with its literals replaced: other sessions' values never leave the server. */
  fingerprint: string;
}

export interface DatabaseStats {
  version: string | null;
  uptime_s: number | null;
  size_bytes: number | null;
  table_count: number | null;
  largest_tables: TableStats[] | null;
  index_usage: { indexes: number | null; unused: Array<{ table: string; index: string; size_bytes: number | null }> | null } | null;
  connections: { open: number | null; active: number | null; max: number | null } | null;
  cache_hit_ratio: number | null;
  transactions: { committed: number; rolled_back: number } | null;
  deadlocks: number | null;
  locks_waiting: number | null;
  long_running_queries: LongRunning[] | null;
  /** SQLite only: the file's own numbers; null elsewhere. */
  sqlite: {
    page_size: number;
    page_count: number;
    freelist_count: number;
    journal_mode: string;
    wal_autocheckpoint: number | null;
    /** Bytes in the -wal file now (null when not in WAL mode or in memory). */
    wal_bytes: number | null;
    /** Table and index sizes came from the dbstat virtual table. */
    dbstat: boolean;
  } | null;
}

export interface Hint {
  field: string;
  hint: string;
}

export interface StatsReader {
  /** One pinned session's worth of catalog reads; `file` is a file database's (its -wal file is measured too). */
  read(s: Session, target: { file?: string }): Promise<{ stats: DatabaseStats; hints: Hint[] }>;
}

/** Largest tables listed, and long-running statements listed. */
export const TOP_TABLES = 10;
export const TOP_QUERIES = 10;
/** A statement counts as long-running from this many seconds. */
export const LONG_RUNNING_S = 5;
