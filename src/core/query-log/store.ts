/**
 * Persistence of the query log in a SQLite file, so its history survives restarts and
 * several servers (instances behind a balancer) can share it. better-sqlite3 runs in
 * this process: these are small batched inserts of our own rows (about a millisecond
 * per batch), never agent SQL, so nothing can run away. Each batch is one SQLite
 * transaction, so a reader in another process sees whole rows or none of a batch.
 * Fingerprints, tools, durations, rows and error codes only: never a literal, a
 * parameter or an error message.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { LogEntry } from './types.js';

export interface QueryStore {
  readonly path: string;
  /**
   * Entries this process has not seen yet, oldest first: at the first call, what the
   * file held (its newest maxEntries rows); then what other processes appended since the
   * previous call (read from the last id seen, never the whole file). A file replaced
   * under its path (rotated, deleted) is reopened and read from its start; one whose ids
   * went backwards (emptied) is read from its start.
   */
  follow(): LogEntry[];
  /** Entries of one connection at or after `at` (epoch ms), oldest first. */
  since(connection: string, at: number): LogEntry[];
  /** Appends in one transaction, then trims the file to its newest maxEntries rows. */
  append(entries: LogEntry[]): void;
  close(): void;
}

const TABLE = 'codomyrmex_query_log';
const COLUMNS = 'connection, tool, fingerprint, ms, rows, error, at';

function openWith(Database: typeof BetterSqlite3, path: string): BetterSqlite3.Database {
  mkdirSync(dirname(path), { recursive: true });
  const db: BetterSqlite3.Database = new Database(path);
  try {
    // WAL and a busy timeout: several servers may share one file.
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 1000');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      id INTEGER PRIMARY KEY, connection TEXT NOT NULL, tool TEXT NOT NULL, fingerprint TEXT NOT NULL,
      ms REAL NOT NULL, rows INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS ${TABLE}_connection_at ON ${TABLE} (connection, at)`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export async function openQueryStore(path: string, maxEntries: number): Promise<QueryStore> {
  const { default: Database } = await import('better-sqlite3');
  return new FileStore(path, maxEntries, (p) => openWith(Database, p), openWith(Database, path));
}

/** The file's identity: a rotation or a deletion replaces it under the same path. */
function identity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

class FileStore implements QueryStore {
  private file: string | null;
  /** The highest id this process has read or written past. */
  private cursor = 0;
  /**
   * Ids this process wrote that `follow` has not passed yet (they are already counted).
   * Only batches written after rows this process has not read land here: otherwise the
   * cursor moves past them at once, so one server alone keeps this empty.
   */
  private own = new Set<number>();
  private sinceTrim = Infinity; // trim once at the first append: the limit may have been lowered
  private statements!: ReturnType<FileStore['prepare']>;

  constructor(readonly path: string, private readonly maxEntries: number, private readonly reopen: (path: string) => BetterSqlite3.Database, private db: BetterSqlite3.Database) {
    this.file = identity(path);
    this.statements = this.prepare();
  }

  private prepare() {
    const db = this.db;
    const insert = db.prepare(`INSERT INTO ${TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const lastId = db.prepare(`SELECT coalesce(max(id), 0) AS id FROM ${TABLE}`).pluck();
    return {
      lastId,
      after: db.prepare(`SELECT id, ${COLUMNS} FROM ${TABLE} WHERE id > ? ORDER BY id`),
      since: db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE connection = ? AND at >= ? ORDER BY id`),
      trim: db.prepare(`DELETE FROM ${TABLE} WHERE id <= ?`),
      // Run IMMEDIATE: the write lock first, so `before` is still the last id when the rows go in.
      appendAll: db.transaction((entries: LogEntry[]) => ({
        before: Number(lastId.get()),
        ids: entries.map((e) => Number(insert.run(e.connection, e.tool, e.fingerprint, e.ms, e.rows, e.error, e.at).lastInsertRowid)),
      })),
    };
  }

  follow(): LogEntry[] {
    const now = identity(this.path);
    if (now !== this.file) this.replace(now);
    const last = Number(this.statements.lastId.get());
    if (last < this.cursor) {
      // Emptied (ids start again from 1): rows of ours above `last` are gone with the rest.
      this.cursor = 0;
      for (const id of this.own) if (id > last) this.own.delete(id);
    }
    // The first read takes the newest maxEntries rows only: what the file keeps anyway.
    const from = Math.max(this.cursor, last - this.maxEntries);
    const rows = this.statements.after.all(from) as Array<LogEntry & { id: number }>;
    const out: LogEntry[] = [];
    for (const { id, ...e } of rows) if (!this.own.delete(id)) out.push(e);
    this.cursor = Math.max(this.cursor, last, rows.length ? rows[rows.length - 1].id : 0);
    for (const id of this.own) if (id <= this.cursor) this.own.delete(id);
    return out;
  }

  since(connection: string, at: number): LogEntry[] {
    return this.statements.since.all(connection, at) as LogEntry[];
  }

  append(entries: LogEntry[]): void {
    const now = identity(this.path);
    if (now !== this.file) this.replace(now);
    const { before, ids } = this.statements.appendAll.immediate(entries);
    if (before === this.cursor) this.cursor = ids.length ? ids[ids.length - 1] : this.cursor;
    else for (const id of ids) this.own.add(id);
    this.sinceTrim += entries.length;
    // Trimming is a range delete on the primary key: done once per tenth of the limit.
    if (this.sinceTrim > this.maxEntries / 10) {
      const upTo = Number(this.statements.lastId.get()) - this.maxEntries;
      this.statements.trim.run(upTo);
      // Rows trimmed before this process read them will never come back to be skipped.
      for (const id of this.own) if (id <= upTo) this.own.delete(id);
      this.sinceTrim = 0;
    }
  }

  close(): void {
    this.db.close();
  }

  /** Another file stands at the path now (or none): write to and read from the one there. */
  private replace(now: string | null): void {
    const next = this.reopen(this.path);
    this.db.close();
    this.db = next;
    this.statements = this.prepare();
    this.file = now ?? identity(this.path);
    this.cursor = 0;
    this.own.clear();
  }
}
