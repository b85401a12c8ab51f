/**
 * The driver part of a backend module (backends/types.ts, createDialect): one
 * configured connection's statements, sessions and pool. Managers talk to this, never
 * to a driver, and branch on `capabilities`, never on the backend's name.
 */
import type { Classification } from './readonly/types.js';
import type { Lexed } from './sql-lexer.js';

export interface Capabilities {
  /** DDL runs inside a transaction and rolls back with it (PostgreSQL, SQLite; not MySQL/MariaDB). */
  transactionalDdl: boolean;
  /** Session-level named locks exist (pg_advisory_lock, GET_LOCK); SQLite has none. The migration lock uses none of them: Session.lock is a row on every backend. */
  advisoryLocks: boolean;
  /** EXPLAIN can run the statement and report actual rows and times. */
  explainAnalyze: boolean;
  /** A running statement can be stopped from outside without losing the connection's database. */
  cancelKeepsDatabase: boolean;
  /** The database enforces a READ ONLY transaction (PostgreSQL, MySQL); SQLite uses query_only + classification. */
  readOnlyTransactions: boolean;
}

export interface ColumnInfo {
  name: string;
  /** The backend's own type name, lower case (int4, varchar, INTEGER ...); '' when unknown. */
  type: string;
}

/** Rows are plain JSON-safe objects: see toJsonValue in sql.ts for the value rules. */
export type Row = Record<string, unknown>;

export interface StatementResult {
  columns: ColumnInfo[];
  rows: Row[];
  /** Rows returned (after capping), or rows affected for a statement that returns none. */
  row_count: number;
  /** Rows changed by INSERT/UPDATE/DELETE; null when the statement returns rows. */
  affected_rows: number | null;
  /** True when max_rows or max_bytes cut the result short. */
  truncated: boolean;
  elapsed_ms: number;
  /**
   * A read stopped at the cap whose transaction was rolled back on a connection that can
   * write (PostgreSQL: the cancel stopped it, or met its COMMIT): nothing it wrote was kept.
   * Said in the truncation notice (queries.ts), not a field of the tool's output.
   */
  rolledBack?: true;
}

export interface ExecOptions {
  /** Keep at most this many rows; read one more to know whether the result was cut. */
  maxRows: number;
  /** Stop reading rows once their JSON encoding passes this many bytes. */
  maxBytes: number;
  /** Server-side statement timeout for this call. */
  timeoutMs: number;
  /** Aborted when the MCP client cancels the call: the running statement must be stopped. */
  signal?: AbortSignal;
  /**
   * Send the statement's EXPLAIN instead of the statement. The statement itself is
   * classified and refused exactly as without this option; the wrapper is added after,
   * so it can only ever explain that one statement. `analyze` runs it (PostgreSQL
   * EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON); MariaDB ANALYZE FORMAT=JSON) and
   * is refused for a statement that is not a read unless the transaction is rolled
   * back. MySQL answers EXPLAIN FORMAT=JSON (its EXPLAIN ANALYZE has no JSON form) and
   * SQLite EXPLAIN QUERY PLAN whatever `analyze` says.
   */
  explain?: { analyze: boolean };
  /** transaction() only: end with ROLLBACK even on a writable connection (a measured write leaves nothing behind). */
  rollback?: boolean;
}

export interface Statement {
  /** SQL with the backend's own placeholders ($1 for postgres, ? for mysql and sqlite). */
  text: string;
  /** Positional values, already converted from JSON. */
  params: unknown[];
  /** `text`'s tokens by the module's lexer, when binding kept them (queries.ts; not enumerable: copies drop it). */
  readonly lexed?: Lexed;
}

export interface PoolState {
  /** Connections (or host processes) open now; null when the driver does not say. */
  open: number | null;
  /** Of those, running a statement now. */
  busy: number;
  /** Calls waiting for a connection. */
  waiting: number;
  max: number;
}

export interface ServerInfo {
  /** Server version string as the server reports it. */
  server_version: string;
  /** Database (PostgreSQL, MySQL) or file path (SQLite). */
  database: string;
  /** Flavour, when it matters: 'mariadb' or 'mysql'; null otherwise. */
  flavor: string | null;
  /** Role the connection runs as; null for SQLite. */
  user: string | null;
  /** Read-only connections of backends that say: which protection is in force (SPEC §6). */
  read_only_guard?: ReadOnlyGuard;
  /** The pooler the connection was configured for (PostgreSQL `pooler=session|transaction`); absent when none. */
  pooler?: string;
  /**
   * Present when the server is a read replica that replays another server's changes
   * (PostgreSQL hot standby, `pg_is_in_recovery()`): how far behind it is. Read live
   * (Dialect.liveInfo), since a standby can be promoted.
   */
  standby?: StandbyState;
  /**
   * Present when the server replicates with others (a Galera node, a MySQL replica): its
   * state now. Read live (Dialect.liveInfo): a node falls out of sync, a replica stops.
   */
  replication?: Replication;
}

/** A standby's replay position: `replay_lag_ms` 0 once it has replayed all it received; null when unknown. */
export interface StandbyState {
  /** Age of the last replayed transaction while WAL it received waits to be replayed; 0 when none waits. */
  replay_lag_ms: number | null;
  /** WAL received but not replayed yet, in bytes. */
  unreplayed_bytes: number | null;
}

/** What keeps a read-only connection read-only: the engine's part and the classifier's. */
export interface ReadOnlyGuard {
  /** What the database itself enforces, e.g. "read-only transaction + role pg_read_all_data". */
  engine: string;
  /** Agent statements are classified first (always true today). */
  classifier: boolean;
  /** Set when the engine cannot drop the account's file, program or signal powers: why, and what to configure. */
  warning?: string;
}

/** Where a server stands among others (SPEC §3.1 `replication`). */
export interface Replication {
  /** The backend's word: MySQL/MariaDB `galera` (a cluster node) or `replica` (reads another server's binary log). */
  kind: string;
  /** Whether the server takes writes now (a Galera node that is not ready, a read_only replica: false). */
  writable: boolean;
  /** The engine's own state word: Galera `wsrep_local_state_comment` (Synced, Donor/Desynced, Joining …); a replica's threads. */
  state: string;
  /** Galera `wsrep_ready`: false while the node refuses queries. */
  ready?: boolean;
  /** Galera: members in the node's view, and whether that view is the primary component. */
  cluster_size?: number;
  primary?: boolean;
  /** Galera: this connection's reads wait for the cluster (URL `causal_reads=true`). */
  causal_reads?: boolean;
  /** Replica: how far behind its source, in seconds; null when unknown (not running, or not permitted to ask). */
  lag_seconds?: number | null;
}

export interface Dialect {
  /** The backend module's name (backends/index.ts). */
  readonly backend: string;
  readonly capabilities: Capabilities;
  /** Open (if needed) and describe the server. Throws CONNECTION_FAILED / AUTH_FAILED. */
  connect(): Promise<ServerInfo>;
  /** Classifies one statement exactly as execute() will (no database involved). Throws SYNTAX_ERROR where the classifier parses. */
  classify(text: string): Promise<Classification>;
  /**
   * Run one agent statement. It is classified first and refused before it reaches the
   * database when the policy says so (policy.ts: READ_ONLY_VIOLATION on a read-only
   * connection, PERMISSION_DENIED, INVALID_INPUT ...). On a read-only connection it runs
   * in a read-only transaction that is always rolled back (SQLite: query_only instead).
   */
  execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult>;
  /**
   * Run statements all-or-nothing. A failure rolls everything back and throws a
   * DbError whose details carry `statement_index`. Read-only dialects roll back at the end.
   */
  transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]>;
  poolState(): PoolState;
  /**
   * Server facts that change while the connection is open (a standby's lag, its promotion, a
   * cluster node's state), read by get_connection each time: one or two cheap queries.
   * Absent: nothing changes (SQLite).
   */
  liveInfo?(): Promise<Pick<ServerInfo, 'standby' | 'replication'>>;
  /** Pins a connection for a manager's multi-step work; releases it (its lock and any open transaction) after. */
  withSession<T>(fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T>;
  /** Close every connection; a later call reopens. */
  close(): Promise<void>;
}

/** What the registry hands a dialect factory. */
export interface DialectConfig {
  /** The backend module's name (set by the registry from the module that made the dialect). */
  backend: string;
  /** Connection name, for logs and errors. */
  name: string;
  /** Full URL, secrets included: never log it, never put it in an error. */
  url: string;
  readOnly: boolean;
  /**
   * PostgreSQL: the role agent statements of a read-only connection run as (the
   * connection's `read_only_role`); unset: pg_read_all_data when the account holds
   * file, program or signal powers, else the account's own role.
   */
  readOnlyRole?: string;
  /** Connections in the pool (PostgreSQL, MySQL); SQLite always runs one host process. */
  poolSize: number;
  /** Default server-side statement timeout; ExecOptions.timeoutMs overrides it per call. */
  statementTimeoutMs: number;
  /** How long a call waits for a free connection before failing with BUSY. */
  acquireTimeoutMs: number;
  logger: import('pino').Logger;
  /** SQLite: create the file's missing directories instead of refusing the connection. */
  createDirectory?: boolean;
  /** File databases (SQLite): the file, or ':memory:'. */
  file?: string;
}

/** Where a named lock's row lives: the lock table fully qualified, and the schema it needs (PostgreSQL, created if missing). */
export interface LockAt {
  table: string;
  schema?: string;
}

/**
 * One connection pinned for a manager's multi-step work (a migration run): trusted
 * SQL, explicit transaction control and the database-wide named lock. Never used
 * for agent SQL, which always goes through execute/transaction and their checks.
 */
export interface Session {
  /**
   * Runs trusted statements in order (a migration section, already split). On failure
   * throws a DbError whose details carry `statement_index`. `onApplied(i)` runs after
   * statement i succeeds (MySQL progress bookkeeping). `signal` stops the running
   * statement; without it a statement always runs to its end (a half-run
   * non-transactional migration is worse than a late stop).
   */
  run(statements: string[], onApplied?: (index: number) => Promise<void>, signal?: AbortSignal): Promise<void>;
  /**
   * Statements built from input this server does not trust whole (a backup header's table
   * definitions), each run where the database itself refuses a second statement in one text
   * (PostgreSQL's extended protocol). Absent where run() already does (MySQL without
   * multiple statements, SQLite's prepare).
   */
  runSingle?(statements: string[]): Promise<void>;
  /** One statement with the backend's own placeholders; returns its rows (uncapped: for small catalog reads). */
  query(text: string, params?: unknown[]): Promise<Row[]>;
  /**
   * A statement whose result is not needed (a history write). A backend may defer it
   * and send it with the next statement (SQLite batches them into one round trip to
   * its host); its error then surfaces there. Everything deferred is sent before the
   * session ends.
   */
  write(text: string, params?: unknown[]): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /**
   * Whether trusted SQL left a transaction open (a migration's own BEGIN without
   * COMMIT): its work would be lost when the session ends. MySQL: @@in_transaction;
   * PostgreSQL: a transaction that wrote; SQLite: always false (the open transaction is
   * rolled back when the session's host is recycled at its end).
   */
  leftOpen(): Promise<boolean>;
  /**
   * Takes the named lock shared by every server instance on this database, waiting up
   * to timeoutMs. Returns false when another holder kept it. The lock is a row in the
   * lock table `at` (created if missing): never a session-level lock, which a
   * transaction pooler hands to whoever gets the server connection next and which is
   * node-local on a Galera cluster. PostgreSQL and MySQL/MariaDB: a lease with an expiry
   * on the database's clock, renewed over a second connection while held, so a holder
   * that died blocks others only until it expires (core/lease.ts); SQLite: a row taken
   * under BEGIN IMMEDIATE, taken over from a holder on this machine whose process is gone.
   * `onLost`: called at once when a renewal finds the row gone or another holder's (leases
   * only), so the holder can cancel the statement it is running.
   */
  lock(name: string, timeoutMs: number, at: LockAt, onLost?: () => void): Promise<boolean>;
  /** Releases the lock this session took (a no-op when it holds none). */
  unlock(name: string): Promise<void>;
  /**
   * Whether this session still holds the lock, extending its lease: asked before each
   * migration, so a holder whose lease was lost (a renewal that could not reach the
   * database for a whole lease) stops instead of racing the next holder.
   */
  stillHolds(name: string): Promise<boolean>;
  /** Who holds the named lock now (a description, no secrets: a server process and its host), or null when it is free. */
  lockHolder(name: string, at: LockAt): Promise<string | null>;
  /**
   * SQLite: turns foreign key enforcement on or off (outside a transaction, where the
   * pragma has effect) and returns whether it was on. SQLite's table rebuild needs it
   * off, or DROP TABLE would cascade into child rows. A no-op elsewhere (returns true).
   */
  setForeignKeys(on: boolean): Promise<boolean>;
  /** Rows that violate a foreign key (SQLite's foreign_key_check); 0 elsewhere, where keys are always enforced. */
  foreignKeyViolations(): Promise<number>;
  /**
   * Starts a read-only transaction that sees one consistent snapshot of the whole
   * database while writers go on (backups). PostgreSQL: REPEATABLE READ, READ ONLY;
   * MySQL: START TRANSACTION WITH CONSISTENT SNAPSHOT under REPEATABLE READ; SQLite:
   * BEGIN plus a first read, which pins the WAL snapshot. End it with rollback().
   */
  snapshot(): Promise<void>;
  /**
   * Streams the rows of one trusted SELECT in batches of arrays (column order). The next
   * batch is read only after onRows settles, so memory holds a batch or two whatever the
   * table's size. Values, by backend: PostgreSQL gives each value's text output (string)
   * or null, read through COPY TO STDOUT (the fastest path); MySQL gives mysql2 values
   * (numbers; strings for DECIMAL, dates and integers past 2^53; Buffers for binary; JSON
   * as its text); SQLite gives better-sqlite3 values with safe integers (bigint, number,
   * string, Buffer, null). Returns the row count; `signal` stops the read (CANCELLED).
   */
  stream(text: string, onRows: (rows: unknown[][]) => Promise<void>, signal?: AbortSignal): Promise<number>;
  /**
   * Bulk-loads batches of rows into target's columns, inside the session's open
   * transaction if there is one. PostgreSQL: COPY FROM STDIN, values as text input
   * (string) or null; MySQL: multi-row INSERTs kept under max_allowed_packet, values
   * string, number, bigint, boolean, Buffer or null; SQLite: one prepared INSERT run in
   * the host, values bigint, number, string, Buffer or null. Returns the rows loaded.
   */
  load(target: LoadTarget, batches: AsyncIterable<LoadBatch>, signal?: AbortSignal): Promise<number>;
  /**
   * PostgreSQL and MySQL (undefined on SQLite): the rows of a one-column SELECT whose
   * values are text without control characters (backup lines), as raw UTF-8 bytes, each
   * value followed by `\n`, in batches of whole rows with their count. No value is
   * decoded: the bytes can go to a file as they are. Returns the row count. `lines`
   * (PortableSql.rowLines, MySQL): the SELECT reads the table's columns and the backend
   * builds each line from the row as it arrives.
   */
  streamLines?(text: string, onBytes: (bytes: Buffer, rows: number) => Promise<void>, signal?: AbortSignal, lines?: RowLines): Promise<number>;
  /** Whole-file operations of a file database (SQLite's native backups); undefined on servers and in-memory databases. */
  file?: DatabaseFile;
}

/** A backend's own way of making a backup line of a row as it arrives (PortableSql.rowLines); opaque to the rest. */
export interface RowLines {
  readonly kind: string;
}

/** A database file frozen in a snapshot (DatabaseFile.freeze): `dev` and `ino` name the file SQLite has open. */
export interface FrozenFile {
  path: string;
  bytes: number;
  wal: boolean;
  dev: number;
  ino: number;
}

/** The database as one file (SQLite): what native backups and restores do with it. */
export interface DatabaseFile {
  /**
   * Copies the database, as of one read snapshot, into `dest` (an existing empty file)
   * with the online backup API, and counts the rows of `tables` (quoted names) in the
   * same snapshot. Writers on other connections go on and never restart it.
   */
  backup(dest: string, tables: string[], signal?: AbortSignal): Promise<number[]>;
  /** Best effort, before the snapshot: moves the WAL's frames into the file and empties the WAL, when nothing is in the way (never waits). */
  checkpoint(): Promise<void>;
  /**
   * Inside the session's snapshot: the row counts of `tables` (quoted names), and
   * `image` when the file at `path` holds exactly that snapshot in its first `bytes`
   * bytes and nobody can change them until the snapshot ends (rollback journal, or WAL
   * with no frame in it: writers go on into the WAL). A byte copy of them is then the
   * backup, with bytes 18-19 set to 1 when `wal` (a rollback-journal file). null: use backup().
   */
  freeze(tables: string[], signal?: AbortSignal): Promise<{ rows: number[]; image: FrozenFile | null }>;
  /**
   * Locks an empty database (one page) for this session alone, so its file can be
   * written whole; null, with nothing changed, when another connection has it open or
   * it is not empty. `path` is the file, `pageSize` its page size. End with release().
   */
  takeOver(): Promise<{ path: string; pageSize: number; pages: number } | { reason: string }>;
  /** Unlocks after takeOver and replaces this session's handle on the file by a fresh one (the old one's cache may be stale). */
  release(): Promise<void>;
}

/** One batch for Session.load. */
export interface LoadBatch {
  /** The rows as load values (decoded when first asked; a damaged batch throws here). */
  rows(): unknown[][];
  /**
   * The same rows as JSON arrays, one a line, joined by `\n`, when every value loads as
   * parsed (no writer) or its column's writer changes only objects (BackupSupport.jsonLines);
   * else null. A dialect may encode these into its load form without parsing them
   * (PostgreSQL's COPY text); it falls back to rows() for anything it does not expect
   * (an object, for one).
   */
  json: string | null;
  /** Values per row. */
  width: number;
}

/** Where Session.load writes: names already quoted for the backend (the schema flavour's quote()). */
export interface LoadTarget {
  /** The table, quoted and qualified as the backend needs. */
  table: string;
  /** The columns, quoted, in the order of each row's values. */
  columns: string[];
  /**
   * The server must say it stored every row sent (PostgreSQL: COPY's own count), else the
   * load fails with INTERNAL. Set for tables where that count is the table's (PortableSql.exactLoad).
   */
  exact?: boolean;
  /** Each column's portable kind (TypeSpec.kind), in `columns` order: what a load that writes JSON lines itself (LoadBatch.json) may need to know. */
  kinds?: readonly string[];
}

export interface SessionOptions {
  signal?: AbortSignal;
  /** Timeout for each statement run in the session. */
  timeoutMs: number;
  /** The session only reads (catalog and statistics queries): SQLite keeps its host afterwards instead of starting a fresh one. */
  readsOnly?: boolean;
}
