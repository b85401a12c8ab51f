/**
 * mysql: the server's own DDL in a portable backup (contract/backup.ts readDdl,
 * objectSql), read the way mariadb-dump reads it: SHOW CREATE for each table, and for a
 * whole database its routines, views, triggers and events, with the sql_mode (and an
 * event's time zone) each was created under. A restore into MySQL/MariaDB creates the
 * tables from it, so ENUM labels, charsets and collations, ON UPDATE, fractional
 * precision, FULLTEXT and prefix indexes, key order and table options come back as they were.
 */
import { DbError } from '../../../errors.js';
import type { Session } from '../../dialect.js';
import type { Table } from '../../schema/model.js';
import type { NativeObject, NativeTableDdl, Quoting } from '../contract/backup.js';
import { sqlModeQuoting } from './lexer.js';

type Row = Record<string, unknown>;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** MariaDB shows a routine's body only to its definer or to readers of mysql.proc (MySQL 8: SHOW_ROUTINE): without it the routine would be lost. */
const unreadable = (kind: string, name: string): DbError => new DbError(
  'PERMISSION_DENIED',
  `the account cannot read the definition of ${kind} "${name}", so the backup would lose it; back up named tables (\`tables\`), or grant SELECT on mysql.proc (MariaDB) / SHOW_ROUTINE (MySQL 8)`,
  { kind, name },
);

/** A statement the account may not run (SHOW VIEW, EVENT missing) as PERMISSION_DENIED saying what to grant; other errors as they are. */
async function allowed<T>(what: string, grant: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof DbError) || !['PERMISSION_DENIED', 'AUTH_FAILED'].includes(err.code)) throw err;
    throw new DbError('PERMISSION_DENIED', `the account may not read ${what}, so the backup would lose it; back up named tables (\`tables\`), or grant ${grant}`, { what });
  }
}

async function showCreate(s: Session, kind: string, name: string, column: string, f: Quoting): Promise<Row> {
  const [row] = await allowed(`${kind} "${name}"`, kind === 'view' ? 'SHOW VIEW' : kind === 'event' ? 'EVENT' : 'TRIGGER', () => s.query(`SHOW CREATE ${kind.toUpperCase()} ${f.quote(name)}`));
  if (!row || text(row[column]) === null) throw unreadable(kind, name);
  return row;
}

/** What an object was created under, as SHOW CREATE reports it (the character set and collation of its literals among them). */
const settings = (row: Row, keys: string[]): Record<string, string> =>
  Object.fromEntries([...keys, 'character_set_client', 'collation_connection'].flatMap((k) => (text(row[k]) === null ? [] : [[k, text(row[k])!]])));

async function routines(s: Session, f: Quoting): Promise<NativeObject[]> {
  const out: NativeObject[] = [];
  // Functions first: a procedure or a view may call one (the server checks neither at creation, but the order reads well).
  for (const kind of ['function', 'procedure']) {
    const listed = await s.query(`SHOW ${kind.toUpperCase()} STATUS WHERE Db = DATABASE()`);
    for (const r of listed.sort((a, b) => String(a.Name).localeCompare(String(b.Name)))) {
      const name = text(r.Name)!;
      const row = await showCreate(s, kind, name, kind === 'function' ? 'Create Function' : 'Create Procedure', f);
      out.push({ kind, name, sql: text(row[kind === 'function' ? 'Create Function' : 'Create Procedure'])!, settings: settings(row, ['sql_mode']) });
    }
  }
  return out;
}

/** Views in an order where each comes after the views it names (SHOW CREATE VIEW quotes every name). */
function viewOrder(views: NativeObject[]): NativeObject[] {
  const out: NativeObject[] = [];
  const pending = [...views];
  while (pending.length) {
    const i = pending.findIndex((v) => !pending.some((w) => w !== v && v.sql.includes(`\`${w.name.replaceAll('`', '``')}\``)));
    // A cycle of mentions (a name in a string, say): keep the rest as listed.
    out.push(...pending.splice(i < 0 ? 0 : i, i < 0 ? pending.length : 1));
  }
  return out;
}

async function views(s: Session, f: Quoting): Promise<NativeObject[]> {
  const names = await s.query("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW' ORDER BY TABLE_NAME");
  const out: NativeObject[] = [];
  for (const r of names) {
    const name = text(r.name)!;
    const row = await showCreate(s, 'view', name, 'Create View', f);
    out.push({ kind: 'view', name, sql: text(row['Create View'])!, settings: settings(row, []) });
  }
  return viewOrder(out);
}

/** Triggers of the given tables, in the order they fire (ACTION_ORDER). */
async function triggers(s: Session, tables: Set<string>, f: Quoting): Promise<NativeObject[]> {
  const listed = await s.query(`SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
    ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER`);
  const out: NativeObject[] = [];
  for (const r of listed) {
    const table = text(r.tbl)!;
    if (!tables.has(table)) continue;
    const name = text(r.name)!;
    const row = await showCreate(s, 'trigger', name, 'SQL Original Statement', f);
    out.push({ kind: 'trigger', name, table, sql: text(row['SQL Original Statement'])!, settings: settings(row, ['sql_mode']) });
  }
  return out;
}

async function events(s: Session, f: Quoting): Promise<NativeObject[]> {
  // SHOW EVENTS fails without the EVENT privilege (information_schema.EVENTS would show nothing instead).
  const listed = await allowed('the events of the database', 'EVENT', () => s.query('SHOW EVENTS'));
  const out: NativeObject[] = [];
  for (const r of listed.sort((a, b) => String(a.Name).localeCompare(String(b.Name)))) {
    const name = text(r.Name)!;
    const row = await showCreate(s, 'event', name, 'Create Event', f);
    out.push({ kind: 'event', name, sql: text(row['Create Event'])!, settings: settings(row, ['sql_mode', 'time_zone']) });
  }
  return out;
}

/**
 * Generated columns per table (EXTRA `VIRTUAL GENERATED`, `STORED GENERATED`, `PERSISTENT`; not MySQL's
 * `DEFAULT_GENERATED`). A system-versioned table's period columns are loaded: they date its history rows.
 */
async function generatedColumns(s: Session): Promise<Map<string, string[]>> {
  const rows = await s.query(`SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND EXTRA REGEXP '(^|[^_])(VIRTUAL|STORED|PERSISTENT)'
    AND COALESCE(GENERATION_EXPRESSION, '') NOT IN ('ROW START', 'ROW END') ORDER BY ORDINAL_POSITION`);
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(text(r.t)!, [...(out.get(text(r.t)!) ?? []), text(r.c)!]);
  return out;
}

/**
 * MariaDB sequences, created before the tables (a column default may take from one) and
 * set to where they were: the next value not yet cached, as mariadb-dump sets it.
 */
async function sequences(s: Session, f: Quoting): Promise<NativeObject[]> {
  const names = await s.query("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE' ORDER BY TABLE_NAME");
  const out: NativeObject[] = [];
  for (const r of names) {
    const name = text(r.name)!;
    const [row] = await s.query(`SHOW CREATE SEQUENCE ${f.quote(name)}`);
    const [at] = await s.query(`SELECT next_not_cached_value AS n FROM ${f.quote(name)}`);
    out.push({ kind: 'sequence', name, sql: text(row?.['Create Table'])!, early: true, then: [`SELECT SETVAL(${f.quote(name)}, ${BigInt(String(at?.n))}, 0)`] });
  }
  return out;
}

export async function readDdl(s: Session, tables: Table[], whole: boolean, f: Quoting): Promise<{ tables: NativeTableDdl[]; objects: NativeObject[] }> {
  const out: NativeTableDdl[] = [];
  const generated = await generatedColumns(s);
  const [{ db }] = await s.query('SELECT DATABASE() AS db');
  // MariaDB names a sequence in a default with its database (`src`.`s`): the copy takes its own.
  const qualifier = `${f.quote(text(db)!)}.`;
  for (const t of tables) {
    const [row] = await s.query(`SHOW CREATE TABLE ${f.quote(t.table)}`);
    out.push({ ddl: [text(row?.['Create Table'])!.replaceAll(qualifier, '')], generated: generated.get(t.table) ?? [] });
  }
  const own = await triggers(s, new Set(tables.map((t) => t.table)), f);
  // Routines, then views, then triggers (after the rows), then events: the order mariadb-dump restores them in.
  const objects = whole ? [...(await sequences(s, f)), ...(await routines(s, f)), ...(await views(s, f)), ...own, ...(await events(s, f))] : own;
  return { tables: out, objects };
}

const DROP: Record<string, string> = { view: 'VIEW', function: 'FUNCTION', procedure: 'PROCEDURE', trigger: 'TRIGGER', event: 'EVENT', sequence: 'SEQUENCE' };

/**
 * Settings an object's statement runs under. character_set_client only when it is a form
 * of UTF-8: the statement is sent as UTF-8 (the server gave it in utf8mb4), which another
 * client character set would misread.
 */
const SETTABLE: Record<string, (v: string) => boolean> = {
  sql_mode: (v) => sqlModeQuoting(v) !== null, time_zone: () => true, collation_connection: () => true, character_set_client: (v) => /^utf8/i.test(v),
};
const SAVED = Object.keys(SETTABLE);

/** The object's statement under its own settings, the session's put back after it. */
export function objectSql(o: NativeObject, f: Quoting): { create: string[]; drop: string[] } {
  const kind = DROP[o.kind];
  if (!kind) throw new DbError('UNSUPPORTED', `a backed-up ${o.kind} "${o.name}" cannot be created on MySQL`, { kind: o.kind, name: o.name });
  // A backup file is code: `then` is only ever the sequence's position, as sequences() writes it.
  const position = new RegExp(`^SELECT SETVAL\\(${f.quote(o.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, -?\\d+, 0\\)$`);
  if ((o.then ?? []).some((st) => o.kind !== 'sequence' || !position.test(st))) {
    throw new DbError('BACKUP_CORRUPT', `the backup's statements after ${o.kind} "${o.name}" are not its position; a backup file's SQL runs as it is, so nothing was restored`, { kind: o.kind, name: o.name });
  }
  const set = Object.entries(o.settings ?? {}).filter(([k, v]) => SETTABLE[k]?.(v));
  const create = set.length
    ? [
      `SET ${SAVED.map((k) => `@cmx_${k} = @@SESSION.${k}`).join(', ')}`,
      `SET ${set.map(([k, v]) => `SESSION ${k} = ${f.string(v)}`).join(', ')}`,
      o.sql,
      `SET ${SAVED.map((k) => `SESSION ${k} = @cmx_${k}`).join(', ')}`,
    ]
    : [o.sql];
  return { create: [...create, ...(o.then ?? [])], drop: [`DROP ${kind} IF EXISTS ${f.quote(o.name)}`] };
}
