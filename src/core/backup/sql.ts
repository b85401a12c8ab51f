/**
 * The SQL a backup and a restore need on each backend: the snapshot's SELECT,
 * auto-increment positions, row counts, drops and the session settings of a bulk
 * load. One record per backend, looked up like the schema flavours; every name goes
 * through the flavour's quote().
 */
import type { Backend, Session } from '../dialect.js';
import { allForeignKeys, foreignKeyDef, qualified } from '../schema/ddl.js';
import type { SchemaFlavor } from '../schema/flavors.js';
import { constraintName, type Column, type Table } from '../schema/model.js';
import { canonicalJson, readFloatText, reader, specOf } from './values.js';

export interface BackupSql {
  /** The SELECT that streams a table's rows, sorted by its primary key when it has one. */
  select(t: Table, f: SchemaFlavor): string;
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
  readSequence(s: Session, t: Table, column: string, f: SchemaFlavor): Promise<string | null>;
  /** Statements that make `column` hand out `next` next. MySQL's is DDL (it commits). */
  writeSequence(t: Table, column: string, next: string, f: SchemaFlavor): Array<{ text: string; params: unknown[] }>;
  /** Drops tables that may reference each other. */
  drop(tables: Table[], f: SchemaFlavor): string[];
  /** Session statements around a bulk load (MySQL: key checks off, so parents need not come first). */
  beforeLoad: string[];
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

const orderBy = (t: Table, f: SchemaFlavor): string => {
  const pk = t.columns.filter((c) => c.primary_key);
  return pk.length ? ` ORDER BY ${pk.map((c) => f.quote(c.name)).join(', ')}` : '';
};

const plainSelect = (t: Table, f: SchemaFlavor, column = (name: string) => f.quote(name)): string =>
  `SELECT ${t.columns.map((c) => column(c.name)).join(', ')} FROM ${qualified(t, f)}${orderBy(t, f)}`;

const next = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * A column's value as its canonical JSON text, computed by PostgreSQL (in C, on its own
 * core) rather than in our process. Where float8out and JavaScript spell a number
 * differently (exponents, -0, NaN),
 * the value is marked `"\F...` / `"\J...` for finishLine: JSON text never holds \F or \J.
 */
function pgCanonical(c: Column, f: SchemaFlavor): string {
  const q = f.quote(c.name);
  const spec = specOf(c);
  switch (spec.kind) {
    case 'smallint': case 'integer': return `${q}::text`;
    case 'bigint': return `CASE WHEN ${q} BETWEEN -9007199254740991 AND 9007199254740991 THEN ${q}::text ELSE '"' || ${q}::text || '"' END`;
    case 'decimal': case 'date': case 'time': case 'uuid': return `'"' || ${q}::text || '"'`;
    case 'real': case 'double': {
      const positional = spec.kind === 'real' ? '1e6' : '1e15';
      return `CASE WHEN abs(${q}) >= 1e-4 AND abs(${q}) < ${positional} THEN ${q}::text WHEN ${q} = 0 THEN '0' ELSE '"\\F' || ${q}::text || '"' END`;
    }
    case 'boolean': return `CASE WHEN ${q} THEN 'true' WHEN NOT ${q} THEN 'false' END`;
    case 'text': case 'varchar': case 'timestamp': return `to_json(${q})::text`;
    // CHAR to text drops the padding, as the canonical form does.
    case 'char': return `to_json(${q}::text)::text`;
    case 'timestamptz': return `replace(to_json(${q})::text, '+00:00"', 'Z"')`;
    case 'binary': return `'"' || translate(encode(${q}, 'base64'), E'\\n', '') || '"'`;
    // jsonb prints the canonical spelling already (see canonicalJson).
    case 'json': return `to_json(${q}::jsonb::text)::text`;
    default: return `to_json(${q}::text)::text`;
  }
}

const POSTGRES: BackupSql = {
  select: (t, f) => `SELECT '[' || ${t.columns.map((c) => `coalesce(${pgCanonical(c, f)}, 'null')`).join(` || ',' || `)} || ']' FROM ${qualified(t, f)}${orderBy(t, f)}`,
  finishLine: () => finishMarked,
  finishBytes: () => finishMarkedBytes,
  async readSequence(s, t, column, f) {
    const [row] = await s.query('SELECT pg_get_serial_sequence($1, $2) AS seq', [qualified(t, f), column]);
    if (!row?.seq) return null;
    // The sequence name comes back quoted and qualified by the server.
    const [v] = await s.query(`SELECT last_value::text AS v, is_called FROM ${String(row.seq)}`);
    return v ? (v.is_called ? (BigInt(String(v.v)) + 1n).toString() : String(v.v)) : null;
  },
  writeSequence: (t, column, value, f) => [{ text: 'SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint, false)', params: [qualified(t, f), column, value] }],
  drop: (tables, f) => (tables.length ? [`DROP TABLE ${tables.map((t) => qualified(t, f)).join(', ')}`] : []),
  beforeLoad: [],
  afterLoad: [],
  keysAfterLoad: true,
  commitsBatches: false,
};

/** MySQL's side of the same idea: every portable kind as canonical JSON text, floats and JSON documents marked. */
function mysqlCanonical(c: Column, f: SchemaFlavor): string {
  const q = f.quote(c.name);
  // TIME(6) and DATETIME(6) print six fraction digits: the canonical form trims zeros.
  const trimmed = `IF(LOCATE('.', ${q}), TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${q})), ${q})`;
  switch (specOf(c).kind) {
    case 'smallint': case 'integer': return `CAST(${q} AS CHAR)`;
    case 'bigint': return `IF(${q} BETWEEN -9007199254740991 AND 9007199254740991, CAST(${q} AS CHAR), CONCAT('"', ${q}, '"'))`;
    case 'decimal': case 'date': return `CONCAT('"', ${q}, '"')`;
    // DOUBLE prints the shortest round-trip digits, positional in this range, as JavaScript does; FLOAT does not.
    case 'double': return `IF(ABS(${q}) >= 1e-4 AND ABS(${q}) < 1e15, CAST(${q} AS CHAR), IF(${q} = 0, '0', CONCAT('"\\\\F', ${q}, '"')))`;
    case 'real': return `IF(${q} = 0, '0', CONCAT('"\\\\F', ${q}, '"'))`;
    case 'boolean': return `IF(${q} = 1, 'true', IF(${q} = 0, 'false', CAST(${q} AS CHAR)))`;
    case 'text': case 'varchar': case 'char': return `JSON_QUOTE(${q})`;
    case 'uuid': return `CONCAT('"', LOWER(${q}), '"')`;
    case 'time': return `CONCAT('"', ${trimmed}, '"')`;
    case 'timestamp': return `CONCAT('"', REPLACE(${trimmed}, ' ', 'T'), '"')`;
    case 'timestamptz': return `CONCAT('"', REPLACE(${trimmed}, ' ', 'T'), 'Z"')`;
    case 'binary': return `CONCAT('"', REPLACE(TO_BASE64(${q}), '\\n', ''), '"')`;
    case 'json': return `CONCAT('"\\\\J', SUBSTR(JSON_QUOTE(CAST(${q} AS CHAR CHARACTER SET utf8mb4)), 2))`;
    default: throw new Error('native columns are read as values');
  }
}

/** finishMarked over a batch of lines as bytes; the bytes untouched when nothing is marked. */
function finishMarkedBytes(bytes: Buffer): Buffer {
  if (!bytes.includes('"\\F') && !bytes.includes('"\\J')) return bytes;
  const lines = bytes.toString('utf8').split('\n');
  lines.pop(); // after the last \n
  let out = '';
  for (const line of lines) out += `${finishMarked(line)}\n`;
  return Buffer.from(out, 'utf8');
}

/** Marked values finished in JavaScript: floats respelt, JSON documents put in canonical form. */
function finishMarked(line: string): string {
  let out = line;
  if (out.includes('"\\F')) out = out.replace(/"\\F([^"]*)"/g, (_, t: string) => readFloatText(t));
  if (out.includes('"\\J')) out = out.replace(/"\\J((?:[^"\\]|\\.)*)"/g, (_, t: string) => JSON.stringify(canonicalJson(JSON.parse(`"${t}"`) as string)));
  return out;
}

const hasNative = (t: Table): boolean => t.columns.some((c) => c.type === 'native');

const MYSQL: BackupSql = {
  select: (t, f) => (hasNative(t)
    // Columns of types with no portable form are read as driver values (MySQL JSON as its text).
    ? plainSelect(t, f, (name) => {
      const c = t.columns.find((x) => x.name === name);
      return c && specOf(c).kind === 'json' ? `CAST(${f.quote(name)} AS CHAR CHARACTER SET utf8mb4) AS ${f.quote(name)}` : f.quote(name);
    })
    : `SELECT CONCAT('[', ${t.columns.map((c) => `COALESCE(${mysqlCanonical(c, f)}, 'null')`).join(", ',', ")}, ']') FROM ${qualified(t, f)}${orderBy(t, f)}`),
  finishLine: () => finishMarked,
  lineMode: (t) => !hasNative(t),
  async readSequence(s, t) {
    const [row] = await s.query('SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [t.table]);
    return next(row?.n);
  },
  writeSequence: (t, _column, value, f) => [{ text: `ALTER TABLE ${qualified(t, f)} AUTO_INCREMENT = ${BigInt(value).toString()}`, params: [] }],
  drop: (tables, f) => (tables.length ? [`DROP TABLE ${tables.map((t) => qualified(t, f)).join(', ')}`] : []),
  beforeLoad: ['SET foreign_key_checks = 0, unique_checks = 0'],
  afterLoad: ['SET foreign_key_checks = 1, unique_checks = 1'],
  keysAfterLoad: false,
  commitsBatches: true,
};

const SAFE = '-9007199254740991 AND 9007199254740991';

/**
 * SQLite's side: the common cases as JSON text in SQL (json_quote spells strings as
 * JSON.stringify does), everything else marked `"\\<tag><column>:<payload>"` with a
 * lossless payload (I integer digits, R real as %!.17g, T text and B blob as hex) for
 * finishLine to hand to the column's reader: the same output as reading values.
 */
function sqliteCanonical(c: Column, k: number, f: SchemaFlavor): string {
  const q = f.quote(c.name);
  const kind = specOf(c).kind;
  const marked = (tag: string, payload: string): string => `'"\\${tag}${k}:' || ${payload} || '"'`;
  const other = `WHEN 'integer' THEN ${marked('I', `CAST(${q} AS TEXT)`)} WHEN 'real' THEN ${marked('R', `printf('%!.17g', ${q})`)} WHEN 'text' THEN ${marked('T', `hex(${q})`)} WHEN 'blob' THEN ${marked('B', `hex(${q})`)}`;
  if (kind === 'smallint' || kind === 'integer' || kind === 'bigint') {
    return `CASE typeof(${q}) WHEN 'integer' THEN IIF(${q} BETWEEN ${SAFE}, CAST(${q} AS TEXT), '"' || ${q} || '"') ${other} END`;
  }
  if (kind === 'boolean') return `CASE WHEN typeof(${q}) = 'integer' AND ${q} IN (0, 1) THEN IIF(${q}, 'true', 'false') ELSE CASE typeof(${q}) ${other} END END`;
  if (['decimal', 'real', 'double', 'binary'].includes(kind)) return `CASE typeof(${q}) ${other} END`;
  return `CASE typeof(${q}) WHEN 'text' THEN json_quote(${q}) ${other} END`;
}

function sqliteFinisher(t: Table): (line: string) => string {
  const readers = t.columns.map((c) => reader('sqlite', specOf(c)));
  const value = (tag: string, payload: string): unknown => {
    if (tag === 'I') return BigInt(payload);
    if (tag === 'R') return Number(payload);
    const bytes = Buffer.from(payload, 'hex');
    return tag === 'T' ? bytes.toString('utf8') : bytes;
  };
  return (line) => (line.includes('"\\') ? line.replace(/"\\([IRTB])(\d+):([^"]*)"/g, (_, tag: string, k: string, payload: string) => readers[Number(k)](value(tag, payload))) : line);
}

const SQLITE: BackupSql = {
  select: (t, f) => `SELECT '[' || ${t.columns.map((c, k) => `coalesce(${sqliteCanonical(c, k, f)}, 'null')`).join(` || ',' || `)} || ']' FROM ${qualified(t, f)}${orderBy(t, f)}`,
  finishLine: sqliteFinisher,
  async readSequence(s, t) {
    // sqlite_sequence exists only once some table uses AUTOINCREMENT.
    const rows = await s.query('SELECT seq FROM sqlite_sequence WHERE name = ?', [t.table]).catch(() => []);
    return rows[0] ? (BigInt(String(rows[0].seq)) + 1n).toString() : null;
  },
  writeSequence: (t, _column, value) => [
    { text: 'DELETE FROM sqlite_sequence WHERE name = ?', params: [t.table] },
    { text: 'INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', params: [t.table, (BigInt(value) - 1n).toString()] },
  ],
  drop: (tables, f) => tables.map((t) => `DROP TABLE ${qualified(t, f)}`),
  beforeLoad: [],
  afterLoad: [],
  keysAfterLoad: false,
  commitsBatches: false,
};

const BY_BACKEND: Record<Backend, BackupSql> = { postgres: POSTGRES, mysql: MYSQL, sqlite: SQLITE };

export const backupSql = (backend: Backend): BackupSql => BY_BACKEND[backend];

/**
 * The table without its keys (created first), and the statements that add them after
 * the data: its own keys, and its foreign keys, which the restore adds only once every
 * table has its keys (a foreign key needs the unique key it references, whatever order
 * the tables come in).
 */
export function deferKeys(t: Table, f: SchemaFlavor): { bare: Table; keys: string[]; foreignKeys: string[] } {
  const table = qualified(t, f);
  const pk = t.columns.filter((c) => c.primary_key);
  const keys = [
    ...(pk.length ? [`ALTER TABLE ${table} ADD CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} PRIMARY KEY (${pk.map((c) => f.quote(c.name)).join(', ')})`] : []),
    ...t.columns.filter((c) => c.unique).map((c) => `ALTER TABLE ${table} ADD CONSTRAINT ${f.quote(constraintName(t.table, [c.name], 'key'))} UNIQUE (${f.quote(c.name)})`),
  ];
  const foreignKeys = allForeignKeys(t).map((fk) => `ALTER TABLE ${table} ADD ${foreignKeyDef(t.table, fk, f)}`);
  // Key columns stay NOT NULL (normalised columns carry it); the identity stays on the column.
  const bare: Table = { ...t, columns: t.columns.map(({ references: _r, ...c }) => ({ ...c, primary_key: false, unique: false })), foreign_keys: [] };
  return { bare, keys, foreignKeys };
}

export const countSql = (t: Table, f: SchemaFlavor): string => `SELECT count(*) AS n FROM ${qualified(t, f)}`;
