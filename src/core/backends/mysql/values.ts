/**
 * mysql: the value codecs of portable backups (contract/backup.ts reader, writer).
 * mysql2 gives numbers, strings (DECIMAL, dates, integers past 2^53), Buffers and JSON
 * as text: the shared readers take them as they are. Loads bind bigints and Buffers.
 */
import { binaryBound, integerBound, nativeBound, portableReader, readFloat32, type Read } from '../../backup/values.js';
import type { TypeSpec } from '../../schema/model.js';

/** FLOAT (portable `real`, or native FLOAT(M,D), FLOAT UNSIGNED): 4 bytes, read as DOUBLE (backup-sql.ts) and respelt. */
export const isFloat32Spec = (spec: TypeSpec): boolean => spec.kind === 'real' || (spec.kind === 'native' && /^float\b/i.test((spec.native ?? '').trim()));

/** A JSON document as the server keeps it (MariaDB: the text as written), not respelt (§17.2). */
export const reader = (spec: TypeSpec): Read => (spec.kind === 'json' ? (v) => JSON.stringify(String(v)) : isFloat32Spec(spec) ? readFloat32 : portableReader(spec));

/** The largest 4-byte float: its shortest spelling (3.4028235e38) is past it, and MySQL refuses that as out of range. */
const FLT_MAX = 3.4028234663852886e38;

/** A 4-byte float's shortest spelling, written as the float it stands for where MySQL would call it out of range. */
const float32Bound = (v: unknown): unknown => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && Math.abs(n) > FLT_MAX && Math.abs(Math.fround(n)) === FLT_MAX ? Math.fround(n) : nativeBound(v);
};

/** A timestamp with a zone (Z, or an offset as SQLite may keep it: +05:30, -0800, +05). */
const ZONED = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** The same instant in UTC, without a zone (what MariaDB reads in our sessions), its fraction as written. */
export function inUtc(v: string): string {
  // Every timestamptz another backend writes ends in Z; an offset comes only from SQLite's text.
  if (v.endsWith('Z')) return v.slice(0, -1);
  if (v.length < 17 || !/[+-]\d\d(:?\d\d)?$/.test(v)) return v;
  const m = ZONED.exec(v);
  if (!m) return v;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone] = m;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  // setUTCFullYear, not Date.UTC: that reads years 0-99 as 1900-1999.
  const t = new Date(0);
  t.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  t.setUTCHours(Number(h), Number(mi), Number(s), 0);
  return `${new Date(t.getTime() - offset * 60_000).toISOString().slice(0, 19).replace('T', ' ')}${frac}`;
}

export function writer(spec: TypeSpec): (v: unknown) => unknown {
  if (isFloat32Spec(spec)) return float32Bound;
  switch (spec.kind) {
    case 'smallint': case 'integer': case 'bigint': return integerBound;
    case 'binary': return (v) => { const b = binaryBound(v); return typeof b === 'string' ? Buffer.from(b) : b; };
    // MariaDB reads no zone designator; our sessions run in UTC.
    case 'timestamptz': return (v) => (typeof v === 'string' ? inUtc(v) : v);
    default: return nativeBound;
  }
}

/**
 * Every column but binary may be offered as JSON lines: the INSERT transcoder (bulk.ts)
 * writes strings, numbers and booleans as these writers' values would be written (a
 * string of digits quoted, which MySQL converts to the integer exactly; a timestamp's Z
 * dropped) and gives up on objects. A binary column's strings are base64.
 */
export const jsonLines = (spec: TypeSpec): boolean => spec.kind !== 'binary' && !isFloat32Spec(spec);
