/**
 * A backup file is code: its `ddl` and `objects` (SPEC §17.1) are the source's own SQL,
 * run as they are by a restore into the same backend. Anyone who can write backup_dir can
 * edit them and recompute the checksums, so before anything is touched each statement is
 * read with the target's lexer: it must be one CREATE of the object the header names
 * (a table's DDL creates that table, or an index on it; an object's, that object, a
 * trigger on a table or view of the backup). What the objects do once created (a routine
 * called, a trigger fired, an event scheduled) is the source's code, as with any dump.
 */
import { DbError } from '../../errors.js';
import type { NativeObject } from '../backends/contract/backup.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import { countStatementsIn } from '../sql.js';
import { significantTokens, type Token } from '../sql-lexer.js';
import type { TableEntry } from './format.js';

/** The keyword that follows CREATE (and its options) for each kind of object. */
const KEYWORD: Record<string, string> = {
  table: 'TABLE', index: 'INDEX', view: 'VIEW', trigger: 'TRIGGER', function: 'FUNCTION', procedure: 'PROCEDURE', event: 'EVENT', sequence: 'SEQUENCE',
};

/** An identifier token's name: quotes (`"`, `` ` ``, `[]`) taken off, doubled quotes undone. */
function nameOf(t: Token | undefined): string | null {
  // SQLite takes a string as a name where a name must be, and writes its full-text tables' shadow tables so ('docs_config').
  if (t?.kind === 'string' && t.text.startsWith("'")) return t.text.slice(1, -1).replaceAll("''", "'");
  if (!t || (t.kind !== 'word' && t.kind !== 'quoted_ident')) return null;
  if (t.kind === 'word') return t.text;
  const q = t.text[0];
  const inner = t.text.slice(1, -1);
  return q === '[' ? inner : inner.replaceAll(q + q, q);
}

const same = (a: string | null, b: string): boolean => a !== null && a.toLowerCase() === b.toLowerCase();

/**
 * The name after the kind's keyword (IF NOT EXISTS skipped), and the index past it. A name
 * qualified by a schema or database gives null: the source's statements name their objects
 * plainly (SHOW CREATE, sqlite_schema), and `other_db.t` would make or replace an object
 * outside the restore's database. Between CREATE and the keyword only the options the sources
 * print may come (optionsEnd): not OR REPLACE (it empties or overwrites what is there), not
 * TEMP, and not another statement whose name happens to be the keyword (`CREATE SERVER view …`,
 * `CREATE USER event …`: VIEW and EVENT are not reserved words, a review made a server and a
 * login so).
 */
function created(tokens: Token[], keyword: string): { name: string | null; at: number } | null {
  if (upper(tokens[0]) !== 'CREATE') return null;
  const k = optionsEnd(tokens, 1);
  if (k === null || upper(tokens[k]) !== keyword) return null;
  let at = k + 1;
  const words = (...w: string[]): boolean => w.every((x, i) => upper(tokens[at + i]) === x);
  if (words('IF', 'NOT', 'EXISTS')) at += 3;
  const name = nameOf(tokens[at]);
  if (isDot(tokens[at + 1])) return { name: null, at: at + 1 };
  return { name, at: at + 1 };
}

const isDot = (t: Token | undefined): boolean => t?.kind === 'punct' && t.text === '.';

/** A word token's text in upper case; '' for any other token. */
const upper = (t: Token | undefined): string => (t?.kind === 'word' ? t.text.toUpperCase() : '');

/**
 * The index past CREATE's options as MariaDB's SHOW CREATE and sqlite_schema print them:
 * ALGORITHM = x, DEFINER = user, SQL SECURITY DEFINER|INVOKER, AGGREGATE, UNIQUE, FULLTEXT,
 * SPATIAL, VIRTUAL. Anything else is the next token, which must be the kind's keyword.
 */
function optionsEnd(tokens: Token[], from: number): number | null {
  let i = from;
  for (;;) {
    const w = upper(tokens[i]);
    if (w === 'ALGORITHM' && tokens[i + 1]?.text === '=' && tokens[i + 2]?.kind === 'word') i += 3;
    else if (w === 'SQL' && upper(tokens[i + 1]) === 'SECURITY' && ['DEFINER', 'INVOKER'].includes(upper(tokens[i + 2]))) i += 3;
    else if (w === 'DEFINER' && tokens[i + 1]?.text === '=') {
      const end = userEnd(tokens, i + 2);
      if (end === null) return null;
      i = end;
    } else if (['AGGREGATE', 'UNIQUE', 'FULLTEXT', 'SPATIAL', 'VIRTUAL'].includes(w)) i += 1;
    else return i;
  }
}

const NAME_KINDS = new Set(['word', 'quoted_ident', 'string']);

/** Past an account: CURRENT_USER[()], CURRENT_ROLE, or user[@host] (`root`@`%`, 'a'@'h', root@localhost). */
function userEnd(tokens: Token[], i: number): number | null {
  const t = tokens[i];
  if (!t) return null;
  if (upper(t) === 'CURRENT_USER' || upper(t) === 'CURRENT_ROLE') return tokens[i + 1]?.text === '(' && tokens[i + 2]?.text === ')' ? i + 3 : i + 1;
  if (!NAME_KINDS.has(t.kind)) return null;
  const at = tokens[i + 1];
  if (at?.text === '@' && NAME_KINDS.has(tokens[i + 2]?.kind ?? '')) return i + 3;
  if (at?.kind === 'word' && at.text.startsWith('@') && at.start === t.end) return i + 2;
  return i + 1;
}

/** What an event's schedule may hold: times, intervals and their units (it is computed as the event is made, in the restore's session). */
const SCHEDULE_WORDS = new Set([
  'AT', 'EVERY', 'STARTS', 'ENDS', 'INTERVAL', 'CURRENT_TIMESTAMP', 'NOW', 'LOCALTIMESTAMP', 'LOCALTIME',
  'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MICROSECOND', 'YEAR_MONTH', 'DAY_HOUR',
  'DAY_MINUTE', 'DAY_SECOND', 'HOUR_MINUTE', 'HOUR_SECOND', 'MINUTE_SECOND', 'DAY_MICROSECOND', 'HOUR_MICROSECOND',
  'MINUTE_MICROSECOND', 'SECOND_MICROSECOND', 'ON', 'COMPLETION', 'NOT', 'PRESERVE', 'ENABLE', 'DISABLE', 'SLAVE', 'REPLICA', 'COMMENT',
]);

/** The first word of an event's schedule that is not a time, an interval or a unit (`LOAD_FILE` read a server file into the error); null when none. */
function scheduleCall(tokens: Token[], at: number): string | null {
  const from = tokens.findIndex((t, i) => i >= at && upper(t) === 'SCHEDULE');
  if (from < 0) return null;
  for (let i = from + 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (upper(t) === 'DO') return null;
    if (t.kind === 'word' && !SCHEDULE_WORDS.has(upper(t))) return t.text;
    if (t.kind === 'quoted_ident' || t.kind === 'placeholder') return t.text;
  }
  return null;
}

/**
 * Words a table's own DDL never holds as its clauses, which would read or write other
 * relations or files (CREATE … AS SELECT, LIKE, PARTITION OF, INHERITS, a MERGE table's UNION,
 * a table's or a partition's DATA/INDEX DIRECTORY, CONNECTION).
 */
const FOREIGN_WORDS = new Set(['SELECT', 'LIKE', 'INHERITS', 'UNION', 'OF', 'CONNECTION', 'DIRECTORY']);
/** Never a column name unquoted, and a query wherever they stand (`CREATE TABLE t (…) (SELECT …)`, MySQL 8's `TABLE x`): refused at any depth. */
const QUERY_WORDS = new Set(['SELECT', 'UNION', 'TABLE']);

/**
 * A table's DDL: its column list straight after the name, no word that reads another
 * relation (outside string literals and quoted names, which are tokens of their own),
 * no qualified name (a column's or a relation's) but a foreign key's REFERENCES (MariaDB
 * keeps a key to another database's table, ab57cdf), and an engine that keeps its rows in the
 * database (not CONNECT, FEDERATED, SPIDER …, which read files or other servers). Null when
 * it is one; otherwise what it holds that a restore does not run, for the message.
 */
function plainTable(tokens: Token[], at: number, tables: string[]): string | null {
  // SQLite's virtual tables of the modules it is built with that keep their rows in the file (full text, r-trees).
  if (tokens.slice(1, at).some((t) => upper(t) === 'VIRTUAL')) {
    const module = tokens[at + 1];
    if (!(upper(tokens[at]) === 'USING' && module && VIRTUAL_MODULES.has((nameOf(module) ?? '').toLowerCase()))) {
      return `a virtual table of module ${module ? nameOf(module) ?? module.text : '(none)'} (only fts3-5, rtree and geopoly keep their rows in the file)`;
    }
    // A full-text table's rows may come from another table (content=…): only one of the backup's, or none.
    for (let i = at + 2; i < tokens.length; i++) {
      if (!(tokens[i].kind === 'word' && tokens[i].text.toLowerCase() === 'content' && tokens[i + 1]?.text === '=')) continue;
      const source = nameOf(tokens[i + 2]);
      if (source === null || (source !== '' && !tables.some((x) => same(source, x)))) return `content=${source ?? '?'} (its rows come from a table outside the backup)`;
    }
    at += 2;
  }
  if (!(tokens[at]?.kind === 'punct' && tokens[at].text === '(')) return 'no column list after its name (a table made from another: LIKE, AS SELECT …)';
  let d = 0;
  for (let i = at; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'punct' && t.text === '(') d++;
    else if (t.kind === 'punct' && t.text === ')') d--;
    // A column's name stands right after `(` or `,` inside the parentheses: SQLite keeps
    // `engine TEXT`, `of INTEGER`, `directory TEXT` as written.
    const before = tokens[i - 1]?.text;
    const columnName = d > 0 && (before === '(' || before === ',');
    const word = upper(t);
    const next = upper(tokens[i + 1]);
    const previous = upper(tokens[i - 1]);
    if (QUERY_WORDS.has(word)) return CLAUSES[word];
    // A query without SELECT: MariaDB makes `CREATE TABLE t (…) (VALUES …)` or `… WITH c AS (…) VALUES …`
    // a CREATE … SELECT (a review read a server file so). A partition's VALUES LESS THAN / IN,
    // system versioning's WITH SYSTEM VERSIONING and a full-text key's WITH PARSER are the table's own.
    if (word === 'VALUES' && next !== 'LESS' && next !== 'IN') return CLAUSES.VALUES;
    if (word === 'WITH' && next !== 'SYSTEM' && next !== 'PARSER') return CLAUSES.WITH;
    // The table's clauses and options stand outside its parentheses. Inside them these words are
    // names or operators (SQLite keeps `directory TEXT`, `CHECK (page <= of)` as written), but for
    // a partition's DATA or INDEX DIRECTORY, in the partition list.
    if (FOREIGN_WORDS.has(word) && d === 0) return CLAUSES[word];
    if (word === 'DIRECTORY' && (previous === 'DATA' || previous === 'INDEX')) return CLAUSES[word];
    // The source prints names plainly (columns in expressions too); only a key's REFERENCES may name another database's table.
    if (isDot(t) && upper(tokens[i - 2]) !== 'REFERENCES') return QUALIFIED;
    // A table's or a partition's ENGINE [=] x; not a column named engine.
    if (word === 'ENGINE' && !columnName) {
      const engine = engineElsewhere(tokens, i);
      if (engine !== null) return engine;
    }
  }
  return null;
}

/** The ENGINE [=] x at `i`, when x keeps its rows outside this database (CONNECT, FEDERATED, SPIDER …): what to say; null for a safe one. */
function engineElsewhere(tokens: Token[], i: number): string | null {
  const v = tokens[i + 1]?.text === '=' ? tokens[i + 2] : tokens[i + 1];
  return v && SAFE_ENGINES.has((nameOf(v) ?? v.text).toUpperCase()) ? null : `ENGINE=${v ? nameOf(v) ?? v.text : '?'} (its rows are not kept in this database)`;
}

/**
 * What an object holds that a restore does not run, or null: a function from a shared library
 * (MariaDB's `CREATE FUNCTION f RETURNS STRING SONAME 'x.so'`, which the whole server loads and
 * keeps, whatever database it was made from); and, a sequence being a table on MariaDB, the
 * table options that reach outside the database (DATA or INDEX DIRECTORY, CONNECTION, an engine
 * that keeps its rows elsewhere, a query).
 */
function objectClause(tokens: Token[], at: number, kind: string): string | null {
  for (let i = at; i < tokens.length; i++) {
    const t = tokens[i];
    const word = upper(t);
    if (word === 'SONAME') return 'SONAME (a function from a shared library, which the whole server would load)';
    if (kind === 'event' && word === 'SCHEDULE') {
      const call = scheduleCall(tokens, i);
      if (call !== null) return `${call} in its schedule (a schedule is computed as the event is made: only times, intervals and CURRENT_TIMESTAMP)`;
    }
    if (kind !== 'sequence') continue;
    // (`start with 10` is the sequence's own WITH.)
    if (QUERY_WORDS.has(word)) return CLAUSES[word];
    if (word === 'DIRECTORY' || word === 'CONNECTION') return CLAUSES[word];
    if (isDot(t)) return QUALIFIED;
    if (word === 'ENGINE') {
      const engine = engineElsewhere(tokens, i);
      if (engine !== null) return engine;
    }
  }
  return null;
}

const QUALIFIED = 'a qualified name (an object of another database or schema)';

/** What each refused word is, for the message. */
const CLAUSES: Record<string, string> = {
  SELECT: 'a query (SELECT)',
  TABLE: 'a query (TABLE)',
  VALUES: 'a query (VALUES)',
  WITH: 'a query (WITH)',
  UNION: "UNION (a MERGE table's list of other tables)",
  LIKE: 'LIKE (a copy of another table)',
  INHERITS: 'INHERITS (another table)',
  OF: 'OF (a partition or a typed table of another object)',
  CONNECTION: 'CONNECTION (a table on another server)',
  DIRECTORY: 'DATA or INDEX DIRECTORY (files outside the data directory)',
};

/** SQLite virtual table modules whose rows live in the database file. */
const VIRTUAL_MODULES = new Set(['fts3', 'fts4', 'fts5', 'rtree', 'rtree_i32', 'geopoly']);

/** Engines whose rows live in the server's own data files. */
const SAFE_ENGINES = new Set(['INNODB', 'MYISAM', 'ARIA', 'MEMORY', 'HEAP', 'ARCHIVE', 'BLACKHOLE', 'CSV', 'MRG_MYISAM', 'MERGE', 'SEQUENCE', 'ROCKSDB']);

function refuse(what: string, sql: string, clause?: string): never {
  if (clause !== undefined) {
    throw new DbError('BACKUP_CORRUPT', `the backup's ${what} holds ${clause}, which a restore does not run (${sql.slice(0, 80)}…); nothing was restored. A backup file's SQL runs as it is, so a table is made from it only when it keeps its rows in this database and names nothing outside it: make such a table by hand, or back the others up without it (tables)`, { what, clause });
  }
  throw new DbError('BACKUP_CORRUPT', `the backup's ${what} is not what its header says (${sql.slice(0, 80)}…); a backup file's SQL runs as it is, so nothing was restored`, { what });
}

/** The table named right after ON (an index's or a trigger's table); null when it is qualified (another schema or database's). */
function onTable(tokens: Token[], from: number): string | null {
  const k = tokens.findIndex((t, i) => i >= from && upper(t) === 'ON');
  if (k < 0) return null;
  return isDot(tokens[k + 2]) ? null : nameOf(tokens[k + 1]);
}

/**
 * The statement's tokens as the server runs it: MySQL runs the inside of `/*! … *\/` and
 * `/*M! … *\/`, which the plain reading keeps as one comment token (a forged
 * `/*! SELECT a FROM other_db.s *\/` read rows from another database), so it is read as code,
 * its markers dropped; a text that reads differently by server version is refused. An
 * object's `settings` are those it runs under (objectSql sets them): MySQL's sql_mode
 * decides where a string ends (NO_BACKSLASH_ESCAPES, ANSI_QUOTES), and one that cannot be read is refused.
 */
function statement(sql: string, flavor: SqlSupport, what: string, settings?: Record<string, string>): Token[] {
  const all = flavor.lexer.tokenize(sql);
  if (countStatementsIn(all) !== 1) refuse(what, sql);
  const run = flavor.executedTokens?.(sql, settings);
  if (run && (run.ambiguous || countStatementsIn(run.tokens) !== 1)) refuse(what, sql);
  return significantTokens(run?.tokens ?? all).filter((t) => !(t.kind === 'punct' && t.text === ';') && t.kind !== 'conditional_comment');
}

/**
 * Refuses (BACKUP_CORRUPT) a table DDL or object statement that is not one CREATE of
 * what the header names. (`then`, a sequence's position, is the backend's to check: objectSql.)
 */
export function checkNativeSql(entries: TableEntry[], objects: NativeObject[], flavor: SqlSupport): void {
  // A trigger's table: one of the backup, or one of its views (SQLite's INSTEAD OF triggers).
  const tables = [...entries.map((e) => e.name), ...objects.filter((o) => o.kind === 'view').map((o) => o.name)];
  for (const e of entries) {
    for (const [i, sql] of (e.ddl ?? []).entries()) {
      const what = `DDL of table ${e.name}`;
      const tokens = statement(sql, flavor, what);
      const c = created(tokens, i === 0 ? 'TABLE' : 'INDEX');
      if (!c || (i === 0 ? !same(c.name, e.name) : !same(onTable(tokens, c.at), e.name))) refuse(what, sql);
      const clause = i === 0 ? plainTable(tokens, c.at, tables) : null;
      if (clause !== null) refuse(what, sql, clause);
    }
  }
  for (const o of objects) {
    const what = `${o.kind} ${o.name}`;
    // A SQLite file header's number: the backend's objectSql holds it to its one exact form.
    if (o.kind === 'setting') continue;
    const keyword = KEYWORD[o.kind];
    if (!keyword || keyword === 'TABLE' || keyword === 'INDEX') refuse(what, o.sql);
    // Read as the server reads it under the object's own settings (MySQL's sql_mode changes how quotes end).
    const tokens = statement(o.sql, flavor, what, o.settings);
    const c = created(tokens, keyword);
    if (!c || !same(c.name, o.name)) refuse(what, o.sql);
    const clause = objectClause(tokens, c.at, o.kind);
    if (clause !== null) refuse(what, o.sql, clause);
    if (o.kind === 'trigger' && !(o.table !== undefined && tables.some((t) => same(t, o.table!)) && same(onTable(tokens, c.at), o.table))) refuse(what, o.sql);
  }
}

/**
 * DDL this server built from a header's definition: the parts it copies as written (a
 * check's expression, a default's SQL) must not end the statement, whatever the header's
 * checks let through. Each must be one statement by the target's lexer, or BACKUP_CORRUPT.
 */
export function checkBuiltSql(table: string, statements: string[], flavor: SqlSupport): void {
  for (const sql of statements) {
    if (countStatementsIn(flavor.lexer.tokenize(sql)) !== 1) {
      throw new DbError('BACKUP_CORRUPT', `the DDL made from the backup's definition of table ${table} is not one statement (${sql.slice(0, 80)}…): the definition holds SQL that ends it; nothing was restored`, { table });
    }
  }
}
