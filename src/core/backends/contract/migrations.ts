/**
 * What a backend module gives the migrations side of the server (see ../types.ts): where
 * the history tables live, how to find and set them up, and the SQL that differs in the
 * history itself. The managers in core/migrations/ keep the orchestration (the lock,
 * transactions, the order of the setup steps).
 */
import type { Session } from '../../dialect.js';

/**
 * Where the history's tables are for one session, fully qualified so that no statement
 * depends on the session's search_path or current database: a migration file may change
 * either (pg_dump's schema files run `set_config('search_path', '', false)`; a MySQL file
 * may `USE` another database).
 */
export interface Place {
  /**
   * PostgreSQL: the schema holding the tables. `codomyrmex` when it exists or the account
   * may create it (CREATE on the database); otherwise the schema of the search_path an
   * older version used, or the first one the account may create tables in (tables stay
   * hidden there too).
   */
  schema?: string;
  /** The history table's fully qualified name. */
  history: string;
  /** The events table's fully qualified name. */
  events: string;
  /** The lock table's fully qualified name (the migration lock's row: Session.lock). */
  locks: string;
  /** MySQL: the connection's database, where the tables live. */
  database?: string;
}

/** A catalog query answering, in one row, columns history, events and events_id (each true or a count > 0 when present). */
export interface BookkeepingProbe {
  /** The query, with the backend's placeholders. */
  text: string;
  /** Its parameters. */
  params: unknown[];
}

export interface MigrationsSupport {
  /** Where the history tables are for this session, read once before any migration runs (MySQL: the database selected now). */
  place(s: Session): Promise<Place>;
  /** The query that finds which of the tables (and the events table's `id`) exist at `p`. */
  probe(p: Place): BookkeepingProbe;
  /** The events table's key column as CREATE TABLE writes it (Galera refuses writes to tables without a primary key). */
  eventsIdColumn: string;
  /** Statements that give an existing events table without `id` its key, keeping its rows (existing rows numbered in order). */
  addEventsId(p: Place): string[];
  /**
   * Work before the tables are created, in the setup's transaction where DDL is transactional
   * (PostgreSQL: create its schema, and move in tables an older version left on the search_path).
   */
  prepareBookkeeping(s: Session, p: Place): Promise<void>;
  /** A history version, sent as text (versions exceed 2^53), cast to the history's BIGINT column: `CAST(? AS BIGINT)`. */
  versionParam: string;
  /** The history table as an older version named it, found through the search_path (PostgreSQL before the move into its schema); null where it never moved. */
  legacyHistory: string | null;
  /**
   * A statement that does not do what it says inside a migration's transaction, as
   * "<does> at statement N, <because>" (SQLite ignores PRAGMA foreign_keys there); null for any other.
   */
  inTransactionTrap(statement: string): { does: string; because: string } | null;
}
