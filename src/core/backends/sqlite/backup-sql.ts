/**
 * sqlite: the SQL of a portable backup (contract/backup.ts PortableSql). The common
 * cases are JSON text built in SQL (json_quote spells strings as JSON.stringify does);
 * everything else is marked `"\\<tag><column>:<payload>"` with a lossless payload (I
 * integer digits, R real as %!.17g, T text and B blob as hex) for finishLine to hand to
 * the column's reader: the same output as reading values.
 */
import type { PortableSql, Quoting } from '../contract/backup.js';
import { orderBy } from '../../backup/sql.js';
import { specOf } from '../../backup/values.js';
import { parseType, type Column, type Table } from '../../schema/model.js';
import { crossType } from './cross.js';
import { reader } from './values.js';

const qualified = (t: Table, f: Quoting): string => f.quote(t.table);

const SAFE = '-9007199254740991 AND 9007199254740991';

function canonical(c: Column, k: number, f: Quoting): string {
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

function finisher(t: Table): (line: string) => string {
  const readers = t.columns.map((c) => reader(specOf(c)));
  const value = (tag: string, payload: string): unknown => {
    if (tag === 'I') return BigInt(payload);
    if (tag === 'R') return Number(payload);
    const bytes = Buffer.from(payload, 'hex');
    return tag === 'T' ? bytes.toString('utf8') : bytes;
  };
  return (line) => (line.includes('"\\') ? line.replace(/"\\([IRTB])(\d+):([^"]*)"/g, (_, tag: string, k: string, payload: string) => readers[Number(k)](value(tag, payload))) : line);
}

/** Portable kinds of numeric affinity: a value stored as text or bytes in one is not of its type. */
const NUMERIC = new Set(['smallint', 'integer', 'bigint', 'boolean', 'decimal', 'real', 'double']);

/** Four digits, a dash, two, a dash, two: the start of every date form both PostgreSQL and MySQL read alike. */
const YMD = '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]';

/** A uuid in its 36 characters, lower case: PostgreSQL's and MariaDB's uuid types give back upper-case letters lowered. */
const UUID = ['[0-9a-f]'.repeat(8), ...[4, 4, 4].map((n) => '[0-9a-f]'.repeat(n)), '[0-9a-f]'.repeat(12)].join('-');

/** SQL true for a value that is neither null nor text passing `test` (a column whose values must be text of a form). */
const notTextLike = (q: string, test: string): string => `(typeof(${q}) NOT IN ('text', 'null') OR (typeof(${q}) = 'text' AND NOT (${test})))`;

/**
 * SQL true for text that is not a date (or time, timestamp) in the ISO form the targets read
 * as the same value: PostgreSQL also reads 'now', 'today', 'epoch' and 'infinity' (as the
 * restore's clock, or its own infinity), MySQL neither; an integer is seconds to nobody.
 * A timestamp may be a date alone (midnight); only timestamptz takes a zone (Z, +hh:mm).
 */
function notIso(kind: string, q: string): string | null {
  const text = (test: string): string => notTextLike(q, test);
  // Hours 00-23 (MySQL refuses 24, PostgreSQL makes it the next day); at most 6 fraction digits (both round or cut the 7th).
  const clock = (from: number, extra: string): string => `((substr(${q}, ${from}) GLOB '[0-1][0-9]:[0-5][0-9]*' OR substr(${q}, ${from}) GLOB '2[0-3]:[0-5][0-9]*')
    AND NOT substr(${q}, ${from}) GLOB '*[^0-9:.${extra}]*' AND NOT substr(${q}, ${from}) GLOB '*.[0-9][0-9][0-9][0-9][0-9][0-9][0-9]*')`;
  // Year 0000 is no year to PostgreSQL (it refuses it), though SQLite's date() takes it.
  const year = `substr(${q}, 1, 4) <> '0000'`;
  switch (kind) {
    case 'date': return text(`${q} GLOB '${YMD}' AND ${year} AND date(${q}) = ${q}`);
    case 'time': return text(`${clock(1, '')} AND time(${q}) IS NOT NULL`);
    case 'timestamp': case 'timestamptz': {
      const zone = kind === 'timestamptz' ? '+Z-' : '';
      return text(`${q} GLOB '${YMD}*' AND ${year} AND date(substr(${q}, 1, 10)) = substr(${q}, 1, 10) AND julianday(${q}) IS NOT NULL
        AND (length(${q}) = 10 OR (substr(${q}, 11, 1) IN (' ', 'T') AND ${clock(12, zone)}))`);
    }
    default: return null;
  }
}

/**
 * The portable type a column stands for in another backend: its own, or for a declared type
 * with no portable form (UNSIGNED BIG INT, NVARCHAR(20)) the one its affinity gives (cross.ts).
 */
function crossSpec(c: Column): ReturnType<typeof specOf> {
  const spec = specOf(c);
  if (spec.kind !== 'native') return spec;
  const stand = crossType(spec.native);
  return stand ? parseType(stand.type, undefined) : spec;
}

/** SQL true for a value the column's declared type does not hold (SQLite enforces neither types nor sizes); null when it holds any. */
function outside(c: Column, f: Quoting): string | null {
  const q = f.quote(c.name);
  const spec = crossSpec(c);
  // Bytes in a text column are no text (a target's text would get "[object Object]" or refuse them).
  const bytes = `typeof(${q}) = 'blob'`;
  if (spec.kind === 'varchar' || spec.kind === 'char') return `(${bytes} OR length(${q}) > ${spec.length})`;
  if (spec.kind === 'text') return bytes;
  // Text or numbers in a BLOB column: a target's binary column would get their text's bytes.
  if (spec.kind === 'binary') return `typeof(${q}) NOT IN ('blob', 'null')`;
  // A json column's CHECK holds only for rows written since it was added, and never for bytes.
  if (spec.kind === 'json') return notTextLike(q, `json_valid(${q})`);
  // A uuid as its 36 lower-case characters (SQLite applications also keep uuids as 16 bytes, or in upper case).
  if (spec.kind === 'uuid') return notTextLike(q, `${q} GLOB '${UUID}'`);
  const range = RANGE[spec.kind];
  // An integer column keeps reals and anything past the portable type's range (INTEGER is 64 bits here, `integer` 32).
  if (range) return `(typeof(${q}) NOT IN ('integer', 'null') OR ${q} NOT BETWEEN ${range})`;
  const dates = notIso(spec.kind, q);
  if (dates) return dates;
  if (!NUMERIC.has(spec.kind)) return null;
  const wrong = `typeof(${q}) IN ('text', 'blob')`;
  // A decimal(p,s) holds no more than s decimals: 12.345 in a decimal(10,2) would come back 12.35.
  return spec.kind === 'decimal' ? `(${wrong} OR abs(${q}) >= 1e${spec.precision - spec.scale} OR round(${q}, ${spec.scale}) <> ${q})` : wrong;
}

const RANGE: Record<string, string> = { smallint: '-32768 AND 32767', integer: '-2147483648 AND 2147483647', bigint: '-9223372036854775808 AND 9223372036854775807', boolean: '0 AND 1' };

export const portable: PortableSql = {
  async valueNotes(s, t, f) {
    // STRICT tables too: they hold the storage class, not the portable type's range.
    const tests = t.columns.flatMap((c) => {
      const out = outside(c, f);
      return [...(out ? [{ c, kind: 'mixed' as const, test: out }] : []), { c, kind: 'nul' as const, test: `typeof(${f.quote(c.name)}) = 'text' AND instr(${f.quote(c.name)}, char(0)) > 0` }];
    });
    // One pass over the table for all its columns.
    const [row] = await s.query(`SELECT ${tests.map((x, i) => `max(${x.test}) AS m${i}`).join(', ')} FROM ${qualified(t, f)}`);
    const hit = (kind: string): string[] => tests.filter((x, i) => x.kind === kind && Number(row?.[`m${i}`]) === 1).map((x) => x.c.name);
    return { mixed: hit('mixed'), nul: hit('nul') };
  },
  select: (t, f) => `SELECT '[' || ${t.columns.map((c, k) => `coalesce(${canonical(c, k, f)}, 'null')`).join(` || ',' || `)} || ']' FROM ${qualified(t, f)}${orderBy(t, f)}`,
  finishLine: finisher,
  async readSequence(s, t) {
    // sqlite_sequence exists only once some table uses AUTOINCREMENT.
    const rows = await s.query('SELECT seq FROM sqlite_sequence WHERE name = ?', [t.table]).catch(() => []);
    return rows[0] ? (BigInt(String(rows[0].seq)) + 1n).toString() : null;
  },
  // seq has no declared type: a string would be stored as text ('200'). A bigint binds as a 64-bit integer, exact past 2^53.
  writeSequence: (t, _column, value) => [
    { text: 'DELETE FROM sqlite_sequence WHERE name = ?', params: [t.table] },
    { text: 'INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', params: [t.table, BigInt(value) - 1n] },
  ],
  drop: (tables, f) => tables.map((t) => `DROP TABLE ${qualified(t, f)}`),
  beforeLoad: [],
  afterLoad: [],
  keysAfterLoad: false,
  commitsBatches: false,
  // A full-text table over another table's content (content='posts') holds an index of that
  // table's rows by their rowids, which its backup does not carry: rebuilt from the content once
  // every table is loaded, its backed-up rows (the content's, read through it) not loaded.
  async derivedRows(s, t, f) {
    const [row] = await s.query("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", [t.table]);
    if (!(typeof row?.sql === 'string' && EXTERNAL_CONTENT.test(row.sql))) return null;
    const q = qualified(t, f);
    return [`INSERT INTO ${q}(${f.quote(t.table)}) VALUES ('rebuild')`];
  },
};

/** `CREATE VIRTUAL TABLE … USING fts…(…, content='', …)`: a contentless full-text table, which keeps only its index. */
const CONTENTLESS = /^\s*CREATE\s+VIRTUAL\s+TABLE\b[\s\S]*\bUSING\s+fts[345]\s*\([\s\S]*[(,]\s*content\s*=\s*(?:''|"")\s*[,)]/i;

/** What a contentless full-text table's backup cannot hold: its text. */
export function notInRows(ddl: readonly string[]): string | null {
  return ddl[0] !== undefined && CONTENTLESS.test(ddl[0])
    ? "a contentless full-text table (content='') keeps no text to read back: its rows are restored without it, and its search finds none of them"
    : null;
}

/** `CREATE VIRTUAL TABLE … USING fts…(…, content=<a table>, …)`: rows read from another table; content='' keeps none. */
const EXTERNAL_CONTENT = /^\s*CREATE\s+VIRTUAL\s+TABLE\b[\s\S]*\bUSING\s+fts[345]\s*\([\s\S]*[(,]\s*content\s*=\s*(?:'(?:[^']|'')+'|"(?:[^"]|"")+"|\[[^\]]+\]|[A-Za-z_][\w$]*)/i;
