/**
 * How MySQL/MariaDB result columns are named and their values made JSON-safe: the
 * type get_schema would name, dates as ISO 8601, DECIMAL exact.
 */
import type { FieldPacket } from 'mysql2';
import { exactNumber } from '../../sql.js';

const TYPE_NAMES: Record<number, string> = {
  0: 'decimal', 1: 'tinyint', 2: 'smallint', 3: 'int', 4: 'float', 5: 'double', 6: 'null', 7: 'timestamp',
  8: 'bigint', 9: 'mediumint', 10: 'date', 11: 'time', 12: 'datetime', 13: 'year', 14: 'date', 15: 'varchar',
  16: 'bit', 245: 'json', 246: 'decimal', 247: 'enum', 248: 'set', 249: 'tinyblob', 250: 'mediumblob',
  251: 'longblob', 252: 'blob', 253: 'varchar', 254: 'char', 255: 'geometry',
};

/** character set 63 is "binary": the BLOB and BINARY types; any other makes them TEXT and CHAR. */
const BINARY_CHARSET = 63;
const TEXT_NAMES: Record<string, string> = { tinyblob: 'tinytext', mediumblob: 'mediumtext', longblob: 'longtext', blob: 'text', varchar: 'varchar', char: 'char' };
const BINARY_NAMES: Record<string, string> = { varchar: 'varbinary', char: 'binary' };

/**
 * The type get_schema would name. The wire type alone says BLOB for every TEXT column
 * and VARCHAR for VARBINARY: the character set tells them apart. MariaDB sends its own
 * types (JSON, UUID, INET6) in extended metadata, which mysql2 negotiates and exposes.
 */
export function columnTypeName(f: FieldPacket): string {
  const ext = f as FieldPacket & { extendedTypeName?: string; extendedFormat?: string };
  if (ext.extendedFormat === 'json') return 'json';
  if (ext.extendedTypeName) return ext.extendedTypeName.toLowerCase();
  const wire = TYPE_NAMES[f.columnType ?? -1] ?? '';
  if (!(wire in TEXT_NAMES)) return wire;
  return f.characterSet === BINARY_CHARSET ? (BINARY_NAMES[wire] ?? wire) : TEXT_NAMES[wire];
}

/** DATETIME '2024-01-02 03:04:05.123' -> ISO 8601; TIMESTAMP is UTC in our sessions, so it gets a Z. */
function isoDate(value: unknown, type: number): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d \d/.test(value)) return value;
  return value.replace(' ', 'T') + (type === 7 ? 'Z' : '');
}

/** Dates as ISO 8601 (mysql2 gives text: dateStrings); DECIMAL as a number only when exact, as on PostgreSQL. */
export function convertRow(row: unknown[], fields: FieldPacket[]): unknown[] {
  fields.forEach((f, i) => {
    const t = f.columnType ?? -1;
    if (t === 7 || t === 12) row[i] = isoDate(row[i], t);
    else if ((t === 0 || t === 246) && typeof row[i] === 'string') row[i] = exactNumber(row[i] as string);
  });
  return row;
}
