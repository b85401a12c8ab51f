/**
 * What a backend module gives the schema side of the server (see ../types.ts): its DDL
 * flavour, its catalog reader and its way of altering a table. The managers in
 * core/schema/ keep the orchestration (sessions, transactions, refusals, migrations);
 * the neutral DDL builder (schema/ddl.ts) lays statements out from the flavour.
 */
import type { ServerInfo, Session } from '../../dialect.js';
import type { Applied, Changes } from '../../schema/changes.js';
import type { Column, Table, TypeSpec } from '../../schema/model.js';
import type { SqlLexer } from '../../sql-lexer.js';

export interface FlavorOptions {
  /** The server has a native UUID type (MariaDB 10.7+); MySQL stores uuid as CHAR(36). */
  nativeUuid: boolean;
}

/** How a backend spells DDL: names, literals, types, and where its statements differ in layout. */
export interface SchemaFlavor {
  /** The backend's name, for messages. */
  backend: string;
  /** The backend's lexer (module.sql.lexer): agent-supplied expressions are checked on its tokens. */
  lexer: SqlLexer;
  /** An identifier, quoted (any character allowed). */
  quote(name: string): string;
  /** A string literal; MySQL also escapes backslashes (our sessions keep backslash escapes on). */
  string(text: string): string;
  /** A boolean literal as a default (TRUE, or 1 where booleans are integers). */
  boolean(b: boolean): string;
  /** The column's type in DDL; `auto` for the auto_increment key (SQLite must spell it INTEGER). */
  type(spec: TypeSpec, auto: boolean): string;
  /** The DDL fragment for an auto_increment key, '' when the type carries it. */
  autoIncrement: string;
  /** autoIncrement follows the type (PostgreSQL's identity); elsewhere it follows NULL and the default. */
  autoIncrementAfterType: boolean;
  /** autoIncrement declares the primary key itself (SQLite's INTEGER PRIMARY KEY AUTOINCREMENT): no PRIMARY KEY constraint then. */
  autoIncrementIsKey: boolean;
  /** How CURRENT_TIMESTAMP is written for a column of this type (MySQL needs the fractional precision). */
  now(spec: TypeSpec): string;
  /** How CURRENT_DATE is written as a default (MySQL takes it only as an expression in parentheses). */
  today: string;
  /** DDL names a table with its schema (PostgreSQL); elsewhere with its bare name. */
  namespaces: boolean;
  /** Whether a table's `schema` field is allowed: any schema on PostgreSQL, `main` on SQLite, none on MySQL. */
  acceptsSchema(schema: string): boolean;
  /** Refusals of this backend beyond the schema field, before any SQL is sent (MySQL: emoji names, keys on text); throws INVALID_INPUT. */
  checkTable(t: Table): void;
  /** A column this backend cannot put in an index or unique key without a prefix length (MySQL: text, json, binary); absent: none. */
  unkeyable?(c: Column): boolean;
  /** json columns carry CHECK (json_valid(col)): the type itself does not check (SQLite's json is TEXT). */
  jsonCheck: boolean;
  /** Column comments: a COMMENT clause on the column (MySQL), COMMENT ON statements after the table (PostgreSQL), or none kept (SQLite). */
  comments: 'inline' | 'statement' | 'none';
  /** Indexes are KEY clauses inside CREATE TABLE and ADD KEY in ALTER TABLE (MySQL), else CREATE INDEX statements. */
  inlineIndexes: boolean;
  /** One column's unique constraint named `name` (both quoted), as CREATE TABLE and ADD write it. */
  uniqueKey(name: string, column: string): string;
  /** Text after CREATE TABLE's closing parenthesis (MySQL: the engine and character set); '' for none. */
  tableSuffix: string;
  /**
   * A condition that keeps the table's own rows only (`qualified`: its quoted name), where a
   * plain FROM also reads other tables' rows (PostgreSQL: an inheritance parent reads its
   * children's); absent: every row FROM gives is the table's.
   */
  ownRows?(qualified: string): string;
}

export interface ReadFilter {
  /** One table by name (exact, case-sensitive). */
  table?: string;
  /** PostgreSQL: one schema; default every user schema (with table: the current schema). */
  schema?: string;
  /**
   * Also the server's own tables (core/bookkeeping.ts). A listing leaves them out unless
   * this is set, a table is named, or (PostgreSQL) their schema is asked for.
   */
  internal?: boolean;
}

/** What a backend altering a table step by step gets from the manager, for one session. */
export interface AlterSession {
  /** The session the change runs in (its transaction, with mode 'inside', the caller's). */
  session: Session;
  /** The connection's flavour. */
  flavor: SchemaFlavor;
  /** Refuses statements that hold an escape (the policy of agent statements) before they run. */
  refuseEscapes(statements: string[]): Promise<void>;
  /** The table as the catalog has it now, in this session. */
  readTable(name: string): Promise<Table | null>;
}

export interface AlterPlan {
  /** The statements sent (or, planned only, to be sent). */
  statements: string[];
  /** The table was rebuilt: copied into a new one (SQLite). */
  rebuilt: boolean;
}

/**
 * 'commit' and 'rollback' run the change in a transaction of its own and end it so;
 * 'inside' runs it in the caller's transaction (planning a recorded migration's down).
 */
export type AlterMode = 'commit' | 'rollback' | 'inside';

/** How alter_table turns a change set into DDL on a backend. */
export type AlterStrategy =
  | {
    /** The whole change is planned up front as statements the manager runs (PostgreSQL, MySQL). */
    kind: 'statements';
    /** The statements that make `cur` into `ap.next` (ap = applyChanges(cur, ch)). */
    statements(cur: Table, ap: Applied, ch: Changes, f: SchemaFlavor): string[];
  }
  | {
    /** The backend runs the change itself, reading the table between steps (SQLite: ALTER where it can, a rebuild for the rest). */
    kind: 'stepwise';
    /** Runs the change on `cur` in the session; returns what it sent. */
    run(io: AlterSession, cur: Table, ch: Changes, signal: AbortSignal, mode: AlterMode): Promise<AlterPlan>;
  };

export interface SchemaSupport {
  /** Tables live in named schemas (PostgreSQL): `schema.table` in a resource URI names one. */
  readonly namespaces: boolean;
  /** What the server adds to the flavour, read from its ServerInfo (MariaDB 10.7+ has a uuid type). */
  flavorOptions(info: ServerInfo): FlavorOptions;
  /** The DDL flavour; without options, the newest server's (generate_schema for every backend). */
  flavor(opts?: FlavorOptions): SchemaFlavor;
  /**
   * The portable schema of every table the filter selects, the server's own tables included,
   * sorted by schema and name: one catalog query, grouped in code.
   */
  readTables(s: Session, filter: ReadFilter, info: ServerInfo): Promise<Table[]>;
  /** How alter_table changes a table here. */
  readonly alter: AlterStrategy;
}
