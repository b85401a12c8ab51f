/**
 * A catalog snapshot read straight from each engine's own catalog (pg_catalog,
 * information_schema, sqlite_schema and the table pragmas), never through the server
 * under test, and per-table content checksums. Each section is a sorted list of lines,
 * so two snapshots compare with one deep equality and a failure names the lines.
 * The server's own bookkeeping (codomyrmex_* tables, the codomyrmex schema) is left out.
 */
import { createHash } from 'node:crypto';

export type Snapshot = Record<string, string[]>;

const OWN = /^codomyrmex/;
const sorted = (lines: string[]): string[] => lines.filter((l) => !OWN.test(l)).sort();

/** A value as text that tells types apart where the drivers do (bytes as hex, big integers whole). */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '\u2400';
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function digest(rows: unknown[][]): string {
  const lines = rows.map((r) => r.map(cell).join('\u241f')).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

// ------------------------------------------------------------------ PostgreSQL

const PG_USER_NS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'codomyrmex') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";

const PG_SECTIONS: Record<string, string> = {
  columns: `SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' #' || a.attnum || ' ' || format_type(a.atttypid, a.atttypmod)
      || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
      || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
      || CASE a.attgenerated WHEN 's' THEN ' generated stored' ELSE '' END || coalesce(' collate ' || co.collname, '')
      || coalesce(' comment ' || col_description(c.oid, a.attnum), '') AS line
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid)
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${PG_USER_NS}`,
  tables: `SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text || coalesce(' partition by ' || pg_get_partkeydef(c.oid), '')
      || coalesce(' partition of ' || (SELECT pc.relname FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid), '')
      || coalesce(' comment ' || obj_description(c.oid, 'pg_class'), '') AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${PG_USER_NS}`,
  constraints: `SELECT n.nspname || '.' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) AS line
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${PG_USER_NS}`,
  indexes: `SELECT pg_get_indexdef(i.indexrelid) AS line FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${PG_USER_NS}`,
  sequences: `SELECT s.schemaname || '.' || s.sequencename || ' ' || s.data_type || ' start ' || s.start_value || ' inc ' || s.increment_by
      || ' min ' || s.min_value || ' max ' || s.max_value || ' cycle ' || s.cycle || ' next {' || quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) || '}'
      || coalesce(' owned by ' || (SELECT dc.relname || '.' || da.attname FROM pg_depend dp JOIN pg_class dc ON dc.oid = dp.refobjid
           JOIN pg_attribute da ON da.attrelid = dp.refobjid AND da.attnum = dp.refobjsubid
           WHERE dp.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass AND dp.deptype IN ('a', 'i') AND dp.classid = 'pg_class'::regclass LIMIT 1), '') AS line
    FROM pg_sequences s WHERE s.schemaname NOT IN ('codomyrmex')`,
  views: `SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || md5(pg_get_viewdef(c.oid)) || CASE WHEN c.relispopulated THEN '' ELSE ' not populated' END AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND ${PG_USER_NS}`,
  triggers: `SELECT pg_get_triggerdef(t.oid) AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND ${PG_USER_NS}`,
  routines: `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || p.prokind::text
      || CASE WHEN p.prokind IN ('f', 'p') THEN ' ' || md5(pg_get_functiondef(p.oid)) ELSE '' END
      || coalesce((SELECT ' ' || g.aggtransfn::text || ' ' || format_type(g.aggtranstype, NULL) || ' ' || g.aggfinalfn::text || ' ' || coalesce(g.agginitval, '-')
           FROM pg_aggregate g WHERE g.aggfnoid = p.oid), '') AS line
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${PG_USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
  types: `SELECT n.nspname || '.' || t.typname || ' ' || t.typtype::text || ' ' || CASE t.typtype
        WHEN 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
        WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) || coalesce(' ' || (SELECT string_agg(pg_get_constraintdef(k.oid), ' ' ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid), '')
        ELSE '' END AS line
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd') AND ${PG_USER_NS}`,
  extensions: "SELECT extname AS line FROM pg_extension WHERE extname <> 'plpgsql'",
  rules: `SELECT schemaname || '.' || tablename || ' ' || rulename || ' ' || md5(definition) AS line FROM pg_rules WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'codomyrmex')`,
  // Every object's comment (functions, types, views, constraints, indexes … too); objects the user made only.
  comments: `SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' ' || d.description AS line FROM pg_description d WHERE d.objoid >= 16384`,
};

export async function postgresSnapshot(url: string): Promise<Snapshot> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const out: Snapshot = {};
    for (const [name, q] of Object.entries(PG_SECTIONS)) out[name] = sorted((await sql.unsafe(q)).map((r) => String(r.line)));
    // The value a sequence hands out next (pg_sequences.last_value is null until it is first called, as after setval(…, false)).
    for (const [i, line] of out.sequences.entries()) {
      const seq = /\{([^}]+)\}/.exec(line)![1];
      const [r] = await sql.unsafe(`SELECT CASE WHEN is_called THEN last_value + (SELECT increment_by FROM pg_sequences WHERE (quote_ident(schemaname) || '.' || quote_ident(sequencename)) = $1) ELSE last_value END AS next FROM ${seq}`, [seq]);
      out.sequences[i] = line.replace(/\{[^}]+\}/, String(r.next));
    }
    const tables = await sql.unsafe(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND ${PG_USER_NS} AND c.relname !~ '^codomyrmex'`);
    out.content = [];
    for (const { t } of tables) {
      const [r] = await sql.unsafe(`SELECT count(*) AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM ${t} x`);
      out.content.push(`${t} ${r.n} ${r.h}`);
    }
    out.content.sort();
    return out;
  } finally {
    await sql.end();
  }
}

// ------------------------------------------------------------------ MySQL / MariaDB

const MY_SECTIONS: Record<string, string> = {
  columns: `SELECT CONCAT_WS(' ', CONCAT(TABLE_NAME, '.', COLUMN_NAME), CONCAT('#', ORDINAL_POSITION), COLUMN_TYPE, IS_NULLABLE, CONCAT('default=', IFNULL(COLUMN_DEFAULT, '-')),
      EXTRA, IFNULL(CHARACTER_SET_NAME, '-'), IFNULL(COLLATION_NAME, '-'), IFNULL(GENERATION_EXPRESSION, '-'), COLUMN_COMMENT) AS line
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`,
  tables: `SELECT CONCAT_WS(' ', TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE, '-'), IFNULL(TABLE_COLLATION, '-'), IFNULL(ROW_FORMAT, '-'), IFNULL(CREATE_OPTIONS, '-'), TABLE_COMMENT) AS line FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`,
  indexes: `SELECT CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, IFNULL(SUB_PART, '-'), INDEX_TYPE, IFNULL(COLLATION, '-')) AS line FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()`,
  constraints: `SELECT CONCAT_WS(' ', k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, IFNULL(k.REFERENCED_TABLE_NAME, '-'), IFNULL(k.REFERENCED_COLUMN_NAME, '-'), IFNULL(r.UPDATE_RULE, '-'), IFNULL(r.DELETE_RULE, '-')) AS line
    FROM information_schema.KEY_COLUMN_USAGE k LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
    WHERE k.TABLE_SCHEMA = DATABASE()`,
  checks: 'SELECT CONCAT_WS(\' \', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE) AS line FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()',
  views: 'SELECT CONCAT_WS(\' \', TABLE_NAME, VIEW_DEFINITION, DEFINER, SECURITY_TYPE, CHECK_OPTION, IS_UPDATABLE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION) AS line FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()',
  triggers: 'SELECT CONCAT_WS(\' \', TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_ORDER, DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, ACTION_STATEMENT) AS line FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()',
  routines: `SELECT CONCAT_WS(' ', ROUTINE_TYPE, ROUTINE_NAME, DTD_IDENTIFIER, IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, ROUTINE_COMMENT, ROUTINE_DEFINITION) AS line
    FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()`,
  parameters: `SELECT CONCAT_WS(' ', SPECIFIC_NAME, ORDINAL_POSITION, IFNULL(PARAMETER_MODE, '-'), IFNULL(PARAMETER_NAME, '-'), DTD_IDENTIFIER, ROUTINE_TYPE) AS line
    FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE()`,
  events: `SELECT CONCAT_WS(' ', EVENT_NAME, DEFINER, TIME_ZONE, EVENT_TYPE, IFNULL(EXECUTE_AT, '-'), IFNULL(INTERVAL_VALUE, '-'), IFNULL(INTERVAL_FIELD, '-'), SQL_MODE,
      IFNULL(STARTS, '-'), IFNULL(ENDS, '-'), STATUS, ON_COMPLETION, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, EVENT_COMMENT, EVENT_DEFINITION) AS line FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()`,
  sequences: "SELECT CONCAT_WS(' ', TABLE_NAME, IFNULL(AUTO_INCREMENT, '-')) AS line FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
};

export async function mysqlSnapshot(url: string): Promise<Snapshot> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
  try {
    // AUTO_INCREMENT in information_schema is cached; read it fresh.
    await conn.query('SET SESSION information_schema_stats_expiry = 0').catch(() => undefined);
    const [[{ db }]] = (await conn.query('SELECT DATABASE() AS db')) as unknown as [[{ db: string }]];
    // Views and routines name their own database (`src`.`actor`): the copy names another one.
    const local = (line: string): string => line.replaceAll(`\`${db}\``, '`DB`');
    const out: Snapshot = {};
    for (const [name, q] of Object.entries(MY_SECTIONS)) out[name] = sorted(((await conn.query(q))[0] as Array<{ line: string }>).map((r) => local(String(r.line))));
    const [tables] = await conn.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT LIKE 'codomyrmex%'");
    out.content = [];
    for (const { t } of tables as Array<{ t: string }>) {
      const [rows] = await conn.query({ sql: `SELECT * FROM \`${t.replaceAll('`', '``')}\``, rowsAsArray: true });
      out.content.push(`${t} ${(rows as unknown[][]).length} ${digest(rows as unknown[][])}`);
    }
    out.content.sort();
    // MariaDB sequences: where each stands (the next value not yet cached).
    const [seqs] = await conn.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE'");
    for (const { t } of seqs as Array<{ t: string }>) {
      const [[r]] = (await conn.query(`SELECT next_not_cached_value AS n FROM \`${t.replaceAll('`', '``')}\``)) as unknown as [[{ n: string }]];
      out.sequences.push(`${t} sequence next ${r.n}`);
    }
    out.sequences.sort();
    return out;
  } finally {
    await conn.end();
  }
}

// ------------------------------------------------------------------ SQLite

export async function sqliteSnapshot(file: string): Promise<Snapshot> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    const objects = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'codomyrmex%'").all() as Array<{ type: string; name: string; tbl_name: string; sql: string | null }>;
    const out: Snapshot = { tables: [], sql: [], columns: [], indexes: [], foreign_keys: [], views: [], triggers: [], sequences: [], content: [] };
    const norm = (s: string | null): string => (s ?? '').replace(/\s+/g, ' ').trim();
    for (const o of objects) {
      if (o.type === 'view' || o.type === 'trigger') out[`${o.type}s`].push(`${o.name} on ${o.tbl_name} ${norm(o.sql)}`);
      // What only the statement says: checks, collations, AUTOINCREMENT, an index's expressions and predicate.
      if (o.type === 'table' || o.type === 'index') out.sql.push(`${o.type} ${o.name} on ${o.tbl_name} ${o.sql === null ? '(automatic)' : norm(o.sql)}`);
      if (o.type !== 'table') continue;
      const q = `"${o.name.replaceAll('"', '""')}"`;
      // SQLite's own reading of the table options (`STRICT, WITHOUT ROWID` in either order, comments and all).
      const opts = db.prepare('SELECT wr, strict FROM pragma_table_list WHERE schema = ? AND name = ?').get('main', o.name) as { wr: bigint; strict: bigint } | undefined;
      out.tables.push(`${o.name} ${Number(opts?.wr) ? 'without rowid' : 'rowid'} ${Number(opts?.strict) ? 'strict' : ''}`);
      for (const c of db.prepare(`PRAGMA table_xinfo(${q})`).all() as Array<Record<string, unknown>>) {
        out.columns.push(`${o.name}.${String(c.name)} #${String(c.cid)} ${String(c.type)} notnull=${String(c.notnull)} default=${String(c.dflt_value)} pk=${String(c.pk)} hidden=${String(c.hidden)}`);
      }
      for (const ix of db.prepare(`PRAGMA index_list(${q})`).all() as Array<Record<string, unknown>>) {
        const cols = (db.prepare(`PRAGMA index_xinfo("${String(ix.name).replaceAll('"', '""')}")`).all() as Array<Record<string, unknown>>)
          .filter((c) => Number(c.key) === 1).map((c) => `${String(c.name)}${Number(c.desc) ? ' desc' : ''} ${String(c.coll)}`);
        out.indexes.push(`${o.name} ${String(ix.name)} unique=${String(ix.unique)} origin=${String(ix.origin)} partial=${String(ix.partial)} (${cols.join(', ')})`);
      }
      for (const fk of db.prepare(`PRAGMA foreign_key_list(${q})`).all() as Array<Record<string, unknown>>) {
        out.foreign_keys.push(`${o.name} #${String(fk.id)}.${String(fk.seq)} ${String(fk.from)} -> ${String(fk.table)}.${String(fk.to)} update ${String(fk.on_update)} delete ${String(fk.on_delete)}`);
      }
      const rows = db.prepare(`SELECT * FROM ${q}`).raw(true).all() as unknown[][];
      out.content.push(`${o.name} ${rows.length} ${digest(rows)}`);
    }
    const hasSeq = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").get();
    // A counter stored as text ('200') still counts, but is not the source's integer: its storage class is compared too.
    if (hasSeq) out.sequences = (db.prepare('SELECT name, CAST(seq AS TEXT) AS seq, typeof(seq) AS t FROM sqlite_sequence').all() as Array<{ name: string; seq: string; t: string }>).map((r) => `${r.name} ${r.seq}${r.t === 'integer' ? '' : ` (${r.t})`}`);
    for (const k of Object.keys(out)) out[k] = sorted(out[k]);
    return out;
  } finally {
    db.close();
  }
}

export function snapshotOf(backend: 'postgres' | 'mysql' | 'sqlite', url: string): Promise<Snapshot> {
  if (backend === 'postgres') return postgresSnapshot(url);
  if (backend === 'mysql') return mysqlSnapshot(url);
  return sqliteSnapshot(url.replace(/^sqlite:\/\//, ''));
}

/** Lines one snapshot has and the other lacks, per section: `section: - line` (lost) and `section: + line` (appeared). */
export function differences(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const section of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = new Set(before[section] ?? []);
    const b = new Set(after[section] ?? []);
    for (const l of a) if (!b.has(l)) out.push(`${section}: - ${l}`);
    for (const l of b) if (!a.has(l)) out.push(`${section}: + ${l}`);
  }
  return out;
}
