/**
 * The portable projection of a database, read straight from each engine's catalog and
 * rows (never through the server under test): per table its columns as a type class
 * (int, decimal(p,s), text, timestamp ...), nullability and auto-increment, its keys,
 * foreign keys and indexes as column lists, and a content checksum of its values in
 * portable forms (numbers without trailing zeros, ISO-ish timestamps in UTC, bytes as
 * hex), so two databases of different backends compare table by table.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';

export interface PortableColumn {
  name: string;
  /** The type as the engine says it, and its class (what the portable format can carry). */
  type: string;
  kind: string;
  nullable: boolean;
  auto: boolean;
  /** What else the column does that rows alone do not show: `on update`, `generated`; empty when nothing. */
  extra: string;
  /** Whether the column has a default (a key's sequence is `auto`, not a default). */
  hasDefault: boolean;
  /** PostgreSQL: the default takes from a sequence (nextval); it is `auto` too. */
  sequenceDefault?: boolean;
}

export interface PortableTable {
  name: string;
  columns: PortableColumn[];
  primaryKey: string[];
  /** `cols -> table(cols)` */
  foreignKeys: string[];
  /** `unique? (cols)`, the primary key's left out */
  indexes: string[];
  /** The same indexes by name; `plain` when a column list says it all (no expression, predicate, other method or order). */
  namedIndexes: Array<{ name: string; unique: boolean; columns: string[]; plain: boolean }>;
  /** Names of foreign key constraints (MySQL makes an index of the same name for each). */
  foreignKeyNames: string[];
  /** CHECK constraints (MariaDB's json_valid checks of JSON columns left out). */
  checks: number;
  /** Column comments, `column: comment`. */
  comments: string[];
}

export interface PortableDb {
  tables: Map<string, PortableTable>;
  /** Rows of a table, in the given column order, each value in its portable form. */
  content(table: string, columns: string[]): Promise<string>;
  /** Runs one statement (the insert-without-key check); returns nothing. */
  exec(text: string): Promise<void>;
  /** The largest value of a column. */
  max(table: string, column: string): Promise<string>;
  quote(name: string): string;
  close(): Promise<void>;
}

/** The class of a declared type: sizes kept where the portable format keeps them (decimal), dropped elsewhere. */
export function kindOf(type: string): string {
  const t = type.toLowerCase();
  if (/^tinyint\(1\)$|bool/.test(t)) return 'bool';
  if (/^(dec|numeric)/.test(t)) {
    const m = /\((\d+)\s*(?:,\s*(\d+))?\)/.exec(t);
    return m ? `decimal(${m[1]},${m[2] ?? 0})` : 'decimal';
  }
  if (/int|year/.test(t)) return 'int';
  if (/char|text|clob|enum|set|uuid|json/.test(t)) return 'text';
  if (/blob|bytea|binary/.test(t)) return 'binary';
  if (/timestamp|datetime/.test(t)) return 'timestamp';
  if (/date/.test(t)) return 'date';
  if (/time/.test(t)) return 'time';
  if (/real|double|float/.test(t)) return 'float';
  return t;
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const STAMP = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00(?::?00)?)?$/;

/** A value in its portable form, whatever driver read it. */
export function portableValue(v: unknown): string {
  if (v === null || v === undefined) return '\u2400';
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v);
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') return JSON.stringify(v);
  if (/^\\x[0-9a-f]*$/.test(s)) return `x${s.slice(2)}`;
  if (s === 'true' || s === 'false') return s === 'true' ? '1' : '0';
  if (NUMBER.test(s)) return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  const m = STAMP.exec(s);
  if (m) return `${m[1]} ${m[2]}${(m[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '')}`;
  return s;
}

export function digestRows(rows: unknown[][]): string {
  const lines = rows.map((r) => r.map(portableValue).join('\u241f')).sort();
  return `${rows.length} ${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
}

const group = <T extends Record<string, any>>(rows: T[], key: (r: T) => string): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
};

// ------------------------------------------------------------------ PostgreSQL

async function postgresDb(url: string): Promise<PortableDb> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, { max: 1, onnotice: () => undefined, connection: { TimeZone: 'UTC' } });
  const ns = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'codomyrmex') AND n.nspname NOT LIKE 'pg_%'";
  const cols = await sql.unsafe(`SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
      (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') AS auto, CASE WHEN a.attgenerated <> '' THEN 'generated' ELSE '' END AS extra,
      (d.adbin IS NOT NULL AND a.attgenerated = '' AND pg_get_expr(d.adbin, d.adrelid) NOT LIKE 'nextval(%' AND pg_get_expr(d.adbin, d.adrelid) NOT LIKE 'NULL::%') AS has_default,
      coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%' AS seq_default
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${ns} AND c.relname !~ '^codomyrmex' ORDER BY c.relname, a.attnum`);
  const names = (rel: string, keys: string) => `(SELECT array_agg(a.attname ORDER BY x.i) FROM unnest(${keys}) WITH ORDINALITY x(n, i) JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = x.n)`;
  const cons = await sql.unsafe(`SELECT c.relname AS t, k.conname AS name, k.contype AS kind, ${names('k.conrelid', 'k.conkey')} AS cols, fc.relname AS ft, ${names('k.confrelid', 'k.confkey')} AS fcols
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class fc ON fc.oid = k.confrelid
    WHERE k.contype IN ('p', 'f', 'c') AND ${ns}`);
  const idx = await sql.unsafe(`SELECT c.relname AS t, ic.relname AS name, i.indisunique AS u, array(SELECT coalesce(a.attname, '(expression)') FROM unnest(i.indkey::int2[]) WITH ORDINALITY x(n, k) LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.n AND x.n > 0 WHERE x.k <= i.indnkeyatts ORDER BY x.k) AS cols,
      (am.amname = 'btree' AND i.indexprs IS NULL AND i.indpred IS NULL AND NOT EXISTS (SELECT 1 FROM unnest(i.indoption::int2[]) o WHERE o <> 0)) AS plain
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
    WHERE NOT i.indisprimary AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${ns}`);
  const comments = await sql.unsafe(`SELECT c.relname AS t, a.attname || ': ' || d.description AS line FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE d.objsubid > 0 AND ${ns}`);
  const tables = new Map<string, PortableTable>();
  for (const [t, cs] of group([...cols], (r) => r.t)) {
    tables.set(t, {
      name: t,
      columns: cs.map((r) => ({ name: r.c, type: r.type, kind: kindOf(r.type), nullable: r.nullable, auto: r.auto, extra: r.extra, hasDefault: r.has_default, sequenceDefault: r.seq_default })),
      primaryKey: cons.find((k) => k.t === t && k.kind === 'p')?.cols ?? [],
      foreignKeys: cons.filter((k) => k.t === t && k.kind === 'f').map((k) => `${k.cols.join(',')} -> ${k.ft}(${k.fcols.join(',')})`).sort(),
      indexes: idx.filter((i) => i.t === t).map((i) => `${i.u ? 'unique ' : ''}(${i.cols.join(',')})`).sort(),
      namedIndexes: idx.filter((i) => i.t === t).map((i) => ({ name: i.name, unique: i.u, columns: i.cols, plain: i.plain })),
      foreignKeyNames: cons.filter((k) => k.t === t && k.kind === 'f').map((k) => k.name),
      checks: cons.filter((k) => k.t === t && k.kind === 'c').length,
      comments: comments.filter((r) => r.t === t).map((r) => r.line).sort(),
    });
  }
  const quote = (n: string): string => `"${n.replaceAll('"', '""')}"`;
  return {
    tables,
    content: async (t, columns) => digestRows(await sql.unsafe(`SELECT ${columns.map((c) => `${quote(c)}::text`).join(', ')} FROM ${quote(t)}`).values()),
    exec: async (text) => { await sql.unsafe(text); },
    max: async (t, c) => String((await sql.unsafe(`SELECT max(${quote(c)})::text AS m FROM ${quote(t)}`))[0].m),
    quote,
    close: () => sql.end(),
  };
}

// ------------------------------------------------------------------ MySQL / MariaDB

async function mysqlDb(url: string): Promise<PortableDb> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection({ uri: url, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, timezone: 'Z' });
  await conn.query("SET time_zone = '+00:00'");
  const q = async (text: string): Promise<any[]> => (await conn.query(text))[0] as any[];
  const cols = await q(`SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type, IS_NULLABLE = 'YES' AS nullable, EXTRA LIKE '%auto_increment%' AS auto,
      CONCAT_WS(' ', IF(EXTRA LIKE '%on update%', 'on update', NULL), IF(EXTRA LIKE '%generated%', 'generated', NULL)) AS extra,
      COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL' AND EXTRA NOT LIKE '%generated%' AS has_default
    FROM information_schema.COLUMNS c WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE')
    AND TABLE_NAME NOT LIKE 'codomyrmex%' ORDER BY TABLE_NAME, ORDINAL_POSITION`);
  const keys = await q(`SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS k, COLUMN_NAME AS c, REFERENCED_TABLE_NAME AS ft, REFERENCED_COLUMN_NAME AS fc
    FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`);
  const stats = await q(`SELECT TABLE_NAME AS t, INDEX_NAME AS k, NON_UNIQUE AS nu, COLUMN_NAME AS c, INDEX_TYPE NOT IN ('FULLTEXT', 'SPATIAL') AND SUB_PART IS NULL AND COLUMN_NAME IS NOT NULL AND IFNULL(COLLATION, 'A') = 'A' AS plain
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`);
  const checks = await q(`SELECT TABLE_NAME AS t FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE NOT LIKE 'json\\_valid(%'`);
  const comments = await q("SELECT TABLE_NAME AS t, CONCAT(COLUMN_NAME, ': ', COLUMN_COMMENT) AS line FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_COMMENT <> ''");
  const tables = new Map<string, PortableTable>();
  for (const [t, cs] of group(cols, (r) => r.t)) {
    const fks = group(keys.filter((k) => k.t === t && k.ft !== null), (k) => k.k);
    tables.set(t, {
      name: t,
      columns: cs.map((r) => ({ name: r.c, type: r.type, kind: kindOf(r.type), nullable: Boolean(Number(r.nullable)), auto: Boolean(Number(r.auto)), extra: String(r.extra), hasDefault: Boolean(Number(r.has_default)) })),
      primaryKey: keys.filter((k) => k.t === t && k.k === 'PRIMARY').map((k) => k.c),
      foreignKeys: [...fks.values()].map((ks) => `${ks.map((k) => k.c).join(',')} -> ${ks[0].ft}(${ks.map((k) => k.fc).join(',')})`).sort(),
      indexes: [...group(stats.filter((s) => s.t === t), (s) => s.k).values()].map((ss) => `${Number(ss[0].nu) ? '' : 'unique '}(${ss.map((s) => s.c).join(',')})`).sort(),
      namedIndexes: [...group(stats.filter((s) => s.t === t), (s) => s.k).values()].map((ss) => ({ name: ss[0].k, unique: !Number(ss[0].nu), columns: ss.map((s) => s.c ?? '(expression)'), plain: ss.every((s) => Boolean(Number(s.plain))) })),
      foreignKeyNames: [...fks.keys()],
      checks: checks.filter((c) => c.t === t).length,
      comments: comments.filter((r) => r.t === t).map((r) => r.line).sort(),
    });
  }
  const quote = (n: string): string => `\`${n.replaceAll('`', '``')}\``;
  return {
    tables,
    content: async (t, columns) => digestRows((await conn.query({ sql: `SELECT ${columns.map(quote).join(', ')} FROM ${quote(t)}`, rowsAsArray: true }))[0] as unknown[][]),
    exec: async (text) => { await conn.query(text); },
    max: async (t, c) => String((await q(`SELECT max(${quote(c)}) AS m FROM ${quote(t)}`))[0].m),
    quote,
    close: () => conn.end(),
  };
}

// ------------------------------------------------------------------ SQLite

async function sqliteDb(file: string): Promise<PortableDb> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  db.defaultSafeIntegers(true);
  const quote = (n: string): string => `"${n.replaceAll('"', '""')}"`;
  const all = (text: string): any[] => db.prepare(text).all() as any[];
  const tables = new Map<string, PortableTable>();
  for (const { name: t, sql } of all("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'codomyrmex%'")) {
    const info = all(`PRAGMA table_xinfo(${quote(t)})`).filter((c) => Number(c.hidden) !== 1);
    const pk = info.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk)).map((c) => String(c.name));
    const rowid = pk.length === 1 && String(info.find((c) => c.name === pk[0]).type).toUpperCase() === 'INTEGER' && !/without\s+rowid/i.test(sql);
    const fks = group(all(`PRAGMA foreign_key_list(${quote(t)})`), (f) => String(f.id));
    const named = all(`PRAGMA index_list(${quote(t)})`).filter((ix) => ix.origin !== 'pk').map((ix) => {
      const xs = all(`PRAGMA index_xinfo(${quote(String(ix.name))})`).filter((c) => Number(c.key) === 1).sort((a, b) => Number(a.seqno) - Number(b.seqno));
      const cs = xs.map((c) => (c.name === null ? '(expression)' : String(c.name)));
      return { name: String(ix.name), unique: Boolean(Number(ix.unique)), columns: cs, plain: !Number(ix.partial) && xs.every((c) => c.name !== null && !Number(c.desc) && c.coll === 'BINARY') };
    });
    const indexes = named.map((ix) => `${ix.unique ? 'unique ' : ''}(${ix.columns.join(',')})`);
    tables.set(t, {
      name: t,
      columns: info.map((c) => ({ name: String(c.name), type: String(c.type), kind: kindOf(String(c.type) || 'blob'), nullable: Number(c.notnull) === 0 && Number(c.pk) === 0, auto: rowid && c.name === pk[0], extra: Number(c.hidden) > 1 ? 'generated' : '', hasDefault: c.dflt_value !== null && String(c.dflt_value).toUpperCase() !== 'NULL' })),
      primaryKey: pk,
      foreignKeys: [...fks.values()].map((fs) => `${fs.map((f) => f.from).join(',')} -> ${fs[0].table}(${fs.map((f) => f.to).join(',')})`).sort(),
      indexes: indexes.sort(),
      namedIndexes: named,
      foreignKeyNames: [],
      // SQLite keeps checks in the statement only: CHECK clauses outside json_valid ones.
      checks: (String(sql).match(/\bCHECK\s*\((?!\s*json_valid)/gi) ?? []).length,
      comments: [],
    });
  }
  return {
    tables,
    content: async (t, columns) => digestRows(db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(t)}`).raw(true).all() as unknown[][]),
    exec: async (text) => { db.prepare(text).run(); },
    max: async (t, c) => String((db.prepare(`SELECT max(${quote(c)}) AS m FROM ${quote(t)}`).get() as { m: unknown }).m),
    quote,
    close: async () => { db.close(); },
  };
}

export function portableDb(backend: string, url: string): Promise<PortableDb> {
  if (backend === 'postgres') return postgresDb(url);
  if (backend === 'mysql') return mysqlDb(url);
  return sqliteDb(url.replace(/^sqlite:\/\//, ''));
}

/**
 * For each table whose key the source generates (and no other unique index would refuse
 * a copy of a row): a copy of the last row, inserted without its key, gets a key past
 * the restored ones. Returns the key each table handed out, to compare with the source's.
 * A key the target does not generate, its loss listed (`lossy`: Pagila's payment_id, a
 * sequence default on a two-column key), is not expected to continue.
 */
export async function insertsWithoutKey(src: Map<string, PortableTable>, dst: PortableDb, lossy: Array<{ table: string; column?: string }> = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of src.values()) {
    const key = s.columns.find((c) => c.auto);
    const d = dst.tables.get(s.name);
    if (!key || !d || d.indexes.some((ix) => ix.startsWith('unique'))) continue;
    if (!d.columns.find((c) => c.name === key.name)?.auto && lossy.some((l) => l.table === s.name && l.column === key.name)) continue;
    const q = dst.quote;
    // Generated columns take no value.
    const rest = d.columns.filter((c) => c.name !== key.name && !c.extra.includes('generated')).map((c) => q(c.name)).join(', ');
    const before = await dst.max(s.name, key.name);
    await dst.exec(`INSERT INTO ${q(s.name)} (${rest}) SELECT ${rest} FROM ${q(s.name)} WHERE ${q(key.name)} = ${before}`);
    const after = await dst.max(s.name, key.name);
    expect({ table: s.name, grew: BigInt(after) > BigInt(before) }).toEqual({ table: s.name, grew: true });
    out[s.name] = after;
  }
  return out;
}
