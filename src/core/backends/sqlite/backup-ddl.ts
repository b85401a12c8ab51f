/**
 * sqlite: the database's own DDL in a portable backup (contract/backup.ts readDdl,
 * objectSql): the CREATE statements SQLite keeps in sqlite_schema, which recreate each
 * object exactly when run again (declared types as written, AUTOINCREMENT, WITHOUT
 * ROWID, STRICT, checks, collations, the order of keys and foreign keys, partial and
 * expression indexes). A restore into SQLite creates the tables from them, adds their
 * indexes after the rows, then the views and triggers. A whole database's backup also
 * carries the header's `user_version` and `application_id` (kind `setting`).
 */
import { DbError } from '../../../errors.js';
import type { Session } from '../../dialect.js';
import type { Table } from '../../schema/model.js';
import type { NativeObject, NativeTableDdl, Quoting } from '../contract/backup.js';

interface SchemaRow { type: string; name: string; tbl_name: string; sql: string }

export async function readDdl(s: Session, tables: Table[], whole: boolean): Promise<{ tables: NativeTableDdl[]; objects: NativeObject[] }> {
  // sqlite_% objects are SQLite's own; autoindexes (keys, UNIQUE) have no SQL and come with their table.
  const rows = (await s.query("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")) as unknown as SchemaRow[];
  const byName = new Map(rows.filter((r) => r.type === 'table').map((r) => [r.name.toLowerCase(), r]));
  const out = tables.map((t): NativeTableDdl => {
    const own = byName.get(t.table.toLowerCase());
    if (!own) throw new DbError('UNDEFINED_OBJECT', `table "${t.table}" has no entry in sqlite_schema`, { table: t.table });
    const indexes = rows.filter((r) => r.type === 'index' && r.tbl_name.toLowerCase() === own.name.toLowerCase()).map((r) => r.sql);
    // Generated columns are not in the portable definition (pragma table_xinfo hides them), so none are loaded.
    return { ddl: [own.sql, ...indexes], generated: [] };
  });
  const named = new Set(tables.map((t) => t.table.toLowerCase()));
  // SQLite binds a view's names when the view is used, not when it is created: any order does.
  const views = whole ? rows.filter((r) => r.type === 'view').map((r): NativeObject => ({ kind: 'view', name: r.name, sql: r.sql })) : [];
  // A backup of named tables carries their triggers; a whole one every trigger (INSTEAD OF triggers of views too).
  const triggers = rows.filter((r) => r.type === 'trigger' && (whole || named.has(r.tbl_name.toLowerCase())))
    .map((r): NativeObject => ({ kind: 'trigger', name: r.name, table: r.tbl_name, sql: r.sql }));
  return { tables: out, objects: [...views, ...triggers, ...(whole ? await header(s) : [])] };
}

/** The two numbers an application keeps in the file's header, each as a `setting` when it is set. */
export const HEADER_FIELDS = ['user_version', 'application_id'] as const;
const SETTING = new RegExp(`^PRAGMA (${HEADER_FIELDS.join('|')}) = (-?\\d{1,10})$`);

async function header(s: Session): Promise<NativeObject[]> {
  const out: NativeObject[] = [];
  for (const name of HEADER_FIELDS) {
    const [row] = await s.query(`PRAGMA ${name}`);
    const value = Number(Object.values(row ?? {})[0] ?? 0);
    if (value) out.push({ kind: 'setting', name, sql: `PRAGMA ${name} = ${value}` });
  }
  return out;
}

/**
 * A backup's `setting` object is one of those two PRAGMAs with a 32-bit number (what the
 * header holds; SQLite sets 0 for any other), nothing else: a backup file's SQL runs as it is.
 */
export function isHeaderSetting(o: NativeObject): boolean {
  const m = o.kind === 'setting' ? SETTING.exec(o.sql) : null;
  return m !== null && m[1] === o.name && Number(m[2]) >= -(2 ** 31) && Number(m[2]) < 2 ** 31;
}

const DROP: Record<string, string> = { view: 'VIEW', trigger: 'TRIGGER' };

export function objectSql(o: NativeObject, f: Quoting): { create: string[]; drop: string[] } {
  if (o.kind === 'setting') {
    if (!isHeaderSetting(o)) throw new DbError('BACKUP_CORRUPT', `the backup's setting ${o.name} is not what its header says (${o.sql.slice(0, 80)}); a backup file's SQL runs as it is, so nothing was restored`, { kind: o.kind, name: o.name });
    // Nothing to drop: the restore's transaction takes it back.
    return { create: [o.sql], drop: [] };
  }
  const kind = DROP[o.kind];
  if (!kind) throw new DbError('UNSUPPORTED', `a backed-up ${o.kind} "${o.name}" cannot be created on SQLite`, { kind: o.kind, name: o.name });
  return { create: [o.sql], drop: [`DROP ${kind} IF EXISTS ${f.quote(o.name)}`] };
}
