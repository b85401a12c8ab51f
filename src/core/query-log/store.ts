/**
 * Persistence of the query log in a SQLite file, so its history survives restarts.
 * better-sqlite3 runs in this process: these are small batched inserts of our own
 * rows (about a millisecond per batch), never agent SQL, so nothing can run away.
 * Fingerprints, tools, durations, rows and error codes only: never a literal, a
 * parameter or an error message.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { LogEntry } from './types.js';

export interface QueryStore {
  readonly path: string;
  /** Entries that were in the file when this process opened it, oldest first. */
  history(): LogEntry[];
  /** Entries of one connection at or after `at` (epoch ms), oldest first. */
  since(connection: string, at: number): LogEntry[];
  /** Appends in one transaction, then trims the file to its newest maxEntries rows. */
  append(entries: LogEntry[]): void;
  close(): void;
}

const TABLE = 'codomyrmex_query_log';
const COLUMNS = 'connection, tool, fingerprint, ms, rows, error, at';

export async function openQueryStore(path: string, maxEntries: number): Promise<QueryStore> {
  const { default: Database } = await import('better-sqlite3');
  mkdirSync(dirname(path), { recursive: true });
  const db: BetterSqlite3.Database = new Database(path);
  try {
    // WAL and a busy timeout: two servers may share one file.
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 1000');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      id INTEGER PRIMARY KEY, connection TEXT NOT NULL, tool TEXT NOT NULL, fingerprint TEXT NOT NULL,
      ms REAL NOT NULL, rows INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS ${TABLE}_connection_at ON ${TABLE} (connection, at)`);
  } catch (err) {
    db.close();
    throw err;
  }
  return createStore(db, path, maxEntries);
}

function createStore(db: BetterSqlite3.Database, path: string, maxEntries: number): QueryStore {
  const lastId = (): number => Number((db.prepare(`SELECT coalesce(max(id), 0) AS id FROM ${TABLE}`).get() as { id: number }).id);
  const historyUpTo = lastId();
  const insert = db.prepare(`INSERT INTO ${TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const trim = db.prepare(`DELETE FROM ${TABLE} WHERE id <= ?`);
  let sinceTrim = Infinity; // trim once at the first append: the limit may have been lowered
  const appendAll = db.transaction((entries: LogEntry[]) => {
    for (const e of entries) insert.run(e.connection, e.tool, e.fingerprint, e.ms, e.rows, e.error, e.at);
  });
  return {
    path,
    history: () => db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE id <= ? AND id > ? ORDER BY id`).all(historyUpTo, historyUpTo - maxEntries) as LogEntry[],
    since: (connection, at) => db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE connection = ? AND at >= ? ORDER BY id`).all(connection, at) as LogEntry[],
    append(entries) {
      appendAll(entries);
      sinceTrim += entries.length;
      // Trimming is a range delete on the primary key: done once per tenth of the limit.
      if (sinceTrim > maxEntries / 10) {
        trim.run(lastId() - maxEntries);
        sinceTrim = 0;
      }
    },
    close: () => db.close(),
  };
}
