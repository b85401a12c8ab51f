/**
 * What a backend module gives the backup side of the server (see ../types.ts): the SQL
 * of a portable backup and of its restore, the value codecs, what a restore plan asks
 * of the target, and the backend's own backup format. Members are primitives on
 * neutral types; the managers (src/core/backup/) keep the orchestration: snapshots,
 * files, manifests, checksums, transactions and progress.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Session } from '../../dialect.js';
import type { Table, TypeSpec } from '../../schema/model.js';

export interface BackupSupport {
  /** The SQL of a portable backup read from this backend and restored into it. */
  readonly portable: PortableSql;
  /** A column's reader: one value of Session.stream (never null) to its canonical JSON text (SPEC §11.2). */
  reader(spec: TypeSpec): (v: unknown) => string;
  /** A column's writer: a parsed JSON value (never null) to what Session.load binds here; null when it loads as parsed. */
  writer(spec: TypeSpec): ((v: unknown) => unknown) | null;
  /**
   * Whether a column whose writer is not null may still be offered as JSON lines
   * (LoadBatch.json): Session.load takes its strings, numbers and booleans as parsed and
   * goes to rows() for anything else (PostgreSQL's `native`: an object is the only value
   * its writer changes, and the COPY transcoder gives up on objects). Absent: never.
   */
  jsonLines?(spec: TypeSpec): boolean;
  /** Whether a restored table keeps the schema (namespace) it was backed up from (PostgreSQL); elsewhere it lands in the connection's database. */
  readonly keepsSchemas: boolean;
  /** Significant digits a decimal keeps here whatever its declared precision (SQLite: 15); null where the precision holds. */
  readonly decimalDigits: number | null;
  /** The backend's own backup format (format "native"): its tool, or its database file. */
  readonly native: NativeBackup;
}

/** Identifier quoting and string literals of the backend (the schema flavour has both). */
export interface Quoting {
  /** An identifier, quoted. */
  quote(name: string): string;
  /** A string literal. */
  string(text: string): string;
}

/** A portable backup's SQL on one backend; every name goes through the given quote(). */
export interface PortableSql {
  /** The SELECT that streams a table's rows, sorted by its primary key when it has one. */
  select(t: Table, f: Quoting): string;
  /**
   * When set, select() returns one text column per row that is already the row's line
   * in the backup format, but for values marked for this function to finish.
   */
  finishLine?: (t: Table) => (line: string) => string;
  /**
   * Lines as bytes (Session.streamLines), finished: returns the bytes themselves when
   * no line has anything to finish (the common case, found with one search of the bytes).
   */
  finishBytes?: (t: Table) => (bytes: Buffer) => Buffer;
  /** Whether select() returns lines for this table (default: whenever finishLine is set). */
  lineMode?: (t: Table) => boolean;
  /** The next value of the table's auto-increment column, as a decimal string; null when there is none to keep. */
  readSequence(s: Session, t: Table, column: string, f: Quoting): Promise<string | null>;
  /** Statements that make `column` hand out `next` next. MySQL's is DDL (it commits). */
  writeSequence(t: Table, column: string, next: string, f: Quoting): Array<{ text: string; params: unknown[] }>;
  /** Drops tables that may reference each other. */
  drop(tables: Table[], f: Quoting): string[];
  /** Session statements before a bulk load (MySQL: key checks off, so parents need not come first). */
  beforeLoad: string[];
  /** Session statements after a bulk load, whatever its outcome (MySQL: key checks back on). */
  afterLoad: string[];
  /**
   * Keys are added after the data (PostgreSQL, as pg_restore does: an index built once
   * by sorting beats one maintained row by row, and ALTER TABLE ADD CONSTRAINT checks a
   * foreign key once). MySQL and SQLite create them with the table, checks off.
   */
  keysAfterLoad: boolean;
  /**
   * MySQL: rows commit statement by statement in create and replace (a single large
   * InnoDB transaction loads at a fraction of the speed); a failed load drops the tables
   * it created, so nothing half-loaded stays. append keeps one transaction.
   */
  commitsBatches: boolean;
}

/** The backend's own backup format: the manager keeps the file, its manifest and the checks around it. */
export interface NativeBackup {
  /** The manifest's native_format: what the file holds (pg_dump-custom, mysqldump-gzip, sqlite-database). */
  readonly format: string;
  /** The extension of a native backup's default file name. */
  readonly extension: string;
  /** Whether restore() checks the file's SHA-256 itself while it copies it; otherwise the manager verifies the file first. */
  readonly hashesWhileCopying: boolean;
  /** Whether a native backup restores in mode "append" (a MySQL dump recreates its tables: no). */
  readonly appends: boolean;
  /** Writes the backup into job.file; returns its tables with their row counts. */
  dump(job: NativeDump): Promise<Dumped>;
  /** Restores job.path into the connection; returns the row counts when it read them itself, else null (the manager counts). */
  restore(job: NativeRestore): Promise<Counted | null>;
}

/** What the manager lends a native dump or restore. */
export interface NativeJob {
  /** The connection's URL: the backend's tool connects with it. */
  url: string;
  /** Cancels the work (the client cancelled, or the server stops). */
  signal: AbortSignal;
  /** Reports progress: done so far, the total when known, and what is going on. */
  progress(done: number, total: number | undefined, message: string): Promise<void>;
  /**
   * Runs fn in a session of the connection, bounded by a backup's timeout, or by the
   * connection's statement timeout when `catalog` (a short catalog read).
   */
  session<T>(fn: (s: Session) => Promise<T>, opts: { readsOnly: boolean; catalog?: boolean }): Promise<T>;
  /** The backend's quoting, for names and paths in its SQL. */
  names: Quoting;
}

export interface NativeDump extends NativeJob {
  /** The tables the caller named (undefined: the whole database). */
  named: string[] | undefined;
  /** The file being written: its temporary path, and a stream and a handle on it. */
  file: { tmp: string; stream: Writable; handle: FileHandle };
  /** The tables to back up, read in s: the named ones, or all of them. */
  tables(s: Session): Promise<Table[]>;
  /** A table's row count, read in s. */
  count(s: Session, t: Table): Promise<number>;
}

export interface NativeRestore extends NativeJob {
  /** The backup file's path. */
  path: string;
  /** What its manifest says of it. */
  backup: { file: string; size: number; sha256: string; tables: Array<{ name: string }> };
  /** create: the tables are new; replace: they replace those of the same names; append: their rows are added (tables missing are created). */
  mode: 'create' | 'replace' | 'append';
  /** Hashes the whole file and compares it with the manifest (BACKUP_CORRUPT), once. */
  verify(): Promise<void>;
  /** The error for the file found damaged while it is restored. */
  damaged(why: string): Error;
}

/** What a dump wrote: its tables, and the file's size and SHA-256 when it hashed the file while writing it. */
export interface Dumped {
  /** Rows null where the tool took its own snapshot (no count can be promised for it). */
  tables: Array<{ name: string; schema?: string; rows: number | null }>;
  /** Set when the dump hashed the file as it wrote it; otherwise the manager hashes it afterwards. */
  digest?: { size: number; sha256: string };
}

/** Row counts a restore read itself. */
export type Counted = Array<{ name: string; rows: number }>;
