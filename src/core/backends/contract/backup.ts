/**
 * What a backend module gives the backup side of the server (see ../types.ts): the SQL
 * of a portable backup and of its restore, the value codecs, what a restore plan asks
 * of the target, and the backend's own backup format. Members are primitives on
 * neutral types; the managers (src/core/backup/) keep the orchestration: snapshots,
 * files, manifests, checksums, transactions and progress.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { RowLines, Session } from '../../dialect.js';
import type { Column, Table, TypeSpec } from '../../schema/model.js';

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
  /** Significant digits a decimal keeps here whatever its declared precision (SQLite: 15); null where the precision holds. */
  readonly decimalDigits: number | null;
  /**
   * Across backends: the portable type one of this backend's native types becomes on
   * another backend, and what that loses (null when nothing: SQLite's NVARCHAR(n) was
   * only ever text); undefined when there is none (restored as text, listed in lossy).
   */
  crossType(native: string): CrossType | undefined;
  /**
   * Whether a feature of a column's `unportable` (as this backend's catalog reader says it)
   * tells apart only what this backend has two ways of making, which every other backend
   * makes one way from the portable definition (PostgreSQL's serial beside an identity:
   * both are another backend's auto-increment): listed by a restore into this backend made
   * from the portable definition, not across backends. Absent: none is.
   */
  sameBackendOnly?(feature: string): boolean;
  /**
   * Which names are unique per schema or database here rather than per table: index
   * names on PostgreSQL (with its tables) and SQLite, foreign key names on MySQL.
   */
  readonly namesPerSchema: { readonly indexes: boolean; readonly foreignKeys: boolean };
  /** Whether text here cannot hold a NUL character (PostgreSQL): such text from another backend comes as binary. Absent: it can. */
  readonly textRefusesNul?: boolean;
  /**
   * CHAR(n) keeps a value as given, trailing spaces and all, with no padding (SQLite): across
   * backends such a column is VARCHAR(n), since a target's CHAR pads (PostgreSQL) or strips
   * (MySQL) them.
   */
  readonly charUnpadded?: boolean;
  /**
   * Whether a `json` column here keeps each document's text as written (SQLite's text,
   * MariaDB's LONGTEXT), by the server's flavour; false where the server keeps a parsed
   * form of its own (PostgreSQL's jsonb, MySQL 8's JSON: spacing and key order its own,
   * of duplicate keys one kept). A copy from the first kind into the second is listed.
   * Absent: the text is kept.
   */
  jsonKeepsText?(flavor: string | null): boolean;
  /**
   * Whether a table can be made, and loaded, with a foreign key to a table that does not
   * exist (MySQL/MariaDB with foreign_key_checks off, as a restore runs): a backup of named
   * tables restores there as mariadb-dump's does. Absent: it cannot (PostgreSQL refuses the
   * key, SQLite's check after the load the rows), and such a restore is refused first,
   * naming the tables.
   */
  readonly danglingForeignKeys?: boolean;
  /** Names longer than this many bytes are cut to it by the server, with only a notice (PostgreSQL: 63). Absent: none is cut. */
  readonly maxNameBytes?: number;
  /** A column's comment may be this many characters at most (MySQL/MariaDB: 1024; longer is an error). Absent: no limit. */
  readonly maxCommentChars?: number;
  /** Comments are kept in a 3-byte UTF-8 (MySQL/MariaDB's data dictionary): a character beyond U+FFFF becomes '?'. */
  readonly commentsBmpOnly?: boolean;
  /** The backend's own backup format (format "native"): its tool, or its database file. */
  readonly native: NativeBackup;
  /**
   * Reads the whole database's schema as native DDL inside the backup's snapshot, so that
   * a restore into the same backend gives back what the portable schema cannot carry
   * (types, sequences, index methods, partitions, views, routines, triggers, comments).
   * Absent where the portable schema is the whole story.
   */
  readonly nativeDdl?: (s: Session, job: NativeDdlJob) => Promise<NativeDdl | null>;
  /**
   * The objects a backup's native DDL creates that no table of the portable schema
   * carries (views, routines, types, extensions …), and, given the backup's tables
   * (`schema.name`), the tables and indexes of the DDL that are not theirs (partitions): a
   * restore that does not run that DDL (another backend, or mode replace and append) lists
   * each in `lossy`.
   */
  nativeDdlObjects?(ddl: NativeDdl, tables?: ReadonlySet<string>): Array<{ kind: string; name: string }>;
  /**
   * For each object (as nativeDdlObjects names it), whether the target has one of that kind
   * and name already: a restore in mode append into such a database (its own schema, say)
   * loses nothing of it. False where that cannot be told (the object stays listed).
   */
  objectsPresent?(s: Session, objects: ReadonlyArray<{ kind: string; name: string }>): Promise<boolean[]>;
  /**
   * Checks a backup's native DDL before a restore runs it (the file is code anyone who can
   * write backup_dir can edit): BACKUP_CORRUPT for a statement that is not part of creating
   * the schema it carries. Present wherever nativeDdl is.
   */
  readonly checkNativeDdl?: (ddl: NativeDdl) => Promise<void>;
  /**
   * Whether the database holds nothing a whole database's native DDL would make (no
   * schema but the default one, nothing of the user's in it): mode replace into such a
   * database runs that DDL, as mode create does, and gives back the same. Present
   * wherever nativeDdl is.
   */
  readonly emptyForNativeDdl?: (s: Session) => Promise<boolean>;
}

/** What reading the native DDL borrows from the backup. */
export interface NativeDdlJob {
  /** The connection's URL (a tool connects with it). */
  url: string;
  signal: AbortSignal;
  /**
   * The tables named by the backup (undefined: the whole database): their DDL only, with
   * what they cannot be created without (partitions, sequences their defaults take from,
   * their triggers' functions when the target lacks them). The backend may answer null
   * when its tool is missing: such a backup carries the portable schema only.
   */
  tables?: Table[];
}

/**
 * A whole database's schema as native SQL (the portable file's header `native_ddl`,
 * SPEC §17.1), run in one transaction around the rows: `before_data` makes every object
 * the rows go into (types, sequences, tables without keys, partitions, functions, views),
 * `after_data` what follows them (keys, indexes, foreign keys, triggers, sequence
 * positions, materialized views refreshed). Every name in it is qualified.
 */
export interface NativeDdl {
  /** The backend whose SQL it is: used only by a restore into that backend. */
  backend: string;
  /** What wrote it (e.g. `pg_dump 15.20`). */
  producer: string;
  before_data: string;
  after_data: string;
  /** Set when it is the DDL of the backup's named tables only: the types, domains and extensions they use are not in it. */
  tables_only?: boolean;
}

/** PortableSql.valueNotes: column names. */
export interface ValueNotes {
  mixed: string[];
  nul: string[];
}

/** A native type's portable stand-in across backends (BackupSupport.crossType). */
export interface CrossType {
  /** A portable type (`integer`, `varchar(40)`, `decimal(20,0)`). */
  type: string;
  /** What the target loses with it, after the native type's name (`becomes integer: its range is not enforced`); null when nothing. */
  lossy: string | null;
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
  /**
   * Lines the backend builds itself from each row as it arrives (Session.streamLines with
   * `lines`), for the tables it can: the SELECT of the table's columns and the builder.
   * Null, or absent: select() as below. The lines are final (nothing marked).
   */
  rowLines?: (t: Table, f: Quoting) => { text: string; lines: RowLines } | null;
  /** Whether select() returns lines for this table (default: whenever finishLine is set). */
  lineMode?: (t: Table) => boolean;
  /** The next value of the table's auto-increment column, as a decimal string; null when there is none to keep. */
  readSequence(s: Session, t: Table, column: string, f: Quoting): Promise<string | null>;
  /** Statements that make `column` hand out `next` next. MySQL's is DDL (it commits). */
  writeSequence(t: Table, column: string, next: string, f: Quoting): Array<{ text: string; params: unknown[] }>;
  /**
   * Of a column's `unportable` features in a backup of this same backend, those a table
   * made here from the portable definition gets back anyway, with the statements that give
   * them back (run after the load, before the column's sequence position is set); the rest
   * is listed in lossy. PostgreSQL: an identity's sequence options (increment, start,
   * bounds, cache, cycle). Absent: nothing is given back.
   */
  carryUnportable?(t: Table, column: Column, features: string[], f: Quoting): { carried: string[]; statements: string[] };
  /**
   * Columns of a table made by the backup's native DDL that take no value (PostgreSQL's
   * stored generated columns): the restore leaves their values out of the load, and the
   * database computes them again. Absent: every column is loaded.
   */
  computedColumns?(s: Session, t: Table, f: Quoting): Promise<string[]>;
  /**
   * Of the native column types a restore without native DDL needs (PostgreSQL enums,
   * domains …), those the target lacks: the restore is refused before anything is
   * touched. Absent: no check (the types are the backend's own).
   */
  missingTypes?(s: Session, types: string[]): Promise<string[]>;
  /**
   * Of the column default expressions a restore without native DDL would create, those
   * that take from a sequence the target lacks, with its name (PostgreSQL's `nextval` of
   * a sequence no column owns): the restore is refused before anything is touched. Absent: no check.
   */
  missingSequences?(s: Session, defaults: string[]): Promise<Array<{ expression: string; sequence: string }>>;
  /**
   * Whether the target refuses to create a table without a primary key (MariaDB Galera's
   * wsrep_mode REQUIRED_PRIMARY_KEY, MySQL's sql_require_primary_key): a restore that would
   * create one is refused before anything is touched. Absent: never.
   */
  requiresPrimaryKey?(s: Session): Promise<boolean>;
  /** The rows a restore loaded into a table, as select() reads them (MariaDB: a system-versioned table's history too). Absent: count(*). */
  count?(s: Session, t: Table, f: Quoting): Promise<number>;
  /**
   * What a table's values hold that its declared types do not say, read in the backup's
   * snapshot with one scan (SQLite): `mixed`, columns holding values outside their declared
   * type (text or bytes in a numeric column, a decimal past its precision, text past a
   * varchar's length), which another backend makes text; `nul`, text columns holding NUL
   * characters, which a target whose text refuses them (textRefusesNul) makes binary.
   * Both listed. Absent: the types hold.
   */
  valueNotes?(s: Session, t: Table, f: Quoting): Promise<ValueNotes>;
  /** Drops tables that may reference each other. */
  drop(tables: Table[], f: Quoting): string[];
  /**
   * What depends on these tables and is not among them (PostgreSQL: views, materialized
   * views, other tables' foreign keys), which drop() cannot remove without: mode replace
   * refuses with their names before touching anything. Absent: nothing can be in the way.
   */
  dependents?(s: Session, tables: Table[], f: Quoting): Promise<string[]>;
  /** Session statements before a bulk load (MySQL: key checks off, so parents need not come first). */
  beforeLoad: string[];
  /** Session statements after a bulk load, whatever its outcome (MySQL: key checks back on). */
  afterLoad: string[];
  /**
   * Around the load of one table made from the source's own DDL (the same backend and
   * flavour: its values are of the very types they were read from), statements that load it
   * as the source's own dump would, and those that end that. MySQL: without strict mode, as
   * mariadb-dump's script runs, so an ENUM's error value '' (stored by a non-strict source)
   * loads as itself. afterLoad puts the session back whatever happens. Absent: nothing.
   */
  sourceTypesLoad?: { before: string[]; after: string[] };
  /**
   * Keys are added after the data (PostgreSQL, as pg_restore does: an index built once
   * by sorting beats one maintained row by row, and ALTER TABLE ADD CONSTRAINT checks a
   * foreign key once). MySQL and SQLite create them with the table, checks off.
   */
  keysAfterLoad: boolean;
  /**
   * Reads the source's own DDL inside the backup's snapshot, so a restore into the same
   * backend gives back the exact catalog (SPEC §17.1 `ddl`, `objects`): per table (in the
   * order given) the statements that create it, and the objects around the tables, in
   * the order they are created after the data. `whole`: the whole database is backed up
   * (views, routines and events come too; a backup of named tables carries their
   * triggers only). An object the account may not read is PERMISSION_DENIED, never a gap.
   * Absent: a backup carries the portable schema only.
   */
  readDdl?(s: Session, tables: Table[], whole: boolean, f: Quoting): Promise<{ tables: NativeTableDdl[]; objects: NativeObject[] }>;
  /** The statements that create one object readDdl read (`create`), and that remove it again (`drop`, harmless when it is missing). */
  objectSql?(o: NativeObject, f: Quoting): { create: string[]; drop: string[] };
  /**
   * MySQL: rows commit statement by statement in create and replace (a single large
   * InnoDB transaction loads at a fraction of the speed); a failed load drops the tables
   * it created, so nothing half-loaded stays. append keeps one transaction.
   */
  commitsBatches: boolean;
  /**
   * Whether the database's own count of the rows a load stored is the table's (PostgreSQL:
   * a plain table with no trigger, rule or child, whose rows COPY counts as they land): the
   * load then checks that count (LoadTarget.exact) and the restore counts no rows
   * before or after it. Absent, or false: the table's rows are counted (count()).
   */
  exactLoad?(s: Session, t: Table, f: Quoting): Promise<boolean>;
  /**
   * A table whose rows are made from other tables, not loaded (SQLite: a full-text table over
   * another table's content, content='posts'): the statements that make them once every table
   * is loaded and the backup's objects made (the content may be a view). Its backed-up rows
   * are read, checked against the manifest and left. Absent, or null: the table's rows are loaded.
   */
  derivedRows?(s: Session, t: Table, f: Quoting): Promise<string[] | null>;
  /**
   * What a backed-up table of this backend does not carry in its rows, whatever the target,
   * from the table's own DDL in the backup (SQLite: a contentless full-text table, content='',
   * keeps no text to read back): listed in every restore's `lossy`. Null: its rows are whole.
   */
  notInRows?(ddl: readonly string[]): string | null;
}

/** A table's own DDL (SPEC §17.1 `ddl`), and the columns the server computes, which a table made from it does not load. */
export interface NativeTableDdl {
  ddl: string[];
  generated: string[];
}

/**
 * An object of the source database besides its tables, carried as the source's own SQL
 * (SPEC §17.1 `objects`): created after the rows, so triggers do not fire on the load.
 */
export interface NativeObject {
  /** What it is, in the source's words: view, function, procedure, trigger, event. */
  kind: string;
  name: string;
  /** The PostgreSQL schema it lives in; absent elsewhere. */
  schema?: string;
  /** The table a trigger belongs to. */
  table?: string;
  /** The statement that creates it, as the source printed it. */
  sql: string;
  /** Session settings it was created under (MySQL: sql_mode, time_zone), set around its statement. */
  settings?: Record<string, string>;
  /** Created before the tables, since a column may take its default from it (a MariaDB sequence). */
  early?: boolean;
  /** Statements that follow `sql` (a sequence's position). */
  then?: string[];
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
