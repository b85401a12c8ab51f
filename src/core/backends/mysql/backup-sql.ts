/**
 * mysql: the SQL of a portable backup (contract/backup.ts PortableSql). A table of the
 * kinds lines.ts spells is read as plain rows, each made into its line in our process
 * (rowLines). Others are read as lines the server builds, native columns included (TINYINT, MEDIUMINT, UNSIGNED,
 * YEAR, ENUM, SET, BIT, BINARY…: nativeForm spells them as readNative spells mysql2's
 * values); a table with a native type not listed there is read as driver values.
 */
import type { PortableSql, Quoting } from '../contract/backup.js';
import { finishBytesFor, finishMarked, orderBy } from '../../backup/sql.js';
import { specOf } from '../../backup/values.js';
import { unportableOf, type Column, type Table } from '../../schema/model.js';
import { isVersioned } from './introspect.js';
import { rowLines } from './lines.js';
import { sqlModeWithout } from './pool.js';
import { isFloat32Spec } from './values.js';

const isFloat32 = (c: Column): boolean => isFloat32Spec(specOf(c));

/** A float column's value marked for finishMarked (zero as it is): `F` a DOUBLE as the server prints it; `S` a FLOAT's exact value (+ 0e0, a DOUBLE: CAST AS DOUBLE needs MySQL 8.0.17), respelt as a 4-byte float. */
const markedFloat = (q: string, tag: 'F' | 'S'): string => `IF(${q} = 0, '0', CONCAT('"\\\\${tag}', ${tag === 'S' ? `(${q} + 0e0)` : q}, '"'))`;

const qualified = (t: Table, f: Quoting): string => f.quote(t.table);

/** What a backup reads of a table: a system-versioned one with its history rows. */
const source = (t: Table, f: Quoting): string => `${qualified(t, f)}${isVersioned(t) ? ' FOR SYSTEM_TIME ALL' : ''}`;

const next = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Every portable kind as canonical JSON text, floats and JSON documents marked (see finishMarked). */
function canonical(c: Column, f: Quoting): string {
  const q = f.quote(c.name);
  // TIME(6) and DATETIME(6) print six fraction digits: the canonical form trims zeros.
  const trimmed = `IF(LOCATE('.', ${q}), TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${q})), ${q})`;
  // DATETIME and TIMESTAMP print 19 characters before any fraction (years 1000-9999, or
  // 0000): a value without microseconds is those 19, whatever the column's precision. The
  // test reads the packed value (MICROSECOND) instead of the printed one (LOCATE), which
  // halved the server's work of a backup of Sakila's rental (bench/RESULTS.md).
  const dateTime = `IF(MICROSECOND(${q}) = 0, LEFT(${q}, 19), TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${q})))`;
  switch (specOf(c).kind) {
    case 'smallint': case 'integer': return `CAST(${q} AS CHAR)`;
    case 'bigint': return `IF(${q} BETWEEN -9007199254740991 AND 9007199254740991, CAST(${q} AS CHAR), CONCAT('"', ${q}, '"'))`;
    case 'decimal': case 'date': return `CONCAT('"', ${q}, '"')`;
    // DOUBLE prints the shortest round-trip digits, positional in this range, as JavaScript does; FLOAT does not.
    case 'double': return `IF(ABS(${q}) >= 1e-4 AND ABS(${q}) < 1e15, CAST(${q} AS CHAR), ${markedFloat(q, 'F')})`;
    // FLOAT prints 6 digits (123456.78 as 123457): its exact value instead, respelt as a 4-byte float (readFloat32).
    case 'real': return markedFloat(q, 'S');
    case 'boolean': return `IF(${q} = 1, 'true', IF(${q} = 0, 'false', CAST(${q} AS CHAR)))`;
    case 'text': case 'varchar': return `JSON_QUOTE(${q})`;
    // A server in PAD_CHAR_TO_FULL_LENGTH mode pads CHAR values; the canonical form has no padding.
    case 'char': return `JSON_QUOTE(TRIM(TRAILING ' ' FROM ${q}))`;
    case 'uuid': return `CONCAT('"', LOWER(${q}), '"')`;
    case 'time': return `CONCAT('"', ${trimmed}, '"')`;
    case 'timestamp': return `CONCAT('"', REPLACE(${dateTime}, ' ', 'T'), '"')`;
    case 'timestamptz': return `CONCAT('"', REPLACE(${dateTime}, ' ', 'T'), 'Z"')`;
    case 'binary': return `CONCAT('"', REPLACE(TO_BASE64(${q}), '\\n', ''), '"')`;
    // The document as the server keeps it: MariaDB keeps the text as written, MySQL prints its one spelling (§17.2).
    case 'json': return `JSON_QUOTE(CAST(${q} AS CHAR CHARACTER SET utf8mb4))`;
    default: {
      const n = nativeForm(c, q);
      if (n === null) throw new Error('this native column is read as a value');
      return n;
    }
  }
}

/** Columns whose line value may be marked `"\F…"` (canonical's double and real, nativeForm's floats). */
const marks = (c: Column): boolean => ['double', 'real'].includes(specOf(c).kind) || /^(float|double|real)\b/i.test(c.native ?? '');

/** Columns JSON_QUOTE writes: its `\u` escapes are upper case (finishMarked lowers them). */
const escapes = (c: Column): boolean => ['text', 'varchar', 'char', 'json'].includes(specOf(c).kind) || /^(enum|set)\b/i.test(c.native ?? '');

const SPATIAL = /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)\b/i;

const bytes = (q: string): string => `CONCAT('{"base64":"', REPLACE(TO_BASE64(${q}), '\\n', ''), '"}')`;

const SAFE = 'BETWEEN -9007199254740991 AND 9007199254740991';

/**
 * A native column's value as readNative writes what mysql2 gives for it (§17.2 `native`):
 * integers and YEAR as numbers (mysql2 parses them, so ZEROFILL padding and YEAR's
 * leading zeros go), past 2^53 as a string (BIGINT UNSIGNED, which mysql2 leaves as
 * text, padding kept); DECIMAL as its text; FLOAT and DOUBLE through JavaScript's spelling (marked);
 * ENUM and SET as text; bit and byte strings, and spatial values (SRID + WKB), as
 * {"base64"}. Null: a type not listed, read as a driver value (INET6, …).
 */
export function nativeForm(c: Column, q: string): string | null {
  const t = (c.native ?? '').toLowerCase();
  const base = /^[a-z]+/.exec(t)?.[0] ?? '';
  const zerofill = t.includes('zerofill');
  switch (base) {
    case 'tinyint': case 'smallint': case 'mediumint': case 'int': case 'integer':
      return `CAST(${zerofill ? `${q} + 0` : q} AS CHAR)`;
    // Past 2^53 mysql2 keeps the text as sent, ZEROFILL padding included.
    case 'bigint': { const x = zerofill ? `(${q} + 0)` : q; return `IF(${x} ${SAFE}, CAST(${x} AS CHAR), CONCAT('"', ${q}, '"'))`; }
    case 'year': return `CAST(${q} + 0 AS CHAR)`;
    case 'decimal': case 'numeric': case 'dec': case 'fixed': return `CONCAT('"', ${q}, '"')`;
    case 'float': return markedFloat(q, 'S');
    case 'double': case 'real': return markedFloat(q, 'F');
    // In the binary character set mysql2 gives their bytes (readNative: {"base64"}).
    case 'enum': case 'set': return unportableOf(c).includes('character set binary') ? bytes(q) : `JSON_QUOTE(${q})`;
    case 'bit': case 'binary': case 'varbinary': return bytes(q);
    // Spatial values as the server keeps them (the SRID, then WKB): bound as bytes, they load back as the same geometry.
    default: return SPATIAL.test(t) ? bytes(q) : null;
  }
}

/** A table with a native column nativeForm cannot spell is read as driver values. */
const hasNative = (t: Table): boolean => t.columns.some((c) => c.type === 'native' && nativeForm(c, '') === null);

/** Columns of types with no portable form are read as driver values (MySQL JSON as its text). */
const plainSelect = (t: Table, f: Quoting): string => {
  const column = (c: Column): string => {
    const q = f.quote(c.name);
    if (specOf(c).kind === 'json') return `CAST(${q} AS CHAR CHARACTER SET utf8mb4) AS ${q}`;
    // FLOAT is sent with 6 digits: its exact value instead, which the reader respells (values.ts).
    if (isFloat32(c)) return `(${q} + 0e0) AS ${q}`;
    // mysql2 parses spatial values into objects that do not load back: their bytes instead.
    return SPATIAL.test(c.native ?? '') ? `CAST(${q} AS BINARY) AS ${q}` : q;
  };
  return `SELECT ${t.columns.map(column).join(', ')} FROM ${source(t, f)}${orderBy(t, f)}`;
};

export const portable: PortableSql = {
  // Tables of the kinds lines.ts spells: the columns as they are, each line made as its row arrives.
  rowLines: (t, f) => {
    const lines = rowLines(t);
    return lines && { text: `SELECT ${t.columns.map((c) => f.quote(c.name)).join(', ')} FROM ${source(t, f)}${orderBy(t, f)}`, lines };
  },
  select: (t, f) => (hasNative(t)
    ? plainSelect(t, f)
    // A NOT NULL column needs no COALESCE (one function a value less for the server).
    : `SELECT CONCAT('[', ${t.columns.map((c) => (c.nullable ? `COALESCE(${canonical(c, f)}, 'null')` : canonical(c, f))).join(", ',', ")}, ']') FROM ${source(t, f)}${orderBy(t, f)}`),
  finishLine: () => finishMarked,
  finishBytes: (t) => finishBytesFor(t.columns.some((c) => marks(c) || escapes(c))),
  lineMode: (t) => !hasNative(t),
  async readSequence(s, t) {
    const [row] = await s.query('SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [t.table]);
    return next(row?.n);
  },
  writeSequence: (t, _column, value, f) => [{ text: `ALTER TABLE ${qualified(t, f)} AUTO_INCREMENT = ${BigInt(value).toString()}`, params: [] }],
  async requiresPrimaryKey(s) {
    // SHOW … WHERE: a name this server lacks (MySQL has no wsrep_*, MariaDB no sql_require_primary_key) is simply absent.
    const rows = await s.query("SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_mode', 'sql_require_primary_key')");
    const v = new Map(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
    return v.get('sql_require_primary_key') === 'ON' || (v.get('wsrep_on') === 'ON' && /\bREQUIRED_PRIMARY_KEY\b/i.test(v.get('wsrep_mode') ?? ''));
  },
  drop: (tables, f) => (tables.length ? [`DROP TABLE ${tables.map((t) => qualified(t, f)).join(', ')}`] : []),
  // NO_AUTO_VALUE_ON_ZERO: a key of 0 is a value to keep, not a request for the next one (as mariadb-dump loads).
  // ALLOW_INVALID_DATES: a source in that mode keeps '2024-02-30', which strict mode refuses (the restore failed).
  // MariaDB 10.11+: history rows of system-versioned tables load with their own row start and end (as mariadb-dump --dump-history).
  beforeLoad: [
    'SET foreign_key_checks = 0, unique_checks = 0, @cmx_load_mode = @@SESSION.sql_mode /*M!101100 , SESSION system_versioning_insert_history = 1 */',
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_AUTO_VALUE_ON_ZERO', 'ALLOW_INVALID_DATES')",
  ],
  afterLoad: ['SET foreign_key_checks = 1, unique_checks = 1, SESSION sql_mode = @cmx_load_mode /*M!101100 , SESSION system_versioning_insert_history = 0 */'],
  // Strict mode refuses '' in an ENUM that lacks it, which a non-strict source stores (its error value).
  sourceTypesLoad: {
    before: [
      `SET @cmx_table_mode = @@SESSION.sql_mode, SESSION sql_mode = ${sqlModeWithout('STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES')}`,
    ],
    after: ['SET SESSION sql_mode = @cmx_table_mode'],
  },
  async count(s, t, f) {
    const [row] = await s.query("SELECT TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [t.table]);
    const [n] = await s.query(`SELECT count(*) AS n FROM ${qualified(t, f)}${row?.k === 'SYSTEM VERSIONED' ? ' FOR SYSTEM_TIME ALL' : ''}`);
    return Number(n?.n ?? 0);
  },
  keysAfterLoad: false,
  commitsBatches: true,
};
