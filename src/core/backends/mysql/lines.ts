/**
 * mysql: backup lines built in our process from the row packets of a plain SELECT, for
 * tables whose every column is of a kind spelt here (integers, YEAR, DECIMAL, DATE,
 * DATETIME, TIMESTAMP, TIME, text, ENUM and SET). The text protocol already sends most
 * values as the line wants them (an integer's digits, a DECIMAL's text), so a line is
 * mostly copies of the bytes received; the server only reads the rows. Building the same
 * line in the SELECT (backup-sql.ts) costs the server about 2.5 times the plain read of a
 * table like Sakila's rental (bench/RESULTS.md). Each spelling here is the one
 * backup-sql.ts canonical()/nativeForm() gives; test/integration/backup-mysql-lines.test.ts
 * holds the three ways of writing a row (these bytes, the server's lines, the driver's
 * values) equal on the edge values of each kind.
 */
import type { RowLines } from '../../dialect.js';
import { canonicalTimestamp, specOf } from '../../backup/values.js';
import { unportableOf, type Column, type Table } from '../../schema/model.js';

/** Writes one value (`n` bytes at `p` of `b`, not NULL) at `at` of `out`; returns the new end. */
type Put = (b: Buffer, p: number, n: number, out: Buffer, at: number) => number;

/** A row packet's values (length-encoded, from `p` to `end` of `b`) as one line with its newline, at `at` of `out`. */
export type WriteLine = (b: Buffer, p: number, end: number, out: Buffer, at: number) => number;

export interface MysqlRowLines extends RowLines {
  kind: 'mysql-text-row';
  write: WriteLine;
  /** Bytes of `out` a row of `bytes` packet bytes may need at most. */
  room(bytes: number): number;
}

const QUOTE = 0x22;
const ZERO = 0x30;
const DOT = 0x2e;

/** Short values byte by byte; longer ones through a view and set() (Buffer#copy checks its arguments in JavaScript first). */
function copy(b: Buffer, p: number, n: number, out: Buffer, at: number): number {
  if (n < 32) {
    for (let k = p, e = p + n; k < e; k++) out[at++] = b[k]!;
    return at;
  }
  out.set(new Uint8Array(b.buffer, b.byteOffset + p, n), at);
  return at + n;
}

const asIs: Put = copy;

/** Bytes of a length-encoded value's length prefix, by its first byte (NULL, 0xfb: the one byte). */
const prefixBytes = (first: number): number => (first < 0xfc ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9);

/** The length of the length-encoded value at `p` (MySQL protocol); -1 for NULL. */
function valueLength(b: Buffer, p: number): number {
  const first = b[p]!;
  if (first < 0xfb) return first;
  if (first === 0xfb) return -1;
  if (first === 0xfc) return b[p + 1]! | (b[p + 2]! << 8);
  if (first === 0xfd) return b[p + 1]! | (b[p + 2]! << 8) | (b[p + 3]! << 16);
  return Number(b.readBigUInt64LE(p + 1));
}

const quoted: Put = (b, p, n, out, at) => {
  out[at++] = QUOTE;
  at = copy(b, p, n, out, at);
  out[at++] = QUOTE;
  return at;
};

/** ZEROFILL and YEAR: the number mysql2 makes of the text (`CAST(q + 0 AS CHAR)`): no leading zeros. */
const unpadded: Put = (b, p, n, out, at) => {
  let s = p;
  const e = p + n;
  while (s < e - 1 && b[s] === ZERO) s++;
  return copy(b, s, e - s, out, at);
};

const SAFE_DIGITS = Buffer.from(String(Number.MAX_SAFE_INTEGER));

/** BIGINT: a number within ±(2^53 - 1), else its text in quotes. */
const bigint: Put = (b, p, n, out, at) => {
  const negative = b[p] === 0x2d;
  const digits = n - (negative ? 1 : 0);
  let safe = digits < SAFE_DIGITS.length;
  if (digits === SAFE_DIGITS.length) safe = b.compare(SAFE_DIGITS, 0, SAFE_DIGITS.length, p + n - digits, p + n) <= 0;
  return safe ? copy(b, p, n, out, at) : quoted(b, p, n, out, at);
};

/** BOOLEAN (TINYINT(1)): 1 and 0 as true and false, any other value as its number. */
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const boolean: Put = (b, p, n, out, at) => {
  if (n === 1 && b[p] === 0x31) return copy(TRUE, 0, 4, out, at);
  if (n === 1 && b[p] === ZERO) return copy(FALSE, 0, 5, out, at);
  return copy(b, p, n, out, at);
};

/** The end of a time's text without the zeros ending its fraction, nor a dot left alone (`.500000` → `.5`, `.000` → none). */
function trimmed(b: Buffer, dot: number, e: number): number {
  while (e > dot + 1 && b[e - 1] === ZERO) e--;
  return e === dot + 1 ? dot : e;
}

/** TIME: its text in quotes, the fraction trimmed. */
const time: Put = (b, p, n, out, at) => {
  const e = p + n;
  let dot = p;
  while (dot < e && b[dot] !== DOT) dot++;
  return quoted(b, p, (dot < e ? trimmed(b, dot, e) : e) - p, out, at);
};

/** DATETIME (zone: false) and TIMESTAMP (our sessions run in UTC: zone, marked `Z`): `"YYYY-MM-DDTHH:MM:SS[.f]"`. */
const stamp = (zone: boolean): Put => (b, p, n, out, at) => {
  // The server prints 19 characters, then any fraction: `YYYY-MM-DD HH:MM:SS.ffffff`.
  if (n < 19 || b[p + 10] !== 0x20 || (n > 19 && b[p + 19] !== DOT)) return json(canonicalTimestamp(b.toString('latin1', p, p + n), zone), out, at);
  out[at++] = QUOTE;
  at = copy(b, p, 10, out, at);
  out[at++] = 0x54; // T
  at = copy(b, p + 11, 8, out, at);
  if (n > 19) {
    const end = trimmed(b, p + 19, p + n);
    at = copy(b, p + 19, end - (p + 19), out, at);
  }
  if (zone) out[at++] = 0x5a; // Z
  out[at++] = QUOTE;
  return at;
};

/** A string as JSON text (the driver-value path's spelling). */
function json(value: string, out: Buffer, at: number): number {
  return at + out.write(JSON.stringify(value), at, 'utf8');
}

const dateTime = stamp(false);
const timestamp = stamp(true);

/** Text as a JSON string: printable ASCII as it is, anything else as JSON.stringify writes the decoded text. */
const text: Put = (b, p, n, out, at) => {
  for (let k = p, e = p + n; k < e; k++) {
    const c = b[k]!;
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return json(b.toString('utf8', p, p + n), out, at);
  }
  return quoted(b, p, n, out, at);
};

/** CHAR: without the padding a server in PAD_CHAR_TO_FULL_LENGTH mode sends (the canonical form has none). */
const unpaddedText: Put = (b, p, n, out, at) => {
  let e = p + n;
  while (e > p && b[e - 1] === 0x20) e--;
  return text(b, p, e - p, out, at);
};

/** ENUM and SET in the binary character set: mysql2 gives their bytes (readNative: {"base64"}); the server-built lines too. */
const binaryCharset = (c: Column): boolean => unportableOf(c).includes('character set binary');

/** The writer of a column's values, as backup-sql.ts canonical() and nativeForm() spell them; null: a kind not spelt here. */
function putOf(c: Column): Put | null {
  const spec = specOf(c);
  switch (spec.kind) {
    case 'smallint': case 'integer': return asIs;
    case 'bigint': return bigint;
    case 'decimal': case 'date': return quoted;
    case 'boolean': return boolean;
    case 'text': case 'varchar': return text;
    case 'char': return unpaddedText;
    case 'time': return time;
    case 'timestamp': return dateTime;
    case 'timestamptz': return timestamp;
    case 'native': break;
    default: return null;
  }
  const t = (c.native ?? '').toLowerCase();
  const base = /^[a-z]+/.exec(t)?.[0] ?? '';
  const zerofill = t.includes('zerofill');
  switch (base) {
    case 'tinyint': case 'smallint': case 'mediumint': case 'int': case 'integer': return zerofill ? unpadded : asIs;
    // Past 2^53 mysql2 keeps ZEROFILL's padding: that case stays with the server's lines.
    case 'bigint': return zerofill ? null : bigint;
    // YEAR(2) (older servers) prints two digits that are not the year.
    case 'year': return /^year(\(4\))?$/.test(t) ? unpadded : null;
    case 'decimal': case 'numeric': case 'dec': case 'fixed': return quoted;
    case 'enum': case 'set': return binaryCharset(c) ? null : text;
    default: return null;
  }
}

/**
 * The line writer of a table whose columns all have a spelling here, else null (the
 * table's lines are built by the server, or its rows read as values). Rows come from a
 * SELECT of the table's columns in order (backup-sql.ts rowLines).
 *
 * The most common spellings (a value as it is, in quotes, a DATETIME or TIMESTAMP) are
 * written in the loop itself, the others through their Put: one function that V8
 * optimizes once, where a call through a table of functions a value took four times as
 * long on the first 320,000 rows (the first backup a server makes; bench/RESULTS.md).
 */
export function rowLines(t: Table): MysqlRowLines | null {
  const puts: Put[] = [];
  for (const c of t.columns) {
    const put = putOf(c);
    if (!put) return null;
    puts.push(put);
  }
  const count = puts.length;
  // Per column: 1 as it is, 2 in quotes, 3 DATETIME, 4 TIMESTAMP, 0 through its Put.
  const how = Int8Array.from(puts, (put) => (put === asIs ? 1 : put === quoted ? 2 : put === dateTime ? 3 : put === timestamp ? 4 : 0));
  const write: WriteLine = (b, p, end, out, at) => {
    out[at++] = 0x5b; // [
    for (let k = 0; k < count; k++) {
      if (k) out[at++] = 0x2c; // ,
      const n = valueLength(b, p);
      p += prefixBytes(b[p]!);
      if (n < 0) {
        out[at++] = 0x6e; out[at++] = 0x75; out[at++] = 0x6c; out[at++] = 0x6c; // null
        continue;
      }
      const e = p + n;
      if (e > end) throw new Error('a row packet shorter than its values');
      switch (how[k]) {
        case 1:
          if (n < 32) while (p < e) out[at++] = b[p++]!;
          else at = copy(b, p, n, out, at);
          break;
        case 2:
          out[at++] = QUOTE;
          if (n < 32) while (p < e) out[at++] = b[p++]!;
          else at = copy(b, p, n, out, at);
          out[at++] = QUOTE;
          break;
        case 3: case 4:
          if (n === 19 && b[p + 10] === 0x20) {
            // The usual DATETIME: no fraction.
            out[at++] = QUOTE;
            for (let x = p; x < p + 10; x++) out[at++] = b[x]!;
            out[at++] = 0x54; // T
            for (let x = p + 11; x < e; x++) out[at++] = b[x]!;
            if (how[k] === 4) out[at++] = 0x5a; // Z
            out[at++] = QUOTE;
          } else at = puts[k]!(b, p, n, out, at);
          break;
        default:
          at = puts[k]!(b, p, n, out, at);
      }
      p = e;
    }
    if (p !== end) throw new Error('a row packet with more values than the table has columns');
    out[at++] = 0x5d; // ]
    out[at++] = 10;
    return at;
  };
  // A byte of text may become six (\u001f); NULL's one byte four; each value gains quotes, T, Z and a comma.
  return { kind: 'mysql-text-row', write, room: (bytes) => 6 * bytes + 8 * count + 16 };
}

/**
 * The line a server-built SELECT sends as its one value (backup-sql.ts select), with its
 * newline; a NULL line (a value the SELECT does not spell) is refused.
 */
export const serverLine: MysqlRowLines = {
  kind: 'mysql-text-row',
  write(b, p, end, out, at) {
    const n = valueLength(b, p);
    if (n < 0) throw new Error('a backup line read as NULL (a value the line SELECT does not spell)');
    p += prefixBytes(b[p]!);
    if (p + n > end) throw new Error('a backup line is longer than its packet');
    at = copy(b, p, n, out, at);
    out[at++] = 10;
    return at;
  },
  room: (bytes) => bytes + 1,
};
